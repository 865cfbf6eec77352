"""The classical generators, checked with the face-embedding model: a replacement or reenactment
of T is nearer T than the reference R; a synthesis of A and B is nearer each source than the
sources are to each other. Writes tests/output/generators_contact_sheet.png to look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from harness.errors import DfiError

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def faces():
    """Probe-side crops of the demo people (the demo dataset's recipe), name -> BGR image."""
    try:
        from harness.datasets.demo import _crop, _people, source_photos

        people = _people(source_photos())
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")
    return {name: _crop(img, box, 0.6, -4.0) for name, (img, box) in people.items()}


@pytest.fixture(scope="module")
def embed():
    from harness.faces import default_pipeline

    pipe = default_pipeline()
    return lambda img: pipe.analyze(img)[0].embedding


PAIRS = [("Demo Person 1", "Demo Person 2"), ("Demo Person 3", "Demo Person 4"),
         ("Grace Hopper", "Demo Person 5"), ("Demo Person 6", "Grace Hopper")]


@pytest.mark.parametrize("method", ["replacement", "reenactment"])
def test_impersonation_is_nearer_the_target_than_the_reference(faces, embed, method):
    from harness.generate import GENERATORS

    for t, r in PAIRS:
        out = GENERATORS[method](faces[t], faces[r], 7)
        e = embed(out)
        to_t, to_r = float(e @ embed(faces[t])), float(e @ embed(faces[r]))
        assert to_t > to_r, f"{method} of {t} driven by {r}: cos to T {to_t:.3f} <= cos to R {to_r:.3f}"
        assert to_t > 0.3


def test_synthesis_lies_between_its_sources(faces, embed):
    from harness.generate import GENERATORS

    for a, b in PAIRS:
        ea, eb = embed(faces[a]), embed(faces[b])
        e = embed(GENERATORS["synthesis"](faces[a], faces[b], 7))
        base = float(ea @ eb)
        assert float(e @ ea) > base and float(e @ eb) > base, (a, b)
    # the weight moves the blend from one source to the other
    from harness.generate import blend_faces

    a, b = PAIRS[0]
    near_a = embed(blend_faces(faces[a], faces[b], 7, weight=0.2))
    near_b = embed(blend_faces(faces[a], faces[b], 7, weight=0.8))
    ea, eb = embed(faces[a]), embed(faces[b])
    assert near_a @ ea > near_b @ ea and near_b @ eb > near_a @ eb


def test_generators_are_deterministic_per_seed(faces):
    from harness.generate import GENERATORS

    t, r = PAIRS[0]
    for method, gen in GENERATORS.items():
        first, again, other = gen(faces[t], faces[r], 3), gen(faces[t], faces[r], 3), gen(faces[t], faces[r], 4)
        assert np.array_equal(first, again), method
        assert not np.array_equal(first, other), method


def test_no_face_is_a_clear_error(faces):
    from harness.faces import NoFaceError
    from harness.generate import GENERATORS

    blank = np.full((200, 200, 3), 127, np.uint8)
    with pytest.raises(NoFaceError):
        GENERATORS["replacement"](blank, faces["Grace Hopper"], 0)


def test_contact_sheet(faces, output_dir: Path):
    """T | R | replacement | reenactment | synthesis, one row per pair, for a person to look at."""
    from harness.generate import GENERATORS

    rows = []
    for t, r in PAIRS:
        tiles = [faces[t], faces[r]] + [GENERATORS[m](faces[t], faces[r], 7) for m in GENERATORS]
        rows.append(np.hstack([cv2.resize(x, (160, 160), interpolation=cv2.INTER_AREA) for x in tiles]))
    sheet = np.vstack(rows)
    header = np.full((24, sheet.shape[1], 3), 255, np.uint8)
    for i, label in enumerate(["target T", "reference R", "replacement", "reenactment", "synthesis"]):
        cv2.putText(header, label, (i * 160 + 6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    path = output_dir / "generators_contact_sheet.png"
    assert cv2.imwrite(str(path), np.vstack([header, sheet]))
    assert path.stat().st_size > 10_000

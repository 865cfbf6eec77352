"""dlib's ResNet recogniser on real photos: people told apart, each deepfake nearest its own source frame."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.faces import FacePipeline
from harness.faces.dlib_backend import CHIP_SIZE, NATIVE_THRESHOLD, DlibEmbedder, native_distance
from harness.faces.registry import make_embedder, pipeline_for, recognizer
from harness.models import ModelsNotInstalledError, demo_image_paths

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def dlib_pipeline(models) -> FacePipeline:
    try:
        return pipeline_for("dlib_resnet")
    except (ModelsNotInstalledError, KeyError) as exc:
        pytest.skip(f"dlib models not installed ({exc}); run `dfi models fetch`")


@pytest.fixture(scope="module")
def photos(shared_data) -> dict[str, str]:
    names = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
    out = {n: str(shared_data / "faces" / n) for n in names}
    try:
        out.update({n: str(p) for n, p in demo_image_paths().items()})
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))
    return out


def test_registry_describes_it(dlib_pipeline):
    spec = recognizer("dlib_resnet")
    assert spec.dim == 128 and spec.models == ("dlib_resnet", "dlib_shape5")
    assert isinstance(dlib_pipeline.embedder, DlibEmbedder)
    assert dlib_pipeline.detector.name == pipeline_for().detector.name  # the default detector finds the faces


def test_its_own_chips_and_normalised_embeddings(dlib_pipeline, photos):
    emb: DlibEmbedder = dlib_pipeline.embedder  # type: ignore[assignment]
    from harness.faces import load_image

    image = load_image(photos["obama.jpg"])
    (face,) = dlib_pipeline.detect(image)
    chip = emb.align(image, face)
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3) and chip.dtype == np.uint8
    (analysed,) = dlib_pipeline.analyze(image)
    assert analysed.embedding.shape == (128,)
    assert np.linalg.norm(analysed.embedding) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="150"):
        emb.embed_aligned(np.zeros((1, 112, 112, 3), np.uint8))


def test_same_person_above_every_different_person_pair(dlib_pipeline, photos):
    paths = [photos[n] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "Tom_Hanks_54745.png")]
    results = dlib_pipeline.analyze_many(paths + [photos["t1.jpg"]])
    labels = ["obama", "obama", "obama", "biden", "hanks"] + [f"t1-{k}" for k in range(len(results[-1]))]
    assert len(results[-1]) == 6
    emb = np.stack([r[0].embedding for r in results[:-1]] + [f.embedding for f in results[-1]])
    raw = DlibEmbedder.descriptors(dlib_pipeline.embedder, _chips(dlib_pipeline, paths + [photos["t1.jpg"]]))
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = [float(emb[i] @ emb[j]) for i, j in pairs if labels[i] == labels[j]]
    different = [float(emb[i] @ emb[j]) for i, j in pairs if labels[i] != labels[j]]
    assert len(same) == 3
    # measured: same 0.95-0.97, different at most ~0.85 (dlib's cosines sit high; the order is what counts)
    assert min(same) > max(different)
    # dlib's own rule holds too: same person below 0.6, every different pair above it
    same_d = [native_distance(raw[i], raw[j]) for i, j in pairs if labels[i] == labels[j]]
    diff_d = [native_distance(raw[i], raw[j]) for i, j in pairs if labels[i] != labels[j]]
    assert max(same_d) < NATIVE_THRESHOLD < min(diff_d)


def _chips(pipe: FacePipeline, paths: list[str]) -> np.ndarray:
    from harness.faces import load_image

    chips = []
    for p in paths:
        image = load_image(p)
        faces = pipe.detect(image)
        chips += [pipe.embedder.align(image, f) for f in faces]  # type: ignore[attr-defined]
    return np.stack(chips)


def test_each_fom_deepfake_is_nearest_the_same_source_as_for_the_default_model(dlib_pipeline, models, shared_data):
    folder = shared_data / "paper-samples" / "CelebFOM"
    paths = [str(p) for p in sorted(folder.glob("*_fake.png")) + sorted(folder.glob("*_real.png"))]
    dl = np.stack([r[0].embedding for r in dlib_pipeline.analyze_many(paths)])
    fp = np.stack([r[0].embedding for r in models.analyze_many(paths)])
    sims_dlib, sims_default = dl[:5] @ dl[5:].T, fp[:5] @ fp[5:].T
    nearest = sims_dlib.argmax(axis=1)
    assert len(set(nearest.tolist())) == 5                      # one-to-one
    assert (nearest == sims_default.argmax(axis=1)).all()       # the pairing the default model finds
    ranked = np.sort(sims_dlib, axis=1)
    assert (ranked[:, -1] - ranked[:, -2] > 0.02).all(), ranked


def test_the_registry_refuses_an_unknown_recognizer():
    with pytest.raises(ValueError, match="unknown recognizer 'arcface9'; choose one of faceplugin"):
        make_embedder("arcface9")

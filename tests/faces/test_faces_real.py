"""The default pipeline on real photos: every face found, people told apart, deepfakes matched to sources."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from harness.faces import Face
from harness.models import ModelsNotInstalledError, demo_image_paths

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def demo_images(models) -> dict[str, Path]:
    try:
        return demo_image_paths()
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def labelled_embeddings(models, shared_data, demo_images) -> tuple[list[str], np.ndarray]:
    """One embedding per face, labelled with who it is (t1.jpg's six people are all different)."""
    paths = [shared_data / "faces" / f for f in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")]
    paths.append(demo_images["Tom_Hanks_54745.png"])
    results = models.analyze_many([str(p) for p in paths] + [str(demo_images["t1.jpg"])])
    labels, embs = [], []
    for path, faces in zip(paths, results, strict=False):
        assert isinstance(faces, list), faces
        labels.append(path.stem.rstrip("23").split("_")[0].lower())
        embs.append(faces[0].embedding)
    for k, face in enumerate(results[-1]):
        labels.append(f"t1-person{k}")
        embs.append(face.embedding)
    return labels, np.stack(embs)


def test_every_face_in_the_group_photo_is_found(models, demo_images):
    faces = models.analyze(str(demo_images["t1.jpg"]))
    assert len(faces) == 6
    centres = np.array([[(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2] for f in faces])
    # six distinct people: no two boxes share a centre
    assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(centres, 2)) > 50
    assert all(f.score > 0.9 for f in faces)
    areas = [f.width * f.height for f in faces]
    assert areas == sorted(areas, reverse=True)  # largest first


def test_faces_have_consistent_geometry(models, shared_data):
    (face,) = models.analyze(str(shared_data / "faces" / "obama.jpg"))
    assert isinstance(face, Face)
    x1, y1, x2, y2 = face.box
    lm = face.landmarks5
    assert lm.shape == (5, 2) and face.landmarks68.shape == (68, 2)
    assert np.all((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2))
    left_eye, right_eye, nose, mouth_l, mouth_r = lm
    assert left_eye[0] < nose[0] < right_eye[0]  # image left/right
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    assert face.embedding.shape == (512,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)


def test_the_tight_tom_hanks_crop_is_found(models, demo_images):
    faces = models.analyze(str(demo_images["Tom_Hanks_54745.png"]))
    assert len(faces) == 1 and faces[0].height > 80


def test_same_person_scores_well_above_every_different_person_pair(labelled_embeddings):
    labels, emb = labelled_embeddings
    sims = emb @ emb.T
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = [sims[i, j] for i, j in pairs if labels[i] == labels[j]]
    different = [sims[i, j] for i, j in pairs if labels[i] != labels[j]]
    assert len(same) == 3 and len(different) == len(pairs) - 3
    # measured: same 0.755-0.836, different at most 0.39 (README)
    assert min(same) > 0.65
    assert max(different) < 0.5
    assert min(same) - max(different) > 0.25


def test_each_fom_deepfake_is_nearest_its_own_source_frame(models, shared_data):
    folder = shared_data / "paper-samples" / "CelebFOM"
    fakes = sorted(folder.glob("*_fake.png"))
    reals = sorted(folder.glob("*_real.png"))
    assert len(fakes) == len(reals) == 5
    results = models.analyze_many([str(p) for p in fakes + reals])
    emb = np.stack([faces[0].embedding for faces in results])
    sims = emb[: len(fakes)] @ emb[len(fakes) :].T
    nearest = sims.argmax(axis=1)
    assert len(set(nearest.tolist())) == len(fakes), "the fake -> nearest real map is not one-to-one"
    rows, cols = linear_sum_assignment(-sims)
    assert (cols == nearest).all()  # the greedy choice is the optimal one-to-one pairing
    ranked = np.sort(sims, axis=1)
    assert (ranked[:, -1] > 0.6).all(), ranked[:, -1]  # fake vs its source: 0.73-0.92 measured
    assert (ranked[:, -1] - ranked[:, -2] > 0.4).all()  # well clear of every other real frame
    # the pairing is not by name: a fake's file name never names its source
    assert all(fakes[i].stem.split("_")[0] != reals[j].stem.split("_")[0] for i, j in zip(rows, cols, strict=True))


def test_batch_and_single_runs_give_the_same_embeddings(models, shared_data, demo_images):
    paths = [str(shared_data / "faces" / "biden.jpg"), str(demo_images["t1.jpg"])]
    batched = models.analyze_many(paths)
    for path, faces in zip(paths, batched, strict=True):
        single = models.analyze(path)
        assert len(single) == len(faces)
        for a, b in zip(single, faces, strict=True):
            assert np.allclose(a.embedding, b.embedding, atol=1e-5)
            assert np.allclose(a.box, b.box, atol=1e-3)


def test_liveness_scores_are_probabilities(models, shared_data):
    path = str(shared_data / "faces" / "obama.jpg")
    faces = models.detect(path)
    p = models.liveness(path, faces)
    assert p.shape == (1,) and 0.0 <= float(p[0]) <= 1.0

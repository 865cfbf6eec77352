"""Detector registry: specs, preprocessing, output reading, cropping, and the built-in detectors."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from harness.detectors import (
    CropError,
    DetectorSpec,
    DetectorSpecError,
    UnknownDetectorError,
    crop_box,
    detector_names,
    fake_probabilities,
    get_detector_spec,
    load_detector,
    load_detector_specs,
    preprocess,
)
from harness.detectors.reference import REFERENCE_ARCHITECTURES, parameter_counts, reference_model_path
from harness.detectors.reference.efficientnet import build_efficientnet_b4
from harness.detectors.reference.xception import build_xception


def _spec(**kw) -> DetectorSpec:
    base = dict(name="t", model="unused.onnx", input_size=(2, 2))
    base.update(kw)
    return DetectorSpec(**base)


# --- reading outputs -------------------------------------------------------------------------

def test_softmax_output_real_class_becomes_fake_probability():
    spec = _spec(output_kind="softmax", class_index=0, positive="real")
    logits = np.array([[np.log(3.0), 0.0, 0.0], [0.0, 0.0, 0.0]])  # p(live) = 3/5 and 1/3
    np.testing.assert_allclose(fake_probabilities(spec, logits), [2 / 5, 2 / 3])


def test_logit_output_goes_through_sigmoid():
    spec = _spec(output_kind="logit")
    np.testing.assert_allclose(fake_probabilities(spec, np.array([[0.0], [np.log(3.0)]])), [0.5, 0.75])


def test_probability_output_picks_the_class_column():
    spec = _spec(output_kind="probability", class_index=1)
    np.testing.assert_allclose(fake_probabilities(spec, np.array([[0.9, 0.1], [0.2, 0.8]])), [0.1, 0.8])


def test_class_index_beyond_output_is_a_clear_error():
    with pytest.raises(DetectorSpecError, match="class_index 2"):
        fake_probabilities(_spec(class_index=2), np.zeros((1, 2)))


# --- preprocessing and crops -----------------------------------------------------------------

def test_preprocess_colour_order_and_normalisation():
    crop = np.zeros((2, 2, 3), np.uint8)
    crop[..., 0], crop[..., 1], crop[..., 2] = 10, 20, 30  # B, G, R
    rgb = preprocess(_spec(color_order="RGB", mean=(1, 2, 3), std=(2, 2, 2)), [crop])
    assert rgb.shape == (1, 3, 2, 2) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[0, :, 0, 0], [(30 - 1) / 2, (20 - 2) / 2, (10 - 3) / 2])
    bgr = preprocess(_spec(color_order="BGR", std=(1, 1, 1)), [crop])
    np.testing.assert_allclose(bgr[0, :, 1, 1], [10, 20, 30])


def test_preprocess_resizes_any_crop_size():
    crop = np.full((37, 53, 3), 200, np.uint8)
    x = preprocess(_spec(input_size=(8, 6), std=(1, 1, 1)), [crop])
    assert x.shape == (1, 3, 8, 6)
    np.testing.assert_allclose(x, 200.0)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), "img.jpg"])
def test_preprocess_rejects_non_bgr_uint8(bad):
    with pytest.raises(CropError, match="HxWx3 uint8"):
        preprocess(_spec(), [bad])


def test_crop_box_scales_about_centre_and_stays_inside():
    img = np.arange(100 * 200 * 3, dtype=np.uint32).astype(np.uint8).reshape(100, 200, 3)
    assert crop_box(img, (90, 40, 110, 60), 2.0).shape == (40, 40, 3)
    # near the left edge: the crop is shifted right rather than padded
    c = crop_box(img, (0, 40, 20, 60), 2.0)
    assert c.shape == (40, 40, 3) and np.array_equal(c, img[30:70, 0:40])
    # bigger than the image: clipped to the image
    assert crop_box(img, (50, 20, 150, 80), 3.0).shape == (100, 200, 3)
    assert crop_box(img, (90, 40, 110, 80), 1.0, square=True).shape == (40, 40, 3)


def test_crop_box_rejects_empty_box():
    with pytest.raises(CropError, match="empty"):
        crop_box(np.zeros((10, 10, 3), np.uint8), (5, 5, 5, 8), 1.0)


# --- specs and the registry ------------------------------------------------------------------

def test_spec_validation_names_every_problem():
    with pytest.raises(DetectorSpecError) as exc:
        _spec(color_order="RGBA", output_kind="odds", crop_scale=0)
    msg = str(exc.value)
    assert "color_order" in msg and "output_kind" in msg and "crop_scale" in msg


def test_unknown_detector_lists_the_known_ones():
    with pytest.raises(UnknownDetectorError, match="fr_liveness"):
        get_detector_spec("no-such-detector")


def test_builtin_detectors_are_registered_with_caveats():
    names = detector_names()
    for name in ["fr_liveness", *REFERENCE_ARCHITECTURES]:
        assert name in names
    assert "chance" in get_detector_spec("fr_liveness").caveat
    for name in REFERENCE_ARCHITECTURES:
        assert not get_detector_spec(name).trained and "UNTRAINED" in get_detector_spec(name).caveat
    assert "fr_liveness" in detector_names(trained_only=True)
    assert "xception" not in detector_names(trained_only=True)


def _channel_mean_model(path):
    """A tiny real ONNX detector: output = per-channel mean of the (normalised) input, shape (N, 3)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"]), helper.make_node("Flatten", ["g"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "mean", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def test_yaml_declared_detector_scores_crops_end_to_end(tmp_path):
    _channel_mean_model(tmp_path / "mean.onnx")
    (tmp_path / "dets.yaml").write_text(
        "detectors:\n"
        "  - {name: test_red, model: mean.onnx, input_size: 4, color_order: RGB, std: 255,\n"
        "     output_kind: probability, class_index: 0, positive: fake, trained: false}\n")
    [spec] = load_detector_specs(tmp_path / "dets.yaml")
    assert spec.model == tmp_path / "mean.onnx" and spec.input_size == (4, 4)
    det = load_detector("test_red", threads=1)
    red = np.zeros((9, 9, 3), np.uint8)
    red[..., 2] = 255  # BGR
    grey = np.full((5, 7, 3), 51, np.uint8)
    np.testing.assert_allclose(det.score_crops([red, grey, red]), [1.0, 0.2, 0.0 + 1.0], atol=1e-6)
    img = np.zeros((40, 40, 3), np.uint8)
    img[10:20, 10:20, 2] = 255
    np.testing.assert_allclose(det.score_faces(img, [(10, 10, 20, 20), (25, 25, 35, 35)]), [1.0, 0.0], atol=1e-6)


def test_spec_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: x, model: m.onnx, input_size: 4, colour: RGB}\n")
    with pytest.raises(Exception, match="bad.yaml.*unknown field"):
        load_detector_specs(bad)


def test_spec_input_size_must_match_the_model(tmp_path):
    _channel_mean_model(tmp_path / "mean.onnx")
    with pytest.raises(DetectorSpecError, match="model wants"):
        load_detector(DetectorSpec(name="x", model=tmp_path / "mean.onnx", input_size=(8, 8)), threads=1)


# --- reference architectures -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(REFERENCE_ARCHITECTURES))
def test_reference_architecture_builds_checks_and_runs_batch_dynamic(name):
    arch = REFERENCE_ARCHITECTURES[name]
    path = reference_model_path(name)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert parameter_counts(model)[1] == arch.published_params
    det = load_detector(name, threads=1)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)]
    scores = det.score_crops(crops)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[0] == "batch"


def test_full_size_heads_match_published_parameter_counts():
    # Keras Xception (include_top) and EfficientNet-B4 with their 1000-class ImageNet heads
    assert parameter_counts(build_xception(num_classes=1000)) == (22_910_480, 22_855_952)
    assert parameter_counts(build_efficientnet_b4(num_classes=1000))[1] == 19_341_616


# --- the installed liveness model ------------------------------------------------------------

def test_fr_liveness_scores_real_faces(shared_data):
    from harness.faces import default_pipeline, load_image
    from harness.models import ModelsNotInstalledError

    try:
        det = load_detector("fr_liveness", threads=1)
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))
    image = load_image(shared_data / "faces" / "obama.jpg")
    faces = default_pipeline().detect(image)
    scores = det.score_faces(image, faces)
    assert len(scores) == len(faces) >= 1
    assert np.all((scores >= 0) & (scores <= 1))

"""docs/benchmarks.md's detector API block, as printed, on a real photo with the installed model."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from harness.detectors import registry

pytestmark = pytest.mark.models


def test_the_documented_detector_lines_run_as_printed(tmp_path: Path, monkeypatch, shared_data: Path):
    from harness.faces import default_pipeline
    from harness.paths import models_dir

    model = models_dir() / "fr_liveness.onnx"
    if not model.is_file():
        pytest.skip("face models not installed (python -m harness models fetch)")
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the block registers names
    monkeypatch.chdir(tmp_path)
    shutil.copy(model, "my.onnx")  # any ONNX classifier of face crops: here the installed one
    Path("detectors.yaml").write_text("- {name: yaml_detector, model: my.onnx, input_size: [128, 128], "
                                      "output_kind: softmax, class_index: 0, positive: real}\n")
    image_bgr = cv2.imread(str(shared_data / "faces" / "obama.jpg"))
    faces = default_pipeline().detect(image_bgr)
    crops_bgr = [image_bgr[:64, :64], image_bgr[-80:, -96:]]
    # --- docs/benchmarks.md, as printed
    from harness.detectors import DetectorSpec, register_detector, load_detector, load_detector_specs

    det = load_detector("fr_liveness")              # registered: fr_liveness, meso4, mesoinception4, xception, efficientnet_b4
    p_fake = det.score_faces(image_bgr, faces)      # Face objects or (x1, y1, x2, y2) boxes -> (N,) in [0, 1]
    p_fake = det.score_crops(crops_bgr)             # HxWx3 uint8 BGR crops, any size (resized per spec)

    register_detector(DetectorSpec(
        name="my_detector", model="my.onnx", input_size=(224, 224), color_order="RGB",
        mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),  # (pixel - mean) / std, pixels 0..255
        crop_scale=1.3, square_crop=True,                              # face box enlarged 1.3x about its centre
        output_index=0, output_kind="softmax", class_index=1,           # probability | logit | softmax
        positive="fake"))                                              # or "real": p_fake = 1 - p
    load_detector_specs("detectors.yaml")           # the same fields in YAML/JSON
    # --- what it gave
    assert p_fake.shape == (2,) and np.all((p_fake >= 0) & (p_fake <= 1))
    assert len(det.score_faces(image_bgr, faces)) == len(faces) >= 1
    assert registry.get_detector_spec("my_detector").input_size == (224, 224)
    assert registry.get_detector_spec("yaml_detector").positive == "real"

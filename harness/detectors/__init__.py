"""Deepfake detectors: ONNX models declared by a small spec, returning a fake-probability per face.

    from harness.detectors import load_detector, detector_names
    det = load_detector("fr_liveness")          # or any registered name / a DetectorSpec
    p_fake = det.score_faces(image_bgr, faces)  # faces: Face objects or (x1, y1, x2, y2) boxes
    p_fake = det.score_crops(crops)             # crops: HxWx3 uint8 BGR arrays, resized per spec

Built-in: ``fr_liveness`` (the installed anti-spoofing model, expected near chance on deepfakes)
and the reference architectures ``meso4``, ``mesoinception4``, ``xception``, ``efficientnet_b4``
(random untrained weights, for speed only). Register more with :func:`register_detector` or
:func:`load_detector_specs` (YAML/JSON).
"""

from harness.detectors.registry import (
    LIVENESS_CAVEAT,
    UNTRAINED_CAVEAT,
    UnknownDetectorError,
    detector_names,
    get_detector_spec,
    load_detector_specs,
    register_detector,
)
from harness.detectors.runtime import (
    CropError,
    Detector,
    crop_box,
    fake_probabilities,
    load_detector,
    preprocess,
)
from harness.detectors.spec import DetectorSpec, DetectorSpecError

__all__ = [
    "CropError", "Detector", "DetectorSpec", "DetectorSpecError", "LIVENESS_CAVEAT", "UNTRAINED_CAVEAT",
    "UnknownDetectorError", "crop_box", "detector_names", "fake_probabilities", "get_detector_spec",
    "load_detector", "load_detector_specs", "preprocess", "register_detector",
]

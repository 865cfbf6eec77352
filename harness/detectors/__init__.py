"""Deepfake detectors: one protocol, one resolver, ONNX models declared by a small spec and simulated ones.

    from harness.detectors import resolve_detector, load_detector, detector_names
    det = resolve_detector("fr_liveness")       # any spec string: a name, or sim:NAME:TPR,FPR[,CORR] (+ truth=)
    p_fake = det.score(image_bytes)             # the Detector protocol; UnscorableImageError if it cannot
    onnx = load_detector("fr_liveness")         # an OnnxDetector, with batch scoring:
    p_fake = onnx.score_faces(image_bgr, faces) # faces: Face objects or (x1, y1, x2, y2) boxes
    p_fake = onnx.score_crops(crops)            # crops: HxWx3 uint8 BGR arrays, resized per spec

Every detector satisfies :class:`Detector` (``name``, ``score(image) -> float``); an image a
detector cannot score raises :class:`UnscorableImageError` (what the defense then does:
:mod:`harness.defense.rule`).

Built-in: ``fr_liveness`` (the installed anti-spoofing model, expected near chance on deepfakes)
and the reference architectures ``meso4``, ``mesoinception4``, ``xception``, ``efficientnet_b4``
(random untrained weights, for speed only). Register more with :func:`register_detector` or
:func:`load_detector_specs` (YAML/JSON), or :func:`register_detector_factory` for a detector built
on demand.
"""

from harness.detectors.base import (
    Detector,
    DetectorError,
    UnscorableImageError,
    detector_scores,
    image_key,
    largest_face_box,
    score_image,
)
from harness.detectors.registry import (
    LIVENESS_CAVEAT,
    UNTRAINED_CAVEAT,
    UnknownDetectorError,
    detector_names,
    get_detector_spec,
    load_detector,
    load_detector_specs,
    register_detector,
    register_detector_factory,
    resolvable_names,
    resolve_detector,
    spec_detector_name,
)
from harness.detectors.runtime import (
    CropError,
    OnnxDetector,
    crop_box,
    fake_probabilities,
    preprocess,
)
from harness.detectors.simulated import SIM_SYNTAX, ImageTruth, SimulatedDetector, SimulatedSpec
from harness.detectors.spec import DetectorSpec, DetectorSpecError

__all__ = [
    "CropError", "Detector", "DetectorError", "DetectorSpec", "DetectorSpecError", "ImageTruth",
    "LIVENESS_CAVEAT", "OnnxDetector", "SIM_SYNTAX", "SimulatedDetector", "SimulatedSpec", "UNTRAINED_CAVEAT",
    "UnknownDetectorError", "UnscorableImageError", "crop_box", "detector_names", "detector_scores",
    "fake_probabilities", "get_detector_spec", "image_key", "largest_face_box", "load_detector",
    "load_detector_specs", "preprocess", "register_detector", "register_detector_factory", "resolvable_names",
    "resolve_detector", "score_image", "spec_detector_name",
]

"""Registry ONNX detectors (``harness.detectors``) behind the defense's bytes -> fake-probability protocol."""

from __future__ import annotations

import numpy as np

from harness.defense.detectors import DetectorError, largest_face_box
from harness.errors import DfiError


class OnnxImageDetector:
    """Decode the image, find its largest face with the face pipeline, score that face's crop."""

    def __init__(self, name: str):
        from harness.detectors import load_detector

        self.detector = load_detector(name)
        self.name = name
        self.caveat = getattr(self.detector.spec, "caveat", "") or ""

    def score_array(self, image_bgr: np.ndarray) -> float:
        return float(self.detector.score_faces(image_bgr, [largest_face_box(image_bgr, self.name)])[0])

    def score(self, image: bytes) -> float:
        from harness.faces import load_image

        try:
            return self.score_array(load_image(image))
        except DetectorError:
            raise
        except DfiError as exc:
            raise DetectorError(f"{self.name}: {exc}") from exc

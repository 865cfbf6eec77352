"""Registry ONNX detectors (``harness.detectors``) behind the defense's bytes -> fake-probability protocol."""

from __future__ import annotations

import numpy as np

from harness.defense.detectors import DetectorError
from harness.errors import DfiError


class OnnxImageDetector:
    """Decode the image, find its largest face with the face pipeline, score that face's crop."""

    def __init__(self, name: str):
        from harness.detectors import load_detector

        self.detector = load_detector(name)
        self.name = name
        self.caveat = getattr(self.detector.spec, "caveat", "") or ""

    def score_array(self, image_bgr: np.ndarray) -> float:
        from harness.faces import default_pipeline

        try:
            faces = default_pipeline().detect(image_bgr)
        except DfiError as exc:
            raise DetectorError(f"{self.name}: {exc}") from exc
        if not faces:
            raise DetectorError(f"{self.name}: no face found in the image")
        face = max(faces, key=lambda f: f.width * f.height)
        return float(self.detector.score_faces(image_bgr, [face.box])[0])

    def score(self, image: bytes) -> float:
        from harness.faces import load_image

        try:
            return self.score_array(load_image(image))
        except DetectorError:
            raise
        except DfiError as exc:
            raise DetectorError(f"{self.name}: {exc}") from exc

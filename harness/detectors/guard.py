"""The evaluation guard: every image re-encoded to one format and size before a detector scores it.

Why: a detector can tell image *formats* apart as well as fakes. In the study's samples the 5 real
images are 256-pixel PNG video frames while 21 of the 26 fakes are large FaceApp JPEGs, so a score
that follows resolution or compression separates them without seeing any fakeness. The guard
decodes each image, resizes it so its longer side is :attr:`ReencodeGuard.size` pixels and encodes
it as JPEG at :attr:`ReencodeGuard.quality`, so every image a detector sees has the same size and
compression. It is on by default in ``dfi defend`` (``--no-reencode`` turns it off) and the report
says which was used and shows the detectors' AUC both ways.

Simulated detectors are never wrapped: they score by the image's identity (its sha256), not its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from harness.detectors.base import Detector, UnscorableImageError


@dataclass(frozen=True)
class ReencodeGuard:
    size: int = 256  # longer side, pixels
    quality: int = 90  # JPEG quality

    def describe(self) -> str:
        return f"every image re-encoded as JPEG quality {self.quality}, longer side {self.size} px, before scoring"

    def apply(self, image: bytes) -> bytes:
        img = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise UnscorableImageError("evaluation guard: the image does not decode")
        h, w = img.shape[:2]
        scale = self.size / max(h, w)
        if scale != 1.0:
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
            img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise UnscorableImageError("evaluation guard: the image cannot be encoded")
        return buf.tobytes()


class GuardedDetector:
    """``inner`` scoring the guard's re-encoding of each image; same name, so tables read the same."""

    def __init__(self, inner: Detector, guard: ReencodeGuard):
        self.inner = inner
        self.guard = guard

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def caveat(self) -> str:
        return str(getattr(self.inner, "caveat", "") or "")

    def score(self, image: bytes) -> float:
        return self.inner.score(self.guard.apply(image))


def guarded(detector: Detector, guard: ReencodeGuard | None) -> Detector:
    """The detector behind the guard; unchanged when there is no guard or it is simulated."""
    from harness.detectors.simulated import SimulatedDetector

    if guard is None or isinstance(detector, SimulatedDetector):
        return detector
    return GuardedDetector(detector, guard)

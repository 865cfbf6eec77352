"""Data types and errors of the face pipeline (detect -> landmarks -> align -> embed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.errors import DfiError


class FaceError(DfiError):
    """Base class of face-pipeline errors."""


class ImageDecodeError(FaceError):
    """The bytes are not a decodable image (empty, truncated, not an image format)."""


class ImageTooLargeError(FaceError):
    """The image's declared size is over the limit; refused before decoding the pixels."""


class NoFaceError(FaceError):
    """No face was detected in the image."""


class FaceTooSmallError(FaceError):
    """Faces were found, but all are smaller than the detector's minimum size."""


@dataclass(frozen=True)
class Face:
    """One detected face. Coordinates are pixels in the original image."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float  # detector confidence 0-1
    landmarks5: np.ndarray  # (5, 2): left eye, right eye, nose tip, left mouth corner, right mouth corner
    embedding: np.ndarray | None = None  # (512,) float32, L2-normalised
    landmarks68: np.ndarray | None = field(default=None, repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

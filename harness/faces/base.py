"""The two interfaces every backend implements: a face detector (with landmarks) and an embedder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from harness.faces.types import Face


class FaceDetector(Protocol):
    name: str
    min_face_size: float  # faces whose box side (pixels in the original image) is smaller are refused

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """All faces (largest first) with box, score and landmarks5, for each BGR image."""
        ...


class FaceEmbedder(Protocol):
    name: str
    dim: int

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        """(N,112,112,3) uint8 BGR aligned crops -> (N,dim) float32, L2-normalised rows.

        An embedder with an alignment of its own (see :class:`SelfAligningEmbedder`) takes the crops its
        ``align`` makes instead."""
        ...


class SelfAligningEmbedder(FaceEmbedder, Protocol):
    """An embedder trained on its own crops (dlib's 150x150 chips), not on the ArcFace 112x112 template."""

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        """BGR image and one detected face -> the crop :meth:`embed_aligned` expects."""
        ...


def crop_for(embedder: FaceEmbedder, image: np.ndarray, face: Face) -> np.ndarray:
    """The crop ``embedder`` expects for ``face``: its own alignment if it has one, else ArcFace's."""
    align = getattr(embedder, "align", None)
    if align is not None:
        return np.asarray(align(image, face))
    from harness.faces.align import align_face

    return align_face(image, face.landmarks5)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def run_in_chunks(run: Callable[[np.ndarray], list[np.ndarray]], batch: np.ndarray, chunk: int) -> list[np.ndarray]:
    """Call ``run`` (one model call -> list of outputs) on slices of at most ``chunk`` rows; concatenate."""
    if len(batch) <= chunk:
        return run(batch)
    parts = [run(batch[i : i + chunk]) for i in range(0, len(batch), chunk)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]

"""Image -> faces -> aligned crops -> embeddings, batched across images and faces."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.faces.base import FaceDetector, FaceEmbedder, crop_for
from harness.faces.image import DEFAULT_MAX_PIXELS, ImageSource, load_image
from harness.faces.types import Face, FaceError, FaceTooSmallError, NoFaceError

if TYPE_CHECKING:
    from harness.faces.faceplugin import FacepluginLiveness

BACKENDS = ("faceplugin", "insightface")


def _make_backend(backend: str, providers: Sequence[str] | str | None, threads: int | None,
                  model_dir: Path | None) -> tuple[FaceDetector, FaceEmbedder]:
    if backend == "faceplugin":
        from harness.faces.faceplugin import FacepluginDetector, FacepluginEmbedder

        return FacepluginDetector(providers, threads), FacepluginEmbedder(providers, threads)
    if backend == "insightface":
        from harness.faces.insightface_backend import load_insightface

        return load_insightface(model_dir, providers, threads)
    raise ValueError(f"unknown face backend {backend!r}; choose one of {', '.join(BACKENDS)}")


class FacePipeline:
    """Detect, align and embed faces. Thread-safe for concurrent calls (onnxruntime sessions are)."""

    def __init__(
        self,
        backend: str = "faceplugin",
        providers: Sequence[str] | str | None = None,
        threads: int | None = None,
        *,
        model_dir: Path | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        detector: FaceDetector | None = None,
        embedder: FaceEmbedder | None = None,
    ):
        if detector is None or embedder is None:
            det, emb = _make_backend(backend, providers, threads, model_dir)
            detector, embedder = detector or det, embedder or emb
        self.backend = backend
        self.detector = detector
        self.embedder = embedder
        self.max_pixels = max_pixels
        self._providers, self._threads = providers, threads
        self._liveness: FacepluginLiveness | None = None

    # -- single image -------------------------------------------------------------------------------
    def detect(self, image: ImageSource) -> list[Face]:
        """All faces at least ``min_face_size`` big, largest first, without embeddings."""
        result = self.detect_many([image])[0]
        if isinstance(result, FaceError):
            raise result
        return result

    def face_boxes(self, image: ImageSource) -> list[Face]:
        """The faces :meth:`detect` returns, with the same boxes and scores, but without landmarks when the
        detector can skip them (faceplugin's ``detect_boxes``: no landmark model run); ``landmarks5`` is
        then zeros. For callers that need boxes only, such as the campaign's face crop."""
        boxes = getattr(self.detector, "detect_boxes", None)
        if boxes is None:
            return self.detect(image)
        img = load_image(image, max_pixels=self.max_pixels)
        h, w = img.shape[:2]
        faces = []
        for box, score in boxes([img])[0]:
            x1, y1, x2, y2 = (float(v) for v in box)  # clipped as the detector's detect_batch clips them
            clipped = (max(0.0, x1), max(0.0, y1), min(float(w - 1), x2), min(float(h - 1), y2))
            faces.append(Face(box=clipped, score=score, landmarks5=np.zeros((5, 2), np.float32)))
        result = self._check_faces(faces, image if isinstance(image, (str, Path)) else "image")
        if isinstance(result, FaceError):
            raise result
        return result

    def analyze(self, image: ImageSource) -> list[Face]:
        """Faces with L2-normalised embeddings, largest first; raises a FaceError subclass."""
        result = self.analyze_many([image])[0]
        if isinstance(result, FaceError):
            raise result
        return result

    # -- batches ------------------------------------------------------------------------------------
    def _load_all(self, images: Sequence[ImageSource]) -> list[np.ndarray | FaceError]:
        out: list[np.ndarray | FaceError] = []
        for img in images:
            try:
                out.append(load_image(img, max_pixels=self.max_pixels))
            except FaceError as exc:
                out.append(exc)
        return out

    def detect_many(self, images: Sequence[ImageSource]) -> list[list[Face] | FaceError]:
        """Like :meth:`detect` for many images; a bad image yields its error in its place."""
        return self._detect_loaded(self._load_all(images), images)

    def _detect_loaded(
        self, loaded: list[np.ndarray | FaceError], sources: Sequence[ImageSource]
    ) -> list[list[Face] | FaceError]:
        good = [i for i, x in enumerate(loaded) if not isinstance(x, FaceError)]
        arrays = [x for x in loaded if not isinstance(x, FaceError)]
        found = self.detector.detect_batch(arrays) if good else []
        # load errors stay in place; every loaded image's entry is replaced below
        results: list[list[Face] | FaceError] = [x if isinstance(x, FaceError) else [] for x in loaded]
        for i, faces in zip(good, found, strict=True):
            results[i] = self._check_faces(faces, sources[i])
        return results

    def _check_faces(self, faces: list[Face], src: ImageSource) -> list[Face] | FaceError:
        label = str(src) if isinstance(src, (str, Path)) else "image"
        if not faces:
            return NoFaceError(f"{label}: no face found")
        big = [f for f in faces if min(f.width, f.height) >= self.detector.min_face_size]
        if not big:
            side = max(min(f.width, f.height) for f in faces)
            return FaceTooSmallError(
                f"{label}: {len(faces)} face(s) found, the largest {side:.0f} px; the minimum is "
                f"{self.detector.min_face_size:.0f} px"
            )
        return big

    def analyze_many(self, images: Sequence[ImageSource]) -> list[list[Face] | FaceError]:
        """Detect and embed faces of many images with one batched model call per stage."""
        loaded = self._load_all(images)
        results = self._detect_loaded(loaded, images)
        crops: list[np.ndarray] = []
        where: list[tuple[list[Face], int]] = []
        for image, faces in zip(loaded, results, strict=True):
            if isinstance(faces, FaceError) or isinstance(image, FaceError):  # a load error is in both
                continue
            for j, face in enumerate(faces):
                crops.append(crop_for(self.embedder, image, face))
                where.append((faces, j))
        if crops:
            emb = self.embedder.embed_aligned(np.stack(crops))
            for (faces, j), e in zip(where, emb, strict=True):
                faces[j] = replace(faces[j], embedding=e)
        return results

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        return self.embedder.embed_aligned(crops)

    def liveness(self, image: ImageSource, faces: Sequence[Face]) -> np.ndarray:
        """Probability that each face is a live capture (faceplugin fr_liveness; default backend only)."""
        if self._liveness is None:
            from harness.faces.faceplugin import FacepluginLiveness

            self._liveness = FacepluginLiveness(self._providers, self._threads)
        return self._liveness.live_probability(load_image(image, max_pixels=self.max_pixels), faces)


_default_lock = threading.Lock()


@functools.cache
def _default() -> FacePipeline:
    return FacePipeline()


def default_pipeline() -> FacePipeline:
    """The process-wide CPU pipeline with the default (faceplugin) models."""
    with _default_lock:
        return _default()

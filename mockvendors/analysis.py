"""Image analysis for the mock vendors: faces, embeddings, and the face attributes vendors report.

The face model is injected: an :class:`Analyzer` turns image bytes into an :class:`ImageAnalysis`.
:class:`PipelineAnalyzer` uses the project's face pipeline (``harness.faces``); anything else with
an ``analyze(bytes) -> ImageAnalysis`` method (and a ``model_id``) works too. :class:`CachingAnalyzer`
keys results by the image's sha256, so the same bytes are analysed once and always get the same answer.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from harness.faces.types import Face, FaceError, FaceTooSmallError, ImageDecodeError, NoFaceError

if TYPE_CHECKING:
    from harness.faces import FacePipeline

# magic bytes -> format name as Azure's metadata.format spells it
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "Jpeg"),
    (b"\x89PNG\r\n\x1a\n", "Png"),
    (b"GIF87a", "Gif"),
    (b"GIF89a", "Gif"),
    (b"BM", "Bmp"),
)


def sniff_format(data: bytes) -> str | None:
    """The image container format from its magic bytes ("Jpeg", "Png", "Gif", "Bmp", "Webp", "Tiff"), or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "Webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "Tiff"
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FaceAnalysis:
    """One detected face with what the vendors report about it. Pixel coordinates."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float  # detector confidence 0-1
    landmarks5: tuple[tuple[float, float], ...]  # left eye, right eye, nose, left mouth, right mouth
    embedding: np.ndarray  # (D,) float32, L2-normalised
    pose: tuple[float, float, float]  # roll, yaw, pitch in degrees (geometric estimate from landmarks5)
    brightness: float  # 0-100, mean luminance of the face box
    sharpness: float  # 0-100, from the variance of the Laplacian of the face box


@dataclass(frozen=True)
class ImageAnalysis:
    sha256: str
    width: int
    height: int
    format: str | None
    faces: tuple[FaceAnalysis, ...]  # largest first


class Analyzer(Protocol):
    @property
    def model_id(self) -> str:
        """Names the embedding model, so a saved gallery is not mixed with another model's embeddings."""
        ...

    def analyze(self, image: bytes) -> ImageAnalysis:
        """Faces of ``image``; an image without a (large enough) face gives ``faces == ()``.

        Raises ``ImageDecodeError``/``ImageTooLargeError`` for bytes that are not a usable image."""
        ...


def pose_from_landmarks(lm: np.ndarray) -> tuple[float, float, float]:
    """Roll, yaw, pitch (degrees) from 5 landmarks: a geometric estimate, not a head-pose model.

    Roll is the eye line's angle; yaw from the nose's sideways offset from the eye midpoint
    (relative to the eye distance); pitch from the nose's height between the eye and mouth lines
    (0.5 of the way down is taken as level)."""
    le, re, nose, lm_, rm = (np.asarray(p, dtype=np.float64) for p in lm[:5])
    eye_vec = re - le
    iod = float(np.hypot(*eye_vec)) or 1.0
    roll = math.degrees(math.atan2(eye_vec[1], eye_vec[0]))
    axis = eye_vec / iod
    normal = np.array([-axis[1], axis[0]])
    eye_mid, mouth_mid = (le + re) / 2, (lm_ + rm) / 2
    sideways = float(np.dot(nose - eye_mid, axis)) / iod
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * sideways))))
    down = float(np.dot(mouth_mid - eye_mid, normal)) or 1.0
    level = float(np.dot(nose - eye_mid, normal)) / down
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * (0.5 - level)))))
    return round(roll, 4), round(yaw, 4), round(pitch, 4)


def face_quality(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(brightness, sharpness), each 0-100, of the face box. Sharpness = 100 * (1 - exp(-var(Laplacian)/200))."""
    import cv2

    h, w = image_bgr.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(math.ceil(box[2]))), min(h, int(math.ceil(box[3])))
    if x2 <= x1 or y2 <= y1:
        return 0.0, 0.0
    grey = cv2.cvtColor(image_bgr[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    brightness = float(grey.mean()) / 255.0 * 100.0
    grey = cv2.resize(grey, (112, 112), interpolation=cv2.INTER_AREA)
    var = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return round(brightness, 4), round(100.0 * (1.0 - math.exp(-var / 200.0)), 4)


MAX_FACES = 100  # the most faces any vendor answers for (Azure detect, AWS CompareFaces' target: 100)
EMBED_BATCH = 16  # faces embedded per model call: a model call is the unit other requests queue behind


class FairGate:
    """At most ``slots`` holders at a time, admitted first come, first served.

    The face model runs one call at a time (no oversubscription of the cores, no shared-state races)
    but a request's work is split into several calls (detection, then batches of faces), each taken
    through this gate: a many-face image queues behind the other requests for each of its calls
    instead of holding the model for all of them (``threading.Lock`` is not fair, and the thread that
    just released it usually takes it again)."""

    def __init__(self, slots: int = 1):
        self.slots = slots
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0  # tickets below this have been admitted (or given up)
        self._busy = 0
        self._given_up: set[int] = set()  # tickets whose waiter was interrupted

    def _pass_given_up(self) -> None:
        while self._serving in self._given_up:
            self._given_up.discard(self._serving)
            self._serving += 1

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            try:
                self._cond.wait_for(lambda: ticket == self._serving and self._busy < self.slots)
            except BaseException:  # e.g. KeyboardInterrupt: the ticket must not block the ones behind it
                self._given_up.add(ticket)
                self._pass_given_up()
                self._cond.notify_all()
                raise
            self._serving += 1
            self._busy += 1
            self._pass_given_up()
            self._cond.notify_all()  # the next ticket may fit in a free slot

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()


class ImageMemo:
    """Decoded pixels and detected faces of recent images, by sha256 of their bytes, shared by every
    analyzer of the process.

    The three mock vendors run three recognizers behind one detector: each vendor analyses the same
    upload, and without this each would decode it and find its faces again. Detection is
    deterministic, so the faces one analyzer found are the faces another would find. Pixels are kept
    for a short while only (``max_pixel_bytes``): long enough for the other vendors' analyzers, and for
    a caller that decoded the image already (:meth:`put_pixels`, the campaign's face crop) to spare
    the first one the decode. Detections are small and kept longer (``max_detections``)."""

    def __init__(self, max_pixel_bytes: int = 256 << 20, max_detections: int = 1 << 16):
        self.max_pixel_bytes, self.max_detections = max_pixel_bytes, max_detections
        self._pixels: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pixel_bytes = 0
        self._faces: OrderedDict[tuple[str, str], list[Face]] = OrderedDict()
        self._inflight: dict[tuple[str, str], Future[list[Face]]] = {}
        self._lock = threading.Lock()

    def put_pixels(self, sha256: str, pixels: np.ndarray) -> None:
        """Remember the decoded image of the bytes whose sha256 is ``sha256`` (HxWx3 uint8 BGR, exactly what
        :func:`harness.faces.load_image` makes of them)."""
        if pixels.nbytes > self.max_pixel_bytes // 4:
            return
        with self._lock:
            old = self._pixels.pop(sha256, None)
            if old is not None:
                self._pixel_bytes -= old.nbytes
            self._pixels[sha256] = pixels
            self._pixel_bytes += pixels.nbytes
            while self._pixel_bytes > self.max_pixel_bytes:
                _, dropped = self._pixels.popitem(last=False)
                self._pixel_bytes -= dropped.nbytes

    def pixels(self, sha256: str) -> np.ndarray | None:
        with self._lock:
            hit = self._pixels.get(sha256)
            if hit is not None:
                self._pixels.move_to_end(sha256)
            return hit

    def put_faces(self, detector: str, sha256: str, faces: list[Face]) -> None:
        with self._lock:
            self._faces[(detector, sha256)] = faces
            while len(self._faces) > self.max_detections:
                self._faces.popitem(last=False)

    def detect_once(self, detector: str, sha256: str, detect: Callable[[], list[Face]]) -> list[Face]:
        """The faces known for this image, else ``detect()``'s; analyzers asking for the same image at the
        same time (the three vendors' threads, on one batch) wait for the first one's answer."""
        key = (detector, sha256)
        with self._lock:
            known = self._faces.get(key)
            if known is not None:
                return known
            pending = self._inflight.get(key)
            owner = pending is None
            if owner:
                pending = self._inflight[key] = Future()
        assert pending is not None
        if not owner:
            return pending.result()
        try:
            faces = detect()
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
            pending.set_exception(exc)
            raise
        self.put_faces(detector, sha256, faces)
        with self._lock:
            self._inflight.pop(key, None)
        pending.set_result(faces)
        return faces

    def faces(self, detector: str, sha256: str) -> list[Face] | None:
        with self._lock:
            return self._faces.get((detector, sha256))

    def clear(self) -> None:
        with self._lock:
            self._pixels.clear()
            self._faces.clear()
            self._pixel_bytes = 0


IMAGE_MEMO = ImageMemo()


class PipelineAnalyzer:
    """Analyses images with the project's face pipeline: by default the default pipeline, else the one of
    ``recognizer`` and ``detector`` (names of :mod:`harness.faces.registry`).

    At most ``max_faces`` faces (the largest) of an image are embedded: the others are dropped before
    any embedding work, as no vendor answers for more. Model calls go through one :class:`FairGate`.
    Decoded pixels and detections are shared with the process's other analyzers (:data:`IMAGE_MEMO`)."""

    def __init__(self, pipeline: FacePipeline | None = None, recognizer: str = "faceplugin",
                 detector: str = "faceplugin", max_faces: int = MAX_FACES):
        self._pipeline = pipeline
        self.recognizer, self.detector = recognizer, detector
        # registry-built pipelines of one detector name detect alike; a pipeline given is only its own
        self._detector_key = detector if pipeline is None else f"{detector}@{id(pipeline.detector)}"
        self.max_faces = max_faces
        self._lock = threading.Lock()
        self._gate = FairGate()
        self._model_id: str | None = None

    @property
    def pipeline(self) -> FacePipeline:
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    from harness.faces.registry import pipeline_for

                    self._pipeline = pipeline_for(self.recognizer, self.detector)
        return self._pipeline

    @property
    def model_id(self) -> str:
        """Names the embedding model, so a saved gallery is not mixed with another model's embeddings."""
        if self._model_id is None:
            from harness.faces.registry import model_id

            self._model_id = model_id(self.recognizer, self.detector)
        return self._model_id

    def analyze(self, image: bytes, sha256: str | None = None) -> ImageAnalysis:
        from harness.faces import load_image

        fmt = sniff_format(image)
        sha = sha256 or sha256_hex(image)
        pixels = IMAGE_MEMO.pixels(sha)
        if pixels is None:
            try:
                pixels = load_image(image)
            except FaceError:
                raise
            except Exception as exc:  # noqa: BLE001 - decoders fail in many ways on hostile bytes (PIL: AttributeError...)
                raise ImageDecodeError(f"cannot decode the image ({type(exc).__name__}: {exc})") from exc
            IMAGE_MEMO.put_pixels(sha, pixels)
        h, w = pixels.shape[:2]
        out: list[FaceAnalysis] = []
        for f, embedding in zip(*self._faces(pixels, sha), strict=True):
            lm = np.asarray(f.landmarks5, dtype=np.float64)
            x1, y1, x2, y2 = f.box
            box = (float(x1), float(y1), float(x2), float(y2))
            brightness, sharpness = face_quality(pixels, box)
            out.append(FaceAnalysis(
                box=box, score=float(f.score),
                landmarks5=tuple((float(x), float(y)) for x, y in lm[:5]),
                embedding=np.asarray(embedding, dtype=np.float32),
                pose=pose_from_landmarks(lm), brightness=brightness, sharpness=sharpness,
            ))
        return ImageAnalysis(sha, int(w), int(h), fmt, tuple(out))

    def _detect(self, pixels: np.ndarray, sha: str) -> list[Face]:
        """All faces of ``pixels`` the detector keeps (largest first), or the ones another analyzer found."""
        def detect() -> list[Face]:
            try:
                with self._gate:
                    return self.pipeline.detect(pixels)
            except (NoFaceError, FaceTooSmallError):
                return []

        return IMAGE_MEMO.detect_once(self._detector_key, sha, detect)

    def _faces(self, pixels: np.ndarray, sha: str) -> tuple[list[Face], list[np.ndarray]]:
        """The largest ``max_faces`` faces of ``pixels``, largest first, and their embeddings."""
        from harness.faces.base import crop_for

        pipeline = self.pipeline
        faces = self._detect(pixels, sha)[: self.max_faces]
        if not faces:
            return [], []
        crops = [crop_for(pipeline.embedder, pixels, f) for f in faces]
        embeddings: list[np.ndarray] = []
        for at in range(0, len(crops), EMBED_BATCH):
            with self._gate:
                embeddings.extend(pipeline.embed_aligned(np.stack(crops[at: at + EMBED_BATCH])))
        return faces, embeddings


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from the image header without decoding pixels, or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.size[0]), int(im.size[1])
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _plain_error(exc: FaceError) -> FaceError:
    """A copy of ``exc`` with only its type and message: no traceback, no chained exception.

    What the cache keeps of a failure. The original's traceback (and the decoder's exception chained
    to it) holds the frames of the failed decode, and so the partly decoded PIL image: cached for
    every distinct bad image, a few truncated 6000x6000 PNGs held a gigabyte alive."""
    try:
        plain = type(exc)(*exc.args)
    except Exception:  # noqa: BLE001 - a subclass with another constructor: keep the message only
        plain = FaceError(str(exc))
    plain.__suppress_context__ = True
    return plain


class CachingAnalyzer:
    """Wraps an analyzer with an LRU cache keyed by sha256 of the bytes. Failures are cached too,
    as plain errors (type and message, see :func:`_plain_error`); each hit raises a fresh copy, so the
    cached one never gains a traceback that would keep a request's frames alive."""

    def __init__(self, inner: Analyzer, max_entries: int = 1 << 16):
        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[str, ImageAnalysis | FaceError] = OrderedDict()
        self._recent: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def cached(self, sha256: str) -> ImageAnalysis | FaceError | None:
        with self._lock:
            hit = self._cache.get(sha256)
            if hit is not None:
                self._cache.move_to_end(sha256)
            return hit

    def _key(self, image: bytes) -> str:
        """sha256 of ``image``; the same bytes object seen recently is not hashed again."""
        hit = self._recent.get(id(image))
        if hit is not None and hit[0] is image:
            return hit[1]
        key = sha256_hex(image)
        with self._lock:
            self._recent[id(image)] = (image, key)  # holds the object, so its id cannot be reused
            while len(self._recent) > 64:
                self._recent.popitem(last=False)
        return key

    def analyze(self, image: bytes, sha256: str | None = None) -> ImageAnalysis:
        key = sha256 or self._key(image)
        hit = self.cached(key)
        if hit is None:
            self.misses += 1
            try:
                hit = self.inner.analyze(image, key) if isinstance(self.inner, PipelineAnalyzer) \
                    else self.inner.analyze(image)
            except FaceError as exc:
                hit = _plain_error(exc)
            with self._lock:
                self._cache[key] = hit
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        else:
            self.hits += 1
        if isinstance(hit, FaceError):
            raise _plain_error(hit)
        return hit

    def put(self, analysis: ImageAnalysis) -> None:
        """Seed the cache (e.g. from a saved embeddings file)."""
        with self._lock:
            self._cache[analysis.sha256] = analysis


__all__ = [
    "IMAGE_MEMO", "MAX_FACES", "Analyzer", "CachingAnalyzer", "FaceAnalysis", "FairGate", "ImageAnalysis",
    "ImageDecodeError", "ImageMemo", "PipelineAnalyzer", "face_quality", "image_size", "pose_from_landmarks",
    "sha256_hex", "sniff_format",
]

"""From an image reference to the bytes a vendor receives, with the face crop the study made.

The study cropped each face (MTCNN) before uploading it. With ``crop=True`` (or ``"faceplugin"``)
the largest face the default detector finds is cut out with a margin of :data:`CROP_MARGIN` of its
box on every side, squared, and sent as PNG. With ``crop="mtcnn"`` MTCNN finds it and it is cut as
facenet-pytorch's ``MTCNN`` cuts faces (:func:`harness.faces.mtcnn.mtcnn_crop`): the box grown by
:data:`MTCNN_MARGIN` output pixels, resized to :data:`MTCNN_SIZE` x :data:`MTCNN_SIZE`. The study's
notebooks upload folders it had already cropped and do not say its margin or size, so these are
facenet-pytorch's defaults (image_size=160, margin=0), the usual MTCNN crop of that time.

An image without a detectable face becomes a ``no_face`` error for that probe instead of a vendor
call. Crops are stored in ``cache_dir`` by the sha256 of the source bytes (and the cropper), so a
resumed or repeated campaign does not detect faces again.

A crop made in this run also carries its pixels (:attr:`PreparedImage.pixels`, exactly what decoding
its PNG gives): the runner hands them to in-process mock vendors, which then need not decode the
PNG they are sent. Every other backend gets the PNG bytes only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from harness.datasets.images import ImageRefError, encode_png, load_ref_bytes
from harness.errors import DfiError

CROP_MARGIN = 0.3
MTCNN_MARGIN = 0
MTCNN_SIZE = 160
CROPPERS = ("faceplugin", "mtcnn")


def cropper_name(crop: bool | str) -> str | None:
    """``True`` -> the default cropper, ``False``/``"none"`` -> None, else the cropper named (checked)."""
    if crop is True:
        return "faceplugin"
    if crop is False or crop in ("", "none"):
        return None
    if crop not in CROPPERS:
        raise DfiError(f"unknown face cropper {crop!r}; choose one of {', '.join(CROPPERS)}")
    return str(crop)


@dataclass(frozen=True)
class PreparedImage:
    data: bytes | None
    sha256: str = ""
    error: str = ""  # "code: message" when the image cannot be sent
    # the decoded crop (HxWx3 uint8 BGR) when it was made in this run; never kept in the preparer's memo
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crop_largest_face(data: bytes, margin: float = CROP_MARGIN, cropper: str = "faceplugin") -> bytes | None:
    """PNG of the largest face; None: no face. ``faceplugin``: with ``margin`` (fraction of the box size)
    around it, squared; ``mtcnn``: MTCNN's box, facenet-pytorch's crop (see the module notes)."""
    pixels = crop_pixels(data, margin, cropper)
    return None if pixels is None else encode_png(pixels)


def crop_pixels(data: bytes, margin: float = CROP_MARGIN, cropper: str = "faceplugin") -> np.ndarray | None:
    """The crop :func:`crop_largest_face` encodes, as a contiguous BGR array; None: no face."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ImageRefError("<bytes>", "undecodable_image", "not a decodable image")
    if cropper == "mtcnn":
        return _mtcnn_crop(img)
    from harness.faces import default_pipeline

    try:
        faces = default_pipeline().face_boxes(img)  # the crop needs the box only: no landmark model
    except DfiError:
        return None
    if not faces:
        return None
    f = max(faces, key=lambda f: f.width * f.height)
    x1, y1, x2, y2 = f.box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = img.shape[:2]
    a, b = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    c, d = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    return np.ascontiguousarray(img[b:d, a:c])  # a copy: a view would keep the whole photo alive


def _mtcnn_crop(img: np.ndarray) -> np.ndarray | None:
    from harness.faces.mtcnn import mtcnn_crop
    from harness.faces.registry import pipeline_for

    try:
        faces = pipeline_for(detector_name="mtcnn").detector.detect_batch([img])[0]
    except DfiError:
        return None
    if not faces:
        return None
    f = max(faces, key=lambda f: f.width * f.height)
    return np.ascontiguousarray(mtcnn_crop(img, f, margin=MTCNN_MARGIN, size=MTCNN_SIZE))


class ImagePreparer:
    def __init__(self, *, crop: bool | str = True, cache_dir: Path | None = None, margin: float = CROP_MARGIN,
                 memory_entries: int = 2048):
        self.cropper = cropper_name(crop)
        self.crop = self.cropper is not None
        self.margin = margin
        self.cache_dir = cache_dir
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
        self._memo: OrderedDict[tuple[str, str], PreparedImage] = OrderedDict()
        self._max = memory_entries
        self._lock = threading.Lock()

    def prepare(self, ref: str, role: str = "image") -> PreparedImage:
        """``role`` names the image in error messages ("deepfake", "real target image")."""
        key = (ref, role)
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        result = self._prepare(ref, role)
        with self._lock:
            self._memo[key] = replace(result, pixels=None) if result.pixels is not None else result
            while len(self._memo) > self._max:
                self._memo.popitem(last=False)
        return result

    def _prepare(self, ref: str, role: str) -> PreparedImage:
        try:
            data = load_ref_bytes(ref)
        except ImageRefError as exc:
            return PreparedImage(None, error=f"{exc.code}: {role}: {exc.detail}")
        if not self.crop:
            return PreparedImage(data, sha256_hex(data))
        src_sha = sha256_hex(data)
        cached = self._cached_crop(src_sha)
        pixels = None
        if cached is None:
            try:
                pixels = crop_pixels(data, self.margin, self.cropper or "faceplugin")
            except ImageRefError as exc:
                return PreparedImage(None, error=f"{exc.code}: {role}: {exc.detail}")
            crop = None if pixels is None else encode_png(pixels)
            self._store_crop(src_sha, crop)
        else:
            crop = cached or None
        if crop is None:
            return PreparedImage(None, error=f"no_face: no face detected in the {role}")
        return PreparedImage(crop, sha256_hex(crop), pixels=pixels)

    def _crop_path(self, sha: str) -> Path | None:
        if self.cache_dir is None:
            return None
        if self.cropper == "mtcnn":
            return self.cache_dir / f"{sha}-mtcnn-m{MTCNN_MARGIN}-s{MTCNN_SIZE}.png"
        return self.cache_dir / f"{sha}-m{int(self.margin * 100)}.png"

    def _cached_crop(self, sha: str) -> bytes | None:
        """Crop bytes, b"" when known to have no face, None when not cached."""
        p = self._crop_path(sha)
        if p is None:
            return None
        if p.is_file():
            return p.read_bytes()
        if p.with_suffix(".noface").is_file():
            return b""
        return None

    def _store_crop(self, sha: str, crop: bytes | None) -> None:
        p = self._crop_path(sha)
        if p is None:
            return
        target = p if crop is not None else p.with_suffix(".noface")
        # per process and thread: two workers cropping the same image at once (shards of one campaign on
        # Ray) must not write into one temporary file
        tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_bytes(crop or b"")
        tmp.replace(target)

"""Turn an image reference into encoded image bytes (what a vendor receives).

A reference is a path with an optional fragment:

* ``photo.jpg`` -- the file's bytes, unchanged;
* ``clip.mp4#frame=N`` -- frame N of a video, decoded with OpenCV and encoded as PNG;
* ``photo.jpg#crop=x1,y1,x2,y2`` -- a rectangle in fractions of width/height, encoded as PNG;
* ``photo.jpg#flip`` / ``#crop=...&flip`` -- mirrored (used for gallery augmentations).

Failures raise :class:`ImageRefError` with a reason that ends up in the results table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from harness.errors import DfiError


class ImageRefError(DfiError):
    """An image reference cannot be read: missing file, undecodable image or video frame."""

    def __init__(self, ref: str, code: str, message: str):
        self.ref = ref
        self.code = code
        self.detail = f"{message} ({Path(ref.split('#', 1)[0]).name})"
        super().__init__(f"{code}: {self.detail}")


@dataclass(frozen=True)
class ParsedRef:
    path: Path
    frame: int | None = None
    crop: tuple[float, float, float, float] | None = None
    flip: bool = False

    @property
    def is_plain(self) -> bool:
        return self.frame is None and self.crop is None and not self.flip


def parse_ref(ref: str) -> ParsedRef:
    path, _, frag = ref.partition("#")
    frame = None
    crop = None
    flip = False
    for part in filter(None, frag.split("&")):
        key, _, value = part.partition("=")
        if key == "frame":
            if not value.isdigit():
                raise ImageRefError(ref, "bad_reference", f"frame {value!r} is not a frame number (0, 1, 2, ...)")
            frame = int(value)
        elif key == "crop":
            try:
                x1, y1, x2, y2 = (float(v) for v in value.split(","))
            except ValueError:
                raise ImageRefError(ref, "bad_reference", f"crop {value!r} is not four numbers x1,y1,x2,y2") from None
            if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
                raise ImageRefError(ref, "bad_reference", f"crop {value} is not inside 0..1")
            crop = (x1, y1, x2, y2)
        elif key == "flip":
            flip = True
        else:
            raise ImageRefError(ref, "bad_reference", f"unknown fragment {key!r}")
    return ParsedRef(Path(path), frame, crop, flip)


def make_ref(path: str | Path, *, frame: int | None = None,
             crop: tuple[float, float, float, float] | None = None, flip: bool = False) -> str:
    parts = []
    if frame is not None:
        parts.append(f"frame={frame}")
    if crop is not None:
        parts.append("crop=" + ",".join(f"{v:.4f}".rstrip("0").rstrip(".") or "0" for v in crop))
    if flip:
        parts.append("flip")
    return str(path) + ("#" + "&".join(parts) if parts else "")


class _FrameCache:
    """Recently decoded video frames, so the consecutive frames of one video decode in one pass."""

    def __init__(self, max_frames: int = 256):
        self._frames: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._max = max_frames
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            img = self._frames.get(key)
            if img is not None:
                self._frames.move_to_end(key)
            return img

    def put(self, key: tuple[str, int], img: np.ndarray) -> None:
        with self._lock:
            self._frames[key] = img
            while len(self._frames) > self._max:
                self._frames.popitem(last=False)


_FRAMES = _FrameCache()


def read_video_frames(path: Path, frames: list[int]) -> dict[int, np.ndarray]:
    """Decode the given frame numbers of a video in one forward pass (seeking once to the first)."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ImageRefError(str(path), "undecodable_video", "OpenCV cannot open the video")
        wanted = sorted(set(frames))
        out: dict[int, np.ndarray] = {}
        pos = wanted[0]
        if pos:
            cap.set(cv2.CAP_PROP_POS_FRAMES, pos)
        for n in wanted:
            while pos < n:  # step forward without decoding full frames
                if not cap.grab():
                    break
                pos += 1
            ok, img = cap.read()
            if not ok or img is None:
                break
            out[n] = img
            pos = n + 1
        return out
    finally:
        cap.release()


def video_frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ImageRefError(str(path), "undecodable_video", "OpenCV cannot open the video")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n <= 0:
            ok, _ = cap.read()
            if not ok:
                raise ImageRefError(str(path), "undecodable_video", "the video has no decodable frame")
        return n
    finally:
        cap.release()


def _video_frame(ref: str, p: ParsedRef, prefetch: list[int] | None) -> np.ndarray:
    key = (str(p.path), int(p.frame))  # type: ignore[arg-type]
    img = _FRAMES.get(key)
    if img is None:
        wanted = sorted(set((prefetch or []) + [key[1]]))
        for n, frame in read_video_frames(p.path, wanted).items():
            _FRAMES.put((key[0], n), frame)
        img = _FRAMES.get(key)
    if img is None:
        raise ImageRefError(ref, "undecodable_video", f"frame {p.frame} cannot be decoded")
    return img


def load_ref_array(ref: str, prefetch_frames: list[int] | None = None) -> np.ndarray:
    """The referenced image as an HxWx3 BGR uint8 array."""
    p = parse_ref(ref)
    if not p.path.is_file():
        raise ImageRefError(ref, "missing_file", "file not found")
    if p.frame is not None:
        return _apply(_video_frame(ref, p, prefetch_frames), p)
    decoded = cv2.imread(str(p.path), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageRefError(ref, "undecodable_image", "not a decodable image")
    return _apply(decoded, p)


def _apply(img: np.ndarray, p: ParsedRef) -> np.ndarray:
    if p.crop is not None:
        h, w = img.shape[:2]
        x1, y1, x2, y2 = p.crop
        img = img[round(y1 * h):round(y2 * h), round(x1 * w):round(x2 * w)]
    if p.flip:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


def load_ref_bytes(ref: str, prefetch_frames: list[int] | None = None) -> bytes:
    """Encoded bytes of the referenced image: a plain file as it is, anything derived as PNG."""
    p = parse_ref(ref)
    if p.is_plain:
        if not p.path.is_file():
            raise ImageRefError(ref, "missing_file", "file not found")
        data = p.path.read_bytes()
        if not data:
            raise ImageRefError(ref, "undecodable_image", "the file is empty")
        return data
    return encode_png(load_ref_array(ref, prefetch_frames))


def encode_png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ImageRefError("<array>", "encode_failed", "cannot encode the image as PNG")
    return buf.tobytes()

"""Load any image (bytes, path or array) into HxWx3 uint8 BGR, refusing bad or huge input early."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from harness.faces.types import ImageDecodeError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: far above any vendor's limit, far below a bomb
ImageSource = bytes | bytearray | memoryview | str | Path | np.ndarray


def load_image(src: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``src`` to a contiguous HxWx3 uint8 BGR array.

    Grey, palette, RGBA, CMYK and 16-bit images are converted; EXIF orientation is applied.
    The pixel count is checked from the header before any pixel is decoded.
    """
    if isinstance(src, np.ndarray):
        return _from_array(src, max_pixels)
    label = "image bytes"
    if isinstance(src, (str, Path)):
        label = str(src)
        try:
            data = Path(src).read_bytes()
        except OSError as exc:
            raise ImageDecodeError(f"{label}: cannot read the file ({exc.strerror or exc})") from exc
    else:
        data = bytes(src)
    if not data:
        raise ImageDecodeError(f"{label}: the file is empty (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))  # lazy: reads the header only
        except UnidentifiedImageError as exc:
            raise ImageDecodeError(f"{label}: not a recognised image format ({_sniff(data)})") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(f"{label}: refused without decoding it: {exc}") from exc
        except (OSError, SyntaxError, ValueError) as exc:  # e.g. a JPEG cut inside its header segments
            raise ImageDecodeError(f"{label}: the image header is damaged or truncated ({exc})") from exc
        w, h = im.size
        if w * h > max_pixels:
            raise ImageTooLargeError(
                f"{label}: {w}x{h} pixels ({w * h / 1e6:.0f} MP) is over the {max_pixels / 1e6:.0f} MP limit; "
                f"refused without decoding it"
            )
        if w == 0 or h == 0:
            raise ImageDecodeError(f"{label}: the header declares an empty {w}x{h} image")
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageDecodeError(f"{label}: {im.format} data is damaged or truncated ({exc})") from exc
    return _pil_to_bgr(ImageOps.exif_transpose(im) or im)


def _sniff(data: bytes) -> str:
    head = data[:64]
    try:
        text = head.decode("utf-8")
        if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
            return "it looks like text"
    except UnicodeDecodeError:
        pass
    return f"first bytes {head[:8].hex()}"


def _pil_to_bgr(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im).astype(np.uint32)
        grey = (arr >> 8).astype(np.uint8) if arr.max() > 255 else arr.astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if im.mode == "F":
        arr = np.asarray(im)
        grey = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im)[:, :, ::-1])


def _from_array(arr: np.ndarray, max_pixels: int) -> np.ndarray:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ImageDecodeError(f"array of shape {arr.shape} is not an HxW, HxWx3 or HxWx4 image")
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ImageDecodeError(f"array of shape {arr.shape} is empty")
    if h * w > max_pixels:
        raise ImageTooLargeError(f"{w}x{h} array is over the {max_pixels / 1e6:.0f} MP limit")
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]  # BGRA -> BGR
    return np.ascontiguousarray(arr)

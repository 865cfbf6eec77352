"""Image size from the header, for turning the vendors' ratio boxes into pixels."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, UnidentifiedImageError

Box = tuple[float, float, float, float]


def image_size(image: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(image)) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def ratio_box(bb: dict[str, Any], size: tuple[int, int] | None) -> Box | None:
    """AWS's BoundingBox (ratios of the image) in pixels: x1, y1, x2, y2."""
    if not bb or size is None:
        return None
    w, h = size
    left, top = float(bb.get("Left", 0.0)) * w, float(bb.get("Top", 0.0)) * h
    return (left, top, left + float(bb.get("Width", 0.0)) * w, top + float(bb.get("Height", 0.0)) * h)

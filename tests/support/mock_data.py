"""Shared data for the mock-vendor tests: the test gallery (real photos from ../shared/data) and
image re-encodings."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from mockvendors.analysis import Analyzer
from mockvendors.gallery import Gallery

SATYA_IMAGE = "vendor-recordings/azure/decoded-images/AnalyzeImageByDomainModelVersionTest.0.jpg"


def jpeg(data: bytes | Image.Image, quality: int = 90, mirror: bool = False, max_side: int | None = None) -> bytes:
    im = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data))
    im = im.convert("RGB")
    if mirror:
        im = ImageOps.mirror(im)
    if max_side and max(im.size) > max_side:
        im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def gallery_photos(shared: Path) -> tuple[dict[str, list[bytes | Path]], dict[str, dict]]:
    """Obama (2 of his 3 photos), the CelebFOM real frames, and Satya Nadella from a mirrored
    re-encoding of the Azure recording's image (so the recorded bytes themselves stay a fair probe)."""
    photos: dict[str, list[bytes | Path]] = {
        "Barack Obama": [shared / "faces/obama.jpg", shared / "faces/obama2.jpg"],
        "Satya Nadella": [jpeg((shared / SATYA_IMAGE).read_bytes(), mirror=True)],
    }
    for p in sorted((shared / "paper-samples/CelebFOM").glob("*_real.png")):
        photos[p.name.removesuffix("_real.png")] = [p]
    meta = {
        "Barack Obama": {"tags": {"gender": "male", "region": "western"}, "urls": ["www.wikidata.org/wiki/Q76"]},
        "Satya Nadella": {"tags": {"gender": "male", "region": "south-asia"}},
        "Amir Khan": {"tags": {"gender": "male", "region": "south-asia"}},
        "Emma Stone": {"tags": {"gender": "female", "region": "western"}},
        "Kate Winslet": {"tags": {"gender": "female", "region": "western"}},
        "Miley Cyrus": {"tags": {"gender": "female", "region": "western"}},
        "Will Smith": {"tags": {"gender": "male", "region": "western"}},
    }
    return photos, meta


def build_gallery(shared: Path, analyzer: Analyzer) -> Gallery:
    photos, meta = gallery_photos(shared)
    return Gallery.enrol(photos, analyzer, meta)

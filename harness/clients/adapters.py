"""Vendor-protocol adapters over the real clients: AWS, MS (Azure) and NAV (Naver).

Scores are converted to the harness's 0-100 scale (Azure/Naver 0-1 values times 100). Failures
propagate as :class:`~harness.vendors.base.VendorError` subclasses; an answer is never invented
from a failure.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from harness.clients.aws import AwsClient
from harness.clients.azure import AzureClient, DetectedFace
from harness.clients.naver import NaverClient
from harness.vendors.base import BadImageError, Recognition, RecognizedFace


def image_size(image: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(image)) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _ratio_box(bb: dict[str, Any], size: tuple[int, int] | None) -> tuple[float, float, float, float] | None:
    if not bb or size is None:
        return None
    w, h = size
    left, top = float(bb.get("Left", 0.0)) * w, float(bb.get("Top", 0.0)) * h
    return (left, top, left + float(bb.get("Width", 0.0)) * w, top + float(bb.get("Height", 0.0)) * h)


def recognition_from_aws(response: dict[str, Any], size: tuple[int, int] | None) -> Recognition:
    faces = [
        RecognizedFace(
            name=str(c["Name"]),
            confidence=float(c["MatchConfidence"]),
            raw_confidence=float(c["MatchConfidence"]),
            box=_ratio_box(c.get("Face", {}).get("BoundingBox", {}), size),
            celebrity_id=c.get("Id"),
        )
        for c in response.get("CelebrityFaces", [])
    ]
    faces += [
        RecognizedFace(name=None, confidence=0.0, raw_confidence=0.0, box=_ratio_box(u.get("BoundingBox", {}), size))
        for u in response.get("UnrecognizedFaces", [])
    ]
    return Recognition(tuple(faces))


class AwsVendor:
    name = "aws"
    supports_similarity = True

    def __init__(self, client: AwsClient | None = None):
        self.client = client or AwsClient()

    def recognize(self, image: bytes) -> Recognition:
        return recognition_from_aws(self.client.recognize_celebrities(image), image_size(image))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        """Largest face of ``image_a`` (CompareFaces source) against the faces of ``image_b``."""
        out = self.client.compare_faces(image_a, image_b, similarity_threshold=0.0)
        scores = [float(m["Similarity"]) for m in out["FaceMatches"]]
        if not scores:
            if not out.get("UnmatchedFaces"):
                raise BadImageError(self.name, "NoFaceInTarget", "CompareFaces found no face in the target image")
            return 0.0
        return max(scores)


def _largest(faces: list[DetectedFace]) -> DetectedFace | None:
    return max(faces, key=lambda f: f.face_rectangle.width * f.face_rectangle.height, default=None)


class AzureVendor:
    """MS: celebrities analyze for Recognize; Face detect + find-similar (the study's call) or
    verify for Similarity."""

    name = "ms"
    supports_similarity = True

    def __init__(self, client: AzureClient | None = None, similarity_call: str = "findsimilar"):
        if similarity_call not in ("findsimilar", "verify"):
            raise ValueError("similarity_call must be 'findsimilar' or 'verify'")
        self.client = client or AzureClient()
        self.similarity_call = similarity_call

    def recognize(self, image: bytes) -> Recognition:
        celebs = self.client.analyze_celebrities(image)
        return Recognition(tuple(
            RecognizedFace(
                name=c.name,
                confidence=c.confidence * 100.0,
                raw_confidence=c.confidence,
                box=c.face_rectangle.box() if c.face_rectangle else None,
            )
            for c in celebs
        ))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        face_a = _largest(self.client.detect(image_a))
        face_b = _largest(self.client.detect(image_b))
        if face_a is None or face_b is None:
            which = "first" if face_a is None else "second"
            raise BadImageError(self.name, "NoFaceDetected", f"Face detect found no face in the {which} image")
        if self.similarity_call == "verify":
            return self.client.verify(face_a.face_id, face_b.face_id).confidence * 100.0
        found = self.client.find_similar(face_a.face_id, [face_b.face_id])
        return found.get(face_b.face_id, 0.0) * 100.0


class NaverVendor:
    name = "nav"
    supports_similarity = False

    def __init__(self, client: NaverClient | None = None):
        self.client = client or NaverClient()

    def recognize(self, image: bytes) -> Recognition:
        return Recognition(tuple(
            RecognizedFace(name=c.name, confidence=c.confidence * 100.0, raw_confidence=c.confidence)
            for c in self.client.celebrity(image)
        ))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        return None  # CFR has no similarity call


REAL_VENDORS = {"aws": AwsVendor, "ms": AzureVendor, "nav": NaverVendor}


def real_vendor(name: str) -> AwsVendor | AzureVendor | NaverVendor:
    """The real backend for ``name``, configured from the environment."""
    try:
        return REAL_VENDORS[name]()
    except KeyError:
        raise ValueError(f"unknown vendor {name!r}; expected one of {sorted(REAL_VENDORS)}") from None

"""The vendor interface every backend implements: mock in-process, mock over HTTP, real, cassette.

Scores crossing this interface are on the harness's 0-100 scale. ``raw_confidence`` keeps the
vendor's own scale (AWS 0-100, Azure and Naver 0-1). Failures are raised as :class:`VendorError`
subclasses, never returned as an empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from harness.errors import DfiError


class VendorError(DfiError):
    """A vendor call failed. ``code`` is the vendor's error code (or a harness code)."""

    retryable: bool = False

    def __init__(self, vendor: str, code: str, message: str):
        self.vendor = vendor
        self.code = code
        self.message = message
        super().__init__(f"{vendor}: {code}: {message}")


class ThrottledError(VendorError):
    """Over the vendor's rate (AWS ThrottlingException/ProvisionedThroughputExceeded, HTTP 429)."""

    retryable = True


class ServerError(VendorError):
    """5xx or a network failure/timeout."""

    retryable = True


class BadImageError(VendorError):
    """The vendor refused the image (format, size, no face where one is required)."""


class AuthError(VendorError):
    """Missing or rejected credentials."""


@dataclass(frozen=True)
class RecognizedFace:
    name: str | None  # None: the vendor saw a face but named no one
    confidence: float  # 0-100; 0 when name is None
    raw_confidence: float  # vendor's own scale
    box: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 pixels
    celebrity_id: str | None = None


@dataclass(frozen=True)
class Recognition:
    """The answer of one Recognize call."""

    faces: tuple[RecognizedFace, ...] = field(default_factory=tuple)

    def best(self) -> RecognizedFace | None:
        """The named face with the highest confidence, or None when no face is named."""
        named = [f for f in self.faces if f.name]
        return max(named, key=lambda f: f.confidence) if named else None

    @property
    def name(self) -> str | None:
        b = self.best()
        return b.name if b else None

    @property
    def confidence(self) -> float | None:
        b = self.best()
        return b.confidence if b else None


@runtime_checkable
class Vendor(Protocol):
    """What the campaign runner needs from a vendor backend."""

    name: str  # "aws" | "ms" | "nav"
    supports_similarity: bool

    def recognize(self, image: bytes) -> Recognition: ...

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        """Similarity of the (largest) faces of two images, 0-100; None if the vendor has no such call."""
        ...

"""In-process mock vendor backends: the :class:`~harness.vendors.base.Vendor` protocol over
:mod:`mockvendors` behaviour, without HTTP.

``MockVendor.create("aws")`` uses the built-in AWS profile over the demo gallery; pass ``gallery=``
(a :class:`mockvendors.gallery.Gallery`, a folder per name, or a saved ``.npz``/``.json``),
``profile=`` (an override file or dict) and ``analyzer=`` to share one embedding cache between
vendors (``mock_vendors()`` does that for all three).

Answers equal the mock HTTP servers' for the same bytes: the same behaviour object and the same
per-vendor image checks are used; only the envelope differs. Scores are 0-100; ``raw_confidence``
keeps the vendor's scale. Refusals raise :class:`~harness.vendors.base.BadImageError` with the
vendor's own error code; an image without faces is an empty :class:`Recognition` (as the vendors
answer), never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from harness.vendors.base import BadImageError, Recognition, RecognizedFace
from mockvendors.analysis import Analyzer
from mockvendors.behaviour import MockVendorBehaviour, NoFaceInImage, behaviours
from mockvendors.errors import ImageRejected
from mockvendors.gallery import Gallery
from mockvendors.profile import VENDORS, VendorProfile


def _image_checks() -> dict[str, Callable[[bytes], Any]]:
    from mockvendors.aws.protocol import validate_image_bytes
    from mockvendors.azure.protocol import validate_cv_image
    from mockvendors.naver.protocol import validate_image

    return {"aws": validate_image_bytes, "ms": validate_cv_image, "nav": validate_image}


_DECODE_CODES = {"aws": "InvalidImageFormatException", "ms": "InvalidImageFormat", "nav": "ER03"}
_TOO_LARGE_CODES = {"aws": "ImageTooLargeException", "ms": "InvalidImageDimension", "nav": "ER03"}


class MockVendor:
    """One mock vendor, in-process. Implements ``harness.vendors.base.Vendor``."""

    def __init__(self, behaviour: MockVendorBehaviour):
        self.behaviour = behaviour
        self.name = behaviour.vendor
        self.supports_similarity = behaviour.profile.similarity is not None
        self._check = _image_checks()[self.name]

    @classmethod
    def create(cls, vendor: str, gallery: Gallery | str | Path | None = None,
               profile: VendorProfile | str | Path | dict | None = None,
               analyzer: Analyzer | None = None) -> MockVendor:
        return cls(behaviours([vendor], gallery, analyzer, {vendor: profile} if profile else None)[vendor])

    def _to_100(self, value: float) -> float:
        return float(value) * 100.0 / self.behaviour.profile.scale

    def _analysis(self, image: bytes):  # noqa: ANN202
        try:
            self._check(image)
            analysis = self.behaviour.analyze(image)
            if self.name == "ms":
                from mockvendors.azure.protocol import validate_cv_image

                validate_cv_image(image, (analysis.width, analysis.height))
            return analysis
        except ImageRejected as exc:
            raise BadImageError(self.name, exc.code, exc.message) from None
        except ImageTooLargeError as exc:
            raise BadImageError(self.name, _TOO_LARGE_CODES[self.name], str(exc)) from None
        except ImageDecodeError as exc:
            raise BadImageError(self.name, _DECODE_CODES[self.name], str(exc)) from None

    def recognize(self, image: bytes) -> Recognition:
        result = self.behaviour.recognize_analysis(self._analysis(image))
        faces = []
        for m in result.faces:
            if m.named:
                faces.append(RecognizedFace(m.best.name, self._to_100(m.confidence), float(m.confidence),
                                            m.face.box, m.best.id))
            elif self.name == "aws":  # only AWS reports faces it does not name (UnrecognizedFaces)
                faces.append(RecognizedFace(None, 0.0, 0.0, m.face.box))
        return Recognition(tuple(faces))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        """0-100. AWS: CompareFaces (threshold 0), best match among the target's faces;
        MS: largest face of each image, find-similar confidence. None for NAV."""
        if not self.supports_similarity:
            return None
        a, b = self._analysis(image_a), self._analysis(image_b)
        if not a.faces:
            code = "InvalidParameterException" if self.name == "aws" else "NoFaceDetected"
            raise BadImageError(self.name, code, "no face detected in the first (source) image")
        if not b.faces:
            code = "NoFaceInTarget" if self.name == "aws" else "NoFaceDetected"
            raise BadImageError(self.name, code, "no face detected in the second (target) image")
        try:
            if self.name == "aws":
                return self._to_100(max(self.behaviour.compare(image_a, image_b).similarities))
            # the wire answer (find-similar/verify) carries 5 decimals; keep the same number here
            return self._to_100(round(self.behaviour.similarity(image_a, image_b), 5))
        except NoFaceInImage as exc:  # unreachable after the checks above; kept as a guard
            raise BadImageError(self.name, "NoFaceDetected", str(exc)) from None


def mock_vendors(gallery: Gallery | str | Path | None = None, vendors: tuple[str, ...] = VENDORS,
                 analyzer: Analyzer | None = None,
                 profiles: dict[str, VendorProfile | str | Path | dict] | None = None) -> dict[str, MockVendor]:
    """All (or some) mock vendors over one gallery, sharing one embedding cache."""
    return {v: MockVendor(b) for v, b in behaviours(vendors, gallery, analyzer, profiles).items()}

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

from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from harness.vendors import registry
from harness.vendors.base import BadImageError, Recognition, RecognizedFace
from mockvendors.analysis import Analyzer, ImageAnalysis
from mockvendors.behaviour import MockVendorBehaviour, NoFaceInImage, behaviours
from mockvendors.errors import ImageRejected
from mockvendors.gallery import Gallery, Identity
from mockvendors.inprocess_rules import InProcessRules
from mockvendors.profile import VendorProfile

Box = tuple[float, float, float, float]


def answer_to_recognition(answers: Iterable[tuple[Identity | None, float, Box | None]], scale: float,
                          rules: InProcessRules) -> Recognition:
    """The one conversion of a mock's answer into a :class:`Recognition`: per face, the named
    identity (None: not named) with its confidence on the vendor's ``scale``, and the face box.
    The per-call path and the batched fast path (:mod:`harness.backends.fastpath`) both use it."""
    faces = []
    for identity, confidence, box in answers:
        if identity is not None:
            faces.append(RecognizedFace(identity.name, float(confidence) * 100.0 / scale, float(confidence), box,
                                        identity.id))
        elif rules.reports_unnamed_faces:
            faces.append(RecognizedFace(None, 0.0, 0.0, box))
    return Recognition(tuple(faces))


class MockVendor:
    """One mock vendor, in-process. Implements ``harness.vendors.base.Vendor``; the vendor's
    registered :class:`~mockvendors.inprocess_rules.InProcessRules` say how it checks images and
    words its refusals."""

    def __init__(self, behaviour: MockVendorBehaviour):
        self.behaviour = behaviour
        self.name = behaviour.vendor
        self.supports_similarity = behaviour.profile.similarity is not None
        self.rules: InProcessRules = registry.get(self.name).load("inprocess")

    @classmethod
    def create(cls, vendor: str, gallery: Gallery | str | Path | None = None,
               profile: VendorProfile | str | Path | dict | None = None,
               analyzer: Analyzer | None = None) -> MockVendor:
        return cls(behaviours([vendor], gallery, analyzer, {vendor: profile} if profile else None)[vendor])

    def to_100(self, value: float) -> float:
        return float(value) * 100.0 / self.behaviour.profile.scale

    def _analysis(self, image: bytes) -> ImageAnalysis:
        rules = self.rules
        try:
            rules.check_image(image)
            analysis = self.behaviour.analyze(image)
            if rules.check_decoded is not None:
                rules.check_decoded(image, (analysis.width, analysis.height))
            return analysis
        except ImageRejected as exc:
            raise BadImageError(self.name, exc.code, exc.message) from None
        except ImageTooLargeError as exc:
            raise BadImageError(self.name, rules.too_large_code, str(exc)) from None
        except ImageDecodeError as exc:
            raise BadImageError(self.name, rules.decode_error_code, str(exc)) from None

    def recognize(self, image: bytes) -> Recognition:
        result = self.behaviour.recognize_analysis(self._analysis(image))
        return answer_to_recognition(((m.best if m.named else None, m.confidence, m.face.box) for m in result.faces),
                                     self.behaviour.profile.scale, self.rules)

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        """0-100. ``compare`` rules (AWS CompareFaces, threshold 0): best match among the target's
        faces; ``largest`` (Azure find-similar): the largest face of each image. None without a
        similarity call (NAV)."""
        if not self.supports_similarity:
            return None
        a, b = self._analysis(image_a), self._analysis(image_b)
        if not a.faces:
            raise BadImageError(self.name, self.rules.no_face_source_code,
                                "no face detected in the first (source) image")
        if not b.faces:
            raise BadImageError(self.name, self.rules.no_face_target_code,
                                "no face detected in the second (target) image")
        try:
            if self.rules.similarity == "compare":
                return self.to_100(max(self.behaviour.compare(image_a, image_b).similarities))
            return self.to_100(self.round_similarity(self.behaviour.similarity(image_a, image_b)))
        except NoFaceInImage as exc:  # unreachable after the checks above; kept as a guard
            raise BadImageError(self.name, self.rules.no_face_source_code, str(exc)) from None

    def round_similarity(self, value: float) -> float:
        d = self.rules.similarity_decimals
        return round(value, d) if d is not None else value


def mock_vendors(gallery: Gallery | str | Path | None = None, vendors: Sequence[str] | None = None,
                 analyzer: Analyzer | None = None,
                 profiles: dict[str, VendorProfile | str | Path | dict] | None = None) -> dict[str, MockVendor]:
    """All (or some) mock vendors over one gallery, sharing one embedding cache."""
    chosen = registry.names() if vendors is None else vendors
    return {v: MockVendor(b) for v, b in behaviours(chosen, gallery, analyzer, profiles).items()}

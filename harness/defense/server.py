"""The defense inside the mock servers: a behaviour proxy the wire protocols accept unchanged.

:class:`DefendedBehaviour` wraps a :class:`mockvendors.behaviour.MockVendorBehaviour`: every image
the server analyses is screened by the policy's detectors (from the request bytes, as the vendor
receives them) under the one rule of :mod:`harness.defense.rule`, the same as the client-side
:class:`harness.defense.wrapper.DefendedVendor`:

- flagged: recognising it reports each face as unrecognised, so AWS answers it in
  ``UnrecognizedFaces``, Azure and Naver with no celebrity;
- a detector cannot score it: recognition fails with the vendor's own bad-image error in its wire
  shape (AWS ``InvalidParameterException``, Azure ``InvalidArgument``/``InvalidImage``, Naver
  ``ER01``), which the vendor's client reads as a :class:`harness.vendors.base.BadImageError`: an
  error row, as on the client side. (Until this rule the server let such an image through.)

Everything else (similarity calls, gallery, profile) is delegated. :func:`defended_protocols`
builds the servers' protocols with it, for ``mockvendors.server.MockServers``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from harness.defense.policy import Policy
from harness.defense.rule import UNSCORABLE_CODE, Decision, Screen, unscorable_message
from harness.detectors import UnscorableImageError, image_key
from mockvendors.analysis import Analyzer, ImageAnalysis
from mockvendors.behaviour import MockVendorBehaviour, RecognitionResult
from mockvendors.gallery import Gallery
from mockvendors.wire import WireProtocol


def vendor_error(vendor: str, message: str) -> Exception:
    """The vendor's own "bad image" error for ``message``, as its mock protocol answers it; for any
    other registered vendor the mocks' shared refusal :class:`mockvendors.errors.ImageRejected`
    (code ``DetectorFailed``), which a wire protocol answers as its own bad-image error."""
    if vendor == "aws":
        from mockvendors.aws.protocol import AwsError

        return AwsError("InvalidParameterException", message)
    if vendor == "ms":
        from mockvendors.azure.protocol import AzureError

        return AzureError(400, "InvalidArgument", message, "InvalidImage")
    if vendor == "nav":
        from mockvendors.naver.protocol import NaverError

        return NaverError(400, "ER01", message)
    from mockvendors.errors import ImageRejected

    return ImageRejected(vendor, UNSCORABLE_CODE, message)


class DefendedBehaviour:
    def __init__(self, behaviour: MockVendorBehaviour, policy: Policy):
        self._inner = behaviour
        self.policy = policy
        self.screen = Screen(policy)
        self._lock = threading.Lock()
        self.blocked = 0
        self.unscorable = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def analyze(self, image: bytes, sha256: str | None = None) -> ImageAnalysis:
        analysis = self._inner.analyze(image, sha256)
        try:
            self.screen.decide(image, analysis.sha256 or image_key(image))
        except UnscorableImageError:
            pass  # remembered by the screen: recognition answers it with an error; similarity is unguarded
        return analysis

    def recognize_analysis(self, analysis: ImageAnalysis) -> RecognitionResult:
        outcome = self.screen.recall(analysis.sha256)
        if not isinstance(outcome, Decision):
            why = outcome if outcome is not None else UnscorableImageError("the image was not screened")
            with self._lock:
                self.unscorable += 1
            raise vendor_error(self._inner.vendor, unscorable_message(why))
        result = self._inner.recognize_analysis(analysis)
        with self._lock:
            self.blocked += int(outcome.flagged)
        if not outcome.flagged:
            return result
        return RecognitionResult(result.image, tuple(replace(f, named=False) for f in result.faces))

    def recognize(self, image: bytes) -> RecognitionResult:
        return self.recognize_analysis(self.analyze(image))


def defended_protocols(vendors: Iterable[str], gallery: Gallery | str | None, policy: Policy,
                       analyzer: Analyzer | None = None,
                       profiles: Mapping[str, Any] | None = None) -> dict[str, WireProtocol]:
    """Wire protocols for ``vendors`` whose recognition is guarded by ``policy``."""
    from mockvendors.behaviour import behaviours
    from mockvendors.server import protocol_for

    return {v: protocol_for(DefendedBehaviour(b, policy))
            for v, b in behaviours(vendors, gallery, analyzer, profiles).items()}

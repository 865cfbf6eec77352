"""The defense inside the mock servers: a behaviour proxy the wire protocols accept unchanged.

:class:`DefendedBehaviour` wraps a :class:`mockvendors.behaviour.MockVendorBehaviour`: every image
the server analyses is scored by the policy's detectors (from the request bytes, as the vendor
receives them); recognising a flagged image reports each face as unrecognised, so AWS answers it in
``UnrecognizedFaces``, Azure and Naver with no celebrity. Everything else (similarity calls,
gallery, profile) is delegated. :func:`defended_protocols` builds the servers' protocols with it,
for ``mockvendors.server.MockServers``. Client-side wrapping
(:class:`harness.defense.wrapper.DefendedVendor`) does the same for any backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from harness.defense.detectors import detector_scores, image_key
from harness.defense.policy import Policy
from mockvendors.behaviour import MockVendorBehaviour, RecognitionResult


class DefendedBehaviour:
    def __init__(self, behaviour: MockVendorBehaviour, policy: Policy):
        self._inner = behaviour
        self.policy = policy
        self._flags: dict[str, bool] = {}
        self._lock = threading.Lock()
        self.blocked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _decide(self, image: bytes, key: str) -> bool:
        with self._lock:
            if key in self._flags:
                return self._flags[key]
        # a detector failure (no face for it) leaves the image to the vendor, which answers it as usual
        try:
            flagged = bool(self.policy.flags(detector_scores(self.policy.detectors, image)[None, :])[0])
        except Exception:  # noqa: BLE001 - the server must answer; the vendor's own checks apply
            flagged = False
        with self._lock:
            self._flags[key] = flagged
        return flagged

    def analyze(self, image: bytes, sha256: str | None = None):  # noqa: ANN201
        analysis = self._inner.analyze(image, sha256)
        self._decide(image, analysis.sha256 or image_key(image))
        return analysis

    def recognize_analysis(self, analysis) -> RecognitionResult:  # noqa: ANN001
        result = self._inner.recognize_analysis(analysis)
        with self._lock:
            flagged = self._flags.get(analysis.sha256, False)
            self.blocked += int(flagged)
        if not flagged:
            return result
        return RecognitionResult(result.image, tuple(replace(f, named=False) for f in result.faces))

    def recognize(self, image: bytes) -> RecognitionResult:
        return self.recognize_analysis(self.analyze(image))


def defended_protocols(vendors: Iterable[str], gallery, policy: Policy, analyzer=None, profiles=None):  # noqa: ANN001, ANN201
    """Wire protocols for ``vendors`` whose recognition is guarded by ``policy``."""
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for
    from mockvendors.server import protocol_for

    shared = analyzer if isinstance(analyzer, CachingAnalyzer) else CachingAnalyzer(analyzer or PipelineAnalyzer())
    return {v: protocol_for(DefendedBehaviour(behaviour_for(v, gallery, shared, (profiles or {}).get(v)), policy))
            for v in vendors}

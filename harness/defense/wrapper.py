"""A vendor behind a deepfake-detector defense.

:class:`DefendedVendor` wraps any :class:`harness.vendors.base.Vendor` (mock in-process, mock over
HTTP, cassette replay, real client): every image sent to ``recognize`` is scored by the policy's
detectors first; a flagged image never reaches the vendor and is answered with an empty
:class:`Recognition` ("no celebrity"). Each decision is recorded (``decisions``) so reports can
say how many images the defense blocked and which.

``similarity`` passes through unguarded: the study's defense sits in front of celebrity
recognition; face verification is a different product call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from harness.defense.detectors import DetectorError, detector_scores, image_key
from harness.defense.policy import Policy
from harness.vendors.base import Recognition, Vendor, VendorError


class DefenseError(VendorError):
    """The defense could not decide about an image (a detector failed). Recorded as an error row,
    never as "no celebrity"."""


@dataclass(frozen=True)
class Decision:
    key: str  # sha256 of the image bytes
    flagged: bool
    scores: tuple[float, ...]  # one per detector, in policy.detectors order


class DefendedVendor:
    """``vendor`` guarded by ``policy``. Same name and similarity support as the wrapped vendor."""

    def __init__(self, vendor: Vendor, policy: Policy, decisions: dict[str, Decision] | None = None):
        """``decisions``: a dict shared by several wrapped vendors under the same policy, so each
        image is scored once however many vendors see it."""
        self.vendor = vendor
        self.policy = policy
        self.name = vendor.name
        self.supports_similarity = vendor.supports_similarity
        self._lock = threading.Lock()
        self._decisions: dict[str, Decision] = decisions if decisions is not None else {}
        self.calls = 0
        self.blocked_calls = 0

    def decide(self, image: bytes) -> Decision:
        """Score and decide once per distinct image (detectors are deterministic)."""
        key = image_key(image)
        with self._lock:
            hit = self._decisions.get(key)
        if hit is not None:
            return hit
        try:
            scores = detector_scores(self.policy.detectors, image)
        except DetectorError as exc:
            raise DefenseError(self.name, "DetectorFailed", str(exc)) from exc
        flagged = bool(self.policy.flags(scores[None, :])[0])
        decision = Decision(key, flagged, tuple(float(s) for s in scores))
        with self._lock:
            self._decisions[key] = decision
        return decision

    def recognize(self, image: bytes) -> Recognition:
        decision = self.decide(image)
        with self._lock:
            self.calls += 1
            self.blocked_calls += int(decision.flagged)
        if decision.flagged:
            return Recognition(faces=())
        return self.vendor.recognize(image)

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        return self.vendor.similarity(image_a, image_b)

    @property
    def decisions(self) -> dict[str, Decision]:
        with self._lock:
            return dict(self._decisions)

    def blocked(self, image: bytes) -> bool | None:
        """Whether the defense blocked this image (None: never seen)."""
        d = self.decisions.get(image_key(image))
        return None if d is None else d.flagged

    def scores_matrix(self, keys: list[str]) -> np.ndarray:
        ds = self.decisions
        return np.array([ds[k].scores for k in keys], dtype=float)

"""A vendor behind a deepfake-detector defense.

:class:`DefendedVendor` wraps any :class:`harness.vendors.base.Vendor` (mock in-process, mock over
HTTP, cassette replay, real client): every image sent to ``recognize`` is screened by the policy's
detectors first (:mod:`harness.defense.rule`, the same rule the mock servers apply); a flagged image
never reaches the vendor and is answered with an empty :class:`Recognition` ("no celebrity"); an
image a detector cannot score never reaches the vendor either and raises :class:`DefenseError`
(an error row, never "no celebrity"). Each decision is recorded (``decisions``) so reports can
say how many images the defense blocked and which.

``similarity`` passes through unguarded: the study's defense sits in front of celebrity
recognition; face verification is a different product call.
"""

from __future__ import annotations

import threading

import numpy as np

from harness.defense.policy import Policy
from harness.defense.rule import UNSCORABLE_CODE, Decision, DefenseError, Screen, unscorable_message
from harness.detectors import UnscorableImageError, image_key
from harness.vendors.base import Recognition, Vendor

__all__ = ["Decision", "DefendedVendor", "DefenseError"]


class DefendedVendor:
    """``vendor`` guarded by ``policy``. Same name and similarity support as the wrapped vendor."""

    def __init__(self, vendor: Vendor, policy: Policy, decisions: dict[str, Decision] | None = None):
        """``decisions``: a dict shared by several wrapped vendors under the same policy, so each
        image is scored once however many vendors see it."""
        self.vendor = vendor
        self.policy = policy
        self.name = vendor.name
        self.supports_similarity = vendor.supports_similarity
        self.screen = Screen(policy, decisions)
        self._lock = threading.Lock()
        self.calls = 0
        self.blocked_calls = 0
        self.unscorable_calls = 0

    def decide(self, image: bytes) -> Decision:
        """Score and decide once per distinct image (detectors are deterministic); an image a
        detector cannot score raises :class:`DefenseError` (code ``DetectorFailed``)."""
        try:
            return self.screen.decide(image)
        except UnscorableImageError as exc:
            raise DefenseError(self.name, UNSCORABLE_CODE, unscorable_message(exc)) from exc

    def recognize(self, image: bytes) -> Recognition:
        try:
            decision = self.decide(image)
        except DefenseError:
            with self._lock:
                self.calls += 1
                self.unscorable_calls += 1
            raise
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
        return self.screen.decisions

    def blocked(self, image: bytes) -> bool | None:
        """Whether the defense blocked this image (None: never seen or could not be scored)."""
        d = self.decisions.get(image_key(image))
        return None if d is None else d.flagged

    def scores_matrix(self, keys: list[str]) -> np.ndarray:
        ds = self.decisions
        return np.array([ds[k].scores for k in keys], dtype=float)

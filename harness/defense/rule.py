"""The defense's one decision rule, used by the client-side wrapper and the mock servers alike.

Every image sent for celebrity recognition is scored by the policy's detectors and then:

- flagged by the policy: answered "no celebrity" (the vendor never sees it);
- not flagged: the vendor answers it as usual;
- **a detector cannot score it** (:class:`harness.detectors.UnscorableImageError`: no face for the
  detector, bytes it cannot decode, an image a simulated detector knows nothing about): the call
  fails with an explicit error and the vendor never sees the image.

Why an error, and not "let it through" or "block it": the harness's principle is that bad input
gets a clear error and loses nothing, and that an error is never counted as "no celebrity".
Letting an unscreened image through would measure the undefended vendor under the defense's name
(an attacker's cheapest evasion would be an image the detector cannot read); blocking it would be
an invented "no celebrity" (a genuine photo silently lost, a deepfake silently counted as
stopped). An error row is excluded from the denominators and counted, so both kinds of cost stay
visible. Client side (:class:`harness.defense.wrapper.DefendedVendor`) it is a
:class:`DefenseError` (code ``DetectorFailed``); server side
(:class:`harness.defense.server.DefendedBehaviour`) it is the vendor's own bad-image error in its
wire shape, which the vendor's client reads as a :class:`harness.vendors.base.BadImageError`.
Either way the campaign records an error row. See docs/defense-unscorable.md.

:class:`Screen` applies the rule once per distinct image (detectors are deterministic) and
remembers both outcomes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from harness.defense.policy import Policy
from harness.detectors import UnscorableImageError, detector_scores, image_key
from harness.vendors.base import BadImageError

UNSCORABLE_CODE = "DetectorFailed"


class DefenseError(BadImageError):
    """The defense could not screen an image (a detector cannot score it). Recorded as an error row,
    never as "no celebrity"."""


@dataclass(frozen=True)
class Decision:
    key: str  # sha256 of the image bytes
    flagged: bool
    scores: tuple[float, ...]  # one per detector, in policy.detectors order


def unscorable_message(exc: UnscorableImageError) -> str:
    """The one wording of the rule's error, on both sides."""
    return f"the deepfake defense cannot screen this image: {exc}"


def decide(policy: Policy, image: bytes, key: str | None = None) -> Decision:
    """Score ``image`` with the policy's detectors and apply the policy.

    Raises :class:`UnscorableImageError` when a detector cannot score it: the caller answers with
    an explicit error in its own shape (never "no celebrity", never the vendor's answer).
    """
    scores = detector_scores(policy.detectors, image)
    flagged = bool(policy.flags(scores[None, :])[0])
    return Decision(key or image_key(image), flagged, tuple(float(s) for s in scores))


class Screen:
    """:func:`decide` memoised per image key, failures included; thread-safe.

    ``decisions``: a dict shared by several screens under the same policy, so each image is
    scored once however many vendors see it.
    """

    def __init__(self, policy: Policy, decisions: dict[str, Decision] | None = None):
        self.policy = policy
        self._lock = threading.Lock()
        self._decisions: dict[str, Decision] = decisions if decisions is not None else {}
        self._unscorable: dict[str, UnscorableImageError] = {}

    def decide(self, image: bytes, key: str | None = None) -> Decision:
        """The decision on ``image``; :class:`UnscorableImageError` (every time) if it cannot be scored."""
        key = key or image_key(image)
        with self._lock:
            hit = self._decisions.get(key)
            failed = self._unscorable.get(key)
        if hit is not None:
            return hit
        if failed is not None:
            raise UnscorableImageError(str(failed))
        try:
            decision = decide(self.policy, image, key)
        except UnscorableImageError as exc:
            with self._lock:
                self._unscorable[key] = exc
            raise
        with self._lock:
            self._decisions[key] = decision
        return decision

    def recall(self, key: str) -> Decision | UnscorableImageError | None:
        """What :meth:`decide` found for this key (None: never seen)."""
        with self._lock:
            return self._decisions.get(key) or self._unscorable.get(key)

    @property
    def decisions(self) -> dict[str, Decision]:
        with self._lock:
            return dict(self._decisions)

    @property
    def unscorable(self) -> dict[str, str]:
        """Key -> why, for every image a detector could not score."""
        with self._lock:
            return {k: str(e) for k, e in self._unscorable.items()}

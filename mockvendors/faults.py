"""Fault injection for the mock vendors: added latency, a random server-error rate and a TPS limit,
as a vendor profile's ``faults`` section (or ``dfi serve --latency-ms/--error-rate/--tps``) sets
them. Used in front of the wire protocol by the HTTP servers (:mod:`mockvendors.server`) and by the
in-process boto3 mock (:mod:`mockvendors.aws.inprocess`); the TPS limit is the project's one token
bucket (:class:`harness.ratelimit.TokenBucket`)."""

from __future__ import annotations

import random
import threading

from harness.ratelimit import TokenBucket
from mockvendors.profile import Faults


class FaultInjector:
    def __init__(self, faults: Faults):
        self.faults = faults
        self.bucket = TokenBucket(faults.tps) if faults.tps else None
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def throttle_wait(self) -> float:
        """0.0 when a request may pass now, else the seconds until one may (it is throttled)."""
        return self.bucket.take_or_wait() if self.bucket else 0.0

    def inject_error(self) -> bool:
        if self.faults.error_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.faults.error_rate

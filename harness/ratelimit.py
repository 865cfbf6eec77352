"""The one token bucket of the project: client-side rate limits (one bucket per vendor client,
configured from the vendor registry's default rate or ``DFI_<VENDOR>_TPS``) and the mock servers'
injected TPS limit (:mod:`mockvendors.faults`) both use :class:`TokenBucket`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_EPS = 1e-9


@dataclass(frozen=True)
class Rate:
    per_second: float  # sustained rate; math.inf = unlimited
    burst: float  # bucket capacity
    source: str  # where the number comes from


# The published default tiers. AWS quotas differ by region and operation (AWS Service Quotas page);
# 5 TPS is the conservative low end, so a fresh account is not throttled. Azure Computer Vision S1
# and Face S0: 10 transactions per second. Naver Developers CFR: 1,000 calls per day.
PUBLISHED_RATES: dict[str, Rate] = {
    "aws": Rate(5.0, 5.0, "AWS Rekognition default image-operation quota, low end (5 TPS)"),
    "ms": Rate(10.0, 10.0, "Azure Computer Vision S1 / Face S0 tier (10 TPS)"),
    "nav": Rate(1000.0 / 86400.0, 1000.0, "Naver Developers CFR quota (1,000 calls/day)"),
}


class TokenBucket:
    """Blocking token bucket: ``acquire()`` waits until a token is available, then takes it.

    Thread-safe. ``clock`` and ``sleep`` are injectable so tests run without real waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not rate > 0:
            raise ValueError(f"rate must be > 0 (got {rate})")
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else max(1.0, rate))
        if self.capacity < 1:
            raise ValueError(f"burst must be >= 1 (got {self.capacity})")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total time spent waiting, for reports

    @classmethod
    def unlimited(cls) -> TokenBucket:
        return cls(math.inf, 1.0)

    def _refill(self) -> None:
        now = self._clock()
        if math.isinf(self.rate):
            self._tokens = self.capacity
        else:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self, n: float = 1.0) -> bool:
        with self._lock:
            self._refill()
            if self._tokens >= n - _EPS:
                self._tokens = max(0.0, self._tokens - n)
                return True
            return False

    def take_or_wait(self) -> float:
        """Non-blocking: take one token and return 0.0, or take nothing and return the seconds
        until one is available (a server's throttle answers with it as Retry-After)."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0 - _EPS:
                self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens, sleeping as long as needed. Returns the seconds waited."""
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity}")
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= n - _EPS:  # tolerance: float refill can land a hair short
                    self._tokens = max(0.0, self._tokens - n)
                    self.waited_s += waited
                    return waited
                wait = (n - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait

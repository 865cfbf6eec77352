"""A thread-safe token bucket: at most ``rate`` calls per second on average, bursts up to ``burst`` (default 1:
evenly spaced calls)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, rate: float | None, burst: int | None = None):
        self.rate = rate if rate and rate > 0 else None
        self.burst = float(burst or 1)
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        if self.rate is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                need = (1 - self._tokens) / self.rate
            time.sleep(need)
            waited += need

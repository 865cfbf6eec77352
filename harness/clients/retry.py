"""Retries with exponential backoff and full jitter, for throttling and 5xx/network failures only.

Only errors whose ``retryable`` flag is set (:class:`ThrottledError`, :class:`ServerError`) are
retried; a bad image or a rejected credential fails at once. A ``Retry-After`` the vendor sent is
honoured (``VendorError.retry_after``). When the attempts run out the last typed error is raised:
a failed call never becomes an empty answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.ratelimit import TokenBucket
from harness.vendors.base import ThrottledError, VendorError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    max_attempts: int = 5  # total tries, first one included
    base_s: float = 0.5  # first backoff ceiling
    cap_s: float = 20.0  # largest backoff ceiling
    max_retry_after_s: float = 60.0  # longest Retry-After we are willing to honour
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def backoff(self, retry_index: int, error: VendorError) -> float:
        """Seconds to wait before retry number ``retry_index`` (0-based): full jitter
        ``uniform(0, min(cap, base * 2**i))``, or the vendor's Retry-After if it sent one."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None and retry_after >= 0:
            return min(float(retry_after), self.max_retry_after_s)
        ceiling = min(self.cap_s, self.base_s * (2**retry_index))
        return self.rng.uniform(0.0, ceiling)


def policy_for(max_attempts: int, sleep: Callable[[float], None] | None = None) -> RetryPolicy:
    """The retry policy of one client: ``max_attempts`` tries per call, sleeping with ``sleep``."""
    return RetryPolicy(max_attempts=max_attempts, sleep=sleep or time.sleep)


@dataclass
class CallStats:
    """Counters a client keeps about its calls (for reports and tests)."""

    calls: int = 0  # logical calls
    attempts: int = 0  # HTTP attempts, retries included
    retries: int = 0
    throttled: int = 0
    failures: int = 0  # logical calls that ended in an error
    slept_s: float = 0.0


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    bucket: TokenBucket | None = None,
    stats: CallStats | None = None,
) -> T:
    """Run ``fn`` (one vendor request) under the rate limit, retrying retryable VendorErrors."""
    stats = stats if stats is not None else CallStats()
    stats.calls += 1
    for attempt in range(policy.max_attempts):
        if bucket is not None:
            bucket.acquire()
        stats.attempts += 1
        try:
            return fn()
        except VendorError as exc:
            if isinstance(exc, ThrottledError):
                stats.throttled += 1
            if not exc.retryable or attempt == policy.max_attempts - 1:
                stats.failures += 1
                if exc.retryable:
                    exc.attempts = attempt + 1  # type: ignore[attr-defined]
                raise
            delay = policy.backoff(attempt, exc)
            stats.retries += 1
            stats.slept_s += delay
            policy.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover

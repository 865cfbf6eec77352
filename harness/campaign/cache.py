"""Vendor answers cached by (vendor, operation, image sha256).

Two probes sharing an image (the same real target photo, say) cause one vendor call: a key being
computed by one thread makes the others wait for its answer instead of calling again. Answers that
came back as retryable failures (throttling, server errors) are not cached, so a later probe or a
resumed run tries again; answers and non-retryable refusals are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

CacheKey = tuple[str, str, str]  # vendor, operation ("recognize" | "similarity"), image sha256 (or "a+b")


@dataclass(frozen=True)
class CallResult:
    name: str | None = None  # recognize: best named face, None = no celebrity
    conf: float | None = None  # recognize: its confidence, 0-100
    score: float | None = None  # similarity: 0-100; None = vendor gave no score
    error: str = ""  # non-empty: the call failed ("code: message")
    retryable: bool = False

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        if self.name is not None:
            rec["n"] = self.name
        if self.conf is not None:
            rec["c"] = self.conf
        if self.score is not None:
            rec["s"] = self.score
        if self.error:
            rec["e"] = self.error
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> CallResult:
        return cls(rec.get("n"), rec.get("c"), rec.get("s"), rec.get("e", ""))


class CallCache:
    def __init__(self) -> None:
        self._done: dict[CacheKey, CallResult] = {}
        self._inflight: dict[CacheKey, Future[CallResult]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.calls = 0

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, key: CacheKey) -> bool:
        return key in self._done

    def put(self, key: CacheKey, result: CallResult) -> None:
        self._done[key] = result

    def get(self, key: CacheKey) -> CallResult | None:
        return self._done.get(key)

    def get_or_call(self, key: CacheKey, call: Callable[[], CallResult],
                    on_new: Callable[[CacheKey, CallResult], None] | None = None) -> CallResult:
        hit = self._done.get(key)  # dict reads are atomic: the common path takes no lock
        if hit is not None:
            self.hits += 1
            return hit
        with self._lock:
            hit = self._done.get(key)
            if hit is not None:
                self.hits += 1
                return hit
            pending = self._inflight.get(key)
            owner = pending is None
            if pending is None:
                pending = self._inflight[key] = Future()
            fut = pending
        if not owner:
            self.hits += 1
            return fut.result()
        try:
            result = call()
            self.calls += 1
            if not result.retryable:
                self._done[key] = result
                if on_new is not None:
                    on_new(key, result)
            fut.set_result(result)
            return result
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

"""The cluster's single-flight call cache: no vendor call is made twice, whichever worker needs it.

Each shard has its own :class:`harness.campaign.CallCache` (answers it made or replayed from its
journal); :class:`LedgerCache` puts one :class:`CallLedgerActor` behind it for the per-call vendors
(HTTP mocks, real services, cassettes: the ones that can cost money). Before a worker calls the
vendor it *claims* the call: the ledger answers with the known answer, or "yours", or "another
shard is making it" (the worker then polls). A claim belongs to a shard, not a process, so the
retry of a shard whose worker was killed takes over its claims. The driver seeds the ledger with
every answer in the campaign's and the shards' journals, so a rerun asks no vendor twice either.

An answer reaches the ledger only after the shard journaled it, so a served answer is always on
disk somewhere. The batched in-process mocks (free, and deterministic) skip the ledger: a batch
cannot wait on another shard's call, and their duplicates across shards cost CPU only.

A round trip to the ledger costs about a millisecond (several on a loaded machine), more than a
mock's answer, so only calls that another shard may need ask it: those on images that more than
one shard refers to (``shared``: their sha256s, which the worker learns by preparing those images
first), unless ``everything`` says the ledger also holds answers no shard journaled (a campaign
begun in a single process and continued on Ray).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from harness.campaign.cache import CacheKey, CallCache, CallResult

Record = dict[str, Any]  # CallResult.to_record()


class CallLedgerActor:
    """Answers known to the campaign, and the calls being made (the class Ray makes an actor of)."""

    def __init__(self) -> None:
        self.done: dict[CacheKey, Record] = {}
        self.owner: dict[CacheKey, str] = {}

    def seed(self, items: Iterable[tuple[CacheKey, Record]]) -> int:
        for key, rec in items:
            self.done[tuple(key)] = rec  # type: ignore[index]
        return len(self.done)

    def lookup(self, key: CacheKey) -> Record | None:
        return self.done.get(tuple(key))  # type: ignore[arg-type]

    def claim(self, key: CacheKey, owner: str) -> tuple[str, Record | None]:
        key = tuple(key)  # type: ignore[assignment]
        if key in self.done:
            return "done", self.done[key]
        holder = self.owner.setdefault(key, owner)
        return ("mine", None) if holder == owner else ("busy", None)

    def publish(self, key: CacheKey, rec: Record) -> None:
        key = tuple(key)  # type: ignore[assignment]
        self.done[key] = rec
        self.owner.pop(key, None)

    def release(self, key: CacheKey, owner: str) -> None:
        key = tuple(key)  # type: ignore[assignment]
        if self.owner.get(key) == owner:
            del self.owner[key]

    def size(self) -> int:
        return len(self.done)


class LedgerCache(CallCache):
    """A shard's call cache, backed by the cluster's ledger for the vendors in ``vendors``."""

    def __init__(self, ledger: Any, owner: str, vendors: Collection[str], shared: Collection[str] = (),
                 everything: bool = False, poll_s: float = 0.02, max_poll_s: float = 0.5):
        super().__init__()
        self.ledger = ledger
        self.owner = owner
        self.vendors = frozenset(vendors)
        self.shared = frozenset(shared)
        self.everything = everything
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self.served = 0  # answers another shard (or an earlier run) had already got

    def _shared(self, key: CacheKey) -> bool:
        if key[0] not in self.vendors:
            return False
        return self.everything or all(part in self.shared for part in key[2].split("+"))

    def _lookup(self, key: CacheKey) -> CallResult | None:
        import ray

        rec = ray.get(self.ledger.lookup.remote(key))
        if rec is None:
            return None
        result = CallResult.from_record(rec)
        super().put(key, result)
        self.served += 1
        return result

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or super().get(key) is not None:
            return isinstance(key, tuple)
        return self._shared(key) and self._lookup(key) is not None

    def get(self, key: CacheKey) -> CallResult | None:
        hit = super().get(key)
        if hit is None and self._shared(key):
            hit = self._lookup(key)
        return hit

    def get_or_call(self, key: CacheKey, call: Callable[[], CallResult],
                    on_new: Callable[[CacheKey, CallResult], None] | None = None) -> CallResult:
        if not self._shared(key) or super().get(key) is not None:
            return super().get_or_call(key, call, on_new)
        import ray

        wait = self.poll_s
        while True:
            status, rec = ray.get(self.ledger.claim.remote(key, self.owner))
            if status == "done":
                result = CallResult.from_record(rec)
                super().put(key, result)
                self.served += 1
                self.hits += 1
                return result
            if status == "mine":
                break
            time.sleep(wait)
            wait = min(wait * 2, self.max_poll_s)

        def journal_then_publish(k: CacheKey, result: CallResult) -> None:
            if on_new is not None:
                on_new(k, result)  # on disk first: a served answer is always in some journal
            self.ledger.publish.remote(k, result.to_record())

        try:
            return super().get_or_call(key, call, journal_then_publish)
        finally:
            self.ledger.release.remote(key, self.owner)  # a no-op once published

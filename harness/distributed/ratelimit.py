"""One rate limiter per vendor account for the whole cluster.

Every worker process builds its own clients, each with its own :class:`harness.ratelimit.TokenBucket`;
N workers would then call a vendor N times faster than its quota. :func:`share_client_buckets`
swaps each client's bucket for a :class:`SharedBucket`, which has the bucket's interface and takes
its tokens from one Ray actor per (vendor, account), :class:`RateLimiterActor`. The actor holds an
ordinary ``TokenBucket`` (the project's one rate-limit algorithm) and only answers
``take_or_wait``; the waiting happens in the worker, so the actor never blocks and serves every
worker in turn. The actor is named (``dfi-rate-<vendor>-<account>`` in the ``dfi`` namespace), so
two dfi jobs on the same cluster and account share it too.

The account is a hash of what identifies it without a secret: the endpoint, the region, a key's
id header; a secret is never part of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import DfiError
from harness.ratelimit import TokenBucket

_ID_FIELDS = ("endpoint", "region", "path")
_ID_HEADERS = ("X-Naver-Client-Id", "X-NCP-APIGW-API-KEY-ID")


class RateLimiterActor:
    """The cluster's one bucket of a vendor account (the class Ray makes an actor of)."""

    def __init__(self, rate: float, burst: float):
        self.bucket = TokenBucket(rate, burst)
        self.granted = 0

    def take_or_wait(self) -> float:
        wait = self.bucket.take_or_wait()
        if wait == 0.0:
            self.granted += 1
        return wait

    def settings(self) -> tuple[float, float]:
        return self.bucket.rate, self.bucket.capacity

    def tokens_granted(self) -> int:
        return self.granted


class SharedBucket:
    """:class:`harness.ratelimit.TokenBucket`'s interface over a :class:`RateLimiterActor`."""

    def __init__(self, actor: Any, rate: float, capacity: float, sleep: Callable[[float], None] = time.sleep):
        self.actor = actor
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._sleep = sleep
        self.waited_s = 0.0

    def take_or_wait(self) -> float:
        import ray

        return float(ray.get(self.actor.take_or_wait.remote()))

    def try_acquire(self, n: float = 1.0) -> bool:
        if n != 1.0:
            raise ValueError("the shared bucket hands out one token at a time")
        return self.take_or_wait() == 0.0

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens (one at a time), sleeping here as long as the actor says. Seconds waited."""
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity}")
        waited = 0.0
        for _ in range(math.ceil(n)):
            while (wait := self.take_or_wait()) > 0.0:
                self._sleep(wait)
                waited += wait
        self.waited_s += waited
        return waited


def client_bucket(vendor: Any) -> tuple[Any, TokenBucket] | None:
    """The vendor's client and its token bucket, if it has a limited one (real and HTTP clients)."""
    client = getattr(vendor, "client", None)
    bucket = getattr(client, "bucket", None)
    if isinstance(bucket, TokenBucket) and not math.isinf(bucket.rate):
        return client, bucket
    return None


def account_of(vendor_name: str, client: Any) -> str:
    """A short hash naming the account a client calls (endpoint, region, key id; never a secret)."""
    parts = [vendor_name]
    settings = getattr(client, "settings", None)
    if dataclasses.is_dataclass(settings):
        for f in dataclasses.fields(settings):
            if any(word in f.name for word in _ID_FIELDS):
                parts.append(f"{f.name}={getattr(settings, f.name)}")
        headers = getattr(settings, "headers", None) or {}
        parts += [f"{h}={headers[h]}" for h in _ID_HEADERS if h in headers]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def cluster_limiters(vendors: Mapping[str, Any]) -> dict[str, SharedBucket]:
    """vendor -> the shared bucket of its account, for every vendor whose client is rate-limited
    (created on the connected cluster, or found there when another job made it)."""
    import ray

    actor_class = ray.remote(num_cpus=0)(RateLimiterActor)
    out = {}
    for name, vendor in vendors.items():
        found = client_bucket(vendor)
        if found is None:
            continue
        client, bucket = found
        label = f"dfi-rate-{name}-{account_of(name, client)}"
        actor = actor_class.options(name=label, get_if_exists=True).remote(bucket.rate, bucket.capacity)
        rate, capacity = ray.get(actor.settings.remote())  # type: ignore[attr-defined]
        if (rate, capacity) != (bucket.rate, bucket.capacity):
            raise DfiError(f"{name}: another job on this cluster limits the same account to {rate:g} calls/s "
                           f"(burst {capacity:g}), this one asks for {bucket.rate:g} (burst {bucket.capacity:g}); "
                           "use the same --rate, or wait for it to finish")
        out[name] = SharedBucket(actor, rate, capacity)
    return out


def share_client_buckets(vendors: Mapping[str, Any], shared: Mapping[str, SharedBucket]) -> None:
    """Point each vendor's client at the cluster's bucket of its account."""
    for name, bucket in shared.items():
        found = client_bucket(vendors[name]) if name in vendors else None
        if found is None:
            raise DfiError(f"{name}: the worker's client has no rate limit where the driver's has one")
        found[0].bucket = bucket

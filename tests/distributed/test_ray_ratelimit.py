"""The shared rate limiter: two Ray workers calling one vendor account together stay within the
account's configured rate, measured at a loopback HTTP server (each worker's own client bucket
alone would let them call twice as fast)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'dfi[ray]')")

from ray_doubles import LocalRay, PidRecording  # noqa: E402

from harness.campaign import CampaignOptions, CampaignRunner  # noqa: E402
from harness.clients.config import ClientOptions  # noqa: E402
from harness.distributed.backend import BackendRecipe  # noqa: E402
from harness.distributed.campaign import run_sharded  # noqa: E402
from harness.distributed.cluster import RaySettings  # noqa: E402
from harness.distributed.ratelimit import RateLimiterActor, SharedBucket  # noqa: E402
from harness.vendors import registry  # noqa: E402

from support.campaign_doubles import synthetic_probes  # noqa: E402

RATE, BURST = 8.0, 1.0
NAV_ANSWER = json.dumps({"info": {"size": {"width": 24, "height": 24}, "faceCount": 0}, "faces": []}).encode()


class _Stamping(BaseHTTPRequestHandler):
    stamps: list[float] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.stamps.append(time.monotonic())
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(NAV_ANSWER)))
        self.end_headers()
        self.wfile.write(NAV_ANSWER)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[float]]]:
    handler = type("Handler", (_Stamping,), {"stamps": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.stamps
    finally:
        server.shutdown()
        server.server_close()


def test_two_workers_share_one_accounts_rate(tmp_path: Path, local_ray: LocalRay,
                                             loopback: tuple[str, list[float]]):
    url, stamps = loopback
    probes = synthetic_probes(tmp_path / "data", 40, n_targets=4)
    env = registry.get("nav").load("placeholder_env")(url)
    recipe = BackendRecipe("real", ("nav",), {"env": env, "client_options": {
        "nav": ClientOptions(rate=RATE, burst=BURST, max_attempts=1)}})
    runner = CampaignRunner(probes, recipe(), tmp_path / "out", CampaignOptions(crop=False, concurrency=4))
    pids = tmp_path / "pids"
    summary = run_sharded(runner, PidRecording(recipe, pids), RaySettings(workers=2), shard_size=5)

    assert summary.rows == 40 and summary.error_total == 0
    assert len(stamps) == summary.vendor_calls == 44  # 40 deepfakes and 4 target photos, each asked once
    assert len(list(pids.iterdir())) >= 2, "the calls came from more than one worker process"
    stamps.sort()
    span = stamps[-1] - stamps[0]
    assert (len(stamps) - BURST) / span <= RATE * 1.05, f"{len(stamps)} calls in {span:.2f} s"
    for i, t in enumerate(stamps):  # no second holds more than the rate plus the burst
        assert sum(1 for s in stamps[i:] if s < t + 1.0) <= RATE + BURST


def test_the_shared_bucket_is_the_token_buckets_interface(local_ray: LocalRay):
    actor = ray.remote(num_cpus=0)(RateLimiterActor).remote(20.0, 2.0)
    bucket = SharedBucket(actor, 20.0, 2.0)
    assert bucket.try_acquire() and bucket.try_acquire() and not bucket.try_acquire()  # the burst, then empty
    t0 = time.monotonic()
    waited = sum(bucket.acquire() for _ in range(5))
    elapsed = time.monotonic() - t0
    assert 5 / 20.0 * 0.8 <= elapsed and waited > 0
    with pytest.raises(ValueError):
        bucket.acquire(3)

"""Retries and rate limits live in one layer, the clients: a call that is always throttled makes
exactly the configured number of HTTP attempts (counted by a loopback server), the campaign
summary reports exactly the retries the clients made, and ``--rate`` never stacks with
``DFI_*_TPS`` or the registry's default."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from harness.backends import make_backend
from harness.campaign import CampaignOptions, CampaignRunner
from harness.clients.config import ClientOptions, common_settings
from harness.vendors import registry

from support.campaign_doubles import synthetic_probes
from support.vendor_http import Scripted, ScriptedServer

THROTTLED = {
    "aws": Scripted(400, {"__type": "ThrottlingException", "message": "Rate exceeded"}),
    "ms": Scripted(429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, {"Retry-After": "0"}),
    "nav": Scripted(429, {"errorCode": "010", "errorMessage": "quota exceeded"}),
}


def _env(vendor: str, url: str) -> dict[str, str]:
    return registry.get(vendor).load("placeholder_env")(url)


@pytest.mark.parametrize("attempts", [1, 3, 5])
@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_always_throttled_call_makes_exactly_the_configured_attempts(tmp_path: Path, vendor: str, attempts: int):
    probes = synthetic_probes(tmp_path / "data", 1, n_targets=1)
    options = ClientOptions(max_attempts=attempts, rate=math.inf, sleep=lambda s: None)
    with ScriptedServer([THROTTLED[vendor]]) as server:
        backend = make_backend("real", [vendor], env=_env(vendor, server.url), client_options=options)
        runner = CampaignRunner(probes, backend.vendors, tmp_path / "out", CampaignOptions(crop=False))
        summary = runner.run()
    # the first call of the probe (Recognize on the real target image) is throttled every time
    assert len(server.received) == attempts
    assert summary.retries == attempts - 1 == backend.retries()
    (row,) = runner.ordered_rows()
    assert row["target_error"] and row["target_name"] == "" and row["fake_error"] == ""  # an error, not "no one"
    assert summary.errored_rows[vendor] == 1


def test_attempts_come_from_the_environment_when_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    probes = synthetic_probes(tmp_path / "data", 1, n_targets=1)
    with ScriptedServer([THROTTLED["ms"]]) as server:
        env = {**_env("ms", server.url), "DFI_MAX_ATTEMPTS": "2"}
        backend = make_backend("real", ["ms"], env=env, client_options=ClientOptions(sleep=lambda s: None))
        summary = CampaignRunner(probes, backend.vendors, tmp_path / "out", CampaignOptions(crop=False)).run()
    assert len(server.received) == 2 and summary.retries == 1


def test_rate_option_replaces_the_environment_and_the_default_never_stacks():
    env = {"DFI_AZURE_TPS": "2"}
    assert common_settings("ms", env).rate.per_second == 2.0
    assert common_settings("ms", env, ClientOptions(rate=50.0)).rate.per_second == 50.0
    assert common_settings("ms", env, ClientOptions(rate=50.0)).rate.source == "--rate"
    assert common_settings("ms", {}).rate == registry.get("ms").default_rate
    backend = make_backend("real", ["ms"], env={**_env("ms", "http://127.0.0.1:9"), **env},
                           client_options=ClientOptions(rate=50.0))
    bucket = backend.vendors["ms"].client.bucket  # type: ignore[attr-defined]
    assert bucket.rate == 50.0  # the client's one bucket; the runner has none
    assert not any(f.name in ("rate_limits", "max_retries", "backoff_s")
                   for f in dataclasses.fields(CampaignOptions))


def test_the_runner_paces_nothing_itself(tmp_path: Path):
    """A campaign against a client limited to 20 calls/s takes the client's time, once."""
    import time

    ok = Scripted(200, {"faces": [], "info": {"size": {"width": 1, "height": 1}, "faceCount": 0}})
    probes = synthetic_probes(tmp_path / "data", 6, n_targets=1)
    with ScriptedServer([ok]) as server:
        backend = make_backend("real", ["nav"], env=_env("nav", server.url),
                               client_options=ClientOptions(rate=20.0, burst=1.0))
        t = time.perf_counter()
        CampaignRunner(probes, backend.vendors, tmp_path / "out", CampaignOptions(crop=False, concurrency=4)).run()
        elapsed = time.perf_counter() - t
    assert len(server.received) == 7  # 1 target + 6 deepfakes
    assert elapsed >= 6 / 20 * 0.95  # evenly spaced at 20/s by the client's bucket


def test_a_batch_failure_is_not_asked_again_per_call(tmp_path: Path):
    """Batched (in-process) vendors: a throttled answer in a batch becomes the row's error; the
    runner does not call the vendor a second time for it (that would be a retry layer of its own)."""
    from support.campaign_doubles import ScriptedVendor, sha

    class BatchVendor(ScriptedVendor):
        def recognize_batch(self, items):
            out = []
            for data, _ in items:
                try:
                    out.append(self.recognize(data))
                except Exception as exc:  # returned in place, as harness.backends.fastpath does
                    out.append(exc)
            return out

        def similarity_batch(self, pairs):
            return [self.similarity(a, b) for (a, _), (b, _) in pairs]

    probes = synthetic_probes(tmp_path / "data", 3, n_targets=1)
    flaky = sha(Path(probes[1].deepfake).read_bytes())
    vendor = BatchVendor("aws", fail={flaky: "throttle-once"})
    runner = CampaignRunner(probes, {"aws": vendor}, tmp_path / "out", CampaignOptions(crop=False))
    runner.run()
    assert [c for c in vendor.calls if c == ("recognize", flaky)] == [("recognize", flaky)]
    rows = {r["probe_id"]: r for r in runner.ordered_rows()}
    assert rows[probes[1].probe_id]["fake_error"].startswith("ThrottlingException")
    assert all(not rows[p.probe_id]["fake_error"] for p in (probes[0], probes[2]))

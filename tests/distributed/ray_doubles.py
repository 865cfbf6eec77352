"""Test doubles for the Ray tests: a picklable factory of scripted vendors (built in each worker),
the campaigns' synthetic data, and a local Ray instance limited to 2 CPUs."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.campaign.prepare import sha256_hex
from harness.datasets.probe import Probe

from support.campaign_doubles import ScriptedVendor, synthetic_probes

TESTS = Path(__file__).resolve().parents[1]
VENDORS = ("aws", "ms", "nav")


@dataclass(frozen=True)
class ScriptedFactory:
    """Builds the scripted vendors in whichever process calls it; ``pids``: a folder that gets one
    file per process that built them (the worker processes to kill)."""

    log: Path  # one line per vendor call, from every process (O_APPEND)
    pids: Path | None = None
    delay_s: float = 0.0
    fail: Mapping[str, str] = field(default_factory=dict)

    def __call__(self) -> dict[str, Any]:
        if self.pids is not None:
            self.pids.mkdir(parents=True, exist_ok=True)
            (self.pids / str(os.getpid())).touch()
        return {v: ScriptedVendor(v, similarity=(v != "nav"), fail=dict(self.fail), log=self.log,
                                  delay_s=self.delay_s) for v in VENDORS}


def campaign_probes(root: Path, n: int) -> tuple[list[Probe], dict[str, str]]:
    """``n`` synthetic probes (shared target images) and a failure script: one deepfake refused, one
    always answered with a server error, so the error columns are compared too."""
    probes = synthetic_probes(root, n, n_targets=7)
    fail = {sha256_hex(Path(probes[3].deepfake).read_bytes()): "bad",
            sha256_hex(Path(probes[min(n - 1, 11)].deepfake).read_bytes()): "server"}
    return probes, fail


@dataclass
class LocalRay:
    address: str


def start_local_ray() -> Iterator[LocalRay]:
    """A local Ray instance of 2 CPUs for one test module; its workers can import the test doubles."""
    import ray

    path = os.pathsep.join([str(TESTS), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="dfi",
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        yield LocalRay(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class PidRecording:
    """A vendor factory that also leaves one file per process that called it in ``pids``."""

    factory: Any
    pids: Path

    def __call__(self) -> Mapping[str, Any]:
        self.pids.mkdir(parents=True, exist_ok=True)
        (self.pids / str(os.getpid())).touch()
        return self.factory()  # type: ignore[no-any-return]

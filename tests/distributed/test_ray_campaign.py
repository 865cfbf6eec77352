"""Campaigns and simulations on a local Ray instance of 2 CPUs: the rows of the single-process run,
row for row; a worker process killed mid-run and the driver killed and rerun (a real subprocess,
SIGKILL) finish the campaign with no row lost or duplicated and no answered call made again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'dfi[ray]')")

from ray_doubles import LocalRay, ScriptedFactory, campaign_probes  # noqa: E402

from harness.campaign import CampaignOptions, CampaignRunner  # noqa: E402
from harness.distributed.campaign import run_sharded  # noqa: E402
from harness.distributed.cluster import RaySettings  # noqa: E402
from harness.distributed.shards import read_records, shards_dir  # noqa: E402


def _options() -> CampaignOptions:
    return CampaignOptions(crop=False, concurrency=2, fsync_every=8)


def _reference(tmp_path: Path, probes: list, fail: dict) -> list[dict]:
    """The single-process run's rows."""
    factory = ScriptedFactory(tmp_path / "reference-calls.log", fail=fail)
    runner = CampaignRunner(probes, factory(), tmp_path / "reference", _options())
    runner.run()
    return runner.ordered_rows()


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _journaled_calls(out: Path) -> set[str]:
    """Every call whose answer is in the campaign's journal or a shard's, as the call log writes it."""
    journals = [out / "journal.jsonl", *sorted(shards_dir(out).glob("*/journal.jsonl"))]
    return {f'{r["v"]} {r["o"]} {r["h"]}' for j in journals for r in read_records(j) if r["k"] == "c"}


def _rows_written(out: Path) -> int:
    journals = [out / "journal.jsonl", *shards_dir(out).glob("*/journal.jsonl")]
    return sum(j.read_bytes().count(b'"k":"r"') for j in journals if j.exists())


def test_sharded_campaign_equals_the_single_process_run(tmp_path: Path, local_ray: LocalRay):
    probes, fail = campaign_probes(tmp_path / "data", 240)
    expected = _reference(tmp_path, probes, fail)
    log = tmp_path / "calls.log"
    runner = CampaignRunner(probes, ScriptedFactory(log, fail=fail)(), tmp_path / "out", _options())
    summary = run_sharded(runner, ScriptedFactory(log, fail=fail), RaySettings(workers=2), shard_size=32)
    assert runner.ordered_rows() == expected  # row for row, errors included
    assert summary.rows == summary.rows_new == 720 and summary.error_total > 0
    calls = Counter(_calls(log))
    assert max(calls.values()) == 1, "a call made twice across the shards"
    assert set(calls) == set(_calls(tmp_path / "reference-calls.log"))
    assert summary.vendor_calls == len(calls)

    # a rerun: everything is in the journal
    again = CampaignRunner(probes, ScriptedFactory(log)(), tmp_path / "out", _options())
    resumed = run_sharded(again, ScriptedFactory(log, fail=fail), RaySettings(workers=2))
    assert resumed.rows_new == 0 and resumed.rows_resumed == 720
    assert len(_calls(log)) == len(calls)
    assert again.ordered_rows() == expected


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(tmp_path: Path, local_ray: LocalRay):
    probes, fail = campaign_probes(tmp_path / "data", 120)
    expected = _reference(tmp_path, probes, fail)
    log, pids, out = tmp_path / "calls.log", tmp_path / "pids", tmp_path / "out"
    factory = ScriptedFactory(log, pids=pids, delay_s=0.01, fail=fail)
    killed: dict[str, object] = {}

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _rows_written(out) < 40:
            time.sleep(0.02)
        victim = int(sorted(pids.iterdir())[0].name)
        os.kill(victim, signal.SIGKILL)
        killed.update(pid=victim, journaled=_journaled_calls(out), calls=len(_calls(log)))

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    runner = CampaignRunner(probes, ScriptedFactory(log)(), out, _options())  # the driver's: names only, no call
    summary = run_sharded(runner, factory, RaySettings(workers=2), shard_size=15)
    killer.join()
    assert killed, "no worker was killed"
    assert 0 < int(killed["calls"]) < 600, "the kill must land in the middle of the run"  # type: ignore[call-overload]
    assert runner.ordered_rows() == expected
    assert summary.rows == 360
    calls = Counter(_calls(log))
    repeated = {c for c, n in calls.items() if n > 1}
    assert not repeated & killed["journaled"], "an answer that had reached a journal was asked for again"  # type: ignore[operator]
    assert len(repeated) <= 2 * 3, "only the calls in flight in the killed worker may be made again"
    with pytest.raises(ProcessLookupError):  # it was a worker of this campaign, and it is gone
        os.kill(int(killed["pid"]), 0)  # type: ignore[call-overload]


CHILD = r'''
import sys
from pathlib import Path
import ray
from harness.campaign import CampaignOptions, CampaignRunner
from harness.distributed.campaign import run_sharded
from harness.distributed.cluster import RaySettings
from ray_doubles import ScriptedFactory, campaign_probes

address, data, out, log = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
ray.init(address=address, namespace="dfi", log_to_driver=False,
         runtime_env={"env_vars": {"PYTHONPATH": sys.argv[5]}})
probes, fail = campaign_probes(data, 150)
runner = CampaignRunner(probes, ScriptedFactory(log)(), out, CampaignOptions(crop=False, concurrency=2, fsync_every=8))
summary = run_sharded(runner, ScriptedFactory(log, delay_s=0.01, fail=fail), RaySettings(address=address, workers=2),
                      shard_size=10)
print("rows", summary.rows, "new", summary.rows_new, "resumed", summary.rows_resumed)
'''


def test_driver_killed_and_rerun_finishes_the_campaign(tmp_path: Path, local_ray: LocalRay):
    data, out, log = tmp_path / "data", tmp_path / "out", tmp_path / "calls.log"
    probes, fail = campaign_probes(data, 150)
    expected = _reference(tmp_path, probes, fail)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    here = Path(__file__).parent
    path = os.pathsep.join([str(here.parent), str(here)])
    args = [sys.executable, str(script), local_ray.address, str(data), str(out), str(log), path]
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}

    child = subprocess.Popen(args, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _rows_written(out) < 120 and child.poll() is None:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    time.sleep(0.5)  # the job's workers go with their driver
    journaled = _journaled_calls(out)
    first = len(_calls(log))
    assert 0 < first < 800 and _rows_written(out) < 900, "the kill must land in the middle of the run"

    done = subprocess.run(args, env=env, check=True, timeout=120, capture_output=True, text=True)
    assert "rows 450" in done.stdout
    rows = CampaignRunner(probes, ScriptedFactory(log)(), out, _options())
    rows.open_journal()
    assert rows.ordered_rows() == expected  # the campaign's own journal holds every row, once each
    assert sum(r["k"] == "r" for r in read_records(out / "journal.jsonl")) == 450
    calls = Counter(_calls(log))
    repeated = {c for c, n in calls.items() if n > 1}
    assert not repeated & journaled, "an answer that had reached a journal was asked for again"
    assert len(repeated) <= 2 * 2 * 3, "only calls in flight at the kill may be made again"


def test_simulation_on_ray_equals_the_single_process_file(tmp_path: Path, local_ray: LocalRay):
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from harness.distributed.simulate import simulate_to_file_on_ray
    from harness.simulate.params import SimulationParams
    from harness.simulate.stream import simulate_to_file

    full = SimulationParams.load(None).scaled(0.04)
    params = replace(full, datasets=full.datasets[2:])  # three datasets: three tasks on two workers
    one = simulate_to_file(params, tmp_path / "one.parquet", None, None, 2048)
    many = simulate_to_file_on_ray(params, tmp_path / "many.parquet", None, None, 2048)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "many.parquet"))
    assert many.rows == one.rows > 0
    for a, b in zip(one.probe_keys, many.probe_keys, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(one.quality, many.quality, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.models
def test_demo_probes_through_the_face_models_on_ray_equal_the_single_process(tmp_path: Path, local_ray: LocalRay):
    """`dfi run --executor ray`'s library path on demo probes of every method: in-process mocks with
    their models in each worker, the face crop, the batched fast path."""
    from harness.datasets.manifest import write_manifest
    from harness.errors import DfiError
    from harness.jobs.run import demo_gallery, prepare_campaign

    try:
        from harness.datasets.demo import demo_dataset

        demo = demo_dataset()
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")
    every = demo.probes()
    probes = [p for m in ("replacement", "reenactment", "synthesis") for p in [q for q in every if q.method == m][:3]]
    manifest = write_manifest(probes, tmp_path / "demo.jsonl")
    rows, stages = {}, {}
    for executor in ("local", "ray"):
        campaign = prepare_campaign(dataset=manifest, backend="mock", gallery=demo_gallery(demo),
                                    out_dir=tmp_path / executor, executor=executor, workers=2)
        summary = campaign.run()
        assert summary.rows == 3 * len(probes)
        rows[executor] = campaign.runner.ordered_rows()
        stages[executor] = campaign.face_stage
    assert {r["method"] for r in rows["local"]} == {"replacement", "reenactment", "synthesis"}
    assert rows["ray"] == rows["local"]
    # the faces were analysed by the Ray Data stage: every distinct image of the probes once, and every
    # image the vendors answered about (a row without an image error) had its analysis handed over
    stage = stages["ray"]
    assert stages["local"] is None and stage is not None
    images = {(p.deepfake, "deepfake") for p in probes} | {
        (t, role) for p in probes for t, role in zip(p.target_images[:2], ("real target image", "second source image"))}
    assert stage.images == len(images)
    answered = {r["probe_id"] for r in rows["local"] if not r["fake_error"]}
    assert stage.analysed >= len(answered) > 0
    assert stage.analysed_in_shards <= stage.images - stage.analysed  # at most what the stage could not analyse

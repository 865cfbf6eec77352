"""The driver of a campaign on a Ray cluster: plan the shards, run them as Ray tasks, fold them in.

:func:`run_sharded` takes the campaign's own :class:`harness.campaign.CampaignRunner` (journal open;
it makes no vendor call itself) and a picklable factory that builds the vendors in a worker. It

1. folds whatever the shards journaled before (a killed driver) into the campaign's journal;
2. starts the call ledger (:mod:`.ledger`), seeded with every answer on disk, and one shared rate
   limiter per rate-limited vendor account (:mod:`.ratelimit`);
3. runs the face analysis of the pending probes' images as a Ray Data batch stage
   (:mod:`.analysis`) when the vendors analyse faces in-process (the in-process mocks), written to
   ``<out>/shards/faces`` where each shard reads those of its images;
4. submits every shard that still lacks a row as a Ray task (one CPU each, at most ``workers`` at
   once; Ray retries a task whose worker process died, and the retry resumes the shard's journal);
5. folds each finished shard's journal into the campaign's, calling ``on_row`` for its new rows.

The summary counts what the shards did. Rows and their order equal the single-process run's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.campaign.runner import CampaignRunner, CampaignSummary
from harness.distributed.analysis import FaceStageReport, analyse_on_ray, vendor_analyzers
from harness.distributed.cluster import RaySettings, cluster_cpus, ray_cluster
from harness.distributed.ledger import CallLedgerActor
from harness.distributed.ratelimit import cluster_limiters
from harness.distributed.shards import (
    JOURNAL_NAME,
    ShardPlan,
    fold,
    load_or_make_plan,
    read_records,
    shard_state,
    shards_dir,
)
from harness.distributed.worker import ShardReport, ShardTask, VendorFactory, run_shard
from harness.errors import DfiError

RowCallback = Callable[[str, dict[str, Any]], None]
StageCallback = Callable[[FaceStageReport], None]
TASK_RETRIES = 3  # a shard whose worker process dies is run again this many times, resuming its journal


def run_sharded(runner: CampaignRunner, factory: VendorFactory, settings: RaySettings | None = None, *,
                shard_size: int | None = None, on_row: RowCallback | None = None,
                ledger_vendors: Collection[str] | None = None, task_retries: int = TASK_RETRIES,
                face_stage: bool = True, on_stage: StageCallback | None = None) -> CampaignSummary:
    """Run the campaign of ``runner`` on Ray (see the module notes). ``ledger_vendors``: the vendors whose
    calls go through the cluster's ledger (default: every vendor without ``recognize_batch``).
    ``face_stage=False``: the shards analyse faces themselves; ``on_stage`` is told at the end what the stage did."""
    settings = settings or RaySettings()
    start = time.perf_counter()
    if runner.journal is None:
        runner.open_journal()
    if ledger_vendors is None:
        ledger_vendors = [v for v, impl in runner.vendors.items() if not hasattr(impl, "recognize_batch")]
    with ray_cluster(settings) as ray:
        workers = settings.workers or cluster_cpus(ray)
        plan = load_or_make_plan(runner.out_dir, runner.campaign_id, len(runner.probes), workers, shard_size)
        retry = runner.options.retry_errors
        for k in range(plan.shards):  # what an earlier, killed driver had not folded yet
            fold(runner, shard_state(read_records(_journal(plan, runner, k)), retry_errors=retry))
        resumed = len(runner.rows)
        ledger = ray.remote(num_cpus=0)(CallLedgerActor).remote()
        campaign_calls = shard_state(read_records(runner.out_dir / JOURNAL_NAME), retry_errors=retry).calls
        ray.get(ledger.seed.remote(list(campaign_calls.items())))
        in_shards: set[Any] = set()
        for k in range(plan.shards):
            calls = shard_state(read_records(_journal(plan, runner, k)), retry_errors=retry).calls
            in_shards.update(calls)
            ray.get(ledger.seed.remote(list(calls.items())))
        everything = bool(set(campaign_calls) - in_shards)  # answers only the campaign's journal holds
        limiters = cluster_limiters(runner.vendors)
        task_fn = ray.remote(num_cpus=1, max_retries=task_retries)(run_shard)
        shared = shared_references(plan, runner.probes)
        todo = [t for t in (_task(plan, runner, k, shared, everything) for k in range(plan.shards)) if t is not None]
        stage: FaceStageReport | None = None
        if face_stage and todo and vendor_analyzers(runner.vendors):
            todo, stage = _with_analyses(ray, todo, factory, runner, workers)
        reports: list[ShardReport] = []
        inflight: dict[Any, ShardTask] = {}
        try:
            while todo or inflight:
                while todo and len(inflight) < workers:
                    t = todo.pop(0)
                    inflight[task_fn.remote(t, factory, limiters, ledger, list(ledger_vendors))] = t
                ready, _ = ray.wait(list(inflight), num_returns=1)
                t = inflight.pop(ready[0])
                reports.append(_result(ray, ready[0], t, task_retries))
                for row in fold(runner, shard_state(read_records(_journal(plan, runner, t.index)))):
                    if on_row is not None:
                        on_row(row["vendor"], row)
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            assert runner.journal is not None
            runner.journal.close()
    if stage is not None and on_stage is not None:
        on_stage(replace(stage, analysed_in_shards=sum(r.analysed_here for r in reports)))
    return _summary(runner, reports, resumed, time.perf_counter() - start)


def _journal(plan: ShardPlan, runner: CampaignRunner, index: int) -> Path:
    return plan.shard_dir(runner.out_dir, index) / JOURNAL_NAME


ROLES = ("real target image", "second source image")  # the roles the runner prepares the images as


def _images(probe: Any) -> list[tuple[str, str]]:
    if probe.error:
        return []
    return [(probe.deepfake, "deepfake"), *zip(probe.target_images[:2], ROLES)]


def shared_references(plan: ShardPlan, probes: list[Any]) -> set[tuple[str, str]]:
    """The (image reference, role) pairs that probes of more than one shard use."""
    first: dict[tuple[str, str], int] = {}
    shared = set()
    for k in range(plan.shards):
        a, b = plan.bounds(k)
        for probe in probes[a:b]:
            for image in _images(probe):
                if first.setdefault(image, k) != k:
                    shared.add(image)
    return shared


def _task(plan: ShardPlan, runner: CampaignRunner, index: int, shared: set[tuple[str, str]],
          everything: bool) -> ShardTask | None:
    """Shard ``index``, or None when the campaign holds all its rows."""
    a, b = plan.bounds(index)
    probes = tuple(runner.probes[a:b])
    keys = [(p.probe_id, v) for p in probes for v in runner.vendors]
    if all(k in runner.rows for k in keys):
        return None
    known = {k: runner.rows[k] for k in keys if k in runner.rows}
    mine = tuple(sorted({image for p in probes for image in _images(p) if image in shared}))
    return ShardTask(index, probes, plan.shard_dir(runner.out_dir, index), runner.out_dir / "crops",
                     runner.options, known, mine, everything)


def _pending_images(task: ShardTask, vendors: Collection[str]) -> set[tuple[str, str]]:
    """The images of the task's probes that still lack a row for some vendor."""
    return {image for p in task.probes if any((p.probe_id, v) not in task.known_rows for v in vendors)
            for image in _images(p)}


def faces_dir(out_dir: Path) -> Path:
    """Where the face stage writes its analyses (:class:`harness.distributed.analysis.FaceStore`)."""
    return shards_dir(out_dir) / "faces"


def _with_analyses(ray: Any, todo: list[ShardTask], factory: VendorFactory, runner: CampaignRunner,
                   workers: int) -> tuple[list[ShardTask], FaceStageReport]:
    """The tasks, told where the Ray Data stage wrote the face analyses of their pending images."""
    wanted = {t.index: _pending_images(t, runner.vendors) for t in todo}
    where = faces_dir(runner.out_dir)
    report = analyse_on_ray(ray, factory, set().union(*wanted.values()), crop=runner.options.crop,
                            crops_dir=runner.out_dir / "crops", faces_dir=where, workers=workers)
    return [replace(t, faces_dir=where, face_refs=tuple(sorted(wanted[t.index]))) for t in todo], report


def _result(ray: Any, ref: Any, task: ShardTask, retries: int) -> ShardReport:
    try:
        report: ShardReport = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause
        raise cause if isinstance(cause, BaseException) else exc from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
        raise DfiError(f"shard {task.index}: its worker died {retries + 1} times ({type(exc).__name__}); "
                       "rerun the same command to resume") from None
    return report


def _summary(runner: CampaignRunner, reports: list[ShardReport], resumed: int, elapsed: float) -> CampaignSummary:
    """The campaign's summary from its rows (errors counted as :meth:`CampaignRunner.run` counts them)
    and the shards' reports (calls, cache hits, retries)."""
    s = CampaignSummary(probes=len(runner.probes))
    s.rows = len(runner.rows)
    s.rows_resumed = resumed
    s.rows_new = s.rows - resumed
    s.vendor_calls = sum(r.vendor_calls for r in reports)
    s.cache_hits = sum(r.cache_hits for r in reports)
    s.calls_replayed = runner.summary.calls_replayed + sum(r.calls_replayed for r in reports)
    s.retries = sum(r.retries for r in reports)
    s.torn_journal_bytes = runner.summary.torn_journal_bytes + sum(r.torn_journal_bytes for r in reports)
    s.quarantined_records = runner.summary.quarantined_records + sum(r.quarantined_records for r in reports)
    s.elapsed_s = elapsed
    errors: Counter = Counter()
    for row in runner.rows.values():
        errored = False
        for call in ("target", "target2", "fake", "similarity"):
            err = row.get(f"{call}_error") or ""
            if err:
                errors[(row["vendor"], call, err.split(":", 1)[0].strip() or "error")] += 1
                errored = errored or call != "similarity"
        if errored:
            s.errored_rows[row["vendor"]] += 1
    s.errors = errors
    runner.summary = s
    return s

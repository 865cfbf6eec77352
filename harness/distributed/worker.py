"""One shard on one Ray worker process.

:func:`run_shard` is the body of the shard task: a :class:`harness.campaign.CampaignRunner` over
the shard's probes (its vendors' analyzer seeded with the face analyses the Ray Data stage made,
:mod:`.analysis`), its journal in the shard's folder (resumed when a killed worker's task is
retried), its calls through the cluster's ledger and rate limiters. The vendors -- and so the
models behind the in-process mocks and the face cropper -- are built once per worker process
(:func:`process_vendors`) and kept for the next shard: one model session per process, not per shard.
A file lock on the shard folder keeps two runs of one shard (a retry and a worker the killed driver
left behind) from ever calling the same vendors at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.campaign.prepare import ImagePreparer
from harness.campaign.runner import CampaignOptions, CampaignRunner
from harness.datasets.probe import Probe
from harness.distributed.analysis import FaceStore, analysis_misses, seed_analyzers
from harness.distributed.ledger import LedgerCache
from harness.distributed.ratelimit import SharedBucket, share_client_buckets
from harness.models.runtime import THREADS_ENV

VendorFactory = Callable[[], Mapping[str, Any]]  # picklable; builds the vendors in the worker


@dataclass(frozen=True)
class ShardTask:
    index: int
    probes: tuple[Probe, ...]
    shard_dir: Path
    crops_dir: Path
    options: CampaignOptions
    known_rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # done in the campaign already
    shared_refs: tuple[tuple[str, str], ...] = ()  # (image reference, role) other shards use too
    ledger_everything: bool = False  # the ledger holds answers no shard journaled: ask it about every call
    faces_dir: Path | None = None  # the face stage's analyses (analysis.FaceStore); None: no stage ran
    face_refs: tuple[tuple[str, str], ...] = ()  # (image reference, role) of its images the stage analysed

    @property
    def owner(self) -> str:
        return f"shard-{self.index}"


@dataclass(frozen=True)
class ShardReport:
    index: int
    pid: int
    rows: int  # rows the shard's journal holds after this run
    rows_new: int
    vendor_calls: int
    cache_hits: int
    served: int  # answers the ledger gave (another shard's call, or an earlier run's)
    seeded: int  # face analyses the shard was given by the face stage (not computed again here)
    analysed_here: int  # images whose faces the shard's own analyzer had to analyse (not given by the stage)
    calls_replayed: int
    retries: int
    torn_journal_bytes: int
    quarantined_records: int


_process: dict[str, Any] = {}


def process_vendors(factory: VendorFactory, limiters: Mapping[str, SharedBucket]) -> Mapping[str, Any]:
    """This process's vendors, built once per factory; their clients take tokens from ``limiters``."""
    key = hashlib.sha256(pickle.dumps(factory)).hexdigest()
    if _process.get("key") != key:
        _process.clear()
        vendors = dict(factory())
        share_client_buckets(vendors, limiters)
        _process.update(key=key, vendors=vendors, preparers={})
    return _process["vendors"]


def _preparer(crop: bool | str, crops_dir: Path) -> ImagePreparer:
    preparers: dict[tuple[Any, Path], ImagePreparer] = _process["preparers"]
    key = (crop, crops_dir)
    if key not in preparers:
        preparers[key] = ImagePreparer(crop=crop, cache_dir=crops_dir)
    return preparers[key]


def run_shard(task: ShardTask, factory: VendorFactory, limiters: Mapping[str, SharedBucket], ledger: Any,
              ledger_vendors: Collection[str]) -> ShardReport:
    """Run (or resume) one shard; what it did."""
    os.environ.setdefault(THREADS_ENV, "1")  # one CPU per task: onnxruntime must not spread over all cores
    vendors = process_vendors(factory, limiters)
    seeded = 0
    if task.faces_dir is not None:
        preparer = _preparer(task.options.crop, task.crops_dir)
        images = (preparer.prepare(ref, role) for ref, role in task.face_refs)
        seeded = seed_analyzers(vendors, FaceStore(task.faces_dir), (i.sha256 for i in images if i.sha256))
    misses_before = analysis_misses(vendors)
    task.shard_dir.mkdir(parents=True, exist_ok=True)
    with open(task.shard_dir / "lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        runner = CampaignRunner(task.probes, vendors, task.shard_dir, replace(task.options),
                                preparer=_preparer(task.options.crop, task.crops_dir))
        preparer = _preparer(task.options.crop, task.crops_dir)
        asking = [v for v in ledger_vendors if v in vendors]
        shared = {img.sha256 for img in (preparer.prepare(ref, role) for ref, role in task.shared_refs)
                  if not img.error} if asking else set()
        cache = LedgerCache(ledger, task.owner, asking, shared, task.ledger_everything)
        runner.cache = cache  # before the journal is replayed into it
        runner.open_journal()
        for key, row in task.known_rows.items():
            runner.rows.setdefault(key, row)
        summary = runner.run()
    return ShardReport(task.index, os.getpid(), summary.rows, summary.rows_new, summary.vendor_calls,
                       summary.cache_hits, cache.served, seeded,
                       analysis_misses(vendors) - misses_before, summary.calls_replayed, summary.retries,
                       summary.torn_journal_bytes, summary.quarantined_records)

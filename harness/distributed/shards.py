"""The campaign's shards: a fixed plan, one journal per shard, and their deterministic merge.

The plan cuts the campaign's probe list (all of it, not what is left) into consecutive shards of
``shard_size`` probes and is written once, to ``<out>/shards/plan.json``: a rerun -- after a killed
driver or worker, with more or fewer workers -- cuts the same shards, so every shard finds its own
journal (``<out>/shards/<index>/journal.jsonl``, written by the shard's
:class:`harness.campaign.CampaignRunner` as it goes) and resumes it.

The campaign's own journal (``<out>/journal.jsonl``) stays the campaign's state: the driver folds
every shard's rows and calls into it (:func:`fold`), a record only when the campaign does not hold
it already, so folding twice (a driver killed while folding) adds nothing. What the results table
holds does not depend on which shard finished first: rows are keyed by (probe, vendor) and written
out in probe order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from harness.campaign.cache import CacheKey, CallResult
from harness.campaign.replay_checks import call_problem, row_problem
from harness.errors import DfiError
from harness.paths import write_atomic

SHARDS_DIR = "shards"
PLAN_NAME = "plan.json"
JOURNAL_NAME = "journal.jsonl"  # as harness.campaign.runner names it
MAX_SHARD = 256  # probes: a killed worker redoes at most this much, and a shard's journal stays small
MIN_SHARD = 16  # a batch of the in-process mocks (harness.campaign.runner.DEFAULT_BATCH_SIZE): smaller costs per image
SHARDS_PER_WORKER = 4  # enough shards that the last ones finish near each other


def shards_dir(out_dir: Path) -> Path:
    return Path(out_dir) / SHARDS_DIR


@dataclass(frozen=True)
class ShardPlan:
    campaign: str  # the campaign fingerprint (harness.campaign.runner.probes_fingerprint)
    probes: int
    shard_size: int

    @property
    def shards(self) -> int:
        return math.ceil(self.probes / self.shard_size)

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.shard_size
        return start, min(self.probes, start + self.shard_size)

    def shard_dir(self, out_dir: Path, index: int) -> Path:
        return shards_dir(out_dir) / f"{index:05d}"


def default_shard_size(probes: int, workers: int) -> int:
    """A few shards per worker, each between MIN_SHARD and MAX_SHARD probes, every worker given one."""
    workers = max(1, workers)
    size = max(MIN_SHARD, min(MAX_SHARD, math.ceil(probes / (SHARDS_PER_WORKER * workers))))
    return max(1, min(size, math.ceil(probes / workers)))


def load_or_make_plan(out_dir: Path, campaign: str, probes: int, workers: int,
                      shard_size: int | None = None) -> ShardPlan:
    """The plan already in ``out_dir`` (its shard size wins over ``shard_size``), or a new one."""
    path = shards_dir(out_dir) / PLAN_NAME
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            plan = ShardPlan(str(data["campaign"]), int(data["probes"]), int(data["shard_size"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DfiError(f"{path}: not a dfi shard plan ({exc}); use --fresh to start over") from None
        if plan.campaign != campaign or plan.probes != probes:
            raise DfiError(f"{path}: the shards of another campaign ({plan.campaign}, this one {campaign}); "
                           "use another output folder or --fresh")
        if plan.shard_size < 1:
            raise DfiError(f"{path}: shard size {plan.shard_size}; use --fresh to start over")
        return plan
    if shard_size is not None and shard_size < 1:
        raise DfiError(f"a shard needs at least one probe, not {shard_size}")
    plan = ShardPlan(campaign, probes, shard_size or default_shard_size(probes, workers))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"campaign": plan.campaign, "probes": plan.probes,
                                   "shard_size": plan.shard_size}) + "\n")
    return plan


def read_records(path: Path) -> list[dict[str, Any]]:
    """A shard journal's valid call and row records, in order. A torn last line (a killed worker) and
    damaged records are skipped here; the shard's own runner sets them aside when it resumes."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    out = []
    for line in data.splitlines()[1:]:
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        kind = rec.get("k")
        if (kind == "c" and not call_problem(rec)) or (kind == "r" and not row_problem(rec)):
            out.append(rec)
    return out


def _errored(row: dict[str, Any]) -> bool:
    return any(row.get(c) for c in ("fake_error", "target_error", "target2_error"))


@dataclass
class ShardState:
    """What a shard's journal holds, the last record of each call and row winning."""

    calls: dict[CacheKey, dict[str, Any]]
    rows: dict[tuple[str, str], dict[str, Any]]


def shard_state(records: Iterable[dict[str, Any]], *, retry_errors: bool = False) -> ShardState:
    """``retry_errors``: leave out errored rows and calls (records of an earlier run that
    ``--retry-errors`` redoes), as :meth:`harness.campaign.CampaignRunner.open_journal` does."""
    calls: dict[CacheKey, dict[str, Any]] = {}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        if rec["k"] == "c":
            call: CacheKey = (rec["v"], rec["o"], rec["h"])
            if retry_errors and rec.get("e"):
                calls.pop(call, None)
                continue
            calls[call] = rec
        else:
            row = rec["row"]
            probe_vendor = (row["probe_id"], row["vendor"])
            if retry_errors and _errored(row):
                rows.pop(probe_vendor, None)
                continue
            rows[probe_vendor] = row
    return ShardState(calls, rows)


def fold(runner: Any, state: ShardState) -> list[dict[str, Any]]:
    """Add a shard's calls and rows to the campaign (``runner``: its :class:`CampaignRunner`, journal
    open): what the campaign lacks, or holds differently, is journaled there with one write. The rows
    that were new or changed, in the shard's order."""
    records: list[dict[str, Any]] = []
    for key, rec in state.calls.items():
        result = CallResult.from_record(rec)
        if runner.cache.get(key) != result:
            runner.cache.put(key, result)
            records.append(rec)
    changed = []
    for probe_vendor, row in state.rows.items():
        if runner.rows.get(probe_vendor) != row:
            runner.rows[probe_vendor] = row
            records.append({"k": "r", "row": row})
            changed.append(row)
    if records:
        runner.journal.append_many(records)
    return changed

"""The campaign runner: every probe x every vendor, resumable, cached, rate-limited.

For each probe and vendor it makes up to four calls: Recognize(real target image) (P_T),
Recognize(second source) for synthesis probes, Recognize(deepfake) (P_D) and, where the vendor has
one, Similarity(real target, deepfake) (S). Each answer is journaled as it arrives (see
:mod:`harness.campaign.journal`) and cached by (vendor, operation, image sha256); each finished
row is journaled too. Rerunning the same command on the same output folder replays the journal:
finished rows are kept, answered calls are served from the cache, and only the rest is done.

Failures never become "no celebrity": a missing or undecodable image, a probe without a face and
a vendor error are written into the row's error column for that call, with a reason, and the run
goes on. The runner neither retries nor rate-limits: that is the clients' one job (their token
bucket and retry policy, :mod:`harness.clients.retry`), and the summary's retry count is theirs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.campaign.cache import CacheKey, CallCache, CallResult
from harness.campaign.journal import Journal
from harness.campaign.prepare import ImagePreparer, PreparedImage
from harness.campaign.replay_checks import call_problem, row_problem
from harness.cassettes.secrets import scrub
from harness.datasets.probe import Probe
from harness.errors import DfiError
from harness.results.schema import SCHEMA_VERSION
from harness.vendors.base import AuthError, Vendor, VendorError

JOURNAL_NAME = "journal.jsonl"


# probes per batch for vendors with recognize_batch (the in-process mocks): rows finish, and progress
# bars move, once per batch; past 8 probes a batch was no faster per image when measured (Xeon, 2 cores)
DEFAULT_BATCH_SIZE = 16

@dataclass
class CampaignOptions:
    concurrency: int | Mapping[str, int] = 4  # worker threads per vendor
    crop: bool | str = True  # cut out the largest face before upload, as the study did: True/"faceplugin", "mtcnn"
    retry_errors: bool = False  # redo rows that finished with an error in an earlier run
    source: str = "campaign"  # the results table's `source` column
    dataset_root: Path | None = None  # deepfake references are written relative to this
    fsync_every: int = 256
    max_pending_probes: int = 256  # back-pressure: probes prepared but not yet finished
    fatal_errors: tuple[type[BaseException], ...] = (AuthError,)  # these stop the campaign
    batch_size: int = DEFAULT_BATCH_SIZE

    def workers(self, vendor: str) -> int:
        if isinstance(self.concurrency, Mapping):
            return int(self.concurrency.get(vendor, 4))
        return int(self.concurrency)


@dataclass
class CampaignSummary:
    probes: int = 0
    rows: int = 0
    rows_resumed: int = 0
    rows_new: int = 0
    vendor_calls: int = 0
    cache_hits: int = 0
    calls_replayed: int = 0  # answers loaded from an earlier run's journal
    retries: int = 0  # retries the vendors' clients made during this run (the one retry layer)
    elapsed_s: float = 0.0
    errors: Counter = field(default_factory=Counter)  # (vendor, call, code) -> rows
    errored_rows: Counter = field(default_factory=Counter)  # vendor -> rows with any error
    torn_journal_bytes: int = 0
    quarantined_records: int = 0  # journal records set aside as damaged or invalid: their work done again

    @property
    def error_total(self) -> int:
        return sum(self.errored_rows.values())


def probes_fingerprint(probes: Sequence[Probe], vendors: Sequence[str]) -> str:
    h = hashlib.sha256()
    for v in sorted(vendors):
        h.update(v.encode() + b"\0")
    for p in probes:
        h.update(f"{p.dataset}\0{p.probe_id}\0{p.deepfake}\0{'|'.join(p.target_images)}\n".encode())
    return h.hexdigest()[:16]


def _error_text(exc: BaseException) -> str:
    """The row's error text; a credential a vendor quotes back in its message never reaches the results."""
    if isinstance(exc, VendorError):
        text = f"{exc.code}: {exc.message}"
    elif isinstance(exc, DfiError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"internal_error: {type(exc).__name__}: {exc}"
    return scrub(text)


def _code(error: str) -> str:
    return error.split(":", 1)[0].strip() or "error"


class CampaignRunner:
    def __init__(self, probes: Sequence[Probe], vendors: Mapping[str, Vendor], out_dir: str | Path,
                 options: CampaignOptions | None = None,
                 on_row: Callable[[str, dict[str, Any]], None] | None = None,
                 preparer: ImagePreparer | None = None):
        self.probes = list(probes)
        self.vendors = dict(vendors)
        self.out_dir = Path(out_dir)
        self.options = options or CampaignOptions()
        self.on_row = on_row  # (vendor, row) after each finished row: progress bars hook here
        self.preparer = preparer or ImagePreparer(crop=self.options.crop, cache_dir=self.out_dir / "crops")
        self.cache = CallCache()
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.summary = CampaignSummary(probes=len(self.probes))
        self.campaign_id = probes_fingerprint(self.probes, list(self.vendors))
        self._lock = threading.Lock()
        self.journal: Journal | None = None

    # ----- resume --------------------------------------------------------------------------------
    def open_journal(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.out_dir / JOURNAL_NAME,
                               {"campaign": self.campaign_id, "vendors": sorted(self.vendors),
                                "probes": len(self.probes)},
                               fsync_every=self.options.fsync_every)
        self.summary.torn_journal_bytes = self.journal.torn_bytes
        for rec in self.journal.records:
            kind = rec.get("k")
            problem = call_problem(rec) if kind == "c" else row_problem(rec) if kind == "r" else None
            if problem:
                self.journal.quarantine(rec, problem)
                continue
            if kind == "c":
                result = CallResult.from_record(rec)
                if self.options.retry_errors and result.error:
                    continue
                self.cache.put((rec["v"], rec["o"], rec["h"]), result)
                self.summary.calls_replayed += 1
            elif kind == "r":
                row = rec["row"]
                key = (row["probe_id"], row["vendor"])
                if self.options.retry_errors and any(row.get(c) for c in
                                                     ("fake_error", "target_error", "target2_error")):
                    self.rows.pop(key, None)
                    continue
                self.rows[key] = row
        self.journal.records = []  # replayed; free the memory
        self.summary.quarantined_records = self.journal.quarantined

    def pending(self) -> list[tuple[Probe, list[str]]]:
        """Probes with the vendors that still lack a finished row."""
        out = []
        for p in self.probes:
            missing = [v for v in self.vendors if (p.probe_id, v) not in self.rows]
            if missing:
                out.append((p, missing))
        return out

    def planned_calls(self) -> dict[tuple[str, str], int]:
        """Upper bound of the vendor calls still to make, per (vendor, operation); cache hits excluded.

        Uses image references (not hashes) so it does not read the images: an identical image under
        two names is counted twice, so the estimate errs on the high side."""
        seen: set[tuple[str, str, str]] = set()
        counts: Counter = Counter()
        for p, vendors in self.pending():
            if p.error:
                continue
            for v in vendors:
                for ref in p.target_images[:2]:
                    if (v, "recognize", ref) not in seen:
                        seen.add((v, "recognize", ref))
                        counts[(v, "recognize")] += 1
                counts[(v, "recognize")] += 1
                if self.vendors[v].supports_similarity and p.target_images:
                    counts[(v, "similarity")] += 1
        return dict(counts)

    # ----- the run -------------------------------------------------------------------------------
    def run(self) -> CampaignSummary:
        # The vendors' per-call gallery queries are tiny matrix products; OpenBLAS's worker threads
        # make them up to 200x slower on a busy 2-core machine (measured: 16 ms instead of 0.08 ms).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._run()

    def _client_retries(self) -> int:
        return sum(int(getattr(getattr(v, "stats", None), "retries", 0) or 0) for v in self.vendors.values())

    def _run(self) -> CampaignSummary:
        start = time.perf_counter()
        retries_before = self._client_retries()
        if self.journal is None:
            self.open_journal()
        assert self.journal is not None
        self.summary.rows_resumed = len(self.rows)
        todo = self.pending()
        batch_vendors = {v for v, impl in self.vendors.items() if hasattr(impl, "recognize_batch")}
        # batch-capable vendors are in-process: more threads would only contend for the GIL
        pools = {v: ThreadPoolExecutor(max_workers=1 if v in batch_vendors else self.options.workers(v),
                                       thread_name_prefix=f"dfi-{v}")
                 for v in self.vendors}
        gate = threading.BoundedSemaphore(self.options.max_pending_probes)
        failures: list[BaseException] = []
        chunks: dict[str, list[tuple[Probe, dict[str, PreparedImage], list[int]]]] = {v: [] for v in batch_vendors}

        def finished(remaining: list[int]) -> None:
            with self._lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                gate.release()

        def watch(fut: Future, remainders: list[list[int]]) -> None:
            def done(f: Future) -> None:
                exc = f.exception()
                if exc is not None:
                    failures.append(exc)
                for r in remainders:
                    finished(r)
            fut.add_done_callback(done)

        def flush(v: str) -> None:
            chunk, chunks[v] = chunks[v], []
            if chunk:
                watch(pools[v].submit(self._batch_task, v, chunk), [r for _, _, r in chunk])

        try:
            for probe, vendors in todo:
                gate.acquire()
                if failures:
                    gate.release()
                    break
                images = self._hand_over_pixels(self._prepare(probe))
                remaining = [len(vendors)]
                for v in vendors:
                    if v in batch_vendors:
                        chunks[v].append((probe, images, remaining))
                        if len(chunks[v]) >= self.options.batch_size:
                            flush(v)
                    else:
                        watch(pools[v].submit(self._row_task, probe, v, images), [remaining])
            for v in batch_vendors:
                flush(v)
        finally:
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=bool(failures))
            self.journal.close()
        if failures:
            raise failures[0]
        s = self.summary
        s.rows = len(self.rows)
        s.rows_new = s.rows - s.rows_resumed
        s.vendor_calls = self.cache.calls
        s.cache_hits = self.cache.hits
        s.retries = self._client_retries() - retries_before
        s.elapsed_s = time.perf_counter() - start
        for row in self.rows.values():
            v = row["vendor"]
            errored = False
            for call in ("target", "target2", "fake", "similarity"):
                err = row.get(f"{call}_error") or ""
                if err:
                    s.errors[(v, call, _code(err))] += 1
                    errored = errored or call != "similarity"
            if errored:
                s.errored_rows[v] += 1
        return s

    # ----- batches (in-process vendors with recognize_batch/similarity_batch) -----------------------
    def _batch_task(self, vendor_name: str, chunk: list[tuple[Probe, dict[str, PreparedImage], list[int]]]) -> None:
        vendor = self.vendors[vendor_name]
        records: list[dict[str, Any]] = []
        failed: dict[CacheKey, CallResult] = {}  # retryable failures of this batch: not cached, not called again
        rec_items: dict[str, bytes] = {}
        for _probe, images, _ in chunk:
            for img in images.values():
                if not img.error and (vendor_name, "recognize", img.sha256) not in self.cache:
                    rec_items[img.sha256] = img.data  # type: ignore[assignment]
        if rec_items:
            answers = vendor.recognize_batch(list(zip(rec_items.values(), rec_items.keys())))  # type: ignore[attr-defined]
            for sha, ans in zip(rec_items, answers):
                res = self._batch_result(ans, lambda r: (CallResult(r.best().name, float(r.best().confidence))
                                                         if r.best() else CallResult()))
                self._store(records, failed, (vendor_name, "recognize", sha), res)
        if vendor.supports_similarity:
            pairs: dict[str, tuple[PreparedImage, PreparedImage]] = {}
            for probe, images, _ in chunk:
                if self._reaches_similarity(probe, vendor_name, images):
                    t, f = images["t0"], images["fake"]
                    key = f"{t.sha256}+{f.sha256}"
                    if (vendor_name, "similarity", key) not in self.cache:
                        pairs[key] = (t, f)
            if pairs:
                answers = vendor.similarity_batch(  # type: ignore[attr-defined]
                    [((t.data, t.sha256), (f.data, f.sha256)) for t, f in pairs.values()])
                for key, ans in zip(pairs, answers):
                    res = self._batch_result(ans, lambda x: CallResult(score=None if x is None else float(x)))
                    self._store(records, failed, (vendor_name, "similarity", key), res)
        rows = [self._measure(probe, vendor_name, images, failed) for probe, images, _ in chunk]
        records += [{"k": "r", "row": row} for row in rows]
        assert self.journal is not None
        self.journal.append_many(records)
        for (probe, _, _), row in zip(chunk, rows):
            self.rows[(probe.probe_id, vendor_name)] = row
            if self.on_row is not None:
                self.on_row(vendor_name, row)

    def _batch_result(self, answer: Any, convert: Callable[[Any], CallResult]) -> CallResult:
        if isinstance(answer, BaseException):
            if isinstance(answer, self.options.fatal_errors):
                raise answer
            retryable = isinstance(answer, VendorError) and answer.retryable
            return CallResult(error=_error_text(answer), retryable=retryable)
        return convert(answer)

    def _store(self, records: list[dict[str, Any]], failed: dict[CacheKey, CallResult], key: CacheKey,
               res: CallResult) -> None:
        self.cache.calls += 1
        if res.retryable:  # as on the per-call path: this row gets the error; a later probe calls again
            failed[key] = res
        else:
            self.cache.put(key, res)
            records.append({"k": "c", "v": key[0], "o": key[1], "h": key[2], **res.to_record()})

    def _reaches_similarity(self, probe: Probe, vendor: str, images: dict[str, PreparedImage]) -> bool:
        """Whether :meth:`_measure` gets as far as the similarity call (all recognitions answered)."""
        if probe.error or "t0" not in images:
            return False
        if probe.method == "synthesis" and "t1" not in images:
            return False
        for k in ("t0", "t1", "fake"):
            img = images.get(k)
            if img is None:
                continue
            if img.error:
                return False
            res = self.cache.get((vendor, "recognize", img.sha256))
            if res is None or res.error:
                return False
        return True

    def _prepare(self, probe: Probe) -> dict[str, PreparedImage]:
        if probe.error:
            return {}
        images = {"fake": self.preparer.prepare(probe.deepfake, "deepfake")}
        roles = ("real target image", "second source image")
        for i, ref in enumerate(probe.target_images[:2]):
            images[f"t{i}"] = self.preparer.prepare(ref, roles[i])
        return images

    def _hand_over_pixels(self, images: dict[str, PreparedImage]) -> dict[str, PreparedImage]:
        """Give the crops' pixels to the in-process mocks (``remember_pixels``: one memo serves them all),
        then drop them: rows and the other backends need the bytes only."""
        takers = [v for v in self.vendors.values() if hasattr(v, "remember_pixels")]
        out = {}
        for key, img in images.items():
            if img.pixels is not None:
                if takers:
                    takers[0].remember_pixels(img.sha256, img.pixels)
                img = replace(img, pixels=None)
            out[key] = img
        return out

    def _row_task(self, probe: Probe, vendor_name: str, images: dict[str, PreparedImage]) -> None:
        row = self._measure(probe, vendor_name, images)
        assert self.journal is not None
        self.journal.append({"k": "r", "row": row})
        self.rows[(probe.probe_id, vendor_name)] = row
        if self.on_row is not None:
            self.on_row(vendor_name, row)

    def base_row(self, probe: Probe, vendor: str) -> dict[str, Any]:
        deepfake = probe.deepfake
        root = self.options.dataset_root
        if root is not None:
            path, sep, frag = deepfake.partition("#")
            try:
                deepfake = str(Path(path).relative_to(root)) + sep + frag
            except ValueError:
                pass
        return {
            "schema_version": SCHEMA_VERSION, "dataset": probe.dataset, "source": self.options.source,
            "method": probe.method, "probe_id": probe.probe_id, "vendor": vendor, "deepfake": deepfake,
            "target": probe.target, "references": "|".join(probe.references),
            "target_name": "", "target_conf": None, "target_error": "",
            "target2_name": "", "target2_conf": None, "target2_error": "",
            "fake_name": "", "fake_conf": None, "fake_error": "",
            "similarity": None, "similarity_error": "",
        }

    def _measure(self, probe: Probe, vendor_name: str, images: dict[str, PreparedImage],
                 answered: dict[CacheKey, CallResult] | None = None) -> dict[str, Any]:
        """The row of one probe x vendor. ``answered``: results a batch call already got (its
        retryable failures, which are not cached), so they are not asked for a second time."""
        row = self.base_row(probe, vendor_name)
        if probe.error:
            row["fake_error"] = probe.error
            return row
        vendor = self.vendors[vendor_name]
        fake = images["fake"]
        targets = [images[k] for k in ("t0", "t1") if k in images]
        if not targets:
            row["target_error"] = "no_target_image: the dataset gives no real image of the target"
            return row
        for i, img in enumerate(targets):
            col = "target" if i == 0 else "target2"
            if img.error:
                row[f"{col}_error"] = img.error
                return row
            res = self._recognize(vendor, img, answered)
            if res.error:
                row[f"{col}_error"] = res.error
                return row
            row[f"{col}_name"] = res.name or ""
            row[f"{col}_conf"] = res.conf if res.name else None
        if probe.method == "synthesis" and len(targets) < 2:
            row["target2_error"] = "no_target_image: a synthesis probe needs both sources' images"
            return row
        if fake.error:
            row["fake_error"] = fake.error
            return row
        res = self._recognize(vendor, fake, answered)
        if res.error:
            row["fake_error"] = res.error
            return row
        row["fake_name"] = res.name or ""
        row["fake_conf"] = res.conf if res.name else None
        if vendor.supports_similarity:
            sim = self._similarity(vendor, targets[0], fake, answered)
            if sim.error:
                row["similarity_error"] = sim.error
            else:
                row["similarity"] = sim.score
        return row

    # ----- calls ---------------------------------------------------------------------------------
    def _journal_call(self, key: CacheKey, result: CallResult) -> None:
        assert self.journal is not None
        self.journal.append({"k": "c", "v": key[0], "o": key[1], "h": key[2], **result.to_record()})

    def _call(self, fn: Callable[[], CallResult]) -> CallResult:
        """One vendor call; the client behind it has already retried what it retries."""
        try:
            return fn()
        except self.options.fatal_errors:
            raise
        except VendorError as exc:
            return CallResult(error=_error_text(exc), retryable=exc.retryable)
        except Exception as exc:  # noqa: BLE001 - a failing backend must not stop the campaign
            return CallResult(error=_error_text(exc))

    def _recognize(self, vendor: Vendor, img: PreparedImage,
                   answered: dict[CacheKey, CallResult] | None = None) -> CallResult:
        key: CacheKey = (vendor.name, "recognize", img.sha256)
        if answered and key in answered:
            return answered[key]

        def call() -> CallResult:
            def once() -> CallResult:
                rec = vendor.recognize(img.data)  # type: ignore[arg-type]
                best = rec.best()
                return CallResult(best.name, float(best.confidence)) if best else CallResult()
            return self._call(once)

        return self.cache.get_or_call(key, call, self._journal_call)

    def _similarity(self, vendor: Vendor, a: PreparedImage, b: PreparedImage,
                    answered: dict[CacheKey, CallResult] | None = None) -> CallResult:
        key: CacheKey = (vendor.name, "similarity", f"{a.sha256}+{b.sha256}")
        if answered and key in answered:
            return answered[key]

        def call() -> CallResult:
            def once() -> CallResult:
                score = vendor.similarity(a.data, b.data)  # type: ignore[arg-type]
                return CallResult(score=None if score is None else float(score))
            return self._call(once)

        return self.cache.get_or_call(key, call, self._journal_call)

    # ----- output --------------------------------------------------------------------------------
    def ordered_rows(self) -> list[dict[str, Any]]:
        """Finished rows in probe order, then vendor order."""
        out = []
        for p in self.probes:
            for v in self.vendors:
                row = self.rows.get((p.probe_id, v))
                if row is not None:
                    out.append(row)
        return out

"""Campaign speed: 10,000 probes x 3 vendors against the in-process mock vendors with cached
embeddings, and what the journal costs.

Two paths are timed. The per-call path sends every call through the Vendor protocol one image at a
time (what a remote backend gets). The batched path (harness.backends.fastpath, used by `dfi run`
for in-process mocks) answers images the vendor has already accepted and analysed with one
vectorised gallery query per batch of 256 probes; the vendors' caches come from a first campaign
over the same images (timed separately as "batched_first_campaign_s").

Method. The probes are 10,000 distinct JPEG files (112 x 112), each a copy of one of the demo
dataset's deepfakes with a few pixels changed (so every file has its own bytes and sha256); the
real target images are the demo's 8. "Cached embeddings": the mock vendors' shared analysis cache
(mockvendors.analysis.CachingAnalyzer, keyed by sha256) is seeded before the run with the analysis
of the base image each file was made from, so no face model runs during the timed part. Timed:
``CampaignRunner.run()`` from an empty output folder to the last journaled row (reading and hashing
every file, 3 recognize + up to 2 similarity calls per probe and vendor through the Vendor
protocol, cache look-ups, rows, journal with fsync every 256 records). The journal's cost is
measured twice: (a) the same run with the journal's append replaced by a no-op (A/B, alternating,
median of --repeat runs each) and (b) the CPU time spent inside Journal.append_many during the real
runs (fsync runs in the journal's background thread and is not in (b); it is in (a)).

    python benchmarks/bench_campaign.py [--probes 10000] [--repeat 3] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

from harness.campaign import CampaignOptions, CampaignRunner
from harness.campaign import journal as journal_mod
from harness.campaign import runner as runner_mod
from harness.datasets.probe import Probe


def build_probes(root: Path, n: int):  # noqa: ANN201
    from harness.datasets.demo import demo_dataset
    from mockvendors.analysis import CachingAnalyzer, ImageAnalysis, PipelineAnalyzer, sha256_hex

    demo = demo_dataset()
    base_probes = [p for p in demo.probes() if not p.error]
    analyzer = CachingAnalyzer(PipelineAnalyzer(), max_entries=4 * n + 1000)
    bases = []
    for p in base_probes:
        img = cv2.resize(cv2.imread(p.deepfake), (112, 112), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        a = analyzer.inner.analyze(buf.tobytes())
        if a.faces:
            bases.append((p, img, a))
    targets = {}
    for p, _, _ in bases:
        for ref in p.target_images:
            if ref not in targets:
                data = Path(ref).read_bytes()
                targets[ref] = data
                analyzer.analyze(data)  # real analysis, cached
    root.mkdir(parents=True, exist_ok=True)
    probes = []
    seen: set[bytes] = set()
    for i in range(n):
        p, img, a = bases[i % len(bases)]
        var = img.copy()
        for k in range(4):  # a unique file per probe: 4 JPEG blocks carry i's base-16 digits
            var[:8, 8 * k:8 * k + 8] = (i >> (4 * k)) % 16 * 16 + 8
        ok, buf = cv2.imencode(".jpg", var, [cv2.IMWRITE_JPEG_QUALITY, 92])
        data = buf.tobytes()
        path = root / f"p{i:05d}.jpg"
        assert data not in seen, "two probe files have the same bytes"
        seen.add(data)
        path.write_bytes(data)
        analyzer.put(ImageAnalysis(sha256_hex(data), a.width, a.height, a.format, a.faces))
        probes.append(Probe(f"p{i:05d}", p.dataset, p.method, str(path), p.target, p.target_images, p.references))
    return demo, probes, analyzer


class _NoJournal(journal_mod.Journal):
    def append_many(self, records):  # noqa: ANN001
        pass


def _timed_append():  # noqa: ANN202
    spent = [0.0]
    original = journal_mod.Journal.append_many

    def append(self, records):  # noqa: ANN001
        t = time.thread_time()  # CPU time of this thread: waiting for the GIL does not count
        original(self, records)
        spent[0] += time.thread_time() - t

    return append, spent


def one_run(probes, vendors, out: Path, concurrency: int, journal: bool) -> tuple[float, float, object]:  # noqa: ANN001
    shutil.rmtree(out, ignore_errors=True)
    runner_mod.Journal = journal_mod.Journal if journal else _NoJournal
    append, spent = _timed_append()
    saved = journal_mod.Journal.append_many
    if journal:
        journal_mod.Journal.append_many = append
    try:
        r = CampaignRunner(probes, vendors, out, CampaignOptions(crop=False, concurrency=concurrency))
        t = time.perf_counter()
        s = r.run()
        elapsed = time.perf_counter() - t
    finally:
        journal_mod.Journal.append_many = saved
        runner_mod.Journal = journal_mod.Journal
    assert s.rows == 3 * len(probes), s
    return elapsed, spent[0], s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=1, help="threads per vendor on the per-call path")
    ap.add_argument("--skip-per-call", action="store_true", help="do not time the per-call path")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    from harness.backends.fastpath import batched
    from harness.backends.inprocess import mock_vendors
    from harness.jobs.run import demo_gallery

    work = Path(tempfile.mkdtemp(prefix="dfi-bench-campaign-"))
    try:
        t = time.perf_counter()
        demo, probes, analyzer = build_probes(work / "probes", args.probes)
        gallery = demo_gallery(demo)
        print(f"setup: {len(probes)} probe files, analysis cache seeded ({time.perf_counter() - t:.1f} s)")
        res: dict = {"probes": len(probes), "vendors": 3, "rows": 3 * len(probes)}
        if not args.skip_per_call:
            plain = mock_vendors(gallery, analyzer=analyzer)
            e, spent, s = one_run(probes, plain, work / "percall", args.concurrency, True)
            res |= {"per_call_s": round(e, 3), "per_call_journal_append_s": round(spent, 3),
                    "per_call_concurrency": args.concurrency}
            print(f"per-call path: {e:.2f} s")
        vendors = batched(mock_vendors(gallery, analyzer=analyzer))
        e, _, s = one_run(probes, vendors, work / "first", 1, True)  # first campaign: vendors accept the images
        res["batched_first_campaign_s"] = round(e, 3)
        print(f"batched, first campaign over these images: {e:.2f} s")
        with_j, without_j, inside = [], [], []
        for i in range(args.repeat):  # alternate the order: the second run of a pair pays the first's garbage
            for journal in ((True, False) if i % 2 == 0 else (False, True)):
                gc.collect()
                e, spent, s = one_run(probes, vendors, work / "out", 1, journal)
                if journal:
                    with_j.append(e)
                    inside.append(spent)
                else:
                    without_j.append(e)
        e, spent, s = one_run(probes, vendors, work / "out", 1, True)
        journal_bytes = (work / "out" / "journal.jsonl").stat().st_size
        m_with, m_without, m_inside = statistics.median(with_j), statistics.median(without_j), statistics.median(inside)
        res |= {
            "vendor_calls": s.vendor_calls, "cache_hits": s.cache_hits,
            "seconds_with_journal": [round(x, 3) for x in with_j],
            "seconds_without_journal": [round(x, 3) for x in without_j],
            "median_with_journal_s": round(m_with, 3), "median_without_journal_s": round(m_without, 3),
            "journal_share_ab_pct": round(100 * (m_with - m_without) / m_with, 2),
            "journal_append_s": round(m_inside, 3), "journal_share_inside_pct": round(100 * m_inside / m_with, 2),
            "journal_bytes": journal_bytes, "rows_per_s": round(3 * len(probes) / m_with),
            "python": sys.version.split()[0], "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        }
        print(json.dumps(res, indent=1))
        if args.json:
            args.json.write_text(json.dumps(res, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

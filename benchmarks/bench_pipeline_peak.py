"""The default face pipeline (detect + landmarks + align + embed) on one-face 640x480 photos: images/s,
GFLOP/s and % of this CPU's peak, per configuration, side by side in one run.

Configurations (each a fresh child process, round-robin over ``--rounds`` rounds, so bursts of load
from other processes hit them alike):

* ``today``: the tree given by ``--base`` (a git worktree of the commit before this work);
* ``now``: this tree with its default settings (the inference thread is on for Intel CPUs only);
* ``inference-thread``: this tree with ``DFI_INFERENCE_THREAD=1``: the face models on the dedicated
  inference thread with denormals flushed (``harness.models.inference``), intra-op threads = cores;
* ``no-inference-thread``: ``DFI_INFERENCE_THREAD=0`` (sessions on the callers' threads, no DAZ);
* ``1-intra-op-thread``: defaults with one intra-op thread (``DFI_ORT_THREADS=1``).

Each child times ``FacePipeline.analyze_many`` on ``batch`` copies of a 640x480 photo with one face
(cut from the demo group photo by ``harness.bench.pipeline.one_face_photo``; image decode excluded)
for ``--seconds`` per batch size, and saves the embedding it computes; the report gives the largest
absolute difference of each configuration's embedding from today's. FLOPs per image: fr_detect +
fr_landmark + fr_feature (``dfi bench --list``); peak: ``harness.bench.device.cpu_device()``.

    python benchmarks/bench_pipeline_peak.py --base /tmp/wt-base --rounds 3 --json benchmarks/results/pipeline_peak.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GFLOP_PER_IMAGE = {"fr_detect": 0.201, "fr_landmark": 0.031, "fr_feature": 0.442}  # dfi bench --list


def child(batches: list[int], seconds: float, emb_out: Path) -> dict:
    import numpy as np

    from harness.bench.pipeline import one_face_photo
    from harness.faces import default_pipeline, load_image
    from harness.models import demo_image_paths

    pipeline = default_pipeline()
    photo = one_face_photo(pipeline, load_image(demo_image_paths()["t1.jpg"]))
    (face,) = pipeline.analyze(photo)
    np.save(emb_out, face.embedding)
    facts: dict = {}
    try:
        from harness.models.inference import inference_facts

        facts = inference_facts()
    except ImportError:
        facts = {"inference_thread": False}
    out = {"facts": facts, "batches": {}}
    for b in batches:
        images = [photo] * b
        pipeline.analyze_many(images)
        n, w0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - w0 < seconds:
            pipeline.analyze_many(images)
            n += b
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        out["batches"][str(b)] = {"images_per_s": n / wall, "images_per_cpu_s": n / cpu, "cpu_share": cpu / wall}
    return out


CONFIGS = {
    "today": ("base", {}),
    "now": ("this", {}),
    "inference-thread": ("this", {"DFI_INFERENCE_THREAD": "1"}),
    "no-inference-thread": ("this", {"DFI_INFERENCE_THREAD": "0"}),
    "1-intra-op-thread": ("this", {"DFI_ORT_THREADS": "1"}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--emb", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--base", type=Path, help="source tree of 'today' (a worktree of the older commit)")
    ap.add_argument("--batch", type=int, action="append", help="batch sizes (default 1 8 32)")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    batches = args.batch or [1, 8, 32]
    if args.child:
        print(json.dumps(child(batches, args.seconds, args.emb)))
        return
    sys.path.insert(0, str(HERE.parent))
    import numpy as np

    from harness.bench.device import cpu_device, machine_facts

    device = cpu_device()
    peak = device.peak_flops["fp32"]
    gflop = sum(GFLOP_PER_IMAGE.values())
    configs = {k: v for k, v in CONFIGS.items() if v[0] == "this" or args.base is not None}
    work = Path(tempfile.mkdtemp(prefix="dfi-bench-peak-"))
    runs: dict[str, list[dict]] = {k: [] for k in configs}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        order = list(configs) if r % 2 == 0 else list(configs)[::-1]
        for name in order:
            which, env = configs[name]
            tree = args.base if which == "base" else HERE.parent
            emb = work / f"{name}.npy"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--emb", str(emb),
                   "--seconds", str(args.seconds), *[x for b in batches for x in ("--batch", str(b))]]
            proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(Path(tree).resolve()), **env},
                                  cwd=str(Path(tree).resolve()), capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["load_1m"] = round(os.getloadavg()[0], 2)
            runs[name].append(res)
            print(name, {b: round(x["images_per_s"], 1) for b, x in res["batches"].items()}, f"load {res['load_1m']}",
                  flush=True)
    reference = np.load(work / ("today.npy" if "today" in configs else "no-inference-thread.npy"))
    summary = {}
    for name, rs in runs.items():
        per_batch = {}
        for b in map(str, batches):
            rates = [x["batches"][b]["images_per_s"] for x in rs]
            cpu_rates = [x["batches"][b]["images_per_cpu_s"] for x in rs]
            best = max(rates)
            per_batch[b] = {"images_per_s_best": round(best, 1),
                            "images_per_s_median": round(statistics.median(rates), 1),
                            "images_per_cpu_s_median": round(statistics.median(cpu_rates), 1),
                            "gflop_per_s_best": round(best * gflop, 1),
                            "pct_of_peak_best": round(100 * best * gflop * 1e9 / peak, 1),
                            "pct_of_peak_median": round(100 * statistics.median(rates) * gflop * 1e9 / peak, 1)}
        summary[name] = {"batches": per_batch, "facts": rs[0]["facts"],
                         "max_abs_embedding_difference_from_reference": float(
                             np.abs(np.load(work / f"{name}.npy") - reference).max())}
    result = {"benchmark": "face pipeline, one-face 640x480 photos", "cpu": machine_facts().get("cpu"),
              "machine": machine_facts(), "peak_fp32_flops": peak, "peak_source": device.peak_source,
              "gflop_per_image": round(gflop, 3), "rounds": args.rounds, "seconds": args.seconds,
              "load_avg_before": [round(x, 2) for x in load_before],
              "load_avg_after": [round(x, 2) for x in os.getloadavg()], "summary": summary, "runs": runs,
              "command": " ".join(sys.argv)}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    for name, s in summary.items():
        print(f"{name:<22}", "  ".join(f"b{b}: {v['images_per_s_best']} img/s ({v['pct_of_peak_best']}% peak)"
                                       for b, v in s["batches"].items()),
              f" max |emb diff| {s['max_abs_embedding_difference_from_reference']:.2e}")


if __name__ == "__main__":
    main()

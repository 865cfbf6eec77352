"""`dfi run` on the in-process mock vendors with the face models running: images/s, CPU/wall, and the
study-scale time it implies.

What is timed: ``CampaignRunner.run()`` over N probes against the three in-process mocks (AWS, MS,
NAV: three recognizers behind one detector), from an empty output folder to the last journaled row,
with the study's face crop (faceplugin, margin 0.3). Every probe has its own deepfake file and every
four probes share a target photo, so every image is new to the vendors: each is read, decoded,
cropped, and analysed by the vendors' face models (no embedding is cached before the run). The model
set-up (sessions, gallery enrolment) is done before the clock starts, in the same process.

The probe files are variants of real images: the demo dataset's deepfakes and real photos and, when
``../shared/data`` is there, the study's 31 samples (21 of them large FaceApp JPEGs), each rescaled
by a factor in 0.85-1.15 and stamped with its index in one corner (so its bytes and sha256 are its
own), in its original format.

Side by side: ``--tree DIR`` (repeatable) names source trees to time, e.g. a git worktree of an
older commit; each run is a fresh child process with ``PYTHONPATH=DIR``, the trees alternate, and
each is run ``--repeat`` times. The study-scale figure is images/s extrapolated linearly to
``--study-images`` images (17,700: the study's deepfakes and real target photos), which the
``--scale-check`` runs of the current tree at several N test.

    python benchmarks/bench_run.py --tree /tmp/wt-base --tree . --probes 300 --repeat 2 \
        --json benchmarks/results/run_inprocess.json
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

STUDY_IMAGES = 17_700
HERE = Path(__file__).resolve().parent


def _bases() -> list[tuple[bytes, str, str]]:
    """(image bytes, extension, role) of the real images the probes are made from."""
    from harness.datasets.demo import demo_dataset

    out = []
    demo = demo_dataset()
    for p in demo.probes():
        if p.error:
            continue
        out.append((Path(p.deepfake).read_bytes(), Path(p.deepfake).suffix, "fake"))
    for ref in sorted({r for p in demo.probes() for r in p.target_images}):
        out.append((Path(ref).read_bytes(), Path(ref).suffix, "real"))
    shared = HERE.parent.parent / "shared" / "data" / "paper-samples"
    if shared.is_dir():
        for f in sorted(shared.rglob("*")):
            if f.suffix.lower() in (".jpg", ".jpeg", ".png"):
                out.append((f.read_bytes(), f.suffix, "fake"))
    return out


def build_manifest(root: Path, n: int) -> Path:
    import cv2
    import numpy as np

    bases = _bases()
    fakes = [b for b in bases if b[2] == "fake"]
    reals = [b for b in bases if b[2] == "real"] or fakes
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)

    def variant(base: tuple[bytes, str, str], i: int, name: str) -> str:
        img = cv2.imdecode(np.frombuffer(base[0], np.uint8), cv2.IMREAD_COLOR)
        s = float(rng.uniform(0.85, 1.15))
        img = cv2.resize(img, (max(32, round(img.shape[1] * s)), max(32, round(img.shape[0] * s))),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        for k in range(5):  # the index, one base-16 digit per 4x4 block in the top-left corner
            img[:4, 4 * k:4 * k + 4] = (i >> (4 * k)) % 16 * 16 + 8
        ext = ".jpg" if base[1].lower() in (".jpg", ".jpeg") else ".png"
        params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else []
        ok, buf = cv2.imencode(ext, img, params)
        path = root / f"{name}{ext}"
        path.write_bytes(buf.tobytes())
        return path.name

    lines = []
    targets: dict[int, str] = {}
    for i in range(n):
        group = i // 4
        if group not in targets:
            targets[group] = variant(reals[group % len(reals)], 1_000_000 + group, f"t{group:05d}")
        fake = variant(fakes[i % len(fakes)], i, f"p{i:05d}")
        lines.append(json.dumps({"probe_id": f"p{i:05d}", "dataset": "bench", "method": "replacement",
                                 "deepfake": fake, "target": "Demo Person 1", "target_images": [targets[group]],
                                 "references": ["Demo Person 6"]}))
    manifest = root / "bench.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def child(manifest: Path, out: Path) -> dict:
    """Runs in the child process: set up the mocks, then time the campaign."""
    from harness.backends.factory import make_backend
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.datasets.manifest import read_manifest

    probes = read_manifest(manifest)
    backend = make_backend("mock", ["aws", "ms", "nav"])
    runner = CampaignRunner(probes, backend.vendors, out, CampaignOptions(crop=True))
    images = len({p.deepfake for p in probes} | {r for p in probes for r in p.target_images})
    w, c = time.perf_counter(), time.process_time()
    summary = runner.run()
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    rows = runner.ordered_rows()
    errors = sum(1 for r in rows for k in ("target_error", "fake_error") if r.get(k))
    named = sum(1 for r in rows if r.get("fake_name"))
    return {"probes": len(probes), "images": images, "rows": summary.rows, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "cpu_per_wall": round(cpu / wall, 3), "images_per_s": round(images / wall, 2),
            "row_errors": errors, "fakes_named": named,
            "rows_digest": _digest(rows)}


def _digest(rows: list[dict]) -> str:
    import hashlib

    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps({k: r.get(k) for k in ("probe_id", "vendor", "target_name", "fake_name")},
                            sort_keys=True).encode())
    return h.hexdigest()[:16]


def run_tree(tree: Path, manifest: Path, extra_env: dict[str, str] | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="dfi-bench-run-") as out:
        env = {**os.environ, "PYTHONPATH": str(tree.resolve()), **(extra_env or {})}
        proc = subprocess.run([sys.executable, __file__, "--child", str(manifest), "--out", out],
                              env=env, capture_output=True, text=True, cwd=str(tree.resolve()))
        if proc.returncode != 0:
            raise SystemExit(f"{tree}: child failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _commit(tree: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--tree", type=Path, action="append", help="source tree to time (repeatable; default: this one)")
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--variant-env", action="append", default=[], metavar="KEY=VALUE",
                    help="also time the last --tree with this environment variable set (repeatable)")
    ap.add_argument("--scale-check", type=int, action="append", default=[],
                    help="also time the last --tree at this many probes (repeatable)")
    ap.add_argument("--study-images", type=int, default=STUDY_IMAGES)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.out)))
        return
    sys.path.insert(0, str(HERE.parent))
    from harness.bench.device import machine_facts

    trees = args.tree or [HERE.parent]
    # (label, tree, extra environment): the trees, then the last tree once per --variant-env
    variants = [(str(t), t, {}) for t in trees]
    variants += [(f"{trees[-1]} {kv}", trees[-1], dict([kv.split("=", 1)])) for kv in args.variant_env]
    facts = machine_facts()
    work = Path(tempfile.mkdtemp(prefix="dfi-bench-run-data-"))
    manifest = build_manifest(work / f"n{args.probes}", args.probes)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in variants}
    for r in range(args.repeat):
        for label, t, env in (variants if r % 2 == 0 else variants[::-1]):
            res = run_tree(t, manifest, env)
            res["load_avg_1m"] = round(os.getloadavg()[0], 2)
            runs[label].append(res)
            print(f"{label} ({_commit(t)}): {res['images']} images in {res['wall_s']:.1f} s = "
                  f"{res['images_per_s']:.2f} images/s, CPU/wall {res['cpu_per_wall']:.2f}, "
                  f"digest {res['rows_digest']}",
                  flush=True)
    scale = []
    for n in args.scale_check:
        m = build_manifest(work / f"n{n}", n)
        res = run_tree(trees[-1], m)
        scale.append(res)
        print(f"scale check {trees[-1]} n={n}: {res['images']} images, {res['images_per_s']:.2f} images/s", flush=True)
    summary = {}
    for (label, t, _), rs in zip(variants, runs.values()):
        rates = [x["images_per_s"] for x in rs]
        best = max(rates)
        summary[label] = {"commit": _commit(t), "images_per_s_best": best,
                      "images_per_s_median": round(statistics.median(rates), 2),
                      "cpu_per_wall_median": round(statistics.median(x["cpu_per_wall"] for x in rs), 3),
                      "images_per_cpu_s_median": round(statistics.median(x["images"] / x["cpu_s"] for x in rs), 2),
                      "study_scale_min_best": round(args.study_images / best / 60, 1),
                      "study_scale_min_median": round(args.study_images / statistics.median(rates) / 60, 1)}
    result = {"benchmark": "dfi run, in-process mocks, face models running", "machine": facts,
              "cpu": facts.get("cpu"), "probes": args.probes, "repeat": args.repeat,
              "load_avg_before": [round(x, 2) for x in load_before],
              "load_avg_after": [round(x, 2) for x in os.getloadavg()],
              "study_images": args.study_images, "runs": runs, "summary": summary, "scale_check": scale,
              "command": " ".join(sys.argv)}
    if len(trees) >= 2:
        a, b = summary[str(trees[0])], summary[str(trees[-1])]
        result["speedup_best"] = round(b["images_per_s_best"] / a["images_per_s_best"], 2)
        result["speedup_median"] = round(b["images_per_s_median"] / a["images_per_s_median"], 2)
        print(f"speed-up {trees[-1]} over {trees[0]}: best {result['speedup_best']}x, "
              f"median {result['speedup_median']}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

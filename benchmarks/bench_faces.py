"""Face pipeline speed: detect, embed and image -> embedding, at batch 1 and 32.

    python benchmarks/bench_faces.py [--repeats 5] [--threads N] [--providers cpu|cuda|tensorrt]
    python benchmarks/bench_faces.py --colour-check     # which colour orders separate people best

Inputs are real one-face photos (../shared/data/faces, else the Tom Hanks demo crop) cropped to 640x480
and JPEG-encoded, so "pipeline" includes decoding. "published" runs the graphs exactly as shipped
(batch 1, denormal weights), one face at a time like the original JS.
Each measurement is repeated; best and median are reported (other processes may share the CPU).
Writes benchmarks/results/faces_<provider>.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from rich.console import Console
from rich.table import Table

from harness.faces import FacePipeline, align_face, load_image
from harness.faces.faceplugin import FacepluginConfig, FacepluginDetector, FacepluginEmbedder
from harness.models import demo_image_paths, make_session, model_path, published_model_path
from harness.paths import shared_data_dir

RESULTS = Path(__file__).parent / "results"


def photos_640x480(pipe: FacePipeline) -> list[np.ndarray]:
    """Each source photo scaled so its face is about 200 px tall, cropped to 640x480 around the face."""
    data = shared_data_dir()
    paths = sorted((data / "faces").glob("*.jpg")) if data else [demo_image_paths()["Tom_Hanks_54745.png"]]
    out = []
    for p in paths:
        img = load_image(p)
        face = pipe.detect(img)[0]
        s = 200 / face.height
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        cx, cy = (face.box[0] + face.box[2]) / 2 * s, (face.box[1] + face.box[3]) / 2 * s
        m = np.array([[1, 0, 320 - cx], [0, 1, 240 - cy]], np.float64)
        out.append(cv2.warpAffine(img, m, (640, 480), borderMode=cv2.BORDER_REFLECT))
    return out


def rate(fn: Callable[[], object], items: int, min_seconds: float) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU-second of this process)."""
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return items * n / dt, items * n / max(time.process_time() - c0, 1e-9)


def run_suite(cases: dict[str, tuple[Callable[[], object], int]], repeats: int, min_seconds: float = 0.5) -> dict:
    """Round-robin over the cases, so a burst of load from other processes hits all of them alike.

    Besides wall-clock rates, items per CPU-second of this process: other processes' load hardly
    changes it, so it shows what the work costs even on a busy machine.
    """
    for fn, _ in cases.values():
        fn()  # warm-up
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (fn, items) in cases.items():
            rates[name].append(rate(fn, items, min_seconds))
    out = {}
    for name, r in rates.items():
        wall = [w for w, _ in r]
        cpu = [c for _, c in r]
        out[name] = {"best": max(wall), "median": statistics.median(wall), "runs": [round(x, 1) for x in wall],
                     "per_cpu_second_median": statistics.median(cpu)}
    return out


def published_js_like(images_jpeg: list[bytes]) -> Callable[[], None]:
    """The shipped graphs as the JS uses them: batch 1, one face at a time, no denormal handling."""
    det, lmk, feat = (make_session(published_model_path(n))
                      for n in ("fr_detect", "fr_landmark", "fr_feature"))
    helper = FacepluginDetector.__new__(FacepluginDetector)
    helper.config = FacepluginConfig(letterbox=False)
    helper._detect, helper._landmark = det, lmk

    def run() -> None:
        for data in images_jpeg:
            img = load_image(data)
            for box, _ in helper.detect_boxes([img])[0]:
                grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                crop = helper._crop_square(grey, box, 64)
                lm = helper.landmarks68(crop[None], box[None])[0]
                from harness.faces.align import five_from_68

                aligned = align_face(img, five_from_68(lm))
                x = (aligned.transpose(2, 0, 1)[None].astype(np.float32) - 127.0) / 128.0
                feat.run(None, {"input": x})

    return run


def bench(args) -> dict:
    pipe = FacePipeline(providers=args.providers, threads=args.threads)
    photos = photos_640x480(pipe)
    jpegs = [cv2.imencode(".jpg", p, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for p in photos]
    crops = [align_face(p, pipe.detect(p)[0].landmarks5) for p in photos]

    def cycle(xs, n):
        return list(itertools.islice(itertools.cycle(xs), n))

    cases: dict[str, tuple[Callable[[], object], int]] = {}
    for batch in (1, 32):
        ph, jp, cr = cycle(photos, batch), cycle(jpegs, batch), np.stack(cycle(crops, batch))
        cases[f"detect+landmarks b{batch} (faces/s)"] = (lambda ph=ph: pipe.detector.detect_batch(ph), batch)
        cases[f"embed b{batch} (faces/s)"] = (lambda cr=cr: pipe.embed_aligned(cr), batch)
        cases[f"pipeline jpeg->embedding b{batch} (images/s)"] = (lambda jp=jp: pipe.analyze_many(jp), batch)
    if args.providers in (None, "cpu"):
        cases["published graphs, JS-like, b1 (images/s)"] = (published_js_like(jpegs[:1]), 1)
        # the denormal weights' cost: the embedder graph alone, as published vs as prepared
        x = (np.stack(cycle(crops, 32)).transpose(0, 3, 1, 2).astype(np.float32) - 127.0) / 128.0
        published = make_session(published_model_path("fr_feature"), threads=args.threads)
        prepared = make_session(model_path("fr_feature"), threads=args.threads)
        cases["fr_feature graph as published, b1 (faces/s)"] = (lambda: published.run(None, {"input": x[:1]}), 1)
        cases["fr_feature graph prepared (flushed), b1 (faces/s)"] = (lambda: prepared.run(None, {"input": x[:1]}), 1)
        cases["fr_feature graph prepared (flushed), b32 (faces/s)"] = (lambda: prepared.run(None, {"input": x}), 32)
    results = run_suite(cases, args.repeats)
    return results


def colour_check() -> list[dict]:
    """Same-person vs different-person cosines for each colour-order / resize choice."""
    data = shared_data_dir()
    demo = demo_image_paths()
    people = [(data / "faces" / f, f.rstrip("23.jpg")) for f in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")]
    people.append((demo["Tom_Hanks_54745.png"], "hanks"))
    rows = []
    for det_rgb, feat_rgb, letterbox in itertools.product([False, True], [False, True], [True, False]):
        cfg = FacepluginConfig(detect_rgb=det_rgb, feature_rgb=feat_rgb, letterbox=letterbox)
        pipe = FacePipeline(detector=FacepluginDetector(config=cfg), embedder=FacepluginEmbedder(config=cfg))
        labels, embs = [], []
        for path, who in people:
            labels.append(who)
            embs.append(pipe.analyze(str(path))[0].embedding)
        t1 = pipe.analyze(str(demo["t1.jpg"]))
        labels += [f"t1-{k}" for k in range(len(t1))]
        embs += [f.embedding for f in t1]
        e = np.stack(embs)
        s = e @ e.T
        pairs = list(itertools.combinations(range(len(e)), 2))
        same = [s[i, j] for i, j in pairs if labels[i] == labels[j]]
        diff = [s[i, j] for i, j in pairs if labels[i] != labels[j]]
        rows.append({"detector input": "RGB" if det_rgb else "BGR", "embedder input": "RGB" if feat_rgb else "BGR",
                     "resize": "letterbox" if letterbox else "stretch", "t1 faces": len(t1),
                     "same min": round(min(same), 3), "same mean": round(float(np.mean(same)), 3),
                     "different max": round(max(diff), 3), "different mean": round(float(np.mean(diff)), 3),
                     "gap": round(min(same) - max(diff), 3)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--providers", default=None)
    ap.add_argument("--colour-check", action="store_true")
    args = ap.parse_args()
    console = Console(width=140)
    if args.colour_check:
        rows = colour_check()
        table = Table(title="colour order and resize vs separation of people")
        for col in rows[0]:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(v) for v in r.values()))
        console.print(table)
        return
    load_before = os.getloadavg()[0]
    results = bench(args)
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "onnxruntime": ort.__version__, "providers": args.providers or "cpu", "threads": args.threads,
               "load_before": load_before}
    machine["load_after"] = os.getloadavg()[0]
    table = Table(title=f"face pipeline speed ({machine['cores']} cores, onnxruntime {ort.__version__}, "
                        f"{machine['providers']})")
    for col in ("measure", "best", "median", "per CPU-s", "runs (wall-clock)"):
        table.add_column(col)
    for name, r in results.items():
        table.add_row(name, f"{r['best']:.1f}", f"{r['median']:.1f}", f"{r['per_cpu_second_median']:.1f}",
                      " ".join(map(str, r["runs"])))
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    tag = (args.providers or "cpu").replace(",", "-") + (f"_t{args.threads}" if args.threads else "")
    out = RESULTS / f"faces_{tag}.json"
    out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()

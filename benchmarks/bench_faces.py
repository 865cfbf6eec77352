"""Face model speed on this CPU: the default pipeline, and every registered recognizer and detector.

    python benchmarks/bench_faces.py [--repeats 5] [--threads N] [--providers cpu|cuda|tensorrt]
    python benchmarks/bench_faces.py --show             # print the recorded run (benchmarks/results/faces_cpu.json)
    python benchmarks/bench_faces.py --colour-check     # which colour orders separate people best

Inputs are the real one-face photos of ../shared/data/faces (else the Tom Hanks demo crop), each scaled
to a given face height and framed around the face (grey border where the photo ends) at 256x256
(face 100 px), 640x480 (face 200 px) and 1280x960 (face 400 px), plus the demo group photo t1.jpg
(1280x886, six faces) as it is.

Section "pipeline" (the default faceplugin pipeline, as before): detect + landmarks, embed and
JPEG -> embedding on the 640x480 set, at batch 1 and 32; "published" runs the graphs exactly as shipped
(batch 1, denormal weights), one face at a time like the original JS.

Section "models" (CPU; every model of harness.faces.registry):
- each recognizer: faces/s of ``embed_aligned`` at batch 1 (one crop per call), 8 and 32 (crops in one
  call), on the crops its own alignment makes (``crop_for``) of every face the default detector finds
  in the native photos, t1.jpg and the Tom Hanks crop; and the alignment itself per face (dlib's own
  150x150 chip; the ArcFace 112x112 template that the other two share), on the native photos and on
  the 640x480 set;
- each detector: images/s and faces/s (faces it finds) at batch 1 and 8 images per call, on each set.

Each case is timed for >= --min-seconds per round; rounds go round-robin over all cases (--repeats
rounds), so bursts of load from other processes hit every case alike. Best (= shortest time) and
median are reported, with items per CPU-second of this process, which other processes' load hardly
changes. Writes benchmarks/results/faces_<provider>.json with the machine (CPU model), threads and
the load average before, during and after.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from rich.console import Console
from rich.table import Table

from harness.bench.device import machine_facts
from harness.faces import FacePipeline, align_face, load_image
from harness.faces.base import crop_for
from harness.faces.faceplugin import FacepluginConfig, FacepluginDetector, FacepluginEmbedder
from harness.faces.registry import DETECTORS, RECOGNIZERS, make_detector, make_embedder
from harness.faces.tflite import resolve_threads
from harness.faces.types import Face
from harness.models import demo_image_paths, make_session, model_path, published_model_path
from harness.models.runtime import THREADS_ENV
from harness.paths import shared_data_dir

RESULTS = Path(__file__).parent / "results"
DEFAULT_OUT = RESULTS / "faces_cpu.json"
# (width, height) and face height in pixels of each framed set
FRAMES = {"256x256": ((256, 256), 100), "640x480": ((640, 480), 200), "1280x960": ((1280, 960), 400)}
EMBED_BATCHES = (1, 8, 32)
DETECT_BATCHES = (1, 8)


def source_photos() -> list[np.ndarray]:
    data = shared_data_dir()
    paths = sorted((data / "faces").glob("*.jpg")) if data else [demo_image_paths()["Tom_Hanks_54745.png"]]
    return [load_image(p) for p in paths]


def framed(img: np.ndarray, face: Face, size: tuple[int, int], face_px: float) -> np.ndarray:
    """``img`` scaled so ``face`` is ``face_px`` tall, its centre moved to the middle of a ``size`` frame.

    The border is plain grey: a mirrored border (as an earlier version used) put a second, reflected face
    into the narrow obama2.jpg, which both detectors found.
    """
    s = face_px / face.height
    img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    cx, cy = (face.box[0] + face.box[2]) / 2 * s, (face.box[1] + face.box[3]) / 2 * s
    m = np.array([[1, 0, size[0] / 2 - cx], [0, 1, size[1] / 2 - cy]], np.float64)
    return cv2.warpAffine(img, m, size, borderMode=cv2.BORDER_CONSTANT, borderValue=(127, 127, 127))


def photos_640x480(pipe: FacePipeline) -> list[np.ndarray]:
    """Each source photo scaled so its face is about 200 px tall, framed at 640x480 around the face."""
    return [framed(img, pipe.detect(img)[0], *FRAMES["640x480"]) for img in source_photos()]


def cycle(xs: Sequence, n: int) -> list:
    return list(itertools.islice(itertools.cycle(xs), n))


@dataclass
class Case:
    """One timed call. ``items`` is what the legacy names count; ``images``/``faces`` what the models count."""

    fn: Callable[[], object]
    items: int
    images: int = 0
    faces: int = 0
    meta: dict = field(default_factory=dict)


def rate(fn: Callable[[], object], min_seconds: float) -> tuple[float, float]:
    """(calls per wall-clock second, calls per CPU-second of this process)."""
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return n / dt, n / max(time.process_time() - c0, 1e-9)


def run_suite(cases: dict[str, Case], repeats: int, min_seconds: float,
              console: Console | None = None) -> tuple[dict[str, list[tuple[float, float]]], list[float]]:
    """Round-robin over the cases, so a burst of load from other processes hits all of them alike.

    Returns each case's (calls/s, calls per CPU-second) per round, and the 1-minute load average
    after each round. Calls per CPU-second of this process hardly change with other processes'
    load, so they show what the work costs even on a busy machine.
    """
    for case in cases.values():
        case.fn()  # warm-up (TFLite plans an interpreter per input shape on first use)
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    loads = []
    for k in range(repeats):
        t0 = time.perf_counter()
        for name, case in cases.items():
            rates[name].append(rate(case.fn, min_seconds))
        loads.append(round(os.getloadavg()[0], 2))
        if console:
            console.print(f"round {k + 1}/{repeats}: {time.perf_counter() - t0:.0f} s, load average {loads[-1]}")
    return rates, loads


def summarise(calls: list[tuple[float, float]], per_call: int) -> dict:
    wall = [w * per_call for w, _ in calls]
    cpu = [c * per_call for _, c in calls]
    return {"best": max(wall), "median": statistics.median(wall), "runs": [round(x, 1) for x in wall],
            "per_cpu_second_median": statistics.median(cpu)}


# -- the default pipeline ------------------------------------------------------------------------------
def published_js_like(images_jpeg: list[bytes]) -> Callable[[], None]:
    """The shipped graphs as the JS uses them: batch 1, one face at a time, no denormal handling."""
    from harness.faces.align import five_from_68

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
                aligned = align_face(img, five_from_68(lm))
                x = (aligned.transpose(2, 0, 1)[None].astype(np.float32) - 127.0) / 128.0
                feat.run(None, {"input": x})

    return run


def one_at_a_time(fn: Callable[[list], object], xs: Sequence) -> Callable[[], None]:
    """Batch 1: every element of ``xs`` in its own call, so each photo counts alike."""
    def run() -> None:
        for x in xs:
            fn([x])
    return run


def pipeline_cases(args) -> dict[str, Case]:
    pipe = FacePipeline(providers=args.providers, threads=args.threads)
    photos = photos_640x480(pipe)
    jpegs = [cv2.imencode(".jpg", p, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for p in photos]
    crops = [align_face(p, pipe.detect(p)[0].landmarks5) for p in photos]
    n = len(photos)
    cases: dict[str, Case] = {
        "detect+landmarks b1 (faces/s)": Case(one_at_a_time(pipe.detector.detect_batch, photos), n),
        "embed b1 (faces/s)": Case(one_at_a_time(lambda c: pipe.embed_aligned(np.stack(c)), crops), n),
        "pipeline jpeg->embedding b1 (images/s)": Case(one_at_a_time(pipe.analyze_many, jpegs), n),
    }
    ph, jp, cr = cycle(photos, 32), cycle(jpegs, 32), np.stack(cycle(crops, 32))
    cases["detect+landmarks b32 (faces/s)"] = Case(lambda: pipe.detector.detect_batch(ph), 32)
    cases["embed b32 (faces/s)"] = Case(lambda: pipe.embed_aligned(cr), 32)
    cases["pipeline jpeg->embedding b32 (images/s)"] = Case(lambda: pipe.analyze_many(jp), 32)
    if args.providers in (None, "cpu"):
        cases["published graphs, JS-like, b1 (images/s)"] = Case(published_js_like(jpegs[:1]), 1)
        # the denormal weights' cost: the embedder graph alone, as published vs as prepared
        x = (np.stack(cycle(crops, 32)).transpose(0, 3, 1, 2).astype(np.float32) - 127.0) / 128.0
        published = make_session(published_model_path("fr_feature"), threads=args.threads)
        prepared = make_session(model_path("fr_feature"), threads=args.threads)
        cases["fr_feature graph as published, b1 (faces/s)"] = Case(lambda: published.run(None, {"input": x[:1]}), 1)
        cases["fr_feature graph prepared (flushed), b1 (faces/s)"] = Case(
            lambda: prepared.run(None, {"input": x[:1]}), 1)
        cases["fr_feature graph prepared (flushed), b32 (faces/s)"] = Case(lambda: prepared.run(None, {"input": x}), 32)
    return cases


# -- every registered model ----------------------------------------------------------------------------
def image_sets() -> tuple[dict[str, list[np.ndarray]], list[tuple[np.ndarray, list[Face]]]]:
    """Detector inputs by set name, and the native photos with the default detector's faces."""
    reference = make_detector("faceplugin")
    demo = demo_image_paths()
    native = source_photos() + [load_image(demo["t1.jpg"]), load_image(demo["Tom_Hanks_54745.png"])]
    found = reference.detect_batch(native)
    singles = [(img, faces[0]) for img, faces in zip(native[:-2], found[:-2], strict=True)]
    sets = {name: [framed(img, face, size, px) for img, face in singles] for name, (size, px) in FRAMES.items()}
    sets["t1.jpg 1280x886"] = [native[-2]]
    return sets, list(zip(native, found, strict=True))


def model_cases(args, inputs: dict) -> dict[str, Case]:
    sets, native = image_sets()
    faces_native = [(img, f) for img, faces in native for f in faces]
    small_set = sets["640x480"]
    faces_640 = [(img, f) for img, faces in zip(small_set, make_detector("faceplugin").detect_batch(small_set),
                                                strict=True) for f in faces]
    inputs["native photos"] = {"images": [f"{i.shape[1]}x{i.shape[0]}" for i, _ in native],
                               "faces (default detector)": len(faces_native)}
    cases: dict[str, Case] = {}
    arcface_timed = False

    def add(section: str, model: str, batch: int, data: str, fn: Callable[[], object], images: int, faces: int):
        cases[f"{section} {model} b{batch} [{data}]"] = Case(fn, faces, images, faces,
                                                             {"section": section, "model": model, "batch": batch,
                                                              "input": data})

    for name in RECOGNIZERS:
        embedder = make_embedder(name, args.threads)
        crops = np.stack([crop_for(embedder, img, f) for img, f in faces_native])
        for batch in EMBED_BATCHES:
            if batch == 1:
                fn = one_at_a_time(lambda c, e=embedder: e.embed_aligned(np.stack(c)), list(crops))
                add("embed", name, 1, f"{len(crops)} crops {crops.shape[2]}x{crops.shape[1]}", fn, 0, len(crops))
            else:
                b = np.stack(cycle(list(crops), batch))
                add("embed", name, batch, f"crops {crops.shape[2]}x{crops.shape[1]}",
                    lambda b=b, e=embedder: e.embed_aligned(b), 0, batch)
        if getattr(embedder, "align", None) is not None:
            label = name
        elif not arcface_timed:  # the ArcFace template is shared: timed once
            label, arcface_timed = "arcface 112x112 (the others)", True
        else:
            continue
        for data, faces in (("native photos", faces_native), ("640x480", faces_640)):
            add("align", label, 1, data,
                lambda fs=faces, e=embedder: [crop_for(e, img, f) for img, f in fs], len(faces), len(faces))
    for name in DETECTORS:
        detector = make_detector(name, args.threads)
        for data, images in sets.items():
            found = [len(f) for f in detector.detect_batch(images)]
            inputs.setdefault(data, {"images": len(images), "size": f"{images[0].shape[1]}x{images[0].shape[0]}"})
            inputs[data][f"faces found by {name}"] = found
            for batch in DETECT_BATCHES:
                if batch == 1:
                    add("detect", name, 1, data, one_at_a_time(detector.detect_batch, images), len(images), sum(found))
                else:
                    b = cycle(images, batch)
                    add("detect", name, batch, data, lambda b=b, d=detector: d.detect_batch(b), batch,
                        sum(cycle(found, batch)))
    # why MTCNN slows down on large photos: the same nets with a pyramid that starts at 100 px faces
    from harness.faces.mtcnn import MtcnnConfig, MtcnnDetector

    coarse = MtcnnDetector(args.threads, MtcnnConfig(min_face_size=100))
    images = sets["1280x960"]
    found = [len(f) for f in coarse.detect_batch(images)]
    inputs["1280x960"]["faces found by mtcnn, min_face_size 100"] = found
    add("detect", "mtcnn, min_face_size 100 (not registered)", 1, "1280x960",
        one_at_a_time(coarse.detect_batch, images), len(images), sum(found))
    return cases


def model_rows(cases: dict[str, Case], rates: dict[str, list[tuple[float, float]]]) -> list[dict]:
    rows = []
    for name, case in cases.items():
        if not case.meta:
            continue
        calls = rates[name]
        row = dict(case.meta, images_per_call=case.images, faces_per_call=case.faces)
        if case.images:
            row["images_per_s"] = summarise(calls, case.images)
        row["faces_per_s"] = summarise(calls, case.faces)
        ms = [1000 / (w * case.faces) for w, _ in calls]
        row["ms_per_face"] = {"min": min(ms), "median": statistics.median(ms)}
        rows.append(row)
    return rows


# -- output --------------------------------------------------------------------------------------------
def threads_used(args) -> dict:
    ort_threads = args.threads or (int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None)
    return {"requested": args.threads,
            "onnxruntime": ort_threads or "default (one per physical core), spinning off",
            "tflite": resolve_threads(args.threads), "dlib": "its own (no thread option)"}


def cpu_details() -> dict:
    """What the CPU's name hides: this VM has reported plain "AMD EPYC" for both a Zen 3 and a Zen 5 host."""
    fields = {"cpu family": "cpu_family", "model": "cpu_model_number", "stepping": "cpu_stepping", "cpu MHz": "cpu_mhz"}
    out: dict = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "flags":
                out["cpu_vector_flags"] = sorted(f for f in value.split() if f.startswith(("avx", "fma")))
                break
            if key in fields:
                out[fields[key]] = value
    except OSError:
        pass
    return out


def versions() -> dict:
    import dlib

    return {"onnxruntime": ort.__version__, "ai-edge-litert": importlib.metadata.version("ai-edge-litert"),
            "dlib": dlib.__version__, "opencv": cv2.__version__}


def command_line(argv: list[str]) -> str:
    """The command as typed, without --note's text (recorded on its own)."""
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--note":
            kept.append(a)
            kept.append("...")
            skip = True
        elif a.startswith("--note="):
            kept.append("--note=...")
        else:
            kept.append(a)
    return shlex.join(["python", *kept])


def sgemm_gflops(seconds: float = 1.0) -> float:
    """numpy float32 1024x1024 matrix products, GFLOP/s: how fast the machine itself is right now.

    On a shared VM the host's load need not show in the guest's load average (here it varied 86-140
    GFLOP/s within minutes on a quiet guest, with no steal time); taken before and after, it shows it.
    """
    a = np.random.default_rng(0).random((1024, 1024), np.float32)
    a @ a
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ a
        n += 1
    return round(n * 2 * 1024**3 / (time.perf_counter() - t0) / 1e9, 1)


def _load(xs: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in xs)


def show(result: dict, console: Console) -> None:
    m = result["machine"]
    cpu = f"{m.get('cpu', '?')} ({m.get('cpus')} cores"
    if "cpu_family" in m:
        cpu += (f", family {m['cpu_family']} model {m['cpu_model_number']}, {m.get('cpu_mhz')} MHz, "
                f"{' '.join(m.get('cpu_vector_flags', []))}")
    console.print(f"{cpu}), recorded {result['recorded_at']}: `{result['command']}`")
    t = result["threads"]
    console.print(f"threads: onnxruntime {t['onnxruntime']}; TFLite {t['tflite']}; dlib {t['dlib']}. "
                  f"{result['repeats']} rounds of >= {result['min_seconds']} s per case")
    console.print(f"load average (1/5/15 min): before {_load(result['load_average_before'])}, "
                  f"after {_load(result['load_average_after'])}; 1-min after each round: "
                  f"{result['load_1min_per_round']}")
    if "sgemm_gflops_before" in result:
        console.print(f"machine speed check (numpy float32 1024x1024 matmul): {result['sgemm_gflops_before']} GFLOP/s "
                      f"before, {result['sgemm_gflops_after']} after")
    if result.get("note"):
        console.print(f"note: {result['note']}")
    if result.get("results"):
        table = Table(title=f"default pipeline (faceplugin), {result['providers']}")
        for col in ("measure", "best", "median", "per CPU-s", "runs (wall-clock)"):
            table.add_column(col, justify="left" if col == "measure" else "right")
        for name, r in result["results"].items():
            table.add_row(name, f"{r['best']:.1f}", f"{r['median']:.1f}", f"{r['per_cpu_second_median']:.1f}",
                          " ".join(map(str, r["runs"])))
        console.print(table)
    rows = result.get("models") or []
    for section, title in (("embed", "recognizers: embedding, faces/s (crops of the embedder's own alignment)"),
                           ("align", "alignment per face"),
                           ("detect", "detectors: images/s and faces/s (faces it finds)")):
        mine = [r for r in rows if r["section"] == section]
        if not mine:
            continue
        table = Table(title=title)
        detect = section == "detect"
        cols = ["model", "batch", "input"] + (["images/s best", "median"] if detect else [])
        cols += ["faces/s best", "median", "per CPU-s", "ms/image min" if detect else "ms/face min"]
        for col in cols:
            table.add_column(col, justify="left" if col in ("model", "input") else "right")
        for r in mine:
            cells = [r["model"], str(r["batch"]), r["input"]]
            if detect:
                cells += [f"{r['images_per_s']['best']:.1f}", f"{r['images_per_s']['median']:.1f}"]
            f = r["faces_per_s"]
            cells += [f"{f['best']:.1f}", f"{f['median']:.1f}", f"{f['per_cpu_second_median']:.1f}",
                      f"{1000 / r['images_per_s']['best']:.1f}" if detect else f"{r['ms_per_face']['min']:.2f}"]
            table.add_row(*cells)
        console.print(table)
    for name, info in (result.get("inputs") or {}).items():
        console.print(f"{name}: " + "; ".join(f"{k} {v}" for k, v in info.items()))


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
    ap.add_argument("--repeats", type=int, default=5, help="rounds over all cases (default 5)")
    ap.add_argument("--min-seconds", type=float, default=0.5, help="timed seconds per case and round")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--providers", default=None)
    ap.add_argument("--section", choices=("all", "pipeline", "models"), default="all",
                    help="the default pipeline, every registered model (CPU only), or both")
    ap.add_argument("--out", type=Path, default=None, help="default benchmarks/results/faces_<provider>.json")
    ap.add_argument("--note", default=None, help="recorded with the results")
    ap.add_argument("--show", action="store_true", help="print the recorded run (--out) and exit")
    ap.add_argument("--colour-check", action="store_true")
    args = ap.parse_args()
    console = Console(width=int(os.environ.get("COLUMNS", 150)))
    if args.colour_check:
        rows = colour_check()
        table = Table(title="colour order and resize vs separation of people")
        for col in rows[0]:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(v) for v in r.values()))
        console.print(table)
        return
    tag = (args.providers or "cpu").replace(",", "-") + (f"_t{args.threads}" if args.threads else "")
    out = args.out or RESULTS / f"faces_{tag}.json"
    if args.show:
        show(json.loads(out.read_text()), console)
        return
    on_cpu = args.providers in (None, "cpu")
    result: dict = {"recorded_at": None, "command": command_line(sys.argv),
                    "machine": machine_facts() | cpu_details() | versions(), "providers": args.providers or "cpu",
                    "threads": threads_used(args), "repeats": args.repeats, "min_seconds": args.min_seconds,
                    "note": args.note, "load_average_before": [round(x, 2) for x in os.getloadavg()],
                    "sgemm_gflops_before": sgemm_gflops(), "inputs": {}}
    cases: dict[str, Case] = {}
    if args.section in ("all", "pipeline"):
        cases |= pipeline_cases(args)
    if args.section in ("all", "models"):
        if on_cpu:
            cases |= model_cases(args, result["inputs"])
        else:
            console.print("the registry's models run on the CPU only: section 'models' skipped")
    rates, result["load_1min_per_round"] = run_suite(cases, args.repeats, args.min_seconds, console)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["sgemm_gflops_after"] = sgemm_gflops()
    result["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["results"] = {name: summarise(rates[name], c.items) for name, c in cases.items() if not c.meta}
    result["models"] = model_rows(cases, rates)
    show(result, console)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()

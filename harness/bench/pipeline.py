"""The whole face pipeline (image -> detect -> landmarks -> align -> embedding) as the harness runs it,
timed through ``harness.faces.default_pipeline()`` on a 640x480 photo with one face."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from harness.bench.engine import BenchConfig, latency_stats, time_step, usable_cores

PIPELINE_MAX_BATCH = 32  # the faces issue's batch sizes are 1 and 32; larger adds minutes, not insight


def one_face_photo(pipeline, demo_image: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A size[0] x size[1] photo around the largest face of a demo image, with exactly one face in it."""
    faces = pipeline.detect(demo_image)
    face = max(faces, key=lambda f: f.width * f.height)
    h, w = demo_image.shape[:2]
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    aspect = size[0] / size[1]
    for factor in (3.0, 2.5, 2.0, 1.6):
        cw = min(face.width * factor * aspect, w)
        ch = min(cw / aspect, h)
        cw = ch * aspect
        x0 = int(min(max(cx - cw / 2, 0), w - cw))
        y0 = int(min(max(cy - ch / 2, 0), h - ch))
        photo = cv2.resize(demo_image[y0:y0 + int(ch), x0:x0 + int(cw)], size, interpolation=cv2.INTER_AREA)
        if len(pipeline.detect(photo)) == 1:
            return photo
    raise RuntimeError("could not cut a one-face photo out of the demo image")


def bench_pipeline(config: BenchConfig, *, log: Callable[[str], None] = print, threads: int | None = None,
                   over_budget: Callable[[], bool] = lambda: False) -> list[dict]:
    base = {"kind": "pipeline", "trained": True, "backend": "ort-cpu", "provider": "harness.faces.default_pipeline",
            "dtype": "fp32"}
    try:
        from harness.faces import default_pipeline, load_image
        from harness.models import demo_image_paths

        pipeline = default_pipeline()
        photo = one_face_photo(pipeline, load_image(demo_image_paths()["t1.jpg"]))
    except Exception as exc:  # noqa: BLE001 - no models / no demo photo: say so in the results
        reason = f"{type(exc).__name__}: {exc}"
        log(f"[skip] face pipeline: {reason}")
        return [{**base, "model": "pipeline:analyze", "batch": 1, "status": "skipped", "reason": reason}]
    cores = usable_cores(threads)
    faces = pipeline.analyze(photo)
    crops = np.stack([_aligned(photo, faces[0])] * PIPELINE_MAX_BATCH)
    stages = {
        "pipeline:analyze": (lambda b: (lambda: pipeline.analyze_many([photo] * b)), "640x480 photo, one face"),
        "pipeline:detect": (lambda b: (lambda: pipeline.detect_many([photo] * b)), "640x480 photo, one face"),
        "pipeline:embed_aligned": (lambda b: (lambda: pipeline.embed_aligned(crops[:b])), "aligned 112x112 crops"),
    }
    results = []
    for name, (make_step, what) in stages.items():
        for batch in [b for b in config.batches if b <= PIPELINE_MAX_BATCH]:
            row = {**base, "model": name, "batch": batch, "input": what,
                   "note": "the CPU face pipeline as the harness runs it (image decode excluded; preprocessing, "
                           "detection, landmarks, alignment and embedding included as applicable)"}
            if over_budget():
                results.append({**row, "status": "skipped", "reason": "suite time budget spent"})
                continue
            timed = time_step(make_step(batch), config)
            stats = latency_stats(timed.latencies, batch)
            stats["cpu_share"] = timed.cpu_share(cores)
            results.append({**row, "status": "ok", "warmup_iterations": timed.warmup, **stats,
                            "faces_per_s": stats["images_per_s"] * (1 if "embed" in name else len(faces))})
            log(f"{name:<24} b{batch:<4} {stats['images_per_s']:10.1f} img/s  p50 {stats['latency_ms']['p50']:8.2f} ms"
                f"  ({stats['iterations']} runs)")
    return results


def _aligned(photo: np.ndarray, face) -> np.ndarray:
    from harness.faces import align_face

    return align_face(photo, face.landmarks5)

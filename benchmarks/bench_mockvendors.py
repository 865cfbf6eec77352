"""Speed of the mock vendors: in-process recognize, embedding-level recognition, and HTTP throughput.

    python benchmarks/bench_mockvendors.py [--seconds 5] [--concurrency 32] [--json OUT]

1. In-process ``MockVendor.recognize(image)`` with the image's embedding already cached (the face
   model is not run): calls/s for the same bytes object, and for a fresh copy each call (so the
   sha256 cache key is recomputed).
2. ``MockVendorBehaviour.recognize_embeddings`` on batches (probes/s), the simulation entry point.
3. HTTP: the AWS mock server in a separate process (one event loop, as ``dfi serve`` runs it);
   a load generator in this process (aiohttp client, keep-alive, N concurrent workers) posts
   RecognizeCelebrities for one cached image (SigV4-shaped Authorization header, not re-signed per
   request, the server does not check signatures). Requests/s and latency percentiles; and, at
   concurrency 1, the mean round trip minus the in-process recognize time = overhead outside the model.

The gallery: Obama (2 photos) and the CelebFOM real frames from ../shared/data when present, else
the demo gallery. The probe: a study deepfake at its published size
(``paper-samples/CelebFOM/Megan Fox_fake.png``, 256x256, 61 KB: the study uploaded face crops), or
any file under ../shared/data named by ``DFI_BENCH_PROBE`` (e.g. ``faces/obama3.jpg``, 596 KB), or
without shared data the demo Tom Hanks crop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def _gallery_and_probe(analyzer):  # noqa: ANN001, ANN202
    from harness.paths import shared_data_dir
    from mockvendors.gallery import Gallery, demo_gallery

    shared = shared_data_dir()
    if shared is not None:
        photos = {"Barack Obama": [shared / "faces/obama.jpg", shared / "faces/obama2.jpg"]}
        for p in sorted((shared / "paper-samples/CelebFOM").glob("*_real.png")):
            photos[p.name.removesuffix("_real.png")] = [p]
        name = os.environ.get("DFI_BENCH_PROBE", "paper-samples/CelebFOM/Megan Fox_fake.png")
        return Gallery.enrol(photos, analyzer), (shared / name).read_bytes(), name
    from harness.models import demo_image_paths

    hanks = next(p for k, p in demo_image_paths().items() if "hanks" in k.lower())
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.open(hanks).convert("RGB").save(buf, "JPEG", quality=92)  # a re-encoding: not held out
    return demo_gallery(analyzer), buf.getvalue(), "Tom_Hanks (re-encoded)"


def _timed(fn, seconds: float) -> tuple[int, float]:  # noqa: ANN001
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(200):
            fn()
        n += 200
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n, dt


def bench_in_process(seconds: float) -> dict:
    from harness.backends.inprocess import MockVendor
    from harness.vendors import registry
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for

    an = CachingAnalyzer(PipelineAnalyzer())
    gallery, probe, probe_name = _gallery_and_probe(an)
    out: dict = {"probe": probe_name, "probe_bytes": len(probe), "gallery_identities": len(gallery), "vendors": {}}
    for v in registry.names():
        vendor = MockVendor(behaviour_for(v, gallery, an))
        first = time.perf_counter()
        answer = vendor.recognize(probe)  # runs the face model once (cache miss) for the first vendor
        miss_ms = (time.perf_counter() - first) * 1000
        n, dt = _timed(lambda vendor=vendor: vendor.recognize(probe), seconds)
        n2, dt2 = _timed(lambda vendor=vendor: vendor.recognize(bytes(bytearray(probe))), seconds)
        out["vendors"][v] = {"answer": answer.name, "first_call_ms": round(miss_ms, 2),
                             "calls_per_s_same_object": round(n / dt), "calls_per_s_fresh_copy": round(n2 / dt2),
                             "us_per_call_same_object": round(dt / n * 1e6, 1)}
    beh = behaviour_for("nav", gallery, an)
    rng = np.random.default_rng(0)
    for batch in (1, 1000, 100_000):
        e = rng.normal(size=(batch, gallery.dim)).astype(np.float32)
        reps = max(1, 200_000 // batch)
        t0 = time.perf_counter()
        for _ in range(reps):
            beh.recognize_embeddings(e)
        dt = time.perf_counter() - t0
        out.setdefault("recognize_embeddings_probes_per_s", {})[str(batch)] = round(batch * reps / dt)
    return out


def _serve(conn) -> None:  # noqa: ANN001 - child process: AWS mock server on a free port
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for
    from mockvendors.server import make_app, protocol_for, start_sites

    an = CachingAnalyzer(PipelineAnalyzer())
    gallery, probe, _ = _gallery_and_probe(an)
    beh = behaviour_for("aws", gallery, an)
    beh.recognize(probe)  # warm the embedding cache

    async def main() -> None:
        runners, endpoints = await start_sites({"aws": make_app(protocol_for(beh))}, "127.0.0.1", {"aws": 0})
        conn.send(endpoints["aws"].url)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
        for r in runners:
            await r.cleanup()

    asyncio.run(main())


async def _load(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    import aiohttp

    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "RekognitionService.RecognizeCelebrities",
               "Authorization": AUTH, "X-Amz-Date": "20240101T000000Z"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def worker() -> None:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        dt = time.perf_counter() - t0
    lat = sorted(latencies)
    return {"concurrency": concurrency, "requests": len(lat), "seconds": round(dt, 2),
            "requests_per_s": round(len(lat) / dt), "statuses": statuses,
            "latency_ms": {"mean": round(statistics.fmean(lat) * 1000, 3), "p50": round(lat[len(lat) // 2] * 1000, 3),
                           "p99": round(lat[int(len(lat) * 0.99)] * 1000, 3)}}


def bench_http(seconds: float, concurrency: int, in_process_us: float) -> dict:
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer

    _, probe, probe_name = _gallery_and_probe(CachingAnalyzer(PipelineAnalyzer()))
    body = json.dumps({"Image": {"Bytes": base64.b64encode(probe).decode()}}).encode()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), daemon=True)
    proc.start()
    try:
        url = parent.recv()
        asyncio.run(_load(url, body, 4, 1.0))  # warm-up
        loaded = asyncio.run(_load(url, body, concurrency, seconds))
        single = asyncio.run(_load(url, body, 1, seconds))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
    return {"probe": probe_name, "request_body_bytes": len(body), "loaded": loaded, "sequential": single,
            "overhead_outside_model_ms": round(single["latency_ms"]["mean"] - in_process_us / 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/mockvendors_cpu.json")
    args = ap.parse_args()
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version(), "platform": platform.platform(),
                          "load_average_before": [round(x, 2) for x in os.getloadavg()]}}
    result["in_process"] = bench_in_process(args.seconds)
    us = result["in_process"]["vendors"]["aws"]["us_per_call_same_object"]
    result["http"] = bench_http(args.seconds, args.concurrency, us)
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Speed of the mock vendors: in-process recognize, embedding-level recognition, and HTTP throughput.

    python benchmarks/bench_mockvendors.py [--seconds 5] [--concurrency 32] [--json OUT]
    python benchmarks/bench_mockvendors.py --vs-moto [--levels 1,8,32] [--seconds 3] [--repeats 5]

1. In-process ``MockVendor.recognize(image)`` with the image's embedding already cached (the face
   model is not run): calls/s for the same bytes object, and for a fresh copy each call (so the
   sha256 cache key is recomputed).
2. ``MockVendorBehaviour.recognize_embeddings`` on batches (probes/s), the simulation entry point.
3. HTTP: the AWS mock server in a separate process (one event loop, as ``dfi serve`` runs it);
   a load generator in this process (aiohttp client, keep-alive, N concurrent workers) posts
   RecognizeCelebrities for one cached image (SigV4-shaped Authorization header, not re-signed per
   request, the server does not check signatures). Requests/s and latency percentiles; and, at
   concurrency 1, the mean round trip minus the in-process recognize time = overhead outside the model.
4. ``--vs-moto`` (only this, into benchmarks/results/mockvendors_moto.json): CompareFaces from boto3
   clients against ``dfi serve``, against the pre-change commit's ``dfi serve`` (``--today``, a git
   worktree) and against moto's ThreadedMotoServer; see :data:`MOTO_METHOD`. Besides requests/s and
   latency it records each server's and the clients' CPU time per request (from /proc), which a
   shared, loaded machine disturbs much less than the rates.

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
import subprocess
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


# --- our AWS server against moto's, CompareFaces over real HTTP with boto3 ----------------------------
MOTO_METHOD = (
    "Each server runs in its own process on a loopback port: 'new' and 'today' are `dfi serve --vendor aws` "
    "(the working tree, and commit 8e54dee checked out in a git worktree, via PYTHONPATH), 'moto' is "
    "moto.server.ThreadedMotoServer (werkzeug, a thread per connection, as moto ships it). The load comes from "
    "separate client processes (spawned, persistent; CLIENT_PROCS of them, the threads split evenly), each "
    "client thread with its own boto3 Session and rekognition client (botocore, real HTTP keep-alive, SigV4 "
    "signed, retries off) calling compare_faces with the same pair of real face images. Per measurement: "
    "warm-up, then completions inside a fixed window count (requests/s = completions / window); latency is "
    "the client's round trip. Server order alternates between repeats. moto answers CompareFaces with a canned "
    "response (no face model); ours analyses both faces, but analyses are cached by the image's sha256 "
    "(CachingAnalyzer), so after the warm-up the identical images cost no model time: the figures compare the "
    "HTTP/protocol paths, not face models. 'new' also keeps, per server, the parsed body, the decoded images and "
    "the encoded CompareFaces answer of recent identical requests (mockvendors/aws/blobs.py), so a repeated "
    "request costs the HTTP path and lookups, much as moto's canned answer does; 'today' parses, decodes, hashes "
    "and shapes every request. The clients share the machine's cores with the server (and with whatever else "
    "runs there: see the load averages); CPU ms per request of the server and of the clients come from /proc."
)


def _compare_images() -> dict[str, object]:
    from harness.paths import shared_data_dir

    shared = shared_data_dir()
    if shared is not None and (shared / "paper-samples/CelebFOM/Emma Stone_real.png").exists():
        src, tgt = (shared / "paper-samples/CelebFOM" / f"Emma Stone_{k}.png" for k in ("real", "fake"))
    else:
        from harness.models import demo_image_paths

        demo = demo_image_paths()
        src, tgt = demo["Tom_Hanks_54745.png"], demo["t1.jpg"]
    return {"source": str(src), "target": str(tgt), "source_bytes": src.stat().st_size,
            "target_bytes": tgt.stat().st_size}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(kind: str, tree: Path) -> tuple[subprocess.Popen, str]:
    """A server process (``kind`` "moto", or "dfi" from ``tree``) and its URL, once it accepts connections."""
    import socket

    port = _free_port()
    if kind == "moto":
        code = ("import sys; from moto.server import ThreadedMotoServer; "
                f"s = ThreadedMotoServer('127.0.0.1', {port}, verbose=False); s.start(); sys.stdin.read()")
    else:
        code = f"from harness.cli import main; main(['serve', '--vendor', 'aws', '--aws-port', '{port}'])"
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tree, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server from {tree} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def _rekognition(url: str):  # noqa: ANN202
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "rekognition", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}, max_pool_connections=2))


def _client_proc(conn, source: bytes, target: bytes) -> None:  # noqa: ANN001 - spawned load process
    import threading

    _rekognition("http://127.0.0.1:9")  # import and load botocore's models before the first job
    while True:
        job = conn.recv()
        if job is None:
            return
        url, threads, warm_s, seconds = job
        clients = [_rekognition(url) for _ in range(threads)]
        conn.send("ready")
        t_measure = conn.recv() + warm_s
        t_end = t_measure + seconds
        lat: list[list[float]] = [[] for _ in range(threads)]
        errors: dict[str, int] = {}
        ts = [threading.Thread(target=_drive, args=(c, source, target, t_measure, t_end, mine, errors))
              for c, mine in zip(clients, lat)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        conn.send(([x for part in lat for x in part], errors))


def _drive(client, source: bytes, target: bytes, t_measure: float, t_end: float,  # noqa: ANN001
           latencies: list[float], errors: dict[str, int]) -> None:
    """One client thread: CompareFaces until ``t_end``; what completes after ``t_measure`` counts."""
    while (t := time.monotonic()) < t_end:
        try:
            client.compare_faces(SourceImage={"Bytes": source}, TargetImage={"Bytes": target})
            error = None
        except Exception as exc:  # noqa: BLE001 - counted, the run must show 0
            error = type(exc).__name__
        done = time.monotonic()
        if t_measure <= done <= t_end:
            if error is None:
                latencies.append(done - t)
            else:
                errors[error] = errors.get(error, 0) + 1


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(pool: list, client_pids: list[int], url: str, server_pid: int, clients: int, warm_s: float,
             seconds: float) -> dict:
    procs = min(len(pool), clients)
    split = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    for conn, n in zip(pool, split):
        conn.send((url, n, warm_s, seconds))
    for conn in pool[:procs]:
        conn.recv()
    t0 = time.monotonic() + 0.05
    for conn in pool[:procs]:
        conn.send(t0)
    pids = [server_pid, *client_pids[:procs]]
    time.sleep(max(0.0, t0 + warm_s - time.monotonic()))
    cpu0 = [_cpu_s(p) for p in pids]
    time.sleep(max(0.0, t0 + warm_s + seconds - time.monotonic()))
    cpu = [_cpu_s(p) - c for p, c in zip(pids, cpu0)]
    lat: list[float] = []
    errors: dict[str, int] = {}
    for conn in pool[:procs]:
        part, errs = conn.recv()
        lat += part
        for k, v in errs.items():
            errors[k] = errors.get(k, 0) + v
    lat.sort()
    n = len(lat)
    return {"requests": n, "requests_per_s": round(n / seconds, 1), "errors": errors,
            "p50_ms": round(lat[n // 2] * 1000, 2) if n else None,
            "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
            "server_cpu_ms_per_request": round(cpu[0] / n * 1000, 2) if n else None,
            "client_cpu_ms_per_request": round(sum(cpu[1:]) / n * 1000, 2) if n else None}


def _first_answer(url: str, source: bytes, target: bytes) -> dict:
    r = _rekognition(url).compare_faces(SourceImage={"Bytes": source}, TargetImage={"Bytes": target})
    return {"face_matches": len(r.get("FaceMatches", [])), "unmatched": len(r.get("UnmatchedFaces", [])),
            "similarity": [round(m["Similarity"], 3) for m in r.get("FaceMatches", [])]}


def bench_vs_moto(levels: list[int], seconds: float, warm_s: float, repeats: int, client_procs: int,
                  today_tree: Path | None) -> dict:
    images = _compare_images()
    source, target = Path(str(images["source"])).read_bytes(), Path(str(images["target"])).read_bytes()
    trees = {"moto": ROOT, "new": ROOT} | ({"today": today_tree} if today_tree else {})
    servers = {k: _start_server("moto" if k == "moto" else "dfi", tree) for k, tree in trees.items()}
    ctx = mp.get_context("spawn")
    pool, procs = [], []
    try:
        for _ in range(client_procs):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_client_proc, args=(child, source, target), daemon=True)
            p.start()
            pool.append(parent)
            procs.append(p)
        answers = {k: _first_answer(url, source, target) for k, (_, url) in servers.items()}  # warms the caches
        names = list(servers)
        runs: dict[str, dict[str, list[dict]]] = {str(c): {k: [] for k in names} for c in levels}
        for clients in levels:
            for r in range(repeats):
                for k in (names if r % 2 == 0 else names[::-1]):
                    m = _measure(pool, [p.pid for p in procs], servers[k][1], servers[k][0].pid,
                                 clients, warm_s, seconds)
                    m["load_average"] = [round(x, 2) for x in os.getloadavg()]
                    runs[str(clients)][k].append(m)
                    print(f"clients {clients:>2} repeat {r} {k:>5}: {m['requests_per_s']:8.1f} req/s "
                          f"p50 {m['p50_ms']} ms p99 {m['p99_ms']} ms errors {m['errors']} cpu/request: server "
                          f"{m['server_cpu_ms_per_request']} ms, clients {m['client_cpu_ms_per_request']} ms",
                          file=sys.stderr)
    finally:
        for conn in pool:
            conn.send(None)
        for p in procs:
            p.join(timeout=10)
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=20)
    summary: dict[str, dict] = {}
    for c, by in runs.items():
        rps = {k: [m["requests_per_s"] for m in ms] for k, ms in by.items()}
        row: dict[str, object] = {k: {"best": max(v), "median": statistics.median(v), "min": min(v),
                                      "server_cpu_ms_per_request_median": statistics.median(
                                          m["server_cpu_ms_per_request"] for m in by[k]),
                                      "client_cpu_ms_per_request_median": statistics.median(
                                          m["client_cpu_ms_per_request"] for m in by[k])}
                                  for k, v in rps.items()}
        for k in rps:
            if k != "moto":
                row[f"{k}_vs_moto"] = {"best": round(max(rps[k]) / max(rps["moto"]), 2),
                                       "median": round(statistics.median(rps[k]) / statistics.median(rps["moto"]), 2),
                                       "min": round(min(rps[k]) / min(rps["moto"]), 2)}
        summary[c] = row
    return {"method": MOTO_METHOD.replace("CLIENT_PROCS", str(client_procs)), "client_processes": client_procs,
            "images": images, "window_s": seconds, "warm_up_s": warm_s, "repeats": repeats,
            "today_commit": "8e54dee" if today_tree else None, "first_answers": answers,
            "summary": summary, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--vs-moto", action="store_true", help="only our AWS server against moto's (CompareFaces)")
    ap.add_argument("--levels", default="1,8,32", help="--vs-moto: concurrent client threads")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warm-up", type=float, default=1.0)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--today", type=Path, default=Path("/tmp/wt-mock"),
                    help="--vs-moto: a worktree of the pre-change commit (git worktree add /tmp/wt-mock 8e54dee)")
    args = ap.parse_args()
    if args.vs_moto:
        from harness.bench.device import machine_facts

        out = args.json or ROOT / "benchmarks/results/mockvendors_moto.json"
        result: dict = {"machine": machine_facts(), "load_average_before": [round(x, 2) for x in os.getloadavg()]}
        result |= bench_vs_moto([int(x) for x in args.levels.split(",")], args.seconds, args.warm_up, args.repeats,
                                args.client_procs, args.today if args.today.is_dir() else None)
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result["summary"], indent=2))
        return
    args.json = args.json or ROOT / "benchmarks/results/mockvendors_cpu.json"
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

"""Hostile traffic against the three mock servers: the issue-17 probes, and a bounded soak.

    python benchmarks/soak_mockvendors.py probes [--json OUT]
    python benchmarks/soak_mockvendors.py soak [--seconds 60] [--json OUT]

The servers (AWS, Azure, Naver over one gallery and one face model, as ``dfi serve`` runs them)
live in a child process, so its RSS is theirs alone; traffic only to 127.0.0.1.

``probes`` measures each resource problem of issue 17 once:
- RSS growth after a flood of distinct truncated 2000x2000 PNGs (Azure detect);
- Azure detect requests/s once the faceId store holds more ids than its cap;
- the time to answer a Naver body of 100,000 empty multipart parts;
- a 1 MB gzip bomb (inflates to 1 GB): its answer, its time, and the worst latency of an unrelated
  Naver request sent meanwhile;
- 1,000 half-sent requests (500 stopped in the head, 500 in the body): how many the server has
  dropped after 5 s and after 15 s;
- a 10 x 10 grid of faces (100 faces): its RecognizeCelebrities time and face count, and the latency
  of an unrelated Azure detect of a new image (so it needs the model) sent meanwhile.

``soak`` runs hostile clients (gzip bombs, truncated gzip, 100k-part bodies, slowloris heads and
bodies, malformed request lines, many-face images, fresh truncated PNGs) beside normal clients (each
vendor's recognition of a cached photo) for ``--seconds``, and records the normal requests' p50/p99,
the 5xx count of all requests, RSS after warm-up, over time and at the end, the most half-sent
connections the server held at once, and the CPU model.

Results: ``benchmarks/results/mockvendors_probes.json`` (with ``--before``: an earlier version's probes
beside these) and ``benchmarks/results/mockvendors_soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import io
import json
import multiprocessing as mp
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64)
AWS_HEADERS = {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.RecognizeCelebrities",
               "Content-Type": "application/x-amz-json-1.1"}
MS_HEADERS = {"Ocp-Apim-Subscription-Key": "k", "Content-Type": "application/octet-stream"}
NAV_HEADERS = {"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"}
BOUNDARY = "soakboundary"


# --- images ----------------------------------------------------------------------------------------
def _photo() -> bytes:
    from harness.paths import shared_data_dir

    shared = shared_data_dir()
    if shared is not None:
        return (shared / "faces/obama.jpg").read_bytes()
    from harness.models import demo_image_paths

    return next(p for k, p in demo_image_paths().items() if "hanks" in k.lower()).read_bytes()


def face_grid(n: int = 10, cell: int = 112, seed: int = 0) -> bytes:
    """An n x n grid of the photo's face (n * n faces); ``seed`` tints the background, so each seed
    gives other bytes (a cache miss)."""
    from PIL import Image

    from mockvendors.analysis import PipelineAnalyzer

    raw = _photo()
    src = Image.open(io.BytesIO(raw)).convert("RGB")
    x1, y1, x2, y2 = PipelineAnalyzer().analyze(raw).faces[0].box
    w, h = x2 - x1, y2 - y1
    face = src.crop((int(x1 - 0.4 * w), int(y1 - 0.4 * h), int(x2 + 0.4 * w), int(y2 + 0.4 * h))).resize((cell, cell))
    im = Image.new("RGB", (cell * n, cell * n), (128, 128, (128 + seed) % 256))
    for i in range(n):
        for j in range(n):
            im.paste(face, (i * cell, j * cell))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def truncated_png(seed: int, side: int = 2000) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


def jpeg_variant(seed: int) -> bytes:
    """The photo re-encoded at a seed-dependent quality and size: new bytes, the same face."""
    from PIL import Image

    im = Image.open(io.BytesIO(_photo())).convert("RGB")
    im = im.resize((im.width - seed % 50, im.height - seed % 50))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=60 + seed % 35)
    return buf.getvalue()


def multipart(parts: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    body = b"".join(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{n}\"; filename=\"a\"\r\n\r\n".encode()
                    + v + b"\r\n" for n, v in parts) + f"--{BOUNDARY}--\r\n".encode()
    return f"multipart/form-data; boundary={BOUNDARY}", body


def empty_parts(n: int) -> tuple[str, bytes]:
    """A multipart body of ``n`` empty parts without headers: 9 bytes a part (0.9 MB for 100,000)."""
    return "multipart/form-data; boundary=b", b"--b\r\n\r\n\r\n" * n + b"--b--\r\n"


def aws_body(image: bytes) -> bytes:
    return json.dumps({"Image": {"Bytes": base64.b64encode(image).decode()}}).encode()


# --- the servers, in a child process ----------------------------------------------------------------
def _serve(conn: Any, fill_face_ids: int) -> None:
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.gallery import demo_gallery
    from mockvendors.server import MockServers, build_protocols

    an = CachingAnalyzer(PipelineAnalyzer())
    protocols = build_protocols(("aws", "ms", "nav"), demo_gallery(an), an)
    an.analyze(_photo())  # the normal clients' photo is cached
    store = protocols["ms"].faces  # type: ignore[attr-defined]
    for _ in range(fill_face_ids):
        store.add(None, 86400)
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0}) as s:
        conn.send({v: e.port for v, e in s.endpoints.items()})
        conn.recv()


class Servers:
    def __init__(self, fill_face_ids: int = 0):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, fill_face_ids), daemon=True)

    def __enter__(self) -> Servers:
        self.proc.start()
        self.ports: dict[str, int] = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self.proc.join(timeout=15)
        if self.proc.is_alive():
            self.proc.kill()

    def url(self, vendor: str) -> str:
        return f"http://127.0.0.1:{self.ports[vendor]}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")


def machine() -> dict[str, Any]:
    from harness.bench.device import cpu_device

    return {"cpu_model": cpu_device(measure_bandwidth=False).name, "cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


# --- requests ---------------------------------------------------------------------------------------
async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = await fn()
    return time.perf_counter() - t, out


async def post(session: Any, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    async with session.post(url, data=body, headers=headers) as r:
        return r.status, await r.read()


def half_sent(port: int, n: int, in_body: bool) -> list[socket.socket]:
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if in_body:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10)
        else:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow-%d: a" % i)
        s.setblocking(False)
        socks.append(s)
    return socks


def dropped(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has closed (an answer then EOF counts as closed)."""
    n = 0
    for s in socks:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    n += 1
                    break
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n


# --- probes -----------------------------------------------------------------------------------------
async def _probes(srv: Servers) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {}
    # made before any connection is open: compressing 1 GB blocks this loop for seconds, and a pooled
    # connection the server closed meanwhile (idle past its header timeout) would be reused unnoticed
    bomb = gzip.compress(b"\0" * 1_000_000_000, compresslevel=9)
    grid = face_grid(10)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ms_detect = srv.url("ms") + "/face/v1.0/detect"
        photo = _photo()
        rss0 = srv.rss_mb()
        for i in range(40):
            await post(session, ms_detect, truncated_png(1000 + i), MS_HEADERS)
        out["truncated_png_flood"] = {"images": 40, "rss_before_mb": rss0, "rss_after_mb": srv.rss_mb()}

        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 3:
            await asyncio.gather(*(post(session, ms_detect, photo, MS_HEADERS) for _ in range(4)))
            n += 4
        out["detect_after_many_ids"] = {"requests_per_s": round(n / (time.perf_counter() - t0), 1)}

        ctype, body = empty_parts(100_000)
        dt, (status, text) = await timed(lambda: post(session, srv.url("nav") + "/v1/vision/celebrity", body,
                                                      {**NAV_HEADERS, "Content-Type": ctype}))
        out["naver_100k_parts"] = {"body_bytes": len(body), "status": status, "seconds": round(dt, 3),
                                   "answer": text[:120].decode("utf-8", "replace")}

        nav_ctype, nav_body = multipart([("image", photo)])

        async def unrelated_nav() -> list[float]:
            lat = []
            deadline = time.perf_counter() + 3.0
            while time.perf_counter() < deadline:
                dt, _ = await timed(lambda: post(session, srv.url("nav") + "/v1/vision/celebrity", nav_body,
                                                 {**NAV_HEADERS, "Content-Type": nav_ctype}))
                lat.append(dt)
            return lat

        async def bombs() -> list[tuple[float, int, bytes]]:
            res = []
            for _ in range(3):
                dt, (st, txt) = await timed(lambda: post(session, srv.url("aws") + "/", bomb,
                                                         {**AWS_HEADERS, "Content-Encoding": "gzip"}))
                res.append((dt, st, txt))
            return res

        lat, bomb_res = await asyncio.gather(unrelated_nav(), bombs())
        out["gzip_bomb"] = {"compressed_bytes": len(bomb), "seconds": [round(r[0], 3) for r in bomb_res],
                            "status": bomb_res[0][1], "answer": bomb_res[0][2][:120].decode("utf-8", "replace"),
                            "unrelated_nav_max_s": round(max(lat), 3), "unrelated_nav_p50_s":
                                round(statistics.median(lat), 3)}

        heads = half_sent(srv.ports["aws"], 500, in_body=False)
        bodies = half_sent(srv.ports["aws"], 500, in_body=True)
        await asyncio.sleep(5)
        at5 = dropped(heads), dropped(bodies)
        await asyncio.sleep(10)
        at15 = dropped(heads), dropped(bodies)
        for s in heads + bodies:
            s.close()
        out["half_sent"] = {"connections": 1000, "dropped_after_5s": {"head": at5[0], "body": at5[1]},
                            "dropped_after_15s": {"head": at15[0], "body": at15[1]}}

        done = asyncio.Event()

        async def unrelated(vendor: str, first_seed: int) -> list[float]:
            lat, seed = [], first_seed
            while not done.is_set():  # a new image each time: each needs the face model
                await asyncio.sleep(0.5)
                seed += 1
                image = jpeg_variant(seed)
                if vendor == "aws":  # the same face model as the grid's request
                    req = (srv.url("aws") + "/", aws_body(image), AWS_HEADERS)
                else:
                    req = (ms_detect, image, MS_HEADERS)
                dt, _ = await timed(lambda: post(session, *req))  # noqa: B023 - awaited here
                lat.append(dt)
            return lat

        async def grid_request() -> tuple[float, Any]:
            try:
                return await timed(lambda: post(session, srv.url("aws") + "/", aws_body(grid), AWS_HEADERS))
            finally:
                done.set()

        (grid_s, (st, txt)), aws_lat, ms_lat = await asyncio.gather(grid_request(), unrelated("aws", 0),
                                                                    unrelated("ms", 100))
        ans = json.loads(txt)
        faces = len(ans.get("CelebrityFaces", [])) + len(ans.get("UnrecognizedFaces", []))
        out["hundred_faces"] = {"status": st, "seconds": round(grid_s, 3), "faces_returned": faces,
                                "unrelated_aws_new_image_s": _summary(aws_lat),
                                "unrelated_ms_detect_new_image_s": _summary(ms_lat)}
    return out


def _summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"n": 0}
    return {"n": len(latencies), "max": round(max(latencies), 3), "p50": round(statistics.median(latencies), 3)}


def run_probes() -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine()}
    with Servers(fill_face_ids=210_000) as srv:
        result["probes"] = asyncio.run(_probes(srv))
        result["rss_end_mb"] = srv.rss_mb()
    return result


# --- soak -------------------------------------------------------------------------------------------
async def _soak(srv: Servers, seconds: float) -> dict[str, Any]:
    import aiohttp

    photo = _photo()
    nav_ctype, nav_body = multipart([("image", photo)])
    normal = {
        "aws": (srv.url("aws") + "/", aws_body(photo), AWS_HEADERS),
        "ms": (srv.url("ms") + "/face/v1.0/detect", photo, MS_HEADERS),
        "nav": (srv.url("nav") + "/v1/vision/celebrity", nav_body, {**NAV_HEADERS, "Content-Type": nav_ctype}),
    }
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    truncated_gz = gzip.compress(aws_body(photo))[:-20]
    many_ctype, many_parts = empty_parts(100_000)
    grids = [face_grid(10, seed=s) for s in range(3)]
    latencies: dict[str, list[float]] = {v: [] for v in normal}
    counts: dict[str, int] = {"5xx": 0, "normal": 0, "hostile": 0, "normal_non_200": 0}
    deadline = time.perf_counter() + seconds

    async def normal_client(session: Any, vendor: str) -> None:
        url, body, headers = normal[vendor]
        while time.perf_counter() < deadline:
            dt, (st, _) = await timed(lambda: post(session, url, body, headers))
            latencies[vendor].append(dt)
            counts["normal"] += 1
            counts["5xx"] += st >= 500
            counts["normal_non_200"] += st != 200

    async def hostile_http(session: Any) -> None:
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            kind = i % 6
            if kind == 0:
                req = (srv.url("aws") + "/", bomb, {**AWS_HEADERS, "Content-Encoding": "gzip"})
            elif kind == 1:
                req = (srv.url("aws") + "/", truncated_gz, {**AWS_HEADERS, "Content-Encoding": "gzip"})
            elif kind == 2:
                req = (srv.url("nav") + "/v1/vision/celebrity", many_parts, {**NAV_HEADERS, "Content-Type": many_ctype})
            elif kind == 3:
                req = (srv.url("ms") + "/face/v1.0/detect", truncated_png(i, side=1200), MS_HEADERS)
            elif kind == 4:
                req = (srv.url("aws") + "/", aws_body(grids[i % len(grids)]), AWS_HEADERS)
            else:
                req = (srv.url("ms") + "/face/v1.0/detect", b"\x89PNG\r\n\x1a\n" + os.urandom(2000), MS_HEADERS)
            try:
                st, _ = await post(session, *req)
                counts["5xx"] += st >= 500
            except aiohttp.ClientError:
                pass  # a refused oversize body may close the connection before the upload ends
            counts["hostile"] += 1

    rss_samples: list[tuple[float, float]] = []

    async def sample_rss() -> None:
        t0 = time.perf_counter()
        while time.perf_counter() < deadline:
            rss_samples.append((round(time.perf_counter() - t0, 1), srv.rss_mb()))
            await asyncio.sleep(max(1.0, seconds / 12))

    async def hostile_raw() -> None:
        loop = asyncio.get_running_loop()
        held: list[socket.socket] = []
        lines = [b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nBad Header\r\n\r\n",
                 b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"]
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            port = srv.ports[("aws", "ms", "nav")[i % 3]]
            held += await loop.run_in_executor(None, half_sent, port, 20, bool(i % 2))
            for data in lines:
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(data)
                s.close()
            counts["hostile"] += 20 + len(lines)
            held = [s for s in held if not _closed(s)]
            counts["held_open_max"] = max(counts.get("held_open_max", 0), len(held))
            await asyncio.sleep(0.5)
        for s in held:
            s.close()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for v in normal:  # warm-up: every vendor's face model loaded
            await post(session, *normal[v])
        rss0 = srv.rss_mb()
        await asyncio.gather(*(normal_client(session, v) for v in normal for _ in range(2)),
                             *(hostile_http(session) for _ in range(2)), hostile_raw(), sample_rss())
    out: dict[str, Any] = {"seconds": seconds, "rss_before_mb": rss0, "rss_after_mb": srv.rss_mb(),
                           "rss_mb_over_time": rss_samples, **counts}
    for v, lat in latencies.items():
        lat.sort()
        out[f"normal_{v}_ms"] = {"n": len(lat), "p50": round(lat[len(lat) // 2] * 1000, 1),
                                 "p99": round(lat[int(len(lat) * 0.99)] * 1000, 1)}
    return out


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def run_soak(seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine()}
    with Servers() as srv:
        result["soak"] = asyncio.run(_soak(srv, seconds))
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("probes", "soak"))
    ap.add_argument("--seconds", type=float, default=60.0, help="soak duration")
    ap.add_argument("--json", type=Path, help="result file (default benchmarks/results/mockvendors_<mode>.json)")
    ap.add_argument("--before", type=Path, help="a probes result of an earlier version, kept in this one as 'before'")
    ap.add_argument("--note", default="", help="what was measured (versions, machine load)")
    args = ap.parse_args()
    result: dict[str, Any] = {"note": args.note} if args.note else {}
    result.update(run_probes() if args.mode == "probes" else run_soak(args.seconds))
    if args.before:
        result["before"] = json.loads(args.before.read_text())
    path = args.json or ROOT / f"benchmarks/results/mockvendors_{args.mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

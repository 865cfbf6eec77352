"""Many-face images: each vendor answers for at most as many faces as the real one (AWS
RecognizeCelebrities 64, Azure detect 100), the analyzer embeds no more than any vendor answers for,
and a many-face request does not hold the face model against an unrelated request. Real HTTP to
servers on 127.0.0.1, real face images (a grid of one photo's face)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mockvendors.analysis import MAX_FACES, CachingAnalyzer, FairGate, PipelineAnalyzer
from mockvendors.aws.protocol import RECOGNIZE_MAX_FACES
from mockvendors.azure.protocol import DETECT_MAX_FACES
from mockvendors.server import MockServers, build_protocols

from support.mock_data import build_gallery, jpeg

AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64)
AWS = {"Authorization": AUTH, "Content-Type": "application/x-amz-json-1.1"}
KEY = {"Ocp-Apim-Subscription-Key": "any-key", "Content-Type": "application/octet-stream"}


def test_fair_gate_admits_in_arrival_order() -> None:
    gate = FairGate()
    order: list[int] = []
    started = threading.Event()

    def holder() -> None:
        with gate:
            started.set()
            time.sleep(0.3)

    def waiter(i: int) -> None:
        with gate:
            order.append(i)

    first = threading.Thread(target=holder)
    first.start()
    started.wait()
    threads = []
    for i in range(5):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.02)  # each waiter queues before the next
    for t in [first, *threads]:
        t.join()
    assert order == list(range(5))


def test_fair_gate_skips_a_waiter_that_gave_up() -> None:
    gate = FairGate()
    gate.__enter__()
    real_wait = gate._cond.wait_for

    def interrupted(*args: Any, **kwargs: Any) -> Any:  # as a KeyboardInterrupt in the wait would
        raise RuntimeError("interrupted")

    gate._cond.wait_for = interrupted  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        gate.__enter__()
    gate._cond.wait_for = real_wait  # type: ignore[method-assign]
    done = threading.Event()

    def later() -> None:
        with gate:
            done.set()

    t = threading.Thread(target=later)
    t.start()
    time.sleep(0.05)
    gate.__exit__(None, None, None)
    assert done.wait(5), "the waiter behind a given-up ticket was never admitted"
    t.join()


def test_fair_gate_slots() -> None:
    gate = FairGate(slots=2)
    inside, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with gate:
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2


@pytest.fixture(scope="module")
def face(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Image.Image:
    raw = (shared_data / "faces" / "obama.jpg").read_bytes()
    x1, y1, x2, y2 = mockvendors_analyzer.analyze(raw).faces[0].box
    w, h = x2 - x1, y2 - y1
    im = Image.open(io.BytesIO(raw)).convert("RGB")
    return im.crop((int(x1 - 0.4 * w), int(y1 - 0.4 * h), int(x2 + 0.4 * w), int(y2 + 0.4 * h))).resize((112, 112))


def grid(face: Image.Image, n: int, tint: int = 0) -> bytes:
    """n x n copies of ``face``: n * n faces the detector finds; ``tint`` makes other bytes."""
    im = Image.new("RGB", (112 * n, 112 * n), (128, 128, 128 + tint))
    for i in range(n):
        for j in range(n):
            im.paste(face, (112 * i, 112 * j))
    return jpeg(im)


@pytest.mark.models
@pytest.mark.shared
def test_the_analyzer_embeds_at_most_max_faces(face: Image.Image) -> None:
    analysis = PipelineAnalyzer().analyze(grid(face, 12))  # 144 faces in the picture
    assert len(analysis.faces) == MAX_FACES == 100
    sizes = [f.box[2] - f.box[0] for f in analysis.faces]
    assert sizes == sorted(sizes, reverse=True)  # the largest kept


@pytest.fixture(scope="module")
def servers(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Iterator[MockServers]:
    protocols = build_protocols(("aws", "ms"), build_gallery(shared_data, mockvendors_analyzer), mockvendors_analyzer)
    with MockServers(protocols, ports={"aws": 0, "ms": 0}) as s:
        yield s


def _aws(servers: MockServers, image: bytes, op: str = "RecognizeCelebrities", **more: Any) -> httpx.Response:
    doc = {"Image": {"Bytes": base64.b64encode(image).decode()}, **more}
    with httpx.Client(timeout=120) as c:
        return c.post(servers.endpoints["aws"].url + "/", content=json.dumps(doc).encode(),
                      headers={**AWS, "X-Amz-Target": f"RekognitionService.{op}"})


@pytest.mark.models
@pytest.mark.shared
def test_vendors_answer_for_as_many_faces_as_the_real_ones(servers: MockServers, face: Image.Image) -> None:
    image = grid(face, 12)
    r = _aws(servers, image)
    assert r.status_code == 200, r.text
    ans = r.json()
    assert len(ans["CelebrityFaces"]) + len(ans["UnrecognizedFaces"]) == RECOGNIZE_MAX_FACES == 64
    one = base64.b64encode(jpeg(face)).decode()
    r = _aws(servers, image, "CompareFaces", SourceImage={"Bytes": one},
             TargetImage={"Bytes": base64.b64encode(image).decode()}, SimilarityThreshold=0)
    assert r.status_code == 200, r.text
    assert len(r.json()["FaceMatches"]) + len(r.json()["UnmatchedFaces"]) == 100  # CompareFaces: 100 target faces
    with httpx.Client(timeout=120) as c:
        r = c.post(servers.endpoints["ms"].url + "/face/v1.0/detect", content=image, headers=KEY)
    assert r.status_code == 200, r.text
    assert len(r.json()) == DETECT_MAX_FACES == 100


@pytest.mark.models
@pytest.mark.shared
def test_an_unrelated_request_is_not_held_behind_many_faces(servers: MockServers, face: Image.Image,
                                                            shared_data: Path) -> None:
    big = grid(face, 10, tint=7)  # 100 faces, not analysed yet
    small = jpeg((shared_data / "faces" / "obama2.jpg").read_bytes(), quality=77)  # new bytes: needs the model too
    done: dict[str, float] = {}

    def many() -> None:
        assert _aws(servers, big).status_code == 200
        done["many"] = time.perf_counter()

    th = threading.Thread(target=many)
    th.start()
    time.sleep(0.5)  # the 100-face request is in the model
    t = time.perf_counter()
    r = _aws(servers, small)
    done["unrelated"] = time.perf_counter()
    th.join()
    assert r.status_code == 200, r.text
    # one model call of the big request (detection or 16 faces) at most before it: generous on 2 loaded cores
    assert done["unrelated"] - t < 5.0
    assert done["unrelated"] < done["many"]

"""Azure and Naver mocks over HTTP (requests/httpx), the replay of the real Azure recording, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from harness.backends.inprocess import MockVendor
from mockvendors.analysis import CachingAnalyzer
from mockvendors.azure.protocol import AzureProtocol
from mockvendors.behaviour import behaviour_for
from mockvendors.naver.protocol import NaverProtocol
from mockvendors.profile import Faults
from mockvendors.server import MockServers

from support.mock_data import SATYA_IMAGE, build_gallery

pytestmark = [pytest.mark.models, pytest.mark.shared]
KEY = {"Ocp-Apim-Subscription-Key": "any-key"}
NAVER = {"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"}
NCP = {"X-NCP-APIGW-API-KEY-ID": "id", "X-NCP-APIGW-API-KEY": "secret"}
RECORDING = "vendor-recordings/azure/azure-sdk-for-net/VisionDomainModelTests/AnalyzeImageByDomainModelVersionTest.json"
FACE_RECORDING = ("vendor-recordings/azure/azure-sdk-for-net/FaceVerificationTests/"
                  "FaceVerificationFacePositive.excerpt.json")


@pytest.fixture(scope="module")
def behaviours(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> dict[str, Any]:
    g = build_gallery(shared_data, mockvendors_analyzer)
    return {v: behaviour_for(v, g, mockvendors_analyzer) for v in ("ms", "nav")}


@pytest.fixture(scope="module")
def urls(behaviours: dict[str, Any]) -> Iterator[dict[str, str]]:
    protocols = {"ms": AzureProtocol(behaviours["ms"]), "nav": NaverProtocol(behaviours["nav"])}
    slow = {"ms": AzureProtocol(behaviours["ms"]), "nav": NaverProtocol(behaviours["nav"])}
    faults = {"ms": Faults(tps=1), "nav": Faults(tps=1, error_rate=0.0)}
    with MockServers(protocols, ports={"ms": 0, "nav": 0}) as s, \
            MockServers(slow, ports={"ms": 0, "nav": 0}, faults=faults) as t, \
            MockServers({"nav": NaverProtocol(behaviours["nav"])}, ports={"nav": 0},
                        faults={"nav": Faults(error_rate=1.0, latency_ms=30)}) as broken:
        yield {"ms": s.endpoints["ms"].url, "nav": s.endpoints["nav"].url, "ms_tps": t.endpoints["ms"].url,
               "nav_tps": t.endpoints["nav"].url, "nav_broken": broken.endpoints["nav"].url}


@pytest.fixture(scope="module")
def img(shared_data: Path) -> dict[str, bytes]:
    f = shared_data / "faces"
    return {n: (f / f"{n}.jpg").read_bytes() for n in ("obama", "obama3", "biden")} | {
        "satya": (shared_data / SATYA_IMAGE).read_bytes(),
        "blend": (shared_data / "paper-samples/CelebBlend/FaceApp_1586501360499.jpg").read_bytes()}


def shape(value: Any) -> Any:
    """Keys (in order) and JSON types, recursively; list items by their first element."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return ["list", shape(value[0]) if value else None]
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def test_replay_of_the_recorded_azure_celebrities_call(shared_data: Path, urls, img):
    entry = json.loads((shared_data / RECORDING).read_text())["Entries"][0]
    recorded = json.loads(entry["ResponseBody"])
    headers = {k: v[0] for k, v in entry["RequestHeaders"].items() if k in ("Content-Type",)} | KEY
    r = requests.post(urls["ms"] + entry["RequestUri"], data=img["satya"], headers=headers, timeout=30)
    assert r.status_code == entry["StatusCode"] == 200
    assert r.headers["Content-Type"] == entry["ResponseHeaders"]["Content-Type"][0]
    got = r.json()
    assert shape(got) == shape(recorded)
    assert got["metadata"] == recorded["metadata"] and got["modelVersion"] == recorded["modelVersion"]
    [celeb] = got["result"]["celebrities"]
    assert celeb["name"] == "Satya Nadella" and celeb["confidence"] >= 0.9
    rect, want = celeb["faceRectangle"], recorded["result"]["celebrities"][0]["faceRectangle"]
    assert abs(rect["left"] - want["left"]) <= 12 and abs(rect["top"] - want["top"]) <= 12


def test_face_detect_verify_find_similar_match_the_recorded_shapes(shared_data: Path, urls, img, behaviours):
    entries = json.loads((shared_data / FACE_RECORDING).read_text())["Entries"]
    detect_uri = entries[0]["RequestUri"].replace("v1.0-preview", "v1.0")
    ids = []
    for name in ("obama", "obama3", "biden"):
        r = requests.post(urls["ms"] + detect_uri, data=img[name],
                          headers=KEY | {"Content-Type": "application/octet-stream"}, timeout=30)
        assert r.status_code == 200
        assert shape(r.json()) == shape(json.loads(entries[0]["ResponseBody"]))
        ids.append(r.json()[0]["faceId"])
    same = requests.post(urls["ms"] + "/face/v1.0/verify", json={"faceId1": ids[0], "faceId2": ids[1]}, headers=KEY)
    other = requests.post(urls["ms"] + "/face/v1.0/verify", json={"faceId1": ids[0], "faceId2": ids[2]}, headers=KEY)
    assert shape(same.json()) == shape(json.loads(entries[2]["ResponseBody"]))
    assert same.json()["isIdentical"] is True and same.json()["confidence"] >= 0.5
    assert other.json()["isIdentical"] is False and 0 <= other.json()["confidence"] < 0.5
    fs = requests.post(urls["ms"] + "/face/v1.0/findsimilars", headers=KEY,
                       json={"faceId": ids[0], "faceIds": ids[1:], "mode": "matchFace"}).json()
    assert [f["faceId"] for f in fs] == [ids[1], ids[2]] and fs[0]["confidence"] == same.json()["confidence"]
    person = requests.post(urls["ms"] + "/face/v1.0/findsimilars", headers=KEY,
                           json={"faceId": ids[0], "faceIds": ids[1:]}).json()
    assert [f["faceId"] for f in person] == [ids[1]]  # matchPerson drops the other person
    # the in-process MS similarity is the same number x 100
    assert MockVendor(behaviours["ms"]).similarity(img["obama"], img["obama3"]) == pytest.approx(
        fs[0]["confidence"] * 100)


def test_face_ids_expire_after_their_ttl(behaviours, img):
    proto = AzureProtocol(behaviours["ms"])
    from mockvendors.wire import WireRequest

    det = proto.handle(WireRequest.build("POST", "/face/v1.0/detect?faceIdTimeToLive=60", KEY | {
        "Content-Type": "application/octet-stream"}, img["obama"]))
    fid = det.payload()[0]["faceId"]
    assert proto.faces.get(fid) is not None
    proto.faces._faces[fid] = (proto.faces._faces[fid][0], time.monotonic() - 1)  # as if 60 s had passed
    r = proto.handle(WireRequest.build("POST", "/face/v1.0/verify", KEY | {"Content-Type": "application/json"},
                                       json.dumps({"faceId1": fid, "faceId2": fid}).encode()))
    assert r.status == 404 and r.payload()["error"]["code"] == "FaceNotFound"
    bad = proto.handle(WireRequest.build("POST", "/face/v1.0/detect?faceIdTimeToLive=5", KEY | {
        "Content-Type": "application/octet-stream"}, img["obama"]))
    assert bad.status == 400 and bad.payload()["error"]["code"] == "BadArgument"


def test_azure_errors(urls, img):
    cv = urls["ms"] + "/vision/v3.2/models/celebrities/analyze"
    r = requests.post(cv, data=img["obama3"], headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "401"
    r = requests.post(cv, json={"url": "https://example.com/a.jpg"}, headers=KEY)
    assert r.status_code == 400 and r.json()["error"]["innererror"]["code"] == "InvalidImageUrl"
    assert "never downloads" in r.json()["error"]["message"]
    r = requests.post(cv, data=b"not an image", headers=KEY | {"Content-Type": "application/octet-stream"})
    assert r.status_code == 400 and r.json()["error"]["innererror"]["code"] == "InvalidImageFormat"
    r = requests.post(cv, data=img["obama3"], headers=KEY | {"Content-Type": "text/plain"})
    assert r.status_code == 415 and set(r.json()["error"]) == {"code", "innererror", "message"}
    r = requests.post(urls["ms"] + "/face/v1.0/detect", data=b"\xff\xd8\xff" + b"0" * 2000,
                      headers=KEY | {"Content-Type": "application/octet-stream"})
    assert r.status_code == 400 and r.json()["error"] == {"code": "InvalidImage",
                                                          "message": "Decoding error, image format unsupported."}
    r = requests.post(urls["ms"] + "/face/v1.0/verify", json={"faceId1": "nope"}, headers=KEY)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadArgument"
    r = requests.get(urls["ms"] + "/nothing/here", headers=KEY)
    assert r.status_code == 404 and set(r.json()["error"]) == {"code", "message"}


def test_azure_rate_limit_answers_429_with_retry_after(urls, img):
    statuses = []
    for _ in range(4):
        r = requests.post(urls["ms_tps"] + "/vision/v3.2/models/celebrities/analyze", data=img["obama3"],
                          headers=KEY | {"Content-Type": "application/octet-stream"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["code"] == "429"
    assert statuses[0] == 200 and 429 in statuses


def test_naver_celebrity_both_front_doors(urls, img):
    for path, headers in (("/v1/vision/celebrity", NAVER), ("/vision/v1/celebrity", NCP)):
        r = httpx.post(urls["nav"] + path, files={"image": ("p.jpg", img["obama3"], "image/jpeg")}, headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert body["info"] == {"size": {"width": 1434, "height": 2333}, "faceCount": 1}
        assert body["faces"][0]["celebrity"]["value"] == "Barack Obama"
        assert 0.9 <= body["faces"][0]["celebrity"]["confidence"] <= 1
    r = httpx.post(urls["nav"] + "/v1/vision/celebrity", files={"image": ("b.jpg", img["blend"])}, headers=NAVER)
    faces = r.json()["faces"]
    assert r.json()["info"]["faceCount"] == len(faces) >= 2 and all(f["celebrity"]["value"] for f in faces)
    r = httpx.post(urls["nav"] + "/v1/vision/celebrity", files={"image": ("b.jpg", img["biden"])}, headers=NAVER)
    assert r.json()["faces"][0]["celebrity"]["confidence"] < 0.2  # NAV answers even for an unknown face


def test_naver_errors(urls, img):
    u = urls["nav"] + "/v1/vision/celebrity"
    r = httpx.post(u, files={"image": ("p.jpg", img["obama3"])})
    assert r.status_code == 401 and r.json()["errorCode"] == "024"
    r = httpx.post(urls["nav"] + "/vision/v1/celebrity", files={"image": ("p.jpg", img["obama3"])})
    assert r.status_code == 401 and r.json()["error"]["errorCode"] == "200"
    r = httpx.post(u, files={"photo": ("p.jpg", img["obama3"])}, headers=NAVER)
    assert r.status_code == 400 and r.json()["errorCode"] == "ER01"
    r = httpx.post(u, files={"image": ("p.jpg", b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024))}, headers=NAVER)
    assert r.status_code == 400 and r.json()["errorCode"] == "ER02"
    r = httpx.post(u, files={"image": ("p.txt", b"hello")}, headers=NAVER)
    assert r.status_code == 400 and r.json()["errorCode"] == "ER03"
    r = httpx.post(u, content=img["obama3"], headers=NAVER | {"Content-Type": "image/jpeg"})
    assert r.status_code == 400 and r.json()["errorCode"] == "ER01"
    r = httpx.get(u, headers=NAVER)
    assert r.status_code == 405 and set(r.json()) == {"errorMessage", "errorCode"}


def test_naver_faults_throttle_and_injected_errors(urls, img):
    statuses = [httpx.post(urls["nav_tps"] + "/v1/vision/celebrity", files={"image": ("p.jpg", img["obama3"])},
                           headers=NAVER).status_code for _ in range(4)]
    assert statuses[0] == 200 and 429 in statuses
    t = time.monotonic()
    r = httpx.post(urls["nav_broken"] + "/v1/vision/celebrity", files={"image": ("p.jpg", img["obama3"])},
                   headers=NAVER)
    assert time.monotonic() - t >= 0.03
    assert r.status_code == 500 and r.json()["errorCode"] == "ER99"


def test_server_and_in_process_answers_are_identical(urls, behaviours, img):
    ms, nav = MockVendor(behaviours["ms"]), MockVendor(behaviours["nav"])
    for name in ("obama3", "satya", "blend", "biden"):
        wire = requests.post(urls["ms"] + "/vision/v3.2/models/celebrities/analyze", data=img[name],
                             headers=KEY | {"Content-Type": "application/octet-stream"}).json()
        assert [(c["name"], c["confidence"]) for c in wire["result"]["celebrities"]] == [
            (f.name, f.raw_confidence) for f in ms.recognize(img[name]).faces]
        wire = httpx.post(urls["nav"] + "/v1/vision/celebrity", files={"image": ("p", img[name])}, headers=NAVER).json()
        assert [(f["celebrity"]["value"], f["celebrity"]["confidence"]) for f in wire["faces"]] == [
            (f.name, f.raw_confidence) for f in nav.recognize(img[name]).faces]

"""Regression tests for measured resource problems of the mock servers: cached decode errors that kept
partly decoded images alive, the Azure faceId store's full scans, Naver's multipart parse of many
parts, and undecodable or inflating ``Content-Encoding: gzip`` bodies. Traffic only to 127.0.0.1."""

from __future__ import annotations

import gc
import gzip
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from harness.faces.types import ImageDecodeError
from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer, sha256_hex
from mockvendors.aws.protocol import AwsProtocol
from mockvendors.azure.protocol import AzureProtocol, FaceStore
from mockvendors.behaviour import behaviour_for
from mockvendors.naver.protocol import MAX_BODY_BYTES as NAVER_MAX_BODY
from mockvendors.naver.protocol import MAX_PARTS, NaverProtocol
from mockvendors.server import MockServers

from support.mock_data import build_gallery

AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64)
KEY = {"Ocp-Apim-Subscription-Key": "any-key"}
NAVER = {"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"}


# --- 1. cached decode errors hold no traceback (and so no partly decoded image) -------------------
def _truncated_png(seed: int, side: int = 2000) -> bytes:
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


def _pil_images() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Image.Image))


def test_cached_decode_errors_are_plain() -> None:
    cache = CachingAnalyzer(PipelineAnalyzer())  # decoding fails before any model is loaded
    images = [_truncated_png(i) for i in range(4)]
    before = _pil_images()
    messages = []
    for data in images:
        with pytest.raises(ImageDecodeError) as first:
            cache.analyze(data)
        messages.append(str(first.value))
        del first
    assert _pil_images() <= before  # no partly decoded image kept alive by the cache
    for data, message in zip(images, messages, strict=True):
        hit = cache.cached(sha256_hex(data))
        assert isinstance(hit, ImageDecodeError)
        assert hit.__traceback__ is None and hit.__cause__ is None and hit.__context__ is None
        assert not any(isinstance(o, Image.Image) for o in gc.get_referents(hit))
        with pytest.raises(ImageDecodeError) as again:  # a hit gives the same error, the cache stays plain
            cache.analyze(data)
        assert str(again.value) == message and type(again.value) is ImageDecodeError
        assert hit.__traceback__ is None
    assert cache.misses == len(images) and cache.hits == len(images)


# --- 2. the Azure faceId store stays O(1) per id past its cap ----------------------------------------
def _time_inserts(store: FaceStore, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        store.add(None, 86400)
    return (time.perf_counter() - t) / n


def test_face_store_past_its_cap_stays_fast() -> None:
    store = FaceStore(max_entries=20_000)
    early = _time_inserts(store, 1000)
    _time_inserts(store, 25_000)  # past the cap
    assert len(store) == store.max_entries
    late = _time_inserts(store, 5000)
    assert late < 5 * early + 20e-6, (early, late)  # the old code scanned all 20,000 ids per insert
    assert len(store) == store.max_entries


def test_face_store_evicts_oldest_and_expires() -> None:
    store = FaceStore(max_entries=100)
    first = store.add("a", 86400)
    short = store.add("b", 0.05)
    assert store.get(first) == "a" and store.get(short) == "b"
    time.sleep(0.1)
    assert store.get(short) is None  # expired
    ids = [store.add(i, 86400) for i in range(99)]
    assert store.get(first) == "a"  # the expired id made room
    store.add("new", 86400)
    assert store.get(first) is None  # full: the oldest went
    assert all(store.get(i) is not None for i in ids)


# --- servers over the real gallery -------------------------------------------------------------------
@pytest.fixture(scope="module")
def urls(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Iterator[dict[str, str]]:
    g = build_gallery(shared_data, mockvendors_analyzer)
    protocols: dict[str, Any] = {"aws": AwsProtocol(behaviour_for("aws", g, mockvendors_analyzer)),
                                 "ms": AzureProtocol(behaviour_for("ms", g, mockvendors_analyzer)),
                                 "nav": NaverProtocol(behaviour_for("nav", g, mockvendors_analyzer))}
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0}) as s:
        yield {v: e.url for v, e in s.endpoints.items()}


@pytest.fixture(scope="module")
def obama(shared_data: Path) -> bytes:
    return (shared_data / "faces" / "obama.jpg").read_bytes()


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[str, bytes]:
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n".encode() + v + b"\r\n"
                    for n, v in parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _naver_error(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"errorMessage", "errorCode"}
    assert "injected fault" not in r.text


@pytest.mark.models
@pytest.mark.shared
def test_naver_refuses_many_parts_fast(urls: dict[str, str], obama: bytes) -> None:
    ctype, body = _multipart([("x", b"")] * 10_000)
    t = time.perf_counter()
    r = httpx.post(urls["nav"] + "/v1/vision/celebrity", content=body,
                   headers={**NAVER, "Content-Type": ctype}, timeout=30)
    assert time.perf_counter() - t < 1.0
    _naver_error(r)
    assert r.json()["errorCode"] == "ER01" and str(MAX_PARTS) in r.json()["errorMessage"]
    ctype, body = _multipart([("x", b"")] * (MAX_PARTS - 1) + [("image", obama)])  # at the cap: parsed
    r = httpx.post(urls["nav"] + "/v1/vision/celebrity", content=body,
                   headers={**NAVER, "Content-Type": ctype}, timeout=30)
    assert r.status_code == 200, r.text
    ctype, body = _multipart([("image", obama)])
    r = httpx.post(urls["nav"] + "/v1/vision/celebrity", content=body,
                   headers={**NAVER, "Content-Type": ctype}, timeout=30)
    assert r.status_code == 200 and r.json()["info"]["faceCount"] >= 1, r.text


def _requests(urls: dict[str, str], body: bytes) -> dict[str, httpx.Request]:
    ctype, _ = _multipart([("image", b"")])
    return {
        "aws": httpx.Request("POST", urls["aws"] + "/", content=body, headers={
            "Authorization": AUTH, "X-Amz-Target": "RekognitionService.RecognizeCelebrities",
            "Content-Type": "application/x-amz-json-1.1", "Content-Encoding": "gzip"}),
        "ms": httpx.Request("POST", urls["ms"] + "/face/v1.0/detect", content=body, headers={
            **KEY, "Content-Type": "application/octet-stream", "Content-Encoding": "gzip"}),
        "nav": httpx.Request("POST", urls["nav"] + "/v1/vision/celebrity", content=body, headers={
            **NAVER, "Content-Type": ctype, "Content-Encoding": "gzip"}),
    }


def _vendor_error(vendor: str, r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, r.text
    assert "injected fault" not in r.text
    payload = r.json()
    if vendor == "aws":
        assert set(payload) == {"__type", "message"}, payload
    elif vendor == "ms":
        assert set(payload) == {"error"} and {"code", "message"} <= set(payload["error"]), payload
    else:
        assert set(payload) == {"errorMessage", "errorCode"}, payload


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_bad_gzip_is_the_vendors_400(urls: dict[str, str], vendor: str) -> None:
    with httpx.Client(timeout=30) as c:
        r = c.send(_requests(urls, b"this is not gzip at all" * 10)[vendor])
    _vendor_error(vendor, r)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip.compress(b"\0" * 1_000_000_000, compresslevel=9)  # ~1 MB that inflates to 1 GB
    assert len(data) < NAVER_MAX_BODY
    return data


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_gzip_bomb_refused_quickly(urls: dict[str, str], bomb: bytes, vendor: str) -> None:
    t = time.perf_counter()
    with httpx.Client(timeout=30) as c:
        r = c.send(_requests(urls, bomb)[vendor])
    assert time.perf_counter() - t < 5.0
    _vendor_error(vendor, r)

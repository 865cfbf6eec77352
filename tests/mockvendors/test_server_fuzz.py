"""Fuzz the three mock servers: random methods, paths, headers, bodies and content types; compressed
bodies mangled (truncated, flipped, padded, mislabelled); request heads mangled byte by byte on raw sockets.

Never a 5xx, never a traceback in the body, always JSON in the vendor's own error shape, and each
answer within a bounded time."""

from __future__ import annotations

import base64
import gzip
import io
import json
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from mockvendors.analysis import CachingAnalyzer
from mockvendors.server import MockServers, ServerLimits, build_protocols

from support.mock_data import build_gallery

pytestmark = [pytest.mark.models, pytest.mark.shared]

AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64)


@pytest.fixture(scope="module")
def urls(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Iterator[dict[str, str]]:
    protocols = build_protocols(("aws", "ms", "nav"), build_gallery(shared_data, mockvendors_analyzer),
                                mockvendors_analyzer)
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0}) as s:
        yield {v: e.url for v, e in s.endpoints.items()}


@pytest.fixture(scope="module")
def http() -> Any:
    with httpx.Client(timeout=30) as c:
        yield c


def _tiny_png(colour: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (colour, 255 - colour, 90)).save(buf, "PNG")
    return buf.getvalue()


def _aws_error(body: Any) -> bool:
    return (isinstance(body, dict) and set(body) == {"__type", "message"}
            and all(isinstance(v, str) for v in body.values()))


def _azure_error(body: Any) -> bool:
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)


def _naver_error(body: Any) -> bool:
    if isinstance(body, dict) and set(body) == {"errorMessage", "errorCode"}:
        return True
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and {"errorCode", "message", "details"} <= set(err)


ERROR_SHAPE = {"aws": _aws_error, "ms": _azure_error, "nav": _naver_error}
ANSWER_WITHIN_S = 15.0  # generous: one face-model call on a loaded 2-core machine is well under a second
PATHS = {
    "aws": ["/", "/x", "//", "/?Action=Recognize"],
    "ms": ["/vision/v3.2/models/celebrities/analyze", "/face/v1.0/detect", "/face/v1.0/verify",
           "/face/v1.0/findsimilars", "/face/v1.0/detect?returnFaceId=maybe&faceIdTimeToLive=x",
           "/vision/v3.2/models/celebrities/analyze?model-version=bogus", "/face/v1.0-preview/detect", "/vision"],
    "nav": ["/v1/vision/celebrity", "/vision/v1/celebrity", "/v1/vision/face", "/"],
}
HEADER_SETS = {
    "aws": [{}, {"Authorization": AUTH},
            {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.RecognizeCelebrities"},
            {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.CompareFaces"},
            {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.GetCelebrityInfo"},
            {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.DeleteCollection"}],
    "ms": [{}, {"Ocp-Apim-Subscription-Key": "k"}, {"Ocp-Apim-Subscription-Key": ""}],
    "nav": [{}, {"X-Naver-Client-Id": "a", "X-Naver-Client-Secret": "b"},
            {"X-NCP-APIGW-API-KEY-ID": "a", "X-NCP-APIGW-API-KEY": "b"}, {"X-Naver-Client-Id": "a"}],
}
CONTENT_TYPES = ["application/x-amz-json-1.1", "application/json", "application/octet-stream", "text/plain",
                 "multipart/form-data; boundary=xyz", "multipart/form-data", "image/jpeg", "",
                 "application/json; charset=utf-8"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_subnormal=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
def _noise_jpeg() -> bytes:  # > 1 KB, so it passes the Face API's minimum size and reaches the model
    buf = io.BytesIO()
    Image.effect_noise((160, 120), 60).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


image_like = st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n" + b"0" * 40, _tiny_png(10), _tiny_png(200),
                              _noise_jpeg()])


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["raw", "json", "aws", "face", "multipart"]))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "aws":
        img = base64.b64encode(draw(image_like)).decode() if draw(st.booleans()) else draw(st.text(max_size=20))
        key = draw(st.sampled_from(["Image", "SourceImage", "TargetImage", "Id"]))
        field = draw(st.sampled_from(["Bytes", "S3Object", "Other"]))
        doc: dict[str, Any] = {key: {field: img}}
        if draw(st.booleans()):
            doc["SimilarityThreshold"] = draw(json_values)
        if draw(st.booleans()):
            doc["TargetImage"] = {"Bytes": img}
            doc["SourceImage"] = {"Bytes": img}
        return json.dumps(doc).encode()
    if kind == "face":
        return json.dumps({draw(st.sampled_from(["faceId", "faceId1", "faceIds", "url"])): draw(json_values),
                           "faceId2": draw(st.uuids().map(str)), "mode": draw(st.text(max_size=10)),
                           "maxNumOfCandidatesReturned": draw(json_values)}).encode()
    payload = draw(image_like) if draw(st.booleans()) else draw(st.binary(max_size=100))
    name = draw(st.sampled_from(["image", "photo", ""]))
    return (b"--xyz\r\nContent-Disposition: form-data; name=\"" + name.encode() + b"\"; filename=\"a\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + payload + b"\r\n--xyz--\r\n")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vendor=st.sampled_from(["aws", "ms", "nav"]), method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH",
                                                                           "OPTIONS", "FUZZ"]),
       path_choice=st.integers(0, 7), extra_path=st.text(alphabet="abc/._-%20", max_size=8),
       header_choice=st.integers(0, 5), content_type=st.sampled_from(CONTENT_TYPES),
       junk_headers=st.dictionaries(st.sampled_from(["X-Amz-Date", "Accept", "X-Amz-Target", "Authorization",
                                                     "Ocp-Apim-Subscription-Key", "X-Naver-Client-Secret"]),
                                    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                            max_size=30).map(str.strip),
                                    max_size=2),
       body=bodies())
def test_fuzz_never_5xx_always_vendor_error_shape(urls, http, vendor, method, path_choice, extra_path, header_choice,
                                                 content_type, junk_headers, body):
    paths = PATHS[vendor]
    path = paths[path_choice % len(paths)] + (extra_path if path_choice >= len(paths) else "")
    headers = dict(HEADER_SETS[vendor][header_choice % len(HEADER_SETS[vendor])])
    headers.update(junk_headers)
    if content_type:
        headers["Content-Type"] = content_type
    t = time.perf_counter()
    r = http.request(method, urls[vendor] + path, headers=headers, content=body)
    assert time.perf_counter() - t < ANSWER_WITHIN_S
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    data = r.json()
    if r.status_code >= 400:
        assert ERROR_SHAPE[vendor](data), data


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[str, str, str, dict[str, str], bytes]:
    """Requests that pass routing and authentication, so the fuzzed contents reach the vendor logic."""
    vendor = draw(st.sampled_from(["aws", "ms", "nav"]))
    image = draw(image_like)
    if vendor == "aws":
        op = draw(st.sampled_from(["RecognizeCelebrities", "CompareFaces", "GetCelebrityInfo"]))
        doc = {"Image": {"Bytes": base64.b64encode(image).decode()},
               "SourceImage": {"Bytes": base64.b64encode(draw(image_like)).decode()},
               "TargetImage": {"Bytes": base64.b64encode(image).decode()},
               "Id": draw(st.text(max_size=10)), "SimilarityThreshold": draw(json_values),
               "QualityFilter": draw(st.sampled_from(["NONE", "AUTO", "bogus"]))}
        doc = {k: v for k, v in doc.items() if draw(st.booleans()) or k in ("Image", "SourceImage", "TargetImage")}
        return vendor, "POST", "/", {"Authorization": AUTH, "X-Amz-Target": f"RekognitionService.{op}",
                                     "Content-Type": "application/x-amz-json-1.1"}, json.dumps(doc).encode()
    if vendor == "ms":
        path = draw(st.sampled_from(["/vision/v3.2/models/celebrities/analyze", "/face/v1.0/detect",
                                     "/face/v1.0/detect?returnFaceId=false&returnRecognitionModel=true",
                                     "/face/v1.0/detect?returnFaceAttributes=headPose&faceIdTimeToLive=60",
                                     "/face/v1.0/verify", "/face/v1.0/findsimilars"]))
        if path.startswith("/face/v1.0/verify") or path.startswith("/face/v1.0/findsimilars"):
            body = json.dumps({"faceId": draw(st.uuids().map(str)), "faceId1": draw(st.uuids().map(str)),
                               "faceId2": draw(json_values), "faceIds": draw(st.lists(st.uuids().map(str), max_size=3)),
                               "mode": draw(st.sampled_from(["matchFace", "matchPerson", "x"]))}).encode()
            return vendor, "POST", path, {"Ocp-Apim-Subscription-Key": "k", "Content-Type": "application/json"}, body
        headers = {"Ocp-Apim-Subscription-Key": "k", "Content-Type": "application/octet-stream"}
        return vendor, "POST", path, headers, image
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + image + b"\r\n--xyz--\r\n")
    path = draw(st.sampled_from(["/v1/vision/celebrity", "/vision/v1/celebrity"]))
    return vendor, "POST", path, {"X-Naver-Client-Id": "a", "X-Naver-Client-Secret": "b", "X-NCP-APIGW-API-KEY-ID": "a",
                                  "X-NCP-APIGW-API-KEY": "b", "Content-Type": "multipart/form-data; boundary=xyz"}, body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=well_formed())
def test_fuzz_well_formed_envelopes_with_odd_contents(urls, http, req):
    vendor, method, path, headers, body = req
    t = time.perf_counter()
    r = http.request(method, urls[vendor] + path, headers=headers, content=body)
    assert time.perf_counter() - t < ANSWER_WITHIN_S
    assert r.status_code < 500, (r.status_code, r.text[:300])
    data = r.json()
    if r.status_code >= 400:
        assert ERROR_SHAPE[vendor](data), data


# --- compressed bodies, mangled ------------------------------------------------------------------------
def _compress(coding: str, data: bytes) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    return data


@st.composite
def encoded(draw: st.DrawFn) -> tuple[str, str, str, dict[str, str], bytes]:
    """A well-formed request whose body is compressed, then perhaps mangled or mislabelled."""
    vendor, method, path, headers, body = draw(well_formed())
    coding = draw(st.sampled_from(["gzip", "x-gzip", "deflate", "identity", "br", "gzip, gzip", "zstd", ""]))
    data = body
    for c in reversed([c.strip() for c in coding.split(",") if c.strip()]):
        data = _compress(c, data)
    how = draw(st.sampled_from(["intact", "truncate", "flip", "append", "bomb", "label_only"]))
    if how == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif how == "append":
        data += draw(st.binary(min_size=1, max_size=30))
    elif how == "bomb":
        data = gzip.compress(b"{" * draw(st.integers(7_000_000, 40_000_000)), compresslevel=1)
    elif how == "label_only":
        data = body
    return vendor, method, path, {**headers, "Content-Encoding": coding}, data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(req=encoded())
def test_fuzz_content_encoding(urls, http, req):
    vendor, method, path, headers, body = req
    t = time.perf_counter()
    r = http.request(method, urls[vendor] + path, headers=headers, content=body)
    assert time.perf_counter() - t < ANSWER_WITHIN_S
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert ERROR_SHAPE[vendor](r.json()), r.text[:300]


# --- request heads, mangled on raw sockets ----------------------------------------------------------------
HEADS = {
    "aws": (b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH.encode()
            + b"\r\nX-Amz-Target: RekognitionService.RecognizeCelebrities\r\n"
              b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
    "ms": (b"POST /face/v1.0/detect HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: k\r\n"
           b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"3\r\nabc\r\n0\r\n\r\n"),
    "nav": (b"POST /v1/vision/celebrity HTTP/1.1\r\nHost: x\r\nX-Naver-Client-Id: a\r\nX-Naver-Client-Secret: b"
            b"\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 9\r\nConnection: close"
            b"\r\n\r\n--xyz--\r\n"),
}
_SPECIAL = b"\r\n: \t\x00\x7f\xff;,=/"


@st.composite
def mangled(draw: st.DrawFn) -> tuple[str, bytes]:
    vendor = draw(st.sampled_from(sorted(HEADS)))
    data = bytearray(HEADS[vendor])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(list(_SPECIAL)) | st.integers(0, 255))
        if op == "replace":
            data[at] = byte
        elif op == "insert":
            data.insert(at, byte)
        else:
            del data[at]
    return vendor, bytes(data)


@pytest.fixture(scope="module")
def raw_ports(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Iterator[dict[str, int]]:
    """Servers with 1 s timeouts: a mangled head that never ends, a body shorter than its length, or a
    kept-alive connection after the answer (a mangled ``Connection: close``) is dropped in a second.
    (The client must not half-close instead: aiohttp then drops the connection before it answers.)"""
    protocols = build_protocols(("aws", "ms", "nav"), build_gallery(shared_data, mockvendors_analyzer),
                                mockvendors_analyzer)
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0},
                     limits=ServerLimits(header_timeout_s=1.0, body_timeout_s=1.0, idle_timeout_s=1.0,
                                         linger_s=0.5)) as s:
        yield {v: e.port for v, e in s.endpoints.items()}


def _raw_answer(port: int, data: bytes) -> bytes:
    """The server's whole answer to ``data``, read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN_S) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=mangled())
def test_fuzz_mangled_request_heads_on_raw_sockets(raw_ports, req):
    vendor, data = req
    t = time.perf_counter()
    out = _raw_answer(raw_ports[vendor], data)
    assert time.perf_counter() - t < ANSWER_WITHIN_S
    if not out:  # closed by the header timeout: the mangled head never ended
        event("no answer")
        return
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    event(f"status {status}")
    assert status < 500, out[:300]
    if status >= 400:
        assert ERROR_SHAPE[vendor](json.loads(body)), out[:300]

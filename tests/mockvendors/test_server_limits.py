"""What one request may cost the mock servers: Content-Encoding (gzip bombs, truncated streams), HTTP the
parser refuses (answered in the vendor's shape), slowloris heads and bodies (timeouts), and a bug of the
mock (an honest internal error, never an "injected fault"). Real HTTP to servers on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockvendors.analysis import CachingAnalyzer
from mockvendors.server import MockServers, ServerLimits, build_protocols
from mockvendors.wire import BodyTooLarge, BodyUndecodable, WireRequest, WireResponse, inflate

from support.mock_data import build_gallery

AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64)
AWS = {"Authorization": AUTH, "X-Amz-Target": "RekognitionService.RecognizeCelebrities",
       "Content-Type": "application/x-amz-json-1.1"}
KEY = {"Ocp-Apim-Subscription-Key": "any-key"}
NAVER = {"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"}
VENDORS = ("aws", "ms", "nav")


# --- inflate: the decoder itself -------------------------------------------------------------------
def test_inflate_undoes_gzip_deflate_and_lists() -> None:
    data = b"hello world " * 1000
    assert inflate(gzip.compress(data), "gzip", 10**6) == data
    assert inflate(gzip.compress(data), "X-GZIP", 10**6) == data
    assert inflate(zlib.compress(data), "deflate", 10**6) == data
    raw = zlib.compressobj(wbits=-15)
    assert inflate(raw.compress(data) + raw.flush(), "deflate", 10**6) == data  # raw deflate, as some clients send
    assert inflate(gzip.compress(data[:10]) + gzip.compress(data[10:]), "gzip", 10**6) == data  # two members
    assert inflate(gzip.compress(zlib.compress(data)), "deflate, gzip", 10**6) == data
    assert inflate(data, "identity", 10**6) == data
    assert inflate(b"", "gzip", 10) == b""


def test_inflate_refuses_truncated_corrupt_and_unknown() -> None:
    whole = gzip.compress(b"x" * 5000)
    for bad in (whole[:-8], whole[: len(whole) // 2], b"not gzip at all" * 5, whole + b"junk"):
        with pytest.raises(BodyUndecodable):
            inflate(bad, "gzip", 10**6)
    with pytest.raises(BodyUndecodable):
        inflate(zlib.compress(b"y" * 100) + b"more", "deflate", 10**6)
    with pytest.raises(BodyUndecodable, match="unsupported"):
        inflate(b"abc", "br", 10**6)


def test_inflate_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    t = time.perf_counter()
    with pytest.raises(BodyTooLarge):
        inflate(bomb, "gzip", 1_000_000)
    assert time.perf_counter() - t < 1.0  # inflates 1 MB, not 200 MB
    assert inflate(gzip.compress(b"z" * 1000), "gzip", 1000) == b"z" * 1000  # exactly at the cap
    with pytest.raises(BodyTooLarge):
        inflate(gzip.compress(b"z" * 1001), "gzip", 1000)
    with pytest.raises(BodyTooLarge):
        inflate(b"z" * 1001, "identity", 1000)


# --- servers over the real gallery -------------------------------------------------------------------
LIMITS = ServerLimits(header_timeout_s=1.0, body_timeout_s=1.0)


@pytest.fixture(scope="module")
def servers(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Iterator[MockServers]:
    protocols = build_protocols(VENDORS, build_gallery(shared_data, mockvendors_analyzer), mockvendors_analyzer)
    with MockServers(protocols, ports={v: 0 for v in VENDORS}, limits=LIMITS) as s:
        yield s


@pytest.fixture(scope="module")
def obama(shared_data: Path) -> bytes:
    return (shared_data / "faces" / "obama.jpg").read_bytes()


def _multipart(image: bytes) -> tuple[str, bytes]:
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n" + image
            + b"\r\n--xyz--\r\n")
    return "multipart/form-data; boundary=xyz", body


def _request(servers: MockServers, vendor: str, image: bytes, encode: Any = None,
             encoding: str = "gzip") -> httpx.Request:
    """The vendor's recognition request for ``image``; ``encode`` (bytes -> bytes) makes the body
    sent, labelled ``Content-Encoding: encoding``."""
    if vendor == "aws":
        url, headers, body = "/", dict(AWS), json.dumps({"Image": {"Bytes": base64.b64encode(image).decode()}}).encode()
    elif vendor == "ms":
        url, headers, body = "/face/v1.0/detect", {**KEY, "Content-Type": "application/octet-stream"}, image
    else:
        ctype, body = _multipart(image)
        url, headers = "/v1/vision/celebrity", {**NAVER, "Content-Type": ctype}
    if encode is not None:
        body = encode(body)
        headers["Content-Encoding"] = encoding
    return httpx.Request("POST", servers.endpoints[vendor].url + url, content=body, headers=headers)


def _is_vendor_error(vendor: str, payload: Any) -> bool:
    if vendor == "aws":
        return isinstance(payload, dict) and set(payload) == {"__type", "message"}
    if vendor == "ms":
        err = payload.get("error") if isinstance(payload, dict) else None
        return isinstance(err, dict) and {"code", "message"} <= set(err)
    return isinstance(payload, dict) and set(payload) == {"errorMessage", "errorCode"}


def _send(req: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=30) as c:
        return c.send(req)


OVERSIZE_CODE = {"aws": "ImageTooLargeException", "ms": "InvalidImageSize", "nav": "ER02"}


def _code(vendor: str, payload: dict[str, Any]) -> str:
    return str(payload["__type"] if vendor == "aws" else payload["error"]["code"] if vendor == "ms"
               else payload["errorCode"])


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_gzip_body_is_answered_as_the_plain_one(servers: MockServers, obama: bytes, vendor: str) -> None:
    plain = _send(_request(servers, vendor, obama))
    zipped = _send(_request(servers, vendor, obama, gzip.compress))
    assert plain.status_code == zipped.status_code == 200, zipped.text
    strip = re.compile(r'"faceId":"[^"]+"')  # Azure gives each detect new face ids
    assert strip.sub("", zipped.text) == strip.sub("", plain.text)


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_truncated_gzip_is_the_vendors_400(servers: MockServers, obama: bytes, vendor: str) -> None:
    r = _send(_request(servers, vendor, obama, lambda b: gzip.compress(b)[:-12]))
    assert r.status_code == 400, r.text
    assert _is_vendor_error(vendor, r.json()) and "truncated" in r.text
    assert "injected fault" not in r.text


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_unknown_content_encoding_is_the_vendors_400(servers: MockServers, obama: bytes, vendor: str) -> None:
    r = _send(_request(servers, vendor, obama, lambda b: b, encoding="compress"))
    assert r.status_code == 400 and _is_vendor_error(vendor, r.json()), r.text


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_gzip_bomb_is_the_oversize_error_and_stalls_no_one(servers: MockServers, obama: bytes, vendor: str) -> None:
    bomb = gzip.compress(b"\0" * 1_000_000_000, compresslevel=9)  # ~1 MB inflating to 1 GB
    other = "nav" if vendor != "nav" else "ms"
    unrelated: list[float] = []
    stop = threading.Event()

    def meanwhile() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            assert _send(_request(servers, other, obama)).status_code == 200
            unrelated.append(time.perf_counter() - t)

    th = threading.Thread(target=meanwhile)
    th.start()
    try:
        t = time.perf_counter()
        for _ in range(3):
            r = _send(_request(servers, vendor, b"", lambda _: bomb))
            assert r.status_code == 400 and _code(vendor, r.json()) == OVERSIZE_CODE[vendor], r.text
        assert time.perf_counter() - t < 6.0  # was 5.8 s for one bomb: the whole gigabyte was inflated
    finally:
        stop.set()
        th.join()
    assert unrelated and max(unrelated) < 2.0, unrelated  # was up to 3.7 s: inflating ran on the shared loop


# --- HTTP that aiohttp's parser refuses: the vendor's JSON shape -----------------------------------
RAW_CASES = {
    "garbage_request_line": b"GARBAGE\r\n\r\n",
    "bad_http_version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "bad_method_token": b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "header_without_colon": b"POST / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    "nul_in_header": b"POST / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "space_before_colon": b"POST / HTTP/1.1\r\nHost : x\r\n\r\n",
    "non_ascii_header_name": b"POST / HTTP/1.1\r\nHost: x\r\nX-\xff: a\r\n\r\n",
    "bad_chunk_size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n0\r\n\r\n",
    "chunk_without_crlf": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
    "unknown_transfer_encoding": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "content_length_and_chunked": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                                   b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    "bad_content_length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "oversize_header": b"POST / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
    "too_many_headers": b"POST / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n",
    "oversize_url": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "lf_only_line_ends": b"POST / HTTP/1.1\nHost: x\n\n",
    "tls_client_hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 40,
    "http2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "http11_without_host": b"GET / HTTP/1.1\r\n\r\n",
    "non_utf8_path": b"GET /\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n\r\n",
    "two_content_lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "negative_content_length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "huge_chunk_size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
    "bad_trailer": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n",
    "obsolete_line_folding": b"POST / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
}
# request-targets the catch-all route cannot match (aiohttp's router answered them in plain text)
UNROUTABLE = {"options_star": b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
              "connect": b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a fresh connection; the status, headers and body of the answer (read to EOF)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    return int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, v in headers.items()}, body


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("case", sorted(RAW_CASES))
def test_unparseable_http_is_the_vendors_json_400(servers: MockServers, vendor: str, case: str) -> None:
    status, headers, body = raw_exchange(servers.endpoints[vendor].port, RAW_CASES[case])
    assert status == 400, body
    assert "json" in headers["content-type"]
    assert _is_vendor_error(vendor, json.loads(body)), body


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("case", sorted(UNROUTABLE))
def test_unroutable_targets_are_the_vendors_404(servers: MockServers, vendor: str, case: str) -> None:
    status, headers, body = raw_exchange(servers.endpoints[vendor].port, UNROUTABLE[case])
    assert status == 404 and "json" in headers["content-type"], body
    assert _is_vendor_error(vendor, json.loads(body)), body


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_expect_headers(servers: MockServers, obama: bytes, vendor: str) -> None:
    port = servers.endpoints[vendor].port
    status, headers, body = raw_exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n"
                                               b"Content-Length: 2\r\n\r\n{}")
    assert status == 417 and _is_vendor_error(vendor, json.loads(body)), body
    # an announced body over the limit is refused before it is sent
    status, headers, body = raw_exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                               b"Content-Length: 99999999\r\n\r\n")
    assert status == 400 and _code(vendor, json.loads(body)) == OVERSIZE_CODE[vendor], body
    req = _request(servers, vendor, obama)
    head = b"".join([f"POST {req.url.raw_path.decode()} HTTP/1.1\r\n".encode(), b"Expect: 100-continue\r\n",
                     b"Connection: close\r\n", *(f"{k}: {v}\r\n".encode() for k, v in req.headers.items()), b"\r\n"])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        assert s.recv(25).startswith(b"HTTP/1.1 100 Continue"), "no 100 Continue"
        s.sendall(req.content)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    assert b"HTTP/1.1 200" in out, out[:300]


# --- slowloris: heads and bodies that never end -------------------------------------------------------
def _half_sent(port: int, n: int, in_body: bool) -> list[socket.socket]:
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if in_body:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"Image\"")
        else:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow-%d: a" % i)
        socks.append(s)
    return socks


def _wait_closed(s: socket.socket, deadline: float) -> bytes | None:
    """What the server sent before closing ``s``, or None if it was still open at ``deadline``."""
    out = b""
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk
    return None


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("in_body", [False, True], ids=["head", "body"])
def test_half_sent_requests_are_dropped(servers: MockServers, obama: bytes, in_body: bool) -> None:
    socks = [s for v in VENDORS for s in _half_sent(servers.endpoints[v].port, 30, in_body)]
    try:
        deadline = time.monotonic() + 8.0  # timeouts of 1 s; the old server held them for as long as they stayed
        answers = [_wait_closed(s, deadline) for s in socks]
        assert all(a is not None for a in answers), sum(a is None for a in answers)
        if in_body:  # the vendor's 408 in its own shape
            for vendor, answer in zip([v for v in VENDORS for _ in range(30)], answers, strict=True):
                assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer
                assert _is_vendor_error(vendor, json.loads(answer.partition(b"\r\n\r\n")[2]))
        else:
            assert all(a == b"" for a in answers)  # no head, nothing to answer
    finally:
        for s in socks:
            s.close()
    assert _send(_request(servers, "aws", obama)).status_code == 200  # the server still serves


@pytest.mark.models
@pytest.mark.shared
def test_a_slow_but_steady_body_within_the_timeout_is_served(servers: MockServers, obama: bytes) -> None:
    req = _request(servers, "ms", obama)
    head = (f"POST /face/v1.0/detect HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: k\r\nConnection: close\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(req.content)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", servers.endpoints["ms"].port), timeout=10) as s:
        s.sendall(head)
        for at in range(0, len(req.content), len(req.content) // 4 + 1):
            time.sleep(0.1)
            s.sendall(req.content[at: at + len(req.content) // 4 + 1])
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    assert out.startswith(b"HTTP/1.1 200"), out[:300]


def _read_one_response(s: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from a keep-alive connection."""
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = s.recv(65536)
        assert chunk, f"the server closed the connection: {out[:200]!r}"
        out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.models
@pytest.mark.shared
def test_an_idle_keep_alive_connection_outlives_the_head_timeout(servers: MockServers, obama: bytes) -> None:
    req = _request(servers, "ms", obama)
    one = b"".join([b"POST /face/v1.0/detect HTTP/1.1\r\n", *(f"{k}: {v}\r\n".encode() for k, v in req.headers.items()),
                    b"\r\n", req.content])
    with socket.create_connection(("127.0.0.1", servers.endpoints["ms"].port), timeout=30) as s:
        for _ in range(2):
            s.sendall(one)
            answer = _read_one_response(s)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
            time.sleep(LIMITS.header_timeout_s * 2.5)  # idle, not mid-head: the connection stays


def test_server_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ServerLimits(header_timeout_s=0)


# --- a bug of the mock: an honest internal error -----------------------------------------------------
class _Exploding:
    """A vendor protocol whose ``handle`` fails: what a bug in the mock looks like from outside."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.vendor, self.max_body_bytes = inner.vendor, inner.max_body_bytes

    def handle(self, request: WireRequest) -> WireResponse:
        raise RuntimeError("a bug")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.models
@pytest.mark.shared
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_bug_is_an_internal_error_never_an_injected_fault(servers: MockServers, obama: bytes, vendor: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    proto = servers.protocols[vendor]
    with MockServers({vendor: _Exploding(proto)}, ports={vendor: 0}) as s:
        req = _request(servers, vendor, obama)
        with httpx.Client(timeout=30) as c:
            r = c.post(s.endpoints[vendor].url + req.url.raw_path.decode(), content=req.content, headers=req.headers)
    assert r.status_code == 500
    assert _is_vendor_error(vendor, r.json()), r.text
    assert "internal error" in r.text and "injected" not in r.text and "Traceback" not in r.text
    assert "a bug" in caplog.text  # the traceback goes to the log

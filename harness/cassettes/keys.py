"""What identifies a vendor call inside a cassette: vendor, operation and the sha256 of each
image it sends (plus the few parameters that change the answer).

Neither the raw body nor the signed headers take part: a SigV4 signature, a date header or a
multipart boundary changes on every call while the question asked stays the same. The key is
computed from a live request, from a request recorded with its body, or from the compact form
:func:`harness.cassettes.filters.redact_request` leaves on disk.

Parameter values are compared by value, not by spelling (:func:`canonical_param`): the app that
sends ``SimilarityThreshold=0`` asks what the recording made with ``0.0`` (stored as ``"0.0"``)
asked. Bodies may be bytes, text, a file-like object or an iterator of chunks (a streamed upload,
as the Azure Computer Vision SDK sends): :func:`body_bytes` reads any of them.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from harness.vendors import registry

REDACTED_MARKER = "dfi_request"

_AZURE_OPS = [
    (re.compile(r"/vision/v[^/]+/models/celebrities/analyze$"), "CelebritiesAnalyze"),
    (re.compile(r"/face/v[^/]+/detect$"), "FaceDetect"),
    (re.compile(r"/face/v[^/]+/verify$"), "FaceVerify"),
    (re.compile(r"/face/v[^/]+/findsimilars$"), "FindSimilars"),
    (re.compile(r"/vision/v[^/]+/analyze$"), "VisionAnalyze"),
]
_NAVER_PATHS = re.compile(r"(/v1/vision/celebrity|/vision/v1/celebrity)$")
_CHUNK_START = re.compile(rb"^[0-9a-fA-F]{1,8}(;[^\r\n]*)?\r\n")
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")
_DECIMAL = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _normal(value: Any) -> Any:
    """A parameter value with its spelling removed: 0, 0.0 and "0.0" are the number 0; "true" is True."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        if _INTEGER.match(value):
            return int(value)
        if _DECIMAL.match(value):
            return _normal(float(value))
        return value
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    return str(value)


def canonical_param(value: Any) -> str:
    """The key form of a parameter value sent live (any JSON value): canonical JSON of its value."""
    return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"))


def canonical_stored_param(text: Any) -> str:
    """The key form of a parameter value read back from a cassette: stored keys hold the JSON of
    the value (``"0.0"``, ``'["ALL"]'``) or, in older or hand-written ones, the bare text."""
    if not isinstance(text, str):
        return canonical_param(text)
    try:
        return canonical_param(json.loads(text))
    except ValueError:
        return canonical_param(text)


@dataclass(frozen=True)
class CallKey:
    vendor: str  # aws | ms | nav | other
    operation: str
    digests: tuple[str, ...]  # sha256 of each image (or of the id/url that stands for it)
    params: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "operation": self.operation, "digests": list(self.digests),
                "params": dict(self.params)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CallKey:
        return cls(str(d["vendor"]), str(d["operation"]), tuple(str(x) for x in d.get("digests", [])),
                   tuple(sorted((str(k), canonical_stored_param(v)) for k, v in (d.get("params") or {}).items())))

    def short(self) -> str:
        digests = ",".join(d[:12] for d in self.digests)
        return f"{self.vendor}:{self.operation}[{digests}]"

    def differences(self, other: CallKey) -> list[str]:
        """What differs between two keys, one ``field: this != other`` line per field."""
        out = [f"{name}: {a!r} != {b!r}" for name, a, b in (("vendor", self.vendor, other.vendor),
                                                          ("operation", self.operation, other.operation)) if a != b]
        if len(self.digests) != len(other.digests):
            out.append(f"images: {len(self.digests)} != {len(other.digests)}")
        out += [f"image {i} sha256: {a[:16]}... != {b[:16]}..." for i, (a, b) in
                enumerate(zip(self.digests, other.digests)) if a != b]
        p1, p2 = dict(self.params), dict(other.params)
        for name in sorted(p1.keys() | p2.keys()):
            if p1.get(name) != p2.get(name):
                out.append(f"param {name}: {p1.get(name, '(absent)')} != {p2.get(name, '(absent)')}")
        return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, int):  # iterating over a bytes object yields ints
        return bytes((chunk,))
    return bytes(chunk)


def body_bytes(body: Any) -> bytes:
    """Any request body as bytes: None, bytes-like, text, a file-like object (read, then rewound
    where it can seek) or an iterable of chunks (a generator, a list of chunks, a bytes iterator)."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        start = body.tell() if hasattr(body, "tell") and hasattr(body, "seek") else None
        data = body.read()
        if start is not None:
            body.seek(start)
        return _chunk_bytes(data)
    if isinstance(body, dict):  # a form not yet encoded: key on its content
        return json.dumps(body, sort_keys=True, default=str).encode()
    try:
        chunks = iter(body)
    except TypeError:
        return _chunk_bytes(body)
    return b"".join(_chunk_bytes(c) for c in chunks)


def _body_bytes(request: Any) -> bytes:
    return body_bytes(request.body)


def _header(request: Any, name: str) -> str:
    headers = request.headers or {}
    for k, v in headers.items():
        if k.lower() == name.lower():
            v = v[0] if isinstance(v, list) and v else v
            return v.decode("latin-1") if isinstance(v, bytes) else str(v)
    return ""


def dechunk(body: bytes) -> bytes:
    """Undo HTTP/1.1 chunked transfer coding (a recorder that stored the wire bytes of a
    streamed upload, as the Azure Python SDK's cassettes did); other bodies come back unchanged."""
    if not _CHUNK_START.match(body) or not body.endswith(b"0\r\n\r\n"):
        return body
    out, pos = bytearray(), 0
    try:
        while True:
            eol = body.index(b"\r\n", pos)
            size = int(body[pos:eol].split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                return bytes(out)
            out += body[pos : pos + size]
            if body[pos + size : pos + size + 2] != b"\r\n":
                return body
            pos += size + 2
    except (ValueError, IndexError):
        return body


def _redacted(body: bytes) -> CallKey | None:
    if not body.startswith(b"{") or REDACTED_MARKER.encode() not in body[:64]:
        return None
    try:
        return CallKey.from_json(json.loads(body)[REDACTED_MARKER])
    except (ValueError, KeyError, TypeError):
        return None


def _aws_image(image: Any) -> str:
    if not isinstance(image, dict):
        return "missing"
    if "Bytes" in image:
        try:
            return sha256(base64.b64decode(image["Bytes"], validate=True))
        except (binascii.Error, ValueError, TypeError):
            return "undecodable:" + sha256(str(image["Bytes"]).encode())
    if "S3Object" in image:
        s3 = image["S3Object"] or {}
        return "s3:" + sha256(f"{s3.get('Bucket')}/{s3.get('Name')}/{s3.get('Version', '')}".encode())
    return "missing"


def _aws_key(target: str, body: bytes) -> CallKey:
    operation = target.rsplit(".", 1)[-1]
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return CallKey("aws", operation, ("unparsable:" + sha256(body),))
    if not isinstance(payload, dict):
        return CallKey("aws", operation, ("unparsable:" + sha256(body),))
    images = [k for k in ("Image", "SourceImage", "TargetImage") if k in payload]
    digests = tuple(_aws_image(payload[k]) for k in images)
    params = tuple(sorted((k, canonical_param(v)) for k, v in payload.items() if k not in images))
    return CallKey("aws", operation, digests, params)


def _multipart_field(content_type: str, body: bytes, field: str) -> bytes | None:
    if "multipart/" not in content_type.lower():
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def _azure_key(operation: str, request: Any, body: bytes) -> CallKey:
    content_type = _header(request, "Content-Type").lower()
    if operation in ("FaceVerify", "FindSimilars"):
        try:
            payload = json.loads(body)
        except ValueError:
            return CallKey("ms", operation, ("unparsable:" + sha256(body),))
        ids: tuple[str, ...]
        if operation == "FaceVerify":
            ids = (str(payload.get("faceId1")), str(payload.get("faceId2")))
        else:
            ids = (str(payload.get("faceId")), *sorted(str(x) for x in payload.get("faceIds") or []))
        params = tuple(sorted((k, canonical_param(v)) for k, v in payload.items() if k in ("mode",)))
        return CallKey("ms", operation, ids, params)
    if "json" in content_type or body.lstrip().startswith(b'{"url"') or body.lstrip().startswith(b"{\r\n  \"url\""):
        try:
            return CallKey("ms", operation, ("url:" + sha256(str(json.loads(body)["url"]).encode()),))
        except (ValueError, KeyError, TypeError):
            pass
    return CallKey("ms", operation, (sha256(dechunk(body)),))


def aws_key(request: Any, body: bytes) -> CallKey | None:
    """AWS JSON 1.1: the operation is in X-Amz-Target."""
    target = _header(request, "X-Amz-Target")
    return _aws_key(target, body) if target else None


def azure_key(request: Any, body: bytes) -> CallKey | None:
    path = request.path or "/"
    for pattern, operation in _AZURE_OPS:
        if pattern.search(path):
            return _azure_key(operation, request, body)
    return None


def naver_key(request: Any, body: bytes) -> CallKey | None:
    if not _NAVER_PATHS.search(request.path or "/"):
        return None
    image = _multipart_field(_header(request, "Content-Type"), body, "image")
    return CallKey("nav", "Celebrity", (sha256(image) if image is not None else "no-image-field:" + sha256(body),))


def call_key(request: Any) -> CallKey:
    """The key of a vcrpy request (live, recorded, or redacted): the first registered vendor whose
    key rule claims the request (``VendorSpec.cassette_key_ref``)."""
    body = _body_bytes(request)
    stored = _redacted(body)
    if stored is not None:
        return stored
    for spec in registry.specs():
        key = spec.load("cassette_key")(request, body)
        if key is not None:
            return key
    return CallKey("other", f"{request.method} {request.path or '/'}", (sha256(body),))


def vendor_image_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: same vendor, operation, image digests and answer-changing parameters. vcrpy
    passes the request being played first, the recorded one second; the error names each field
    that differs as ``field: request's != recorded's``."""
    k1, k2 = call_key(r1), call_key(r2)
    if k1 != k2:
        raise AssertionError(f"{k1.short()} vs {k2.short()}: " + "; ".join(k1.differences(k2)))

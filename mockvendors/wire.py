"""Protocol-neutral request/response types shared by the vendors' wire modules.

Each vendor package (``mockvendors.aws``, ``.azure``, ``.naver``) implements :class:`WireProtocol`:
a synchronous ``handle(WireRequest) -> WireResponse`` plus the vendor's throttling and server-error
answers. The aiohttp server (:mod:`mockvendors.server`) and the in-process boto3 hook
(:mod:`mockvendors.aws.inprocess`) both call the same ``handle``, so they answer identically.
"""

from __future__ import annotations

import json
import threading
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from multidict import CIMultiDict, CIMultiDictProxy


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    body: bytes

    @classmethod
    def build(cls, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b"",
              query: Mapping[str, str] | str | None = None) -> WireRequest:
        if "?" in path and query is None:
            path, query = path.split("?", 1)
        q = dict(parse_qsl(query, keep_blank_values=True)) if isinstance(query, str) else dict(query or {})
        return cls(method.upper(), path, q, CIMultiDict(headers or {}), body)

    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, content_type: str = "application/json; charset=utf-8",
             headers: Mapping[str, str] | None = None) -> WireResponse:
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return cls(status, json_body(payload), h)

    def payload(self) -> Any:
        return json.loads(self.body)


class WireProtocol(Protocol):
    vendor: str
    max_body_bytes: int  # larger bodies are refused before reading them in full

    def handle(self, request: WireRequest) -> WireResponse: ...

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse: ...

    def server_error(self, request: WireRequest) -> WireResponse:
        """The vendor's 500 for an injected fault (:mod:`mockvendors.faults`)."""
        ...

    def body_too_large(self, request: WireRequest) -> WireResponse: ...

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        """A request the HTTP layer could not parse (bad method token, request line, headers)."""
        ...


def json_body(payload: Any) -> bytes:
    """The compact JSON of an answer, as every vendor's body is encoded."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


# --- answers on the server's event loop ----------------------------------------------------------
class NeedsPool(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a protocol's ``handle`` under :func:`answer_inline` when the answer needs work that must
    stay off the server's event loop (a face model run); the server then calls ``handle`` in its pool."""


_inline = threading.local()


def inline_only() -> bool:
    """True inside :func:`answer_inline` on this thread: ``handle`` must raise :class:`NeedsPool` rather
    than run a face model."""
    return bool(getattr(_inline, "on", False))


def answer_inline(protocol: WireProtocol, request: WireRequest) -> WireResponse | None:
    """``protocol.handle(request)`` when it needs no model run, else None. Only for a protocol whose
    ``answers_inline`` is true (its ``handle`` checks :func:`inline_only`)."""
    _inline.on = True
    try:
        return protocol.handle(request)
    except NeedsPool:
        return None
    finally:
        _inline.on = False


def internal_error(protocol: WireProtocol, request: WireRequest) -> WireResponse:
    """The vendor's 500 for a failure of the mock itself (a bug), never labelled as an injected fault:
    the protocol's ``internal_error`` when it has one (optional, so older protocols still serve)."""
    answer = getattr(protocol, "internal_error", None)
    if answer is None:
        return protocol.server_error(request)
    response: WireResponse = answer(request)
    return response


# --- Content-Encoding ---------------------------------------------------------------------------
class BodyTooLarge(ValueError):
    """The inflated body is larger than the vendor accepts."""


class BodyUndecodable(ValueError):
    """The body does not decode as its Content-Encoding says (not gzip, truncated, unknown coding)."""


def inflate(body: bytes, content_encoding: str, limit: int) -> bytes:
    """``body`` with its ``Content-Encoding`` (gzip, x-gzip, deflate, identity; a list is undone last
    first) undone, never holding more than ``limit + 1`` inflated bytes: a gzip bomb costs the time
    to inflate ``limit`` bytes, then :class:`BodyTooLarge`. A truncated or corrupt stream, trailing
    bytes, or another coding raise :class:`BodyUndecodable`. An empty body is left empty."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity" or not body:
            continue
        if coding in ("gzip", "x-gzip"):
            body = _inflate_stream(body, 16 + zlib.MAX_WBITS, limit, members=True)
        elif coding == "deflate":  # RFC 9110: zlib-wrapped; some clients send raw deflate
            wbits = zlib.MAX_WBITS if body[0] & 0x0F == 8 else -zlib.MAX_WBITS
            body = _inflate_stream(body, wbits, limit, members=False)
        else:
            raise BodyUndecodable(f"unsupported Content-Encoding {coding[:40]!r}")
    if len(body) > limit:
        raise BodyTooLarge(f"the body is over {limit} bytes")
    return body


def _inflate_stream(data: bytes, wbits: int, limit: int, members: bool) -> bytes:
    out = bytearray()
    while True:
        d = zlib.decompressobj(wbits)
        try:
            out += d.decompress(data, limit + 1 - len(out))  # max_length: zlib stops once the cap is passed
        except zlib.error as exc:
            raise BodyUndecodable(f"the body does not inflate ({exc})") from None
        if len(out) > limit:
            raise BodyTooLarge(f"the body inflates to over {limit} bytes")
        if not d.eof:
            raise BodyUndecodable("the compressed body is truncated")
        data = d.unused_data
        if not data:
            return bytes(out)
        if not members:
            raise BodyUndecodable("bytes follow the end of the compressed body")


def request_id() -> str:
    return str(uuid.uuid4())


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (bad UTF-8, bad JSON, not an object)."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None

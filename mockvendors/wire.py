"""Protocol-neutral request/response types shared by the vendors' wire modules.

Each vendor package (``mockvendors.aws``, ``.azure``, ``.naver``) implements :class:`WireProtocol`:
a synchronous ``handle(WireRequest) -> WireResponse`` plus the vendor's throttling and server-error
answers. The aiohttp server (:mod:`mockvendors.server`) and the in-process boto3 hook
(:mod:`mockvendors.aws.inprocess`) both call the same ``handle``, so they answer identically.
"""

from __future__ import annotations

import json
import uuid
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
        return cls(status, json.dumps(payload, separators=(",", ":"), allow_nan=False).encode(), h)

    def payload(self) -> Any:
        return json.loads(self.body)


class WireProtocol(Protocol):
    vendor: str
    max_body_bytes: int  # larger bodies are refused before reading them in full

    def handle(self, request: WireRequest) -> WireResponse: ...

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse: ...

    def server_error(self, request: WireRequest) -> WireResponse: ...

    def body_too_large(self, request: WireRequest) -> WireResponse: ...

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        """A request the HTTP layer could not parse (bad method token, request line, headers)."""
        ...


def request_id() -> str:
    return str(uuid.uuid4())


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (bad UTF-8, bad JSON, not an object)."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None

"""Integrity of recorded answers: a digest per interaction, written when the cassette is saved and
checked on load (both by :class:`harness.cassettes.persister.VerifyingPersister`).

The digest (``dfi_sha256`` in each interaction's ``response`` mapping: vcrpy keeps unknown keys of
a response and ignores them on replay) covers the request (method, URI, headers, body: the call
key) and the response's status, headers and body, as stored.
Cassettes without digests (the committed ones, those written by older dfi) still replay; they are
listed as ``none`` by ``dfi cassettes list``.

On load (:func:`verify`), before any answer is replayed:

- a digest that does not match is an error naming the cassette and the interaction;
- every 2xx recognition answer is read by the vendor's one parser (``VendorSpec.parse_ref``) and
  its confidences must be numbers within the vendor's scale (a NaN is an error, not a score);
- two different final answers to the same call (same vendor key) are an error naming both
  (retries are not conflicts: throttles and 5xx before the final answer are how a call was answered).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.cassettes.errors import CorruptCassetteError
from harness.cassettes.keys import CallKey, call_key
from harness.cassettes.wording import one_line
from harness.vendors import registry

DIGEST_FIELD = "dfi_sha256"


def _body(response: dict[str, Any]) -> Any:
    body = response.get("body")
    return body.get("string") if isinstance(body, dict) else body


def _body_bytes(value: Any) -> bytes | None:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return None


def _headers(headers: Any) -> Any:
    if not isinstance(headers, dict):
        return repr(headers)
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in sorted(headers.items(),
                                                                                          key=lambda kv: str(kv[0]))}


def _request_part(request: Any) -> Any:
    d = request._to_dict() if hasattr(request, "_to_dict") else request
    if not isinstance(d, dict):
        return repr(d)
    body = _body_bytes(d.get("body"))
    return {"method": d.get("method"), "uri": d.get("uri"), "headers": _headers(d.get("headers") or {}),
            "body": hashlib.sha256(body).hexdigest() if body is not None else repr(d.get("body"))}


def interaction_digest(request: Any, response: dict[str, Any]) -> str:
    """sha256 of a request (vcrpy Request or its dict) and its response (status, headers, body), in a
    form that survives the YAML round trip; the digest field itself is not part of it."""
    body = _body_bytes(_body(response))
    canonical = {
        "request": _request_part(request),
        "status": response.get("status"),
        "headers": _headers(response.get("headers")),
        "body": hashlib.sha256(body).hexdigest() if body is not None else repr(_body(response)),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=repr).encode()).hexdigest()


def stamp(requests: Sequence[Any], responses: Sequence[dict[str, Any]]) -> None:
    """Store each interaction's digest in its response (``dfi_sha256``), as it is about to be written."""
    for request, response in zip(requests, responses):
        if isinstance(response, dict):
            response[DIGEST_FIELD] = interaction_digest(request, response)


def status_code(response: dict[str, Any]) -> int:
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else status
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"status code {code!r} is not an integer")
    return code


def is_retry(response: dict[str, Any]) -> bool:
    """A throttle or server failure: an attempt the client retried, not the call's final answer."""
    code = status_code(response)
    if code == 429 or code >= 500:
        return True
    if code == 400:  # AWS sends throttling as HTTP 400 with a __type
        body = _body_bytes(_body(response)) or b""
        return b"Throttling" in body or b"ProvisionedThroughputExceeded" in body
    return False


def check_structure(path: str, i: int, request: Any, response: Any) -> None:
    """The fields vcrpy and the clients read have the types they expect."""
    def bad(what: str) -> CorruptCassetteError:
        return CorruptCassetteError(path, f"interaction {i}: {what}")

    if not isinstance(request, dict) or not isinstance(response, dict):
        raise bad("lacks a request or response")
    missing = [k for k in ("method", "uri") if k not in request] + [k for k in ("status", "body") if k not in response]
    if missing:
        raise bad(f"lacks {', '.join(missing)}")
    for field in ("method", "uri"):
        if not isinstance(request[field], str):
            raise bad(f"request {field} is {type(request[field]).__name__}, not text")
    if not isinstance(request.get("body"), (str, bytes, type(None))):
        raise bad(f"request body is {type(request.get('body')).__name__}, not text")
    for side, value in (("request", request), ("response", response)):
        headers = value.get("headers")
        if headers is not None and not isinstance(headers, dict):
            raise bad(f"{side} headers are {type(headers).__name__}, not a mapping")
        for k, v in (headers or {}).items():
            if not all(isinstance(x, (str, bytes, int, float)) for x in (v if isinstance(v, list) else [v])):
                raise bad(f"{side} header {k!r} is not text")
    status = response["status"]
    if not isinstance(status, dict) or "code" not in status:
        raise bad("response status has no code")
    try:
        status_code(response)
    except TypeError as exc:
        raise bad(f"response {exc}") from None
    body = response["body"]
    if not isinstance(body, dict) or not isinstance(body.get("string"), (str, bytes, type(None))):
        raise bad("response body has no 'string' text")


@dataclass(frozen=True)
class IntegritySummary:
    interactions: int
    digests: int

    @property
    def label(self) -> str:
        if self.interactions and self.digests == self.interactions:
            return "sha256"
        return "none (older dfi)" if not self.digests else f"partial ({self.digests}/{self.interactions})"


def _keys(requests: Sequence[Any]) -> list[CallKey]:
    return [call_key(r) for r in requests]


def _check_answer(path: str, i: int, key: CallKey, response: dict[str, Any]) -> None:
    """A 2xx recognition answer as the vendor's own parser reads it, with sane confidences."""
    if key.vendor not in registry.names():
        return
    spec = registry.get(key.vendor)
    if key.operation not in spec.recognize_operations or not 200 <= status_code(response) < 300:
        return
    where = f"interaction {i} ({key.short()})"
    try:
        body = json.loads(_body_bytes(_body(response)) or b"")
        recognition = spec.load("parse")(key.operation, body, None)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise CorruptCassetteError(path, f"{where}: not a {spec.display_name} {key.operation} answer "
                                         f"({one_line(exc)})") from None
    for face in recognition.faces:
        if face.name is not None and not face.name.strip():
            raise CorruptCassetteError(path, f"{where}: a face is named by an empty string")
        for what, value, top in (("confidence", face.confidence, 100.0), ("raw confidence", face.raw_confidence,
                                                                          spec.scale)):
            if not (math.isfinite(value) and 0.0 <= value <= top):
                raise CorruptCassetteError(path, f"{where}: {what} {value!r} of {face.name or 'a face'} "
                                                 f"is not a number in 0-{top:g}")


def _answer(response: dict[str, Any]) -> Any:
    return response.get("status"), _body_bytes(_body(response))


def verify(path: str, requests: Sequence[Any], responses: Sequence[dict[str, Any]]) -> IntegritySummary:
    """Check digests, recognition answers and conflicting duplicates of loaded interactions
    (vcrpy Requests and response dicts); raises :class:`CorruptCassetteError`."""
    digests = 0
    for i, response in enumerate(responses):
        stored = response.get(DIGEST_FIELD)
        if stored is None:
            continue
        digests += 1
        if stored != interaction_digest(requests[i], response):
            raise CorruptCassetteError(path, f"interaction {i}: the interaction was altered after it was recorded "
                                             f"(its {DIGEST_FIELD} digest does not match)")
    keys = _keys(requests)
    final: dict[tuple[str, CallKey], int] = {}
    for i, (request, key, response) in enumerate(zip(requests, keys, responses)):
        _check_answer(path, i, key, response)
        if key.vendor == "other" or is_retry(response):
            continue
        slot = (str(request.method), key)
        first = final.setdefault(slot, i)
        if first != i and _answer(responses[first]) != _answer(response):
            raise CorruptCassetteError(path, f"interactions {first} and {i} record different answers to the same "
                                             f"call {key.short()}")
    return IntegritySummary(len(responses), digests)

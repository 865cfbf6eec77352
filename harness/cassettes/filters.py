"""Filters run on every interaction before it is recorded (and on every request before matching).

Requests lose every credential-like header and query parameter (:func:`harness.cassettes.secrets.is_credential_name`),
SigV4 material and URL user info; their image bodies are replaced by the compact call key (vendor,
operation, sha256 of each image), so cassettes stay small, never hold a copy of someone's photo,
and still match. Responses lose cookies, apim/subscription ids and credential-like headers. Every
remaining header value, URI and body (request and response) is scrubbed of the credentials the
recording process knows, in any spelling (:func:`harness.cassettes.secrets.scrub`): a server that
echoes the key it received back in its answer does not get it written to disk.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness.cassettes import secrets
from harness.cassettes.keys import REDACTED_MARKER, body_bytes, call_key


def _secret_header(name: str) -> bool:
    return secrets.is_credential_name(name)


def _secret_param(name: str) -> bool:
    return secrets.is_credential_name(name, query=True)


def strip_query_secrets(uri: str) -> str:
    parts = urlsplit(uri)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # user:password@host
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment)) if netloc != parts.netloc else uri
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret_param(k)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept, safe=",:"), parts.fragment))


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _materialise_body(request: Any) -> None:
    """A streamed body (file-like or iterator: vcrpy keeps its chunks and hands out a fresh
    iterator per read) becomes plain bytes, so it can be keyed, replaced and written as YAML."""
    body = request.body
    if body is None or isinstance(body, (bytes, str)):
        return
    data = body_bytes(body)
    for flag in ("_was_file", "_was_iter"):  # vcrpy's Request: "give the body back as a stream"
        if hasattr(request, flag):
            setattr(request, flag, False)
    request.body = data


def redact_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: vcrpy hands us a copy; change it in place and return it."""
    for name in list(request.headers.keys()):
        if _secret_header(name):
            del request.headers[name]
        else:  # botocore sends bytes; store readable text
            request.headers[name] = secrets.scrub(_text(request.headers[name]))
    request.uri = secrets.scrub(strip_query_secrets(request.uri))
    _materialise_body(request)
    key = call_key(request)
    if key.vendor != "other":
        request.body = json.dumps({REDACTED_MARKER: key.as_json()}, sort_keys=True).encode()
        for name in list(request.headers.keys()):
            if name.lower() in ("content-length", "transfer-encoding"):
                del request.headers[name]
            elif name.lower() == "content-type":  # the multipart boundary of a body no longer there
                request.headers[name] = re.sub(r"boundary=[^;\s]+", "boundary=redacted", _text(request.headers[name]))
    elif isinstance(request.body, bytes):
        request.body = secrets.scrub_bytes(request.body)
    return request


def redact_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: drop credential-like headers (cookies, apim ids) and scrub
    every credential the process knows out of the remaining headers and the body."""
    headers = response.get("headers") or {}
    for name in list(headers.keys()):
        if _secret_header(name):
            del headers[name]
        else:
            value = headers[name]
            headers[name] = [secrets.scrub(_text(v)) for v in value] if isinstance(value, list) else secrets.scrub(
                _text(value))
    body = response.get("body")
    if isinstance(body, dict) and isinstance(body.get("string"), (bytes, str)):
        before = body["string"]
        after = secrets.scrub_bytes(before) if isinstance(before, bytes) else secrets.scrub(before)
        if after != before:
            body["string"] = after
            for name in list(headers.keys()):
                if name.lower() == "content-length":
                    size = len(after if isinstance(after, bytes) else after.encode())
                    headers[name] = [str(size)] if isinstance(headers[name], list) else str(size)
    return response

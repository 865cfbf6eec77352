"""Filters run on every interaction before it is recorded (and on every request before matching).

Requests lose credential headers, SigV4 material, subscription/apim ids and secret query
parameters; their image bodies are replaced by the compact call key (vendor, operation, sha256 of
each image), so cassettes stay small, never hold a copy of someone's photo, and still match.
Responses lose apim/subscription ids and cookies.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness.cassettes.keys import REDACTED_MARKER, body_bytes, call_key

SECRET_REQUEST_HEADERS = frozenset(h.lower() for h in (
    "Authorization", "Proxy-Authorization", "Cookie",
    "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256", "X-Amz-Credential", "X-Amz-Signature",
    "amz-sdk-invocation-id",
    "User-Agent",  # names the recording machine's OS, kernel and Python build; not needed to replay
    "Ocp-Apim-Subscription-Key", "Ocp-Apim-Subscription-Region",
    "X-Naver-Client-Id", "X-Naver-Client-Secret",
    "X-NCP-APIGW-API-KEY-ID", "X-NCP-APIGW-API-KEY", "X-NCP-IAM-ACCESS-KEY", "X-NCP-APIGW-SIGNATURE-V2",
    "X-NCP-APIGW-TIMESTAMP",
))
SECRET_RESPONSE_HEADERS = frozenset(h.lower() for h in ("Set-Cookie", "apim-request-id"))
# any header whose name contains one of these is dropped too (both directions)
SECRET_NAME_PARTS = ("apim", "subscription", "secret", "signature", "api-key", "apikey", "token", "credential")

SECRET_QUERY_PARAMS = frozenset(p.lower() for p in (
    "subscription-key", "subscription_key", "api-key", "api_key", "apikey", "key", "code", "sig", "signature",
    "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "X-Amz-Date", "AWSAccessKeyId",
    "access_token", "token", "client_secret", "client_id", "secret", "password",
))


def _secret_header(name: str, explicit: frozenset[str]) -> bool:
    low = name.lower()
    return low in explicit or any(part in low for part in SECRET_NAME_PARTS)


def _secret_param(name: str) -> bool:
    low = name.lower()
    return low in SECRET_QUERY_PARAMS or any(part in low for part in SECRET_NAME_PARTS)


def strip_query_secrets(uri: str) -> str:
    parts = urlsplit(uri)
    if not parts.query:
        return uri
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret_param(k)]
    netloc = parts.netloc.rsplit("@", 1)[-1]  # user:password@host
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept, safe=",:"), parts.fragment))


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
        if _secret_header(name, SECRET_REQUEST_HEADERS):
            del request.headers[name]
        elif isinstance(request.headers[name], bytes):  # botocore sends bytes; store readable text
            request.headers[name] = request.headers[name].decode("latin-1")
    request.uri = strip_query_secrets(request.uri)
    _materialise_body(request)
    key = call_key(request)
    if key.vendor != "other":
        request.body = json.dumps({REDACTED_MARKER: key.as_json()}, sort_keys=True).encode()
        for name in list(request.headers.keys()):
            if name.lower() in ("content-length", "transfer-encoding"):
                del request.headers[name]
            elif name.lower() == "content-type":  # the multipart boundary of a body no longer there
                value = request.headers[name]
                value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                request.headers[name] = re.sub(r"boundary=[^;\s]+", "boundary=redacted", value)
    return request


def redact_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: drop apim/subscription ids and cookies from the headers."""
    headers = response.get("headers") or {}
    for name in list(headers.keys()):
        if _secret_header(name, SECRET_RESPONSE_HEADERS):
            del headers[name]
    return response



"""Scan cassettes for anything that looks like a credential.

Looks at the parsed interactions (so base64 image lines in YAML are not mistaken for keys): every
header (request and response), the URI, both bodies and the metadata. Each text is read as
written and decoded (URL-encoding, JSON escapes, base64 runs that decode to text), and in each
form the scanner flags:

- a credential-like name with a value: a header, query parameter, URL user info or body field
  (``X-Naver-Client-Secret``, ``X-NCP-APIGW-API-KEY-ID``, ``access_key``, ``"SessionToken": ...``);
- a credential-shaped value anywhere, in any case (:data:`harness.cassettes.secrets.VALUE_PATTERNS`);
- a credential the scanning process knows (the clients' variables), in any spelling.

Knowledge of names and shapes lives in :mod:`harness.cassettes.secrets`. A file that cannot be
parsed is one finding, and its raw text is still scanned, so a broken file cannot hide a key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import yaml

from harness.cassettes import secrets

_FIELD = re.compile(r"""["']?([A-Za-z][A-Za-z0-9_.-]{1,63})["']?\s*[:=]\s*["']?([^\s"'&,;{}\[\]<>]{3,})""")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([\\/\"bfnrt])")
_PLACEHOLDERS = frozenset(("redacted", "[redacted]", "***", "null", "none", "true", "false", "mock", "placeholder"))
_MAX_DEPTH = 2


@dataclass(frozen=True)
class Finding:
    path: str
    where: str  # e.g. "interaction 3 request header Authorization"
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.kind}: {self.excerpt}"


def _mask(s: str) -> str:
    return s[:4] + "..." + s[-2:] if len(s) > 8 else "***"


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return None


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) or m.group(2):
            return chr(int(m.group(1) or m.group(2), 16))
        return {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}.get(m.group(3), m.group(3))

    return _JSON_ESCAPE.sub(one, text)


def decodings(text: str, depth: int = 0) -> Iterator[str]:
    """``text`` and what it says once URL-decoded, JSON-unescaped and base64-decoded (nested twice)."""
    yield text
    if depth >= _MAX_DEPTH:
        return
    seen = {text}
    for decoded in (unquote(text), unquote_plus(text), _unescape(text)):
        if decoded not in seen:
            seen.add(decoded)
            yield from decodings(decoded, depth + 1)
    for m in secrets._B64_RUN.finditer(text):
        inner = secrets._decoded(m.group(0))
        if inner is not None and inner not in seen:
            seen.add(inner)
            yield from decodings(inner, depth + 1)


def _named_values(text: str) -> Iterator[tuple[str, str]]:
    for m in _FIELD.finditer(text):
        name, value = m.group(1), m.group(2)
        if secrets.is_credential_name(name) and value.lower() not in _PLACEHOLDERS:
            yield name, value


def scan_text(text: str, names: bool = True) -> Iterator[tuple[str, str]]:
    """``(kind, masked excerpt)`` for every credential in ``text`` or in one of its decodings."""
    known = secrets.known_values(remembered=False)
    for form in decodings(text):
        for kind, found in secrets.find_shapes(form):
            yield kind, _mask(found)
        if names:
            for name, value in _named_values(form):
                yield f"credential field {name}", _mask(value)
        for value in secrets.contains_known(form, known):
            yield "credential in use (from the environment)", _mask(value)


def _headers(h: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(h, dict):
        return []
    out = []
    for k, v in h.items():
        for item in v if isinstance(v, list) else [v]:
            text = _text(item)
            out.append((str(k), text if text is not None else str(item)))
    return out


def _uri_findings(uri: str) -> Iterator[tuple[str, str]]:
    try:
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return
    if "@" in parts.netloc:
        yield "credentials in the URL", _mask(parts.netloc.rsplit("@", 1)[0])
    for name, value in query:
        if secrets.is_credential_name(name, query=True) and value.lower() not in _PLACEHOLDERS:
            yield f"credential query parameter {name}", _mask(value)
    yield from scan_text(uri, names=False)


def _json_fields(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and secrets.is_credential_name(str(k)):
                if str(v).strip() and str(v).lower() not in _PLACEHOLDERS:
                    yield f"credential field {k}", _mask(str(v))
            yield from _json_fields(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_fields(v)


def _body_findings(text: str) -> Iterator[tuple[str, str]]:
    try:
        yield from _json_fields(json.loads(text))
    except (ValueError, RecursionError):
        pass
    yield from scan_text(text)


def _interaction(path: str, i: int, inter: Any) -> Iterator[Finding]:
    if not isinstance(inter, dict):
        for kind, excerpt in scan_text(str(inter)):
            yield Finding(path, f"interaction {i}", kind, excerpt)
        return
    request: dict[str, Any] = inter["request"] if isinstance(inter.get("request"), dict) else {}
    response: dict[str, Any] = inter["response"] if isinstance(inter.get("response"), dict) else {}
    for side, headers in (("request", request.get("headers")), ("response", response.get("headers"))):
        for name, value in _headers(headers):
            where = f"interaction {i} {side} header {name}"
            if name.lower() in secrets.FORBIDDEN_HEADERS or (
                secrets.is_credential_name(name) and name.lower() not in secrets.CREDENTIAL_HEADERS
            ):
                yield Finding(path, where, "credential header recorded", _mask(value or ""))
            for kind, excerpt in scan_text(value or ""):
                yield Finding(path, where, kind, excerpt)
    for kind, excerpt in _uri_findings(str(request.get("uri", ""))):
        yield Finding(path, f"interaction {i} request uri", kind, excerpt)
    rbody = response.get("body")
    for where, body in (("request body", request.get("body")),
                        ("response body", rbody.get("string") if isinstance(rbody, dict) else rbody)):
        text = _text(body)
        if text:
            for kind, excerpt in _body_findings(text):
                yield Finding(path, f"interaction {i} {where}", kind, excerpt)
    rest = {k: v for k, v in inter.items() if k not in ("request", "response")}
    if rest:
        for kind, excerpt in scan_text(str(rest)):
            yield Finding(path, f"interaction {i}", kind, excerpt)


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def scan_cassette_data(data: Any, path: str) -> list[Finding]:
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        found = [Finding(path, "file", kind, ex) for kind, ex in scan_text(str(data))] if data is not None else []
        return _unique(found + [Finding(path, "file", "not a vcrpy cassette", "no interactions list")])
    findings: list[Finding] = []
    for i, inter in enumerate(interactions):
        findings += _interaction(path, i, inter)
    metadata = data.get("metadata")
    if metadata:
        for kind, excerpt in scan_text(str(metadata)):
            findings.append(Finding(path, "metadata", kind, excerpt))
    return _unique(findings)


def scan_file(path: str | Path) -> list[Finding]:
    """Findings in one file; never raises for what the file holds (unreadable: one finding)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Finding(str(path), "file", "unreadable", exc.strerror or str(exc))]
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        # unparsable: still scan the raw text so a broken file cannot hide a key
        text = raw.decode("utf-8", "replace")
        found = [Finding(str(path), "raw text", kind, ex) for kind, ex in scan_text(text)]
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        return _unique(found + [Finding(str(path), "file", "unparsable cassette", reason)])
    try:
        return scan_cassette_data(data, str(path))
    except RecursionError:
        return [Finding(str(path), "file", "unparsable cassette", "nested too deeply")]


def cassette_files(roots: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            out.append(root)
        elif root.is_dir():
            out += sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return out

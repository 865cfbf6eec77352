"""Scan cassettes for anything that looks like a credential.

Looks at the parsed interactions (so base64 image lines in YAML are not mistaken for keys): every
header, URI and text body. Flags AWS access key ids, 32-hex Azure keys, 40-char AWS-style secret
keys, SigV4 signatures and credentials, Bearer/Basic tokens, and any credential header that is
present at all (Authorization, Ocp-Apim-Subscription-Key, X-Naver-Client-*, X-NCP-APIGW-API-KEY*,
X-Amz-Security-Token), whatever its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.cassettes.filters import SECRET_REQUEST_HEADERS

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    ("32-hex key (Azure subscription key shape)", re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{32}(?![0-9A-Fa-f-])")),
    ("SigV4 signature/credential", re.compile(r"(?:Signature=[0-9a-f]{16,}|Credential=[A-Z0-9]{16,}/)", re.I)),
    ("bearer/basic token", re.compile(r"\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}")),
    (
        "40-char secret key",
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=]))(?=[^\s]*[0-9])(?=[^\s]*[a-z])(?=[^\s]*[A-Z])[A-Za-z0-9/+]{40}"
        ),
    ),
    ("private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]
# header names whose mere presence is a finding (values may be masked, the name must not survive)
_FORBIDDEN_HEADERS = SECRET_REQUEST_HEADERS - {
    "amz-sdk-invocation-id",
    "x-amz-date",
    "x-amz-content-sha256",
    "cookie",
    "user-agent",
}


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
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        return value
    return None


def scan_text(text: str) -> Iterator[tuple[str, str]]:
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            yield kind, _mask(m.group(0))


def _headers(h: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(h, dict):
        return []
    out = []
    for k, v in h.items():
        for item in v if isinstance(v, list) else [v]:
            out.append((str(k), str(item)))
    return out


def scan_cassette_data(data: Any, path: str) -> list[Finding]:
    findings: list[Finding] = []
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        return [Finding(path, "file", "not a vcrpy cassette", "no interactions list")]
    for i, inter in enumerate(interactions):
        request = (inter or {}).get("request") or {}
        response = (inter or {}).get("response") or {}
        for side, headers in (("request", request.get("headers")), ("response", response.get("headers"))):
            for name, value in _headers(headers):
                where = f"interaction {i} {side} header {name}"
                if side == "request" and name.lower() in _FORBIDDEN_HEADERS:
                    findings.append(Finding(path, where, "credential header recorded", _mask(value)))
                for kind, excerpt in scan_text(value):
                    findings.append(Finding(path, where, kind, excerpt))
        for kind, excerpt in scan_text(str(request.get("uri", ""))):
            findings.append(Finding(path, f"interaction {i} request uri", kind, excerpt))
        bodies = [("request body", request.get("body"))]
        rbody = response.get("body")
        bodies.append(("response body", rbody.get("string") if isinstance(rbody, dict) else rbody))
        for where, body in bodies:
            text = _text(body)
            if text:
                for kind, excerpt in scan_text(text):
                    findings.append(Finding(path, f"interaction {i} {where}", kind, excerpt))
    metadata = data.get("metadata")
    if metadata:
        for kind, excerpt in scan_text(str(metadata)):
            findings.append(Finding(path, "metadata", kind, excerpt))
    return findings


def scan_file(path: str | Path) -> list[Finding]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # unparsable: still scan the raw text so a broken file cannot hide a key
        raw = path.read_bytes().decode("utf-8", "replace")
        found = [Finding(str(path), "raw text", kind, ex) for kind, ex in scan_text(raw)]
        return found + [Finding(str(path), "file", "unparsable cassette", str(exc).splitlines()[0])]
    return scan_cassette_data(data, str(path))


def cassette_files(roots: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            out.append(root)
        elif root.is_dir():
            out += sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return out

"""Convert an Azure .NET SDK session record (``{"Entries": [...], "Names", "Variables"}``) into a
vcrpy cassette.

Each entry has ``RequestUri`` (path and query only), ``RequestMethod``, ``RequestBody`` (base64
for binary uploads, text for JSON), ``RequestHeaders``/``ResponseHeaders`` (name -> list of
values), ``ResponseBody`` (text) and ``StatusCode``. The cassette keeps the responses exactly as
recorded; requests pass through the same filters as a live recording (secrets out, image bodies
reduced to their sha256), so the result can be committed only if its source may be.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from vcr.request import Request

from harness.cassettes.errors import CorruptCassetteError
from harness.cassettes.filters import redact_request, redact_response
from harness.cassettes.integrity import stamp
from harness.cassettes.keys import call_key
from harness.errors import InputFileError

# The .NET recorder stores only the path; this placeholder host says so (the matcher ignores hosts).
RECORDED_HOST = "https://azure-sdk-session-record.invalid"


@dataclass
class ImportReport:
    interactions: int = 0
    vendors: set[str] = field(default_factory=set)
    operations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _content_type(headers: dict[str, list[str]]) -> str:
    for k, v in headers.items():
        if k.lower() == "content-type":
            return (v[0] if v else "").lower()
    return ""


def _request_body(entry: dict[str, Any], index: int, report: ImportReport) -> bytes:
    raw = entry.get("RequestBody")
    if raw in (None, ""):
        return b""
    if not isinstance(raw, str):
        raise ValueError(f"entry {index}: RequestBody is not a string")
    ctype = _content_type(entry.get("RequestHeaders") or {})
    if "octet-stream" in ctype or ctype.startswith("image/"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            report.warnings.append(
                f"entry {index}: the binary request body is not base64 ({raw[:40]!r}...); "
                "this call cannot be matched by its image"
            )
            # keyed by its entry too: two placeholders of different images are not one call
            return raw.encode("utf-8") + f"\0entry {index}".encode()
    return raw.encode("utf-8")


def _headers(h: Any) -> dict[str, list[str]]:
    if not h:
        return {}
    if not isinstance(h, dict):
        raise ValueError("headers are not an object")
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in h.items()}


def convert_session_record(data: dict[str, Any], source_name: str) -> tuple[dict[str, Any], ImportReport]:
    """The vcrpy cassette dict (``version``, ``interactions``, ``metadata``) for a parsed session record."""
    entries = data.get("Entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no 'Entries' list: not an Azure SDK session record")
    report = ImportReport()
    interactions = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"entry {i} is not an object")
        for required in ("RequestUri", "RequestMethod", "StatusCode"):
            if required not in entry:
                raise ValueError(f"entry {i} has no {required}")
        req_headers = _headers(entry.get("RequestHeaders"))
        request = Request(
            method=str(entry["RequestMethod"]).upper(),
            uri=RECORDED_HOST + str(entry["RequestUri"]),
            body=_request_body(entry, i, report),
            headers={k: v for k, v in req_headers.items()},
        )
        request = redact_request(request)
        status = int(entry["StatusCode"])
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        body = entry.get("ResponseBody")
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
        response = redact_response({
            "status": {"code": status, "message": reason},
            "headers": _headers(entry.get("ResponseHeaders")),
            "body": {"string": (body or "")},
        })
        key = call_key(request)
        report.vendors.add(key.vendor)
        report.operations.append(key.operation)
        stamp([request], [response])
        interactions.append({"request": request._to_dict(), "response": response})
    report.interactions = len(interactions)
    metadata = {
        "provenance": "real",
        "source": f"Azure SDK session record {source_name} (Entries[] format), converted by dfi cassettes import-azure",
        "vendor": ",".join(sorted(report.vendors)),
    }
    if data.get("_excerpt_note"):
        metadata["note"] = str(data["_excerpt_note"])
    return {"version": 1, "interactions": interactions, "metadata": metadata}, report


def import_azure_session(src: str | Path, out: str | Path) -> ImportReport:
    """Read ``src`` (session-record JSON) and write the vcrpy cassette ``out`` (YAML)."""
    import yaml

    src, out = Path(src), Path(out)
    try:
        data = json.loads(src.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputFileError(str(src), "no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(str(src), f"not JSON: {exc}") from None
    try:
        cassette, report = convert_session_record(data, src.name)
    except ValueError as exc:
        raise InputFileError(str(src), str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(_unicode(cassette), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return report


def _unicode(cassette: dict[str, Any]) -> dict[str, Any]:
    """vcrpy's serialize step: bodies as text where they decode, so the YAML stays readable."""
    from vcr.serializers import compat

    return {
        **cassette,
        "interactions": [
            {"request": compat.convert_to_unicode(i["request"]), "response": compat.convert_to_unicode(i["response"])}
            for i in cassette["interactions"]
        ],
    }


__all__ = ["convert_session_record", "import_azure_session", "ImportReport", "CorruptCassetteError"]

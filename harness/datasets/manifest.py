"""Dataset manifests: one probe per line, as JSON Lines (``.jsonl``) or CSV (``.csv``).

Fields (JSON Lines: lists for the plural fields; CSV: ``|``-joined strings):

==============  ========  ==================================================================
probe_id        required  unique within the manifest
dataset         optional  dataset name (default: the manifest file's stem)
method          required  replacement | reenactment | synthesis | unknown
deepfake        required  image reference of the deepfake (see harness.datasets.images)
target          required  label of the impersonated celebrity (synthesis: first source)
target_images   optional  real image(s) of the target; synthesis: the two sources' images
references      optional  label(s) of the reference identities (synthesis: both sources)
==============  ========  ==================================================================

Relative paths are relative to the manifest's folder. A row whose files are missing is kept as a
probe with ``error`` set (it becomes an error row in the results); a row that is malformed
(missing field, unknown method, duplicate id) is an :class:`InputFileError` naming row and column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from harness.datasets.images import parse_ref
from harness.datasets.probe import METHODS, Probe
from harness.errors import InputFileError, read_utf8

REQUIRED = ("probe_id", "method", "deepfake", "target")
FIELDS = ("probe_id", "dataset", "method", "deepfake", "target", "target_images", "references")


def _split(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v))
    return tuple(v for v in str(value).split("|") if v)


def _resolve(ref: str, root: Path) -> str:
    path, sep, frag = ref.partition("#")
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = root / p
    return str(p) + sep + frag


def _missing(refs: Iterable[str]) -> list[str]:
    return [Path(r.split("#", 1)[0]).name for r in refs if not parse_ref(r).path.is_file()]


def read_manifest(path: str | Path) -> list[Probe]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "manifest not found")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        records = _read_jsonl(path)
    elif suffix == ".csv":
        records = _read_csv(path)
    else:
        raise InputFileError(str(path), "a manifest must be .jsonl or .csv")
    root = path.parent
    probes: list[Probe] = []
    seen: set[str] = set()
    for row, rec in records:
        for col in REQUIRED:
            if not str(rec.get(col) or "").strip():
                raise InputFileError(str(path), "required field is empty or absent", row=row, column=col)
        pid = str(rec["probe_id"])
        if pid in seen:
            raise InputFileError(str(path), f"duplicate probe_id {pid!r}", row=row, column="probe_id")
        seen.add(pid)
        method = str(rec["method"])
        if method not in METHODS:
            raise InputFileError(str(path), f"unknown method {method!r} (one of {', '.join(METHODS)})",
                                 row=row, column="method")
        deepfake = _resolve(str(rec["deepfake"]), root)
        targets = tuple(_resolve(r, root) for r in _split(rec.get("target_images")))
        missing = _missing((deepfake, *targets))
        probes.append(Probe(
            probe_id=pid,
            dataset=str(rec.get("dataset") or path.stem),
            method=method,
            deepfake=deepfake,
            target=str(rec["target"]),
            target_images=targets,
            references=_split(rec.get("references")),
            error=f"missing_file: {', '.join(missing)} not found" if missing else "",
        ))
    return probes


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    out = []
    for i, line in enumerate(read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(str(path), f"not valid JSON: {exc.msg}", row=i) from None
        if not isinstance(rec, dict):
            raise InputFileError(str(path), "each line must be a JSON object", row=i)
        out.append((i, rec))
    return out


def _read_csv(path: Path) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(read_utf8(path), newline=""))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFileError(str(path), "missing column(s) in the header", row=1, column=missing[0])
    return [(i, rec) for i, rec in enumerate(reader, start=2)]


def write_manifest(probes: Iterable[Probe], path: str | Path, *, relative_to: Path | None = None) -> Path:
    """Write probes as JSON Lines or CSV (by suffix); paths relative to ``relative_to`` if given."""
    path = Path(path)
    root = relative_to or path.parent

    def rel(ref: str) -> str:
        p, sep, frag = ref.partition("#")
        try:
            p = str(Path(p).relative_to(root))
        except ValueError:
            pass
        return p + sep + frag

    rows = [{
        "probe_id": p.probe_id, "dataset": p.dataset, "method": p.method, "deepfake": rel(p.deepfake),
        "target": p.target, "target_images": [rel(r) for r in p.target_images],
        "references": list(p.references),
    } for p in probes]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".csv":
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            for r in rows:
                w.writerow({**r, "target_images": "|".join(r["target_images"]),
                            "references": "|".join(r["references"])})
    else:
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path

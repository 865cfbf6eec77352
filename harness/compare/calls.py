"""Per-call comparison: for every recorded call whose image is available locally, run the mock
on the same image and compare (name agreement, confidence difference, face box IoU).

Recorded calls come from cassettes (any provenance) and from the Azure SDK session records
(converted on the fly). Images are found by sha256 in the given folders; calls whose image is
not there (documentation examples, excerpts without bodies) are counted as skipped.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vcr.request import Request

from harness.cassettes.backend import read_cassette_file
from harness.cassettes.keys import call_key, sha256
from harness.vendors import registry

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class RecordedFace:
    name: str | None
    confidence: float | None  # 0-100
    box: tuple[float, float, float, float] | None  # x1, y1, x2, y2 pixels


@dataclass
class CallComparison:
    source: str  # cassette file
    provenance: str
    vendor: str
    operation: str
    image: str
    recorded_name: str | None
    mock_name: str | None
    name_agrees: bool | None  # None for FaceDetect (no names)
    recorded_conf: float | None
    mock_conf: float | None
    conf_difference: float | None  # mock - recorded, 0-100
    box_iou: float | None
    mock_faces: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def image_index(folders: Iterable[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
                out.setdefault(sha256(p.read_bytes()), p)
    return out


def _rect(d: dict[str, Any]) -> tuple[float, float, float, float]:
    return (float(d["left"]), float(d["top"]), float(d["left"] + d["width"]), float(d["top"] + d["height"]))


def recorded_faces(vendor: str, operation: str, body: Any, size: tuple[int, int] | None) -> list[RecordedFace]:
    """The faces of a recorded answer, parsed by the vendor's one response parser (the same the
    clients use: ``VendorSpec.parse_ref``)."""
    rec = registry.get(vendor).load("parse")(operation, body, size)
    return [RecordedFace(f.name, f.confidence if f.name else None, f.box) for f in rec.faces]


def _box(b: tuple[float, ...] | list[float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in b)
    return (x1, y1, x2, y2)


def _recognize_operations() -> dict[str, str]:
    return {op: s.name for s in registry.specs() for op in s.recognize_operations}


def recorded_calls(cassettes: Sequence[Path], provenance_of: dict[Path, str] | None = None,
                   ) -> Iterable[tuple[Path, str, str, str, str, int, Any]]:
    """(cassette, provenance, vendor, operation, digest, status, parsed body) of every recognize/detect call."""
    for path in cassettes:
        data = read_cassette_file(path)
        provenance = (provenance_of or {}).get(path) or str((data.get("metadata") or {}).get("provenance", "unknown"))
        for inter in data["interactions"]:
            key = call_key(Request._from_dict(inter["request"]))
            if key.operation not in _recognize_operations() or not key.digests:
                continue
            body = inter["response"]["body"].get("string", "")
            body = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            status = int(inter["response"]["status"]["code"])
            try:
                parsed = json.loads(body) if status < 300 else None
            except ValueError:
                parsed = None
            yield path, provenance, key.vendor, key.operation, key.digests[0], status, parsed


def azure_recordings_as_cassettes(shared: Path, out_dir: Path) -> list[Path]:
    """The real Azure recordings in ``shared/vendor-recordings/azure``: .NET session records
    converted, the Python SDK cassettes as they are."""
    from harness.cassettes.azure_import import import_azure_session

    root = shared / "vendor-recordings" / "azure"
    out = []
    for src in sorted((root / "azure-sdk-for-net").rglob("*.json")):
        dst = out_dir / (src.stem + ".yaml")
        import_azure_session(src, dst)
        out.append(dst)
    out += sorted((root / "azure-sdk-for-python").glob("*.yaml"))
    return out


def compare_calls(cassettes: Sequence[Path], images: dict[str, Path], mock_for,  # noqa: ANN001
                  provenance_of: dict[Path, str] | None = None) -> tuple[list[CallComparison], int]:
    """``mock_for(vendor)`` returns a mock behaviour (``mockvendors.behaviour.MockVendorBehaviour``).
    Returns the comparisons and the number of calls skipped because the image is not available."""
    from harness.clients.imagesize import image_size

    rows, skipped = [], 0
    for path, provenance, vendor, operation, digest, _status, body in recorded_calls(cassettes, provenance_of):
        image_path = images.get(digest)
        if image_path is None or body is None:
            skipped += 1
            continue
        data = image_path.read_bytes()
        rec = recorded_faces(vendor, operation, body, image_size(data))
        beh = mock_for(vendor)
        scale = 100.0 / beh.profile.scale
        try:
            result = beh.recognize(data)
        except Exception as exc:  # noqa: BLE001 - a mock failure is reported in the row
            rows.append(CallComparison(str(path), provenance, vendor, operation, image_path.name, None, None, None,
                                       None, None, None, None, error=f"{type(exc).__name__}: {exc}"))
            continue
        mock_named = [m for m in result.faces if m.named]
        mock_best = max(mock_named, key=lambda m: m.confidence, default=None)
        rec_named = [f for f in rec if f.name]
        rec_best = max(rec_named, key=lambda f: f.confidence or 0.0, default=None)
        rec_face = rec_best or (rec[0] if rec else None)
        box_iou = None
        if rec_face is not None and rec_face.box is not None and result.faces:
            box_iou = max(iou(rec_face.box, _box(m.face.box)) for m in result.faces)
        rec_name = rec_best.name if rec_best else None
        mock_name = mock_best.best.name if mock_best else None
        rec_conf = rec_best.confidence if rec_best else None
        mock_conf = float(mock_best.confidence) * scale if mock_best else None
        rows.append(CallComparison(
            str(path), provenance, vendor, operation, image_path.name, rec_name, mock_name,
            None if operation == "FaceDetect" else (rec_name == mock_name),
            rec_conf, mock_conf,
            (mock_conf - rec_conf) if (rec_conf is not None and mock_conf is not None) else None,
            box_iou, len(result.faces),
        ))
    return rows, skipped


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dfi-compare-"))

"""Where imported detectors live: ``<cache>/detectors/imported/<name>/{model.onnx, detector.yaml}``.

``detector.yaml`` is an ordinary detector spec file (:func:`harness.detectors.load_detector_specs`
reads it: ``detectors: [{name, model: model.onnx, input_size, mean, std, ...}]``) whose ``extra``
mapping is the import record: where the weights came from, the checkpoint's sha256, the exporter and
the verification (max abs difference between the PyTorch forward and the ONNX model through the
harness's own preprocessing). The registry reads these files on every name look-up
(:func:`harness.detectors.registry.get_detector_spec` and friends), so a detector imported in one
process is found by every later one (``dfi defend --detector NAME``, ``dfi bench --model NAME``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from harness.detectors.imported.errors import ImportDetectorError
from harness.detectors.locations import MODEL_FILE, SPEC_FILE, imported_root
from harness.detectors.locations import imported_spec_files as spec_files
from harness.detectors.spec import DetectorSpec
from harness.paths import write_atomic

__all__ = ["MODEL_FILE", "SPEC_FILE", "check_name", "detector_folder", "imported_root", "remove", "save",
           "spec_files", "spec_mapping"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def detector_folder(name: str) -> Path:
    return imported_root() / name


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ImportDetectorError(f"detector name {name!r}: use letters, digits, '_', '.', '-' (up to 64), "
                                  "starting with a letter or digit")
    return name


def spec_mapping(spec: DetectorSpec) -> dict[str, Any]:
    """A spec as the plain mapping its YAML file holds (``model`` relative to the file)."""
    out: dict[str, Any] = {}
    for f in fields(DetectorSpec):
        value = getattr(spec, f.name)
        if f.name == "model":
            value = MODEL_FILE
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = _plain(value)
        out[f.name] = value
    return out


def _plain(value: Any) -> Any:
    """numpy scalars and tuples in a record as YAML-safe Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def save(spec: DetectorSpec, onnx_file: Path, *, replace: bool) -> Path:
    """Move ``onnx_file`` into the detector's folder and write its spec beside it; the spec file
    (what the registry reads) is written last, so an interrupted import leaves no half detector."""
    folder = detector_folder(check_name(spec.name))
    spec_path = folder / SPEC_FILE
    if spec_path.exists() and not replace:
        raise ImportDetectorError(f"a detector named {spec.name!r} is already imported ({folder}); "
                                  "pass --replace to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    spec_path.unlink(missing_ok=True)
    shutil.move(str(onnx_file), folder / MODEL_FILE)
    text = yaml.safe_dump({"detectors": [spec_mapping(spec)]}, sort_keys=False, allow_unicode=True)
    write_atomic(spec_path, text)
    return spec_path


def remove(name: str) -> Path:
    folder = detector_folder(check_name(name))
    if not (folder / SPEC_FILE).exists():
        raise ImportDetectorError(f"no imported detector named {name!r} (in {imported_root()})")
    shutil.rmtree(folder)
    return folder

"""Where detectors imported by ``dfi detectors import`` live: ``<cache>/detectors/imported/<name>/``.

A folder holds ``model.onnx`` and ``detector.yaml`` (an ordinary detector spec file). Kept apart
from :mod:`harness.detectors.imported` so the registry can find imports without importing the
importers (which sit above it).
"""

from __future__ import annotations

from pathlib import Path

from harness.paths import cache_dir

SPEC_FILE = "detector.yaml"
MODEL_FILE = "model.onnx"


def imported_root() -> Path:
    return cache_dir() / "detectors" / "imported"


def imported_spec_files() -> list[Path]:
    root = imported_root()
    return sorted(root.glob(f"*/{SPEC_FILE}")) if root.is_dir() else []

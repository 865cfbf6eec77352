"""Datasets: manifests, folder layouts (study samples, Celeb-DF v2) and video frame sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.datasets.celebdf import is_celebdf_layout, read_celebdf
from harness.datasets.images import ImageRefError, load_ref_array, load_ref_bytes, make_ref, parse_ref
from harness.datasets.manifest import read_manifest, write_manifest
from harness.datasets.paper_samples import is_paper_samples_layout, read_paper_samples
from harness.datasets.probe import METHODS, Probe
from harness.datasets.video import sample_frame_indices
from harness.errors import InputFileError

__all__ = [
    "METHODS", "ImageRefError", "Probe", "load_dataset", "load_ref_array", "load_ref_bytes", "make_ref",
    "parse_ref", "read_celebdf", "read_manifest", "read_paper_samples", "sample_frame_indices",
    "write_manifest",
]


def load_dataset(path: str | Path, **options: Any) -> list[Probe]:
    """Read a manifest file or a known folder layout (Celeb-DF v2, the study's samples)."""
    path = Path(path)
    if path.is_file():
        return read_manifest(path)
    if not path.is_dir():
        raise InputFileError(str(path), "dataset not found")
    for name in ("manifest.jsonl", "manifest.csv"):
        if (path / name).is_file():
            return read_manifest(path / name)
    if is_celebdf_layout(path):
        celebdf_keys = ("split", "samples", "run", "labels")
        return read_celebdf(path, **{k: v for k, v in options.items() if k in celebdf_keys})
    if is_paper_samples_layout(path):
        sample_keys = ("pairs", "embedder")
        return read_paper_samples(path, **{k: v for k, v in options.items() if k in sample_keys})
    raise InputFileError(str(path), "unknown dataset layout: expected a manifest (.jsonl/.csv), "
                                    "a Celeb-DF v2 folder or the study's sample folder")

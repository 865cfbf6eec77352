"""Results tables and the study's own recorded files, read through one door.

Commands that measure (``dfi metrics``, ``dfi compare``, ``dfi calibrate``) accept either: a path
that is one of the study's result files, or a folder, is imported on the fly
(:func:`harness.results.paper.import_paper`, with its definitions); anything else is read as a
results table (:func:`harness.results.read_results`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from harness.errors import InputFileError
from harness.results.io import read_results
from harness.results.paper import PAPER_FILES, import_paper


def is_study_path(path: Path) -> bool:
    return path.is_dir() or path.name in PAPER_FILES


def read_tables(paths: Sequence[Path], what: str = "tables", zero_similarity: str = "missing") -> pd.DataFrame:
    """One results table from results files and/or the study's files and folders."""
    paths = [Path(p) for p in paths]
    study = [p for p in paths if is_study_path(p)]
    tables = [p for p in paths if p not in study]
    frames = []
    if study:
        frames.append(import_paper(study, zero_similarity=zero_similarity)[0])
    if tables:
        frames.append(read_results(list(tables)))
    if not frames:
        raise InputFileError(what, "no table given")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

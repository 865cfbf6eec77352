"""Small hand-made study tables: results rows plus the study columns, ready for harness.study."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from harness.results import results_from_rows
from harness.results.paper import STUDY_COLUMNS
from harness.study.data import prepare
from harness.study.definitions import StudyDefinitions

STUDY_DEFAULTS: dict[str, object] = {"real_person": "", "real_name": "", "real_conf": None, "real_image": "",
                                     "video": "", "frame": ""}


def study_table(rows: Iterable[Mapping[str, object]], definitions: StudyDefinitions | None = None) -> pd.DataFrame:
    """A prepared study table from dicts.

    Each dict holds results-table fields (``dataset``, ``vendor``, ``probe_id``, ``target``,
    ``fake_name``, ``fake_conf``, ...) and may hold the study columns; unset study columns default
    to: ``real_person`` = target, ``real_name`` / ``real_conf`` = ``target_name`` / ``target_conf``,
    ``real_image`` = ``real_person``, ``video`` / ``frame`` empty.
    """
    rows = [dict(r) for r in rows]
    for r in rows:
        r.setdefault("real_person", r.get("target", ""))
        r.setdefault("real_name", r.get("target_name", "") or "")
        r.setdefault("real_conf", r.get("target_conf") if r["real_name"] else None)
        r.setdefault("real_image", r["real_person"])
        for k, v in STUDY_DEFAULTS.items():
            r.setdefault(k, v)
    study = {k: [r.pop(k) for r in rows] for k in STUDY_COLUMNS}
    table = results_from_rows(rows)
    for k in STUDY_COLUMNS:
        values = study[k]
        table[k] = (np.array([np.nan if v is None else float(v) for v in values]) if k == "real_conf"
                    else np.array(["" if v is None else str(v) for v in values], dtype=object))
    return prepare(table, definitions or StudyDefinitions())


def paper_rows(shared_data: Path, name: str) -> list[dict[str, str]]:
    """The rows of one of the study's recorded files, read with the csv module (an independent reader)."""
    with open(shared_data / "paper-results" / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))

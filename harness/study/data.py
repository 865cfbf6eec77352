"""The study's recorded files as one table ready for every reproduction (:func:`load_study`).

The rows are the results table of :func:`harness.results.paper.import_paper` with its study
columns (the real-image answer in each row, which real image it was, video and frame), under the
chosen :class:`~harness.study.definitions.StudyDefinitions`, plus:

* ``celebrity`` -- the key of the per-celebrity tables (CelebFOM: the driving celebrity under the
  study's key, else the target);
* ``ref_label`` -- the label of the other person a deepfake was made from (CelebDF: the source
  video's person; CelebFOM: the driver), empty where the files record none (FCelebDF, VoxCelebTH)
  or where both people are targets (CelebBlend);
* ``vendor_target_name`` -- the vendor's own name for the target's real image, whichever TA
  definition is in force (under ``ta_against="label"`` the TA columns hold the labels instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import DfiError
from harness.paths import shared_data_dir
from harness.results.paper import PAPER_FILES, ImportSummary, import_paper
from harness.study.definitions import StudyDefinitions

# the study's order of datasets: replacement, reenactment, synthesis
DATASET_ORDER: tuple[str, ...] = ("CelebDF", "FCelebDF", "VoxCelebTH", "CelebFOM", "CelebBlend")
ALL_DATASETS = "All datasets"


@dataclass(frozen=True)
class SourceFile:
    source: str
    dataset: str
    vendor: str
    rows: int            # rows imported from the file (before cross-file duplicates are dropped)
    kept: int            # rows counted
    frames: bool         # whether its file names identify a video and a frame
    frames_note: str


@dataclass
class StudyData:
    table: pd.DataFrame
    summary: ImportSummary
    definitions: StudyDefinitions
    sources: list[SourceFile] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        return dataset_order(self.table["dataset"])


def dataset_order(values: Sequence[str] | pd.Series) -> list[str]:
    """Datasets in the study's order, then any others alphabetically."""
    present = set(str(v) for v in values)
    known = [d for d in DATASET_ORDER if d in present]
    return known + sorted(present - set(known) - {ALL_DATASETS}) + ([ALL_DATASETS] if ALL_DATASETS in present else [])


def default_paths() -> list[Path]:
    shared = shared_data_dir()
    if shared is None or not (shared / "paper-results").is_dir():
        raise DfiError("no study result files given and ../shared/data/paper-results is not there; "
                       "name the files or their folder")
    return [shared / "paper-results"]


def load_study(paths: Sequence[str | Path] = (), definitions: StudyDefinitions | None = None) -> StudyData:
    """Import the study's files (all of ``../shared/data/paper-results`` by default) for a reproduction."""
    definitions = definitions or StudyDefinitions()
    table, summary = import_paper(list(paths) or default_paths(), zero_similarity=definitions.zero_similarity,
                                  keep_duplicates=definitions.keep_duplicates, study_columns=True)
    return StudyData(prepare(table, definitions), summary, definitions, _sources(table, summary))


def prepare(table: pd.DataFrame, definitions: StudyDefinitions) -> pd.DataFrame:
    """Add ``celebrity``, ``ref_label`` and ``vendor_target_name``; apply the TA definition."""
    out = table.copy()
    refs = out["references"].astype(str)
    blend = (out["method"] == "synthesis").to_numpy()
    parts = [r.partition("|") for r in refs]
    first = np.array([p[0] for p in parts], dtype=object)
    second = np.array([p[2] for p in parts], dtype=object)
    out["ref_label"] = np.where(blend, "", first)
    if definitions.celebrity_key == "study":
        driver_keyed = (out["dataset"] == "CelebFOM").to_numpy() & (out["ref_label"] != "").to_numpy()
        out["celebrity"] = np.where(driver_keyed, out["ref_label"], out["target"])
    else:
        out["celebrity"] = out["target"]
    out["vendor_target_name"] = out["target_name"]
    if definitions.ta_against == "label":
        out["target_name"] = out["target"]
        out["target2_name"] = np.where(blend, second, out["target2_name"])
    return out


def _sources(table: pd.DataFrame, summary: ImportSummary) -> list[SourceFile]:
    kept = table["source"].value_counts()
    out = []
    for f in summary.files:
        spec = PAPER_FILES[f.source]
        out.append(SourceFile(f.source, f.dataset, f.vendor, f.rows, int(kept.get(f.source, 0)),
                              spec.frames is not None, spec.frames_note))
    return out

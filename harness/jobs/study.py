"""``dfi study`` as a library call: every table and figure the study's recorded files allow
(:func:`run_study`), written into one folder.

Files written (CSV unrounded, percent on 0-100; Markdown rounded):

==========================  ============================================================
``definitions.json``        the definitions, the files read and the frame thresholds used
``grid.csv / .md / .png``   TA..SIC per dataset x vendor with Wilson intervals, pooled row,
                            VoxCelebTH per file; the six-panel figure
``outcomes.csv / .md``      NA successes named as the target / the reference / someone else
``per_celebrity.csv / .md`` the appendix tables: Reference / Target / Similarity per celebrity
``identities.csv / .md``    the names given most often, to deepfakes and to real images
``confidence.csv / .md``    statistics of the named answers' confidences
``frames.csv / .md``,       metrics over k consecutive frames averaged; which files identify
``frames_coverage.csv``     a video and a frame
``attributes.csv / .md``    every metric per celebrity-attribute group (with ``attributes``)
``study.md``                the whole report: every number with its counts, interval and definition
==========================  ============================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.jobs._common import StatusFn, no_status
from harness.metrics.files import write_metric_csv
from harness.study.data import StudyData, load_study
from harness.study.definitions import StudyDefinitions


@dataclass
class StudyOutputs:
    out_dir: Path
    data: StudyData
    grid: pd.DataFrame
    outcomes: pd.DataFrame
    per_celebrity: pd.DataFrame
    identities: pd.DataFrame
    confidence: pd.DataFrame
    frames: Any  # harness.study.frames.FrameAggregation
    attributes: pd.DataFrame | None
    files: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _definition_columns(frame: pd.DataFrame, definitions: StudyDefinitions) -> pd.DataFrame:
    return frame.assign(zero_similarity=definitions.zero_similarity, ta_against=definitions.ta_against)


def run_study(paths: Sequence[str | Path] = (), out_dir: Path = Path("study"),
              definitions: StudyDefinitions | None = None, attributes: Path | None = None,
              command: str = "dfi study", status: StatusFn = no_status) -> StudyOutputs:
    """Read the study's files (default: all of ../shared/data/paper-results) and write every table."""
    from harness.report.plots import metric_bars
    from harness.report.study_page import study_page
    from harness.study.attributes import attribute_metrics, read_attributes
    from harness.study.celebrities import per_celebrity
    from harness.study.confidence import confidence_stats
    from harness.study.frames import frame_metrics
    from harness.study.grid import result_grid
    from harness.study.identities import most_named
    from harness.study.outcomes import outcome_split

    definitions = definitions or StudyDefinitions()
    labels = read_attributes(attributes) if attributes is not None else None  # refuse a bad file before work
    seconds: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        seconds[name] = time.perf_counter() - t0
        return out

    with status("reading the study's files..."):
        data = timed("read", load_study, paths, definitions)
    table = data.table
    with status("computing the tables..."):
        grid = timed("grid", result_grid, table, definitions)
        outcomes = timed("outcomes", outcome_split, table, definitions)
        celebrities = timed("per_celebrity", per_celebrity, table)
        identities = timed("identities", most_named, table)
        confidence = timed("confidence", confidence_stats, table)
        frames = timed("frames", frame_metrics, table, definitions)
        groups = timed("attributes", attribute_metrics, table, labels, definitions) if labels is not None else None

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = StudyOutputs(out_dir, data, grid, outcomes, celebrities, identities, confidence, frames, groups,
                           seconds=seconds)
    t0 = time.perf_counter()
    files = outputs.files
    csvs: dict[str, pd.DataFrame] = {
        "grid.csv": _definition_columns(grid, definitions),
        "outcomes.csv": _definition_columns(outcomes, definitions),
        "per_celebrity.csv": celebrities,
        "identities.csv": identities,
        "confidence.csv": confidence,
        "frames.csv": _definition_columns(frames.records, definitions),
        "frames_coverage.csv": frames.coverage,
    }
    if groups is not None:
        csvs["attributes.csv"] = _definition_columns(groups, definitions)
    for name, frame in csvs.items():
        write_metric_csv(frame, out_dir / name)
        files.append(out_dir / name)

    with status("drawing the figure..."):
        from harness.report.study_page import figure_groups

        order, records = figure_groups(grid)
        files.append(metric_bars(records, out_dir / "grid.png", datasets=order, dpi=110, figsize=(13.0, 8.0), title=(
            "The study's six metrics from its recorded files, study denominators (error bars: 95% Wilson intervals; "
            f"n/a: undefined)\n{definitions.short()}")))

    pages = study_page(data=data, grid=grid, outcomes=outcomes, per_celebrity=celebrities, identities=identities,
                       confidence=confidence, frames=frames, attributes=groups, command=command,
                       figure="grid.png")
    for name, text in pages.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        files.append(out_dir / name)
    meta = {"command": command, "definitions": definitions.as_dict(),
            "described": [{"name": n, "value": v, "meaning": m} for n, v, m in definitions.described()],
            "frame_thresholds": frames.thresholds,
            "files": [vars(s) for s in data.sources],
            "duplicates_dropped": {k: {"rows": n, "kept_in": f} for k, (n, f) in data.summary.duplicates.items()}}
    (out_dir / "definitions.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    files.insert(0, out_dir / "definitions.json")
    seconds["write"] = time.perf_counter() - t0
    return outputs

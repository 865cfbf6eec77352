"""``dfi sweep`` as a library call: DHC over beta, DHS over gamma, and NA/TA/DHF/SIC over a vendor
reporting threshold tau (:func:`run_sweep`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import InputFileError
from harness.jobs._common import JobInputError
from harness.metrics.files import write_metric_csv

GROUPINGS: dict[str, tuple[str, ...]] = {"dataset": ("dataset", "vendor"), "source": ("dataset", "vendor", "source")}


@dataclass
class SweepResult:
    csv_path: Path
    curves: pd.DataFrame
    thresholds: np.ndarray
    keys: tuple[str, ...]
    pngs: list[Path] = field(default_factory=list)
    steepest: pd.DataFrame | None = None  # where each metric changes fastest (None when there are no probes)


def run_sweep(*, results: Sequence[Path], thresholds: Sequence[float] | np.ndarray, out_dir: Path = Path("out/sweep"),
              by: str = "dataset", basis: str = "study", plots: bool = True) -> SweepResult:
    """Sweep the thresholds (0-100) over the results tables; write sweep.csv (atomically) and the plots."""
    from harness.metrics.probes import ProbeArrays
    from harness.report.plots_sweep import plot_sweep
    from harness.results import read_results
    from harness.sweep import steepest_changes, sweep_probes

    grid = np.asarray(thresholds, dtype=float)
    if grid.size == 0 or grid.min() < 0 or grid.max() > 100:
        raise JobInputError("thresholds must lie on the 0-100 scale")
    if by not in GROUPINGS:
        raise JobInputError(f"by must be one of {', '.join(sorted(GROUPINGS))}, not {by!r}")
    table = read_results(list(results))
    keys = GROUPINGS[by]
    curves = sweep_probes(ProbeArrays.from_frame(table, keys), grid)
    out_dir = Path(out_dir)
    csv_path = out_dir / "sweep.csv"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = csv_path.with_name(".sweep.csv.tmp")
        write_metric_csv(curves, tmp)
        tmp.replace(csv_path)
        pngs = plot_sweep(curves, out_dir, keys, basis) if plots else []
    except OSError as exc:
        raise InputFileError(str(out_dir), f"cannot write the sweep here ({exc.strerror or exc})") from exc
    steep = None if curves.empty else steepest_changes(curves, keys, basis)
    return SweepResult(csv_path, curves, grid, keys, list(pngs), steep)

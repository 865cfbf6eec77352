"""``dfi sweep`` as a library call: DHC over beta, DHS over gamma, and NA/TA/DHF/SIC over a vendor
reporting threshold tau (:func:`run_sweep`).

Writes into ``out_dir``:

* ``sweep.csv`` -- every curve, both bases, per ``by`` group; ``sweep_pooled.csv`` -- the same per
  vendor with every dataset pooled; ``sweep.json`` -- both, with the parameters, the dfi version
  and the inputs' sha256;
* ``sweep_zoom.csv`` -- each vendor's curves on a fine grid where they move;
* ``deception_beta_gamma.csv`` -- DHC(beta) or DHS(gamma), % of valid probes, on beta x gamma;
* plots (PNG at 200 dpi and SVG): ``sweep_<M>_<P>.png`` (a panel per dataset, a last one pooled),
  ``zoom_<M>_<P>.png`` (a panel per vendor on its zoomed axis), ``deception_beta_gamma.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import InputFileError
from harness.jobs._common import JobInputError
from harness.jobs.choices import GROUPINGS
from harness.metrics.files import write_metric_csv

# ``on_step(description, done, total)`` before each step of the sweep (the CLI moves a progress bar)
StepFn = Callable[[str, int, int], None]


def no_steps(description: str, done: int, total: int) -> None:
    return None


@dataclass
class SweepResult:
    csv_path: Path
    curves: pd.DataFrame
    thresholds: np.ndarray
    keys: tuple[str, ...]
    pngs: list[Path] = field(default_factory=list)
    steepest: pd.DataFrame | None = None  # where each metric changes fastest (None when there are no probes)
    json_path: Path | None = None
    pooled: pd.DataFrame | None = None    # per vendor, every dataset pooled
    data_files: list[Path] = field(default_factory=list)  # the CSV/JSON files besides sweep.csv


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _atomic_metric_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write_metric_csv(frame, tmp)
    tmp.replace(path)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))  # NaN -> null


def sweep_payload(curves: pd.DataFrame, pooled: pd.DataFrame, *, grid: np.ndarray, by: str, basis: str,
                  inputs: Sequence[dict[str, object]], version: str) -> dict[str, Any]:
    """What ``sweep.json`` holds: the parameters, then the records of sweep.csv and sweep_pooled.csv
    (metric acronyms, as in ``metrics.json``)."""
    from harness.sweep import POOLED, STUDY_VALUES, SWEEP_CURVES

    return {
        "dfi_version": version,
        "inputs": list(inputs),
        "parameters": {"by": by, "basis_of_plots": basis, "study_values": STUDY_VALUES, "pooled_label": POOLED,
                       "curves": [{"parameter": p, "metric": m} for p, m in SWEEP_CURVES],
                       "grid": [float(x) for x in grid]},
        "records": _records(curves),
        "pooled": _records(pooled),
    }


def run_sweep(*, results: Sequence[Path], thresholds: Sequence[float] | np.ndarray, out_dir: Path = Path("out/sweep"),
              by: str = "dataset", basis: str = "study", plots: bool = True, svg: bool = True,
              on_step: StepFn = no_steps) -> SweepResult:
    """Sweep the thresholds (0-100) over the results tables; write the files listed above (atomically)."""
    from harness.metrics.probes import ProbeArrays
    from harness.report.plots_heatmap import plot_deception_heatmap
    from harness.report.plots_sweep import plot_curve
    from harness.report.plots_zoom import plot_zoom
    from harness.report.provenance import describe_inputs, dfi_version
    from harness.results import read_results
    from harness.sweep import SWEEP_CURVES, deception_grid, pooled_sweep, steepest_changes, sweep_probes, vendor_zoom

    grid = np.asarray(thresholds, dtype=float)
    if grid.size == 0 or grid.min() < 0 or grid.max() > 100:
        raise JobInputError("thresholds must lie on the 0-100 scale")
    if by not in GROUPINGS:
        raise JobInputError(f"by must be one of {', '.join(sorted(GROUPINGS))}, not {by!r}")
    pairs = list(SWEEP_CURVES)
    total = 5 + (2 * len(pairs) + 1 if plots else 0)
    step = iter(range(total))
    on_step(f"reading {len(results)} results file{'s' if len(results) != 1 else ''}", next(step), total)
    table = read_results(list(results))
    keys = GROUPINGS[by]
    on_step(f"sweeping {len(table)} rows over {len(grid)} thresholds", next(step), total)
    probes = ProbeArrays.from_frame(table, keys)
    curves = sweep_probes(probes, grid)
    pooled = pooled_sweep(table, grid, keys)
    on_step("finding where each vendor's curves move", next(step), total)
    zoom = vendor_zoom(table, curves, keys, basis)
    on_step("beta x gamma grid", next(step), total)
    axis = heatmap_axis(grid)  # grid x grid cells: a fine --grid would not fit in memory
    deception = deception_grid(probes, axis, axis)
    out_dir = Path(out_dir)
    csv_path, json_path = out_dir / "sweep.csv", out_dir / "sweep.json"
    data_files = [json_path, out_dir / "sweep_pooled.csv", out_dir / "sweep_zoom.csv",
                  out_dir / "deception_beta_gamma.csv"]
    pngs: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        on_step("writing sweep.csv and sweep.json", next(step), total)
        _atomic_metric_csv(curves, csv_path)
        _atomic_metric_csv(pooled, data_files[1])
        _atomic_metric_csv(zoom, data_files[2])
        deception.to_csv(data_files[3], index=False)
        inputs = [d.as_dict() for d in describe_inputs(results)]
        payload = sweep_payload(curves, pooled, grid=grid, by=by, basis=basis, inputs=inputs, version=dfi_version())
        _atomic_text(json_path, json.dumps(payload) + "\n")
        if plots:
            several = curves["dataset"].nunique() > 1 if len(curves) else False
            drawn = pd.concat([curves, pooled], ignore_index=True) if several else curves
            for parameter, metric in pairs:
                on_step(f"plotting {metric} over {parameter}", next(step), total)
                path = plot_curve(drawn, parameter, metric, out_dir / f"sweep_{metric}_{parameter}.png", keys, basis,
                                  svg=svg)
                pngs += [path] if path is not None else []
            for parameter, metric in pairs:
                on_step(f"plotting {metric} over {parameter}, zoomed", next(step), total)
                path = plot_zoom(zoom, parameter, metric, out_dir / f"zoom_{metric}_{parameter}.png", basis,
                                 svg=svg)
                pngs += [path] if path is not None else []
            on_step("plotting the beta x gamma heatmap", next(step), total)
            path = plot_deception_heatmap(deception, out_dir / "deception_beta_gamma.png", svg=svg)
            pngs += [path] if path is not None else []
    except OSError as exc:
        raise InputFileError(str(out_dir), f"cannot write the sweep here ({exc.strerror or exc})") from exc
    on_step("done", total, total)
    steep = None if curves.empty else steepest_changes(curves, keys, basis)
    return SweepResult(csv_path, curves, grid, keys, pngs, steep, json_path, pooled, data_files)


HEATMAP_POINTS = 101  # per axis of the beta x gamma grid


def heatmap_axis(grid: np.ndarray, points: int = HEATMAP_POINTS) -> np.ndarray:
    """``grid`` itself when it has at most ``points`` values, else ``points`` of them evenly spread
    (first and last kept): the heatmap has a cell per (beta, gamma) pair, so its size is the square."""
    if len(grid) <= points:
        return grid
    return np.asarray(grid)[np.unique(np.linspace(0, len(grid) - 1, points).round().astype(int))]


"""PNG (+ SVG) plots of threshold sweeps: one file per curve family, one panel per dataset, a line per vendor.

Curves pooled over every dataset (``dataset`` = :data:`harness.sweep.POOLED`) get a last panel of their own.

Drawn in the harness's one style (:mod:`harness.plotstyle`, matplotlib's object API on the Agg
canvas); titles and axis units come from the metric metadata (:mod:`harness.metrics.meta`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.metrics.meta import PARAMETER_LABELS, metric_meta
from harness.plotstyle import DPI, VENDOR_COLOURS, figure, vendor_colour, vendor_display, wilson_band
from harness.sweep import POOLED

# The study's thresholds, marked on the plots; tau: the reporting thresholds the study observed.
MARKS = {"beta": {"beta = 90 (study)": 90.0}, "gamma": {"gamma = 80 (study)": 80.0},
         "tau": {"AWS reports from 55": 55.0, "MS reports from 70": 70.0}}


def curve_title(parameter: str, metric: str) -> str:
    """``"DHC (high-confidence deception) over beta"``."""
    return f"{metric} ({metric_meta(metric).label}) over {PARAMETER_LABELS.get(parameter, parameter)}"


def _line_label(keys: dict[str, object]) -> str:
    vendor = str(keys.get("vendor", ""))
    label = vendor_display(vendor)
    extra = [str(v) for k, v in keys.items() if k not in ("dataset", "vendor") and str(v)]
    return " / ".join([label, *extra]) if extra else label


def plot_curve(table: pd.DataFrame, parameter: str, metric: str, path: Path,
               by: Sequence[str] = ("dataset", "vendor"), basis: str = "study", svg: bool = False) -> Path | None:
    """One PNG: panels per dataset, value with its 95% Wilson band per vendor (and source)."""
    curves = table[(table["parameter"] == parameter) & (table["metric"] == metric) & (table["basis"] == basis)]
    if curves.empty or curves["value"].notna().sum() == 0:
        return None
    by = list(by)
    datasets = list(dict.fromkeys(curves["dataset"])) if "dataset" in by else ["all"]
    if POOLED in datasets:  # the pooled panel comes last
        datasets = [d for d in datasets if d != POOLED] + [POOLED]
    cols = min(3, len(datasets))
    rows = math.ceil(len(datasets) / cols)
    with figure(path, (4.6 * cols, 3.4 * rows + 0.6), nrows=rows, ncols=cols, dpi=DPI,
                sharex=True, sharey=True, svg=svg) as (fig, axes):
        _draw_curves(fig, axes, curves, parameter, metric, by, datasets, basis)
    return path


def _draw_curves(fig: Figure, axes: np.ndarray, curves: pd.DataFrame, parameter: str, metric: str, by: list[str],
                 datasets: list, basis: str) -> None:
    line_keys = [k for k in by if k != "dataset"]
    for ax, dataset in zip(axes.flat, datasets):
        panel = curves[curves["dataset"] == dataset] if "dataset" in by else curves
        for i, (key, line) in enumerate(panel.groupby(line_keys, sort=True) if line_keys else [((), panel)]):
            key = key if isinstance(key, tuple) else (key,)
            keys = dict(zip(line_keys, key))
            if line["value"].notna().sum() == 0:
                continue
            colour = vendor_colour(str(keys.get("vendor")))
            style = ["-", "--", ":", "-."][i % 4] if len(line_keys) > 1 else "-"
            x = line["threshold"].to_numpy()
            ax.plot(x, line["value"].to_numpy(), style, color=colour, lw=1.6, label=_line_label(keys))
            wilson_band(ax, x, line["ci_low"].to_numpy(), line["ci_high"].to_numpy(), colour)
        for j, (label, at) in enumerate(MARKS.get(parameter, {}).items()):
            ax.axvline(at, color="black" if j == 0 else "grey", ls="--" if j == 0 else ":", lw=1.0, label=label)
        ax.set_title(str(dataset), fontsize=10)
        ax.set_ylim(-2, 102)
        ax.grid(True)
        ax.legend(fontsize=8, loc="best")
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    for ax in axes.flat[: len(datasets)]:
        ax.xaxis.set_tick_params(labelbottom=True)  # the last row may be short: label every panel
        ax.set_xlabel(parameter, fontsize=9)
    unit = metric_meta(metric).unit(basis)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{metric} ({unit})", fontsize=9)
    fig.suptitle(f"{curve_title(parameter, metric)} -- 95% Wilson bands", fontsize=11)
    fig.tight_layout()


def plot_sweep(table: pd.DataFrame, out_dir: Path, by: Sequence[str] = ("dataset", "vendor"),
               basis: str = "study", svg: bool = False) -> list[Path]:
    """All curve families as ``sweep_<metric>_<parameter>.png`` in ``out_dir``; returns the paths."""
    written = []
    pairs = table[["parameter", "metric"]].drop_duplicates().itertuples(index=False) if len(table) else []
    for parameter, metric in pairs:
        path = plot_curve(table, parameter, metric, Path(out_dir) / f"sweep_{metric}_{parameter}.png", by, basis,
                          svg=svg)
        if path is not None:
            written.append(path)
    return written


__all__ = ["MARKS", "VENDOR_COLOURS", "curve_title", "plot_curve", "plot_sweep"]

"""PNG plots of threshold sweeps: one file per curve family, one panel per dataset, a line per vendor.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.results.schema import VENDOR_TITLES

VENDOR_COLOURS = {"aws": "#ff9900", "ms": "#0078d4", "nav": "#03c75a"}
# The study's thresholds, marked on the plots; tau: the reporting thresholds the study observed.
MARKS = {"beta": {"beta = 90 (study)": 90.0}, "gamma": {"gamma = 80 (study)": 80.0},
         "tau": {"AWS reports from 55": 55.0, "MS reports from 70": 70.0}}
TITLES = {
    ("beta", "DHC"): "DHC (high-confidence deception) over beta",
    ("gamma", "DHS"): "DHS (high-similarity deception) over gamma",
    ("tau", "NA"): "NA (non-targeted success) over the reporting threshold tau",
    ("tau", "TA"): "TA (targeted success) over the reporting threshold tau",
    ("tau", "DHF"): "DHF (fake more confident than real) over tau",
    ("tau", "SIC"): "SIC (share of impersonated celebrities) over tau",
}
DENOMINATORS = {
    ("DHC", "study"): "% of NA successes", ("DHS", "study"): "% of NA failures with a similarity score",
    ("SIC", "study"): "% of targets", ("SIC", "all"): "% of targets",
    ("DHS", "all"): "% of probes with a similarity score",
}


def _line_label(keys: dict[str, object]) -> str:
    vendor = str(keys.get("vendor", ""))
    label = VENDOR_TITLES.get(vendor, vendor)
    extra = [str(v) for k, v in keys.items() if k not in ("dataset", "vendor")]
    return " / ".join([label, *extra]) if extra else label


def plot_curve(table: pd.DataFrame, parameter: str, metric: str, path: Path,
               by: Sequence[str] = ("dataset", "vendor"), basis: str = "study") -> Path | None:
    """One PNG: panels per dataset, value with its 95% Wilson band per vendor (and source)."""
    curves = table[(table["parameter"] == parameter) & (table["metric"] == metric) & (table["basis"] == basis)]
    if curves.empty or curves["value"].notna().sum() == 0:
        return None
    by = list(by)
    datasets = list(dict.fromkeys(curves["dataset"])) if "dataset" in by else ["all"]
    cols = min(3, len(datasets))
    rows = math.ceil(len(datasets) / cols)
    fig = Figure(figsize=(4.6 * cols, 3.4 * rows + 0.6), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    line_keys = [k for k in by if k != "dataset"]
    for ax, dataset in zip(axes.flat, datasets):
        panel = curves[curves["dataset"] == dataset] if "dataset" in by else curves
        for i, (key, line) in enumerate(panel.groupby(line_keys, sort=True) if line_keys else [((), panel)]):
            key = key if isinstance(key, tuple) else (key,)
            keys = dict(zip(line_keys, key))
            if line["value"].notna().sum() == 0:
                continue
            colour = VENDOR_COLOURS.get(str(keys.get("vendor")), None)
            style = ["-", "--", ":", "-."][i % 4] if len(line_keys) > 1 else "-"
            x = line["threshold"].to_numpy()
            ax.plot(x, line["value"].to_numpy(), style, color=colour, lw=1.6, label=_line_label(keys))
            ax.fill_between(x, line["ci_low"].to_numpy(), line["ci_high"].to_numpy(), color=colour, alpha=0.18, lw=0)
        for j, (label, at) in enumerate(MARKS.get(parameter, {}).items()):
            ax.axvline(at, color="black" if j == 0 else "grey", ls="--" if j == 0 else ":", lw=1.0, label=label)
        ax.set_title(str(dataset), fontsize=10)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    for ax in axes.flat[: len(datasets)]:
        ax.xaxis.set_tick_params(labelbottom=True)  # the last row may be short: label every panel
        ax.set_xlabel(parameter, fontsize=8)
    unit = DENOMINATORS.get((metric, basis), "% of valid probes")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{metric} ({unit})", fontsize=8)
    fig.suptitle(f"{TITLES.get((parameter, metric), f'{metric} over {parameter}')} -- 95% Wilson bands", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    tmp.replace(path)  # a reader never sees a half-written plot
    return path


def plot_sweep(table: pd.DataFrame, out_dir: Path, by: Sequence[str] = ("dataset", "vendor"),
               basis: str = "study") -> list[Path]:
    """All curve families as ``sweep_<metric>_<parameter>.png`` in ``out_dir``; returns the paths."""
    written = []
    pairs = table[["parameter", "metric"]].drop_duplicates().itertuples(index=False) if len(table) else []
    for parameter, metric in pairs:
        path = plot_curve(table, parameter, metric, Path(out_dir) / f"sweep_{metric}_{parameter}.png", by, basis)
        if path is not None:
            written.append(path)
    return written


__all__ = ["plot_curve", "plot_sweep", "VENDOR_COLOURS", "MARKS"]

"""Sweep curves on a threshold axis that shows where each vendor's curve moves.

One panel per vendor, its x axis limited to where that vendor's curves change
(:func:`harness.sweep.vendor_zoom` recomputes them there on a fine grid); a thick line for the
vendor's curve pooled over every dataset, a thin one per dataset. When a good part of the change
happens in the last point of the scale (Azure's confidences crowd under 100: a quarter of its
deepfake confidences on the study's data lie above 99.8), the axis is logarithmic in the distance
to 100, so 99, 99.9 and 99.99 are as far apart as 90 and 99.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from harness.metrics.meta import metric_meta
from harness.plotstyle import DPI, figure, vendor_colour, vendor_display, vendor_order, wilson_band
from harness.report.plots_sweep import MARKS, curve_title
from harness.sweep import CLOSEST_TO_TOP, POOLED

TOP_SHARE = 0.25  # log axis when at least this share of the pooled curve's change lies at thresholds >= 99
LOG_TICKS = (0.0, 50.0, 70.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def needs_log_axis(thresholds: np.ndarray, values: np.ndarray) -> bool:
    """Whether at least :data:`TOP_SHARE` of the curve's absolute change happens at thresholds >= 99."""
    x = np.asarray(thresholds, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    steps = np.abs(np.diff(y))
    if len(x) < 2 or steps.sum() <= 0:
        return False
    return bool(steps[x[1:] > 99.0].sum() / steps.sum() >= TOP_SHARE)


def _distance(threshold: np.ndarray) -> np.ndarray:
    return np.maximum(100.0 - np.asarray(threshold, dtype=np.float64), CLOSEST_TO_TOP)


def _log_axis(ax: Axes, start: float) -> None:
    """x is 100 - threshold on a reversed log scale, labelled with the thresholds."""
    ax.set_xscale("log")
    lo, hi = CLOSEST_TO_TOP, max(100.0 - start, CLOSEST_TO_TOP * 10)
    ax.set_xlim(hi, lo)
    ticks = [100.0 - t for t in LOG_TICKS if lo <= 100.0 - t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda d, _pos: f"{100.0 - d:g}"))


def _panel(ax: Axes, lines: pd.DataFrame, vendor: str, parameter: str) -> None:
    colour = vendor_colour(vendor)
    pooled = lines[lines["dataset"] == POOLED]
    log = needs_log_axis(pooled["threshold"].to_numpy(), pooled["value"].to_numpy())
    x_of = _distance if log else (lambda t: np.asarray(t, dtype=np.float64))
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
    keys = [k for k in ("dataset", "source") if k in lines.columns]
    groups = [(key, line) for key, line in lines[lines["dataset"] != POOLED].groupby(keys, sort=True)]
    for i, (key, line) in enumerate(groups if len(groups) > 1 else []):
        label = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)) if str(k))
        ax.plot(x_of(line["threshold"]), line["value"], linestyle=styles[i % len(styles)], color=colour, lw=1.0,
                alpha=0.8, label=label)
    x = x_of(pooled["threshold"])
    only = groups[0][0] if len(groups) == 1 else POOLED
    ax.plot(x, pooled["value"], "-", color=colour, lw=2.2,
            label=POOLED if len(groups) != 1 else " / ".join(str(k) for k in (only if isinstance(only, tuple)
                                                                                 else (only,)) if str(k)))
    wilson_band(ax, x, pooled["ci_low"].to_numpy(), pooled["ci_high"].to_numpy(), colour)
    start, stop = float(lines["threshold"].min()), float(lines["threshold"].max())
    for label, at in MARKS.get(parameter, {}).items():
        if start <= at <= stop:
            ax.axvline(float(x_of(np.array([at]))[0]), color="black", ls="--", lw=0.9, label=label)
    if log:
        _log_axis(ax, start)
        ax.set_xlabel(f"{parameter} (log scale in 100 - {parameter})", fontsize=9)
    else:
        ax.set_xlim(start, stop)
        ax.set_xlabel(parameter, fontsize=9)
    ax.set_title(f"{vendor_display(vendor)}: {start:g} to {stop:g}", fontsize=10)
    ax.set_ylim(-2, 102)
    ax.grid(True)
    ax.legend(fontsize=8, loc="best")


def plot_zoom(zoom: pd.DataFrame, parameter: str, metric: str, path: Path, basis: str = "study",
              svg: bool = False) -> Path | None:
    """One PNG for one curve family: a panel per vendor on its own zoomed threshold axis."""
    curves = zoom[(zoom["parameter"] == parameter) & (zoom["metric"] == metric) & (zoom["basis"] == basis)]
    curves = curves[curves["value"].notna()]
    vendors = [v for v in vendor_order(curves["vendor"]) if (curves["vendor"] == v).any()]
    if not vendors:
        return None
    with figure(path, (4.8 * len(vendors), 3.9), ncols=len(vendors), dpi=DPI, layout="constrained",
                svg=svg) as (fig, axes):
        for ax, vendor in zip(axes[0], vendors):
            _panel(ax, curves[curves["vendor"] == vendor], vendor, parameter)
        axes[0][0].set_ylabel(f"{metric} ({metric_meta(metric).unit(basis)})", fontsize=9)
        fig.suptitle(f"{curve_title(parameter, metric)}, where each vendor's curve moves\n"
                     "thick: all datasets pooled, with its 95% Wilson band; thin: one dataset", fontsize=10)
    return path


def plot_zooms(zoom: pd.DataFrame, out_dir: Path, pairs: Sequence[tuple[str, str]], basis: str = "study",
               svg: bool = False) -> list[Path]:
    """``zoom_<metric>_<parameter>.png`` for each (parameter, metric) with a moving curve."""
    written = []
    for parameter, metric in pairs:
        path = plot_zoom(zoom, parameter, metric, Path(out_dir) / f"zoom_{metric}_{parameter}.png", basis, svg)
        if path is not None:
            written.append(path)
    return written


__all__ = ["needs_log_axis", "plot_zoom", "plot_zooms"]

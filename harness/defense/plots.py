"""PNG plots of a defense evaluation: before / measured after / analytic estimates per dataset x vendor,
and measured vs estimated across policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from harness.metrics.meta import BASIS_LABELS
from harness.plotstyle import DPI, figure, vendor_colour, vendor_display, vendor_order

# the reporting threshold each vendor was observed to use (0-100), marked on the sensitivity plot
OWN_THRESHOLDS = {"aws": 55.0, "ms": 70.0, "nav": 0.0}

SERIES = (
    ("before", "no defense", "#9e9e9e"),
    ("after", "with defense (measured)", "#d62728"),
    ("study_est", "study estimate: rate x (1 - accuracy)", "#1f77b4"),
    ("indep_est", "independence estimate: rate x (1 - TPR)", "#aec7e8"),
)


def _label(row: pd.Series) -> str:
    name = str(row["dataset"])
    name = name.replace("-", "-\n", 1) if len(name) > 10 else name
    return f"{name}\n{vendor_display(row['vendor'])}"


def defense_bars(table: pd.DataFrame, path: Path, metric: str = "NA") -> Path:
    """One panel per policy: ``metric`` before, after (measured) and the two estimates, with the
    cost on genuine images (share of genuine recognitions destroyed) as black dots on a right axis."""
    policies = list(dict.fromkeys(table["policy"]))
    width = max(8, 0.75 * table.groupby("policy").size().max() + 2)
    with figure(path, (width, 2.8 * len(policies)), nrows=len(policies), dpi=DPI, layout="constrained") as (fig, axes):
        _defense_panels(fig, axes, table, policies, metric)
    return Path(path)


def _defense_panels(fig: Figure, axes: np.ndarray, table: pd.DataFrame, policies: list, metric: str) -> None:
    for ax, pol in zip(axes[:, 0], policies):
        t = table[table["policy"] == pol].reset_index(drop=True)
        x = np.arange(len(t))
        w = 0.8 / len(SERIES)
        for i, (suffix, label, colour) in enumerate(SERIES):
            ax.bar(x - 0.4 + w * (i + 0.5), t[f"{metric}_{suffix}"].to_numpy(dtype=float), w, label=label, color=colour)
        ax2 = ax.twinx()
        ax2.plot(x, t["genuine_cost"].to_numpy(dtype=float), "ko", ms=4, label="genuine recognitions destroyed (%)")
        ax2.set_ylim(0, 105)
        ax2.set_ylabel("genuine cost %", fontsize=8)
        ax.set_xticks(x, [_label(r) for _, r in t.iterrows()], fontsize=7)
        ax.set_ylim(0, 105)
        ax.set_ylabel(f"{metric} %")
        ax.set_title(pol, fontsize=9, loc="left")
        ax.grid(True, axis="y")
    h1, l1 = axes[0, 0].get_legend_handles_labels()
    fig.legend(h1 + [Line2D([], [], color="k", marker="o", ls="")], l1 + ["genuine recognitions destroyed (%)"],
               loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Attack success ({metric}, {BASIS_LABELS['all']}) before and after the defense")


def estimate_scatter(table: pd.DataFrame, path: Path, metric: str = "NA") -> Path:
    """Measured post-defense rate against the study's estimate, one point per dataset x vendor x policy."""
    with figure(path, (6, 5.5), dpi=DPI, layout="constrained") as (_fig, axes):
        _estimate_axes(axes[0, 0], table, metric)
    return Path(path)


def _estimate_axes(ax: Axes, table: pd.DataFrame, metric: str) -> None:
    for pol, t in table.groupby("policy", sort=False):
        ax.scatter(t[f"{metric}_study_est"], t[f"{metric}_after"], label=pol, s=22, alpha=0.8)
    values = table[[f"{metric}_study_est", f"{metric}_after"]].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    hi = max(float(finite.max()) * 1.05, 1.0) if finite.size else 1.0  # every probe errored: no point to draw
    ax.plot([0, hi], [0, hi], "k--", lw=0.8, label="estimate = measured")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_xlabel(f"study's analytic estimate of {metric} after the defense (%)")
    ax.set_ylabel(f"measured {metric} after the defense (%)")
    ax.set_title("Above the line: the analytic estimate is too optimistic")
    ax.legend(fontsize=7)
    ax.grid(True)


def sensitivity_plot(bg: pd.DataFrame, th: pd.DataFrame, path: Path) -> Path:
    """DHC over beta, DHS over gamma, and NA/TA over each vendor's reporting threshold (pooled per vendor)."""
    vendors = [v for v in vendor_order(set(th["vendor"]) | set(bg["vendor"])) if v in OWN_THRESHOLDS]
    with figure(path, (4.2 * (2 + len(vendors)), 3.8), ncols=2 + len(vendors), dpi=DPI,
                layout="constrained") as (fig, axes):
        _sensitivity_axes(list(axes[0]), bg, th, vendors)
        fig.suptitle("Simulation at study scale: conclusions vs beta, gamma and the vendors' reporting thresholds "
                     "(dotted: the study's values)", fontsize=10)
    return Path(path)


def _sensitivity_axes(axes: list[Axes], bg: pd.DataFrame, th: pd.DataFrame, vendors: list[str]) -> None:
    for ax, (param, metric) in zip(axes[:2], (("beta", "DHC"), ("gamma", "DHS"))):
        for v in vendors:
            t = bg[(bg["parameter"] == param) & (bg["vendor"] == v)].sort_values("threshold")
            if t["value"].notna().any():
                ax.plot(t["threshold"], t["value"], "o-", color=vendor_colour(v), label=vendor_display(v))
        ax.axvline(90 if param == "beta" else 80, color="grey", ls=":", lw=1)
        ax.set_xlabel(f"{param} (0-100)")
        ax.set_ylabel(f"{metric} % (study basis)")
        ax.set_ylim(0, 105)
        ax.grid(True)
        ax.legend(fontsize=8)
    for ax, v in zip(axes[2:], vendors):
        t = th[th["vendor"] == v]
        for metric, style in (("NA", "o-"), ("TA", "s--"), ("SIC", "^:")):
            tm = t[t["metric"] == metric].sort_values("threshold")
            ax.plot(tm["threshold"], tm["value"], style, color=vendor_colour(v), label=metric)
        ax.axvline(OWN_THRESHOLDS[v], color="grey", ls=":", lw=1)
        ax.set_xlabel(f"{vendor_display(v)} reporting threshold tau (0-100)")
        ax.set_ylabel("% (study basis)")
        ax.set_ylim(0, 105)
        ax.grid(True)
        ax.legend(fontsize=8)

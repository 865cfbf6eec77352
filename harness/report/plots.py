"""PNG plots of a campaign: metric bars by dataset x vendor, confidence histograms.

Every figure is drawn in the harness's one style (:mod:`harness.plotstyle`); panel titles and axis
units come from the metric metadata (:mod:`harness.metrics.meta`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from harness.metrics.meta import METRICS, metric_meta
from harness.plotstyle import (
    FIGSIZE_PANELS,
    FIGSIZE_SINGLE,
    REPORT_DPI,
    figure,
    vendor_colour,
    vendor_display,
    vendor_order,
    wilson_yerr,
)

LABEL_GAP = 2.0  # value label: this many percent points above the upper end of its interval
Y_TOP = 122.0    # room above 100% for a vertical label over a full-height interval


def _vendors(df: pd.DataFrame) -> list[str]:
    return vendor_order(df["vendor"])


def _bars(ax: Axes, recs: pd.DataFrame, metric: str, datasets: list[str], vendors: list[str]) -> None:
    """Grouped bars; "n/a" marks a value that is undefined, a vendor without records gets no bar."""
    width = 0.8 / max(len(vendors), 1)
    x = np.arange(len(datasets))
    for i, v in enumerate(vendors):
        vals, lo, hi, present = [], [], [], []
        for d in datasets:
            r = recs[(recs["metric"] == metric) & (recs["dataset"] == d) & (recs["vendor"] == v)]
            present.append(len(r) > 0)
            vals.append(float(r["value"].iloc[0]) if len(r) else np.nan)
            lo.append(float(r["ci_low"].iloc[0]) if len(r) else np.nan)
            hi.append(float(r["ci_high"].iloc[0]) if len(r) else np.nan)
        pos = x - 0.4 + width * (i + 0.5)
        heights = np.nan_to_num(vals)
        ax.bar(pos, heights, width, yerr=wilson_yerr(vals, lo, hi), capsize=2, label=vendor_display(v),
               color=vendor_colour(v), error_kw={"elinewidth": 0.8, "alpha": 0.7})
        for p, val, has, top in zip(pos, vals, present, hi):
            if not has:
                continue
            if np.isnan(val):
                ax.text(p, 2, "n/a", ha="center", va="bottom", fontsize=7, rotation=90, color="grey")
            else:
                # above the interval's cap, not on it; vertical, so neighbouring bars' labels never overlap
                ax.text(p, (top if not np.isnan(top) else val) + LABEL_GAP, f"{val:.0f}", ha="center",
                        va="bottom", fontsize=7, rotation=90,
                        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                              "alpha": 0.8})
    if len(datasets) > 6:
        ax.set_xticks(x, datasets, fontsize=7, rotation=40, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(x, [d.replace("-", "-\n", 1) if len(d) > 12 else d for d in datasets], fontsize=8)
    ax.set_ylim(0, Y_TOP)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(metric)
    ax.grid(True, axis="y")


def metric_bars(records: pd.DataFrame, path: Path, basis: str = "study", title: str = "",
                datasets: Sequence[str] | None = None, dpi: float = REPORT_DPI,
                figsize: tuple[float, float] = FIGSIZE_PANELS, svg: bool = False) -> Path:
    """All six metrics in one figure (2 x 3 panels), 95% Wilson intervals as error bars.

    ``datasets``: the groups along each panel's axis, in order (default: every ``dataset``, sorted)."""
    recs = records[records["basis"] == basis]
    groups = list(datasets) if datasets is not None else sorted(set(recs["dataset"]))
    vendors = _vendors(recs)
    with figure(path, figsize, nrows=2, ncols=3, dpi=dpi, layout="constrained", svg=svg) as (fig, axes):
        for ax, metric in zip(axes.flat, METRICS):
            _bars(ax, recs, metric, groups, vendors)
        axes.flat[0].set_ylabel("%")
        axes.flat[3].set_ylabel("%")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(vendors), fontsize=9)
        beta, gamma = (recs["beta"].iloc[0], recs["gamma"].iloc[0]) if len(recs) else (90, 80)
        fig.suptitle(title or f"deepfake impersonation metrics by dataset x vendor (beta={beta:g}, gamma={gamma:g}; "
                              "bars: 95% Wilson CI; n/a: undefined)", fontsize=10)
    return path


def single_metric_bars(records: pd.DataFrame, metric: str, path: Path, basis: str = "study",
                       svg: bool = False) -> Path:
    recs = records[records["basis"] == basis]
    with figure(path, FIGSIZE_SINGLE, dpi=REPORT_DPI, layout="constrained", svg=svg) as (_fig, axes):
        ax = axes[0, 0]
        _bars(ax, recs, metric, sorted(set(recs["dataset"])), _vendors(recs))
        ax.set_title(metric_meta(metric).title)
        ax.set_ylabel(metric_meta(metric).unit(basis))
        ax.legend(fontsize=8)
    return path


def confidence_histograms(results: pd.DataFrame, path: Path, svg: bool = False) -> Path:
    """Per vendor: confidences on genuine images (real targets) vs deepfakes, named answers only;
    the legend counts the answers that named no one (they have no confidence)."""
    ok = results[(results["fake_error"] == "") & (results["target_error"] == "")]
    vendors = _vendors(results)
    bins = np.linspace(0, 100, 26)
    with figure(path, (4.2 * len(vendors), 3.4), ncols=len(vendors), dpi=REPORT_DPI,
                layout="constrained", svg=svg) as (fig, axes):
        for ax, v in zip(axes[0], vendors):
            rows = ok[ok["vendor"] == v]
            # a real target image appears in many rows: count each genuine image once
            genuine = rows.drop_duplicates(["target", "target_name", "target_conf"])
            g = genuine["target_conf"][genuine["target_name"] != ""].astype(float)
            f = rows["fake_conf"][rows["fake_name"] != ""].astype(float)
            g_none = int((genuine["target_name"] == "").sum())
            f_none = int((rows["fake_name"] == "").sum())
            ax.hist(f, bins=bins, alpha=0.55, color="#c92a2a", label=f"deepfake (named {len(f)}, none {f_none})")
            ax.hist(g, bins=bins, histtype="step", linewidth=2.0, color="#2b8a3e",
                    label=f"genuine target (named {len(g)}, none {g_none})")
            ax.set_title(vendor_display(v))
            ax.set_xlabel("confidence (0-100)")
            ax.legend(fontsize=7, loc="upper left")
        axes[0][0].set_ylabel("images")
        fig.suptitle("confidence of named answers: genuine vs deepfake", fontsize=10)
    return path

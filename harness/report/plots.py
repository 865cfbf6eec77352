"""PNG plots of a campaign: metric bars by dataset x vendor, confidence histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.metrics import METRICS  # noqa: E402
from harness.results.schema import VENDOR_TITLES  # noqa: E402

VENDOR_COLOURS = {"aws": "#ff9900", "ms": "#0078d4", "nav": "#03c75a"}


def _vendors(df: pd.DataFrame) -> list[str]:
    present = set(df["vendor"])
    return [v for v in ("aws", "ms", "nav") if v in present] + sorted(present - {"aws", "ms", "nav"})


def _bars(ax, recs: pd.DataFrame, metric: str, datasets: list[str], vendors: list[str]) -> None:  # noqa: ANN001
    width = 0.8 / max(len(vendors), 1)
    x = np.arange(len(datasets))
    for i, v in enumerate(vendors):
        vals, lo, hi = [], [], []
        for d in datasets:
            r = recs[(recs["metric"] == metric) & (recs["dataset"] == d) & (recs["vendor"] == v)]
            val = float(r["value"].iloc[0]) if len(r) else np.nan
            vals.append(val)
            lo.append(val - float(r["ci_low"].iloc[0]) if len(r) and not np.isnan(val) else 0)
            hi.append(float(r["ci_high"].iloc[0]) - val if len(r) and not np.isnan(val) else 0)
        pos = x - 0.4 + width * (i + 0.5)
        heights = np.nan_to_num(vals)
        yerr = np.clip(np.nan_to_num([lo, hi]), 0, None)  # rounding can put a value a hair outside its CI
        ax.bar(pos, heights, width, yerr=yerr, capsize=2, label=VENDOR_TITLES.get(v, v),
               color=VENDOR_COLOURS.get(v), error_kw={"elinewidth": 0.8, "alpha": 0.7})
        for p, val in zip(pos, vals):
            if np.isnan(val):
                ax.text(p, 2, "n/a", ha="center", va="bottom", fontsize=7, rotation=90, color="grey")
            else:
                ax.text(p, val + 1, f"{val:.0f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(x, [d.replace("-", "-\n", 1) if len(d) > 12 else d for d in datasets], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_title(metric)
    ax.grid(axis="y", alpha=0.3)


def metric_bars(records: pd.DataFrame, path: Path, basis: str = "study", title: str = "") -> Path:
    """All six metrics in one figure (2 x 3 panels), 95% Wilson intervals as error bars."""
    recs = records[records["basis"] == basis]
    datasets = sorted(set(recs["dataset"]))
    vendors = _vendors(recs)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    for ax, metric in zip(axes.flat, METRICS):
        _bars(ax, recs, metric, datasets, vendors)
    axes.flat[0].set_ylabel("%")
    axes.flat[3].set_ylabel("%")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(vendors), fontsize=9)
    beta, gamma = (recs["beta"].iloc[0], recs["gamma"].iloc[0]) if len(recs) else (90, 80)
    fig.suptitle(title or f"deepfake impersonation metrics by dataset x vendor (beta={beta:g}, gamma={gamma:g}; "
                          "bars: 95% Wilson CI; n/a: undefined)", fontsize=10)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def single_metric_bars(records: pd.DataFrame, metric: str, path: Path, basis: str = "study") -> Path:
    recs = records[records["basis"] == basis]
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    _bars(ax, recs, metric, sorted(set(recs["dataset"])), _vendors(recs))
    ax.set_ylabel("%")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def confidence_histograms(results: pd.DataFrame, path: Path) -> Path:
    """Per vendor: confidences on genuine images (real targets) vs deepfakes, named answers only;
    the legend counts the answers that named no one (they have no confidence)."""
    ok = results[(results["fake_error"] == "") & (results["target_error"] == "")]
    vendors = _vendors(results)
    fig, axes = plt.subplots(1, len(vendors), figsize=(4.2 * len(vendors), 3.4), constrained_layout=True,
                             squeeze=False)
    bins = np.linspace(0, 100, 26)
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
        ax.set_title(VENDOR_TITLES.get(v, v))
        ax.set_xlabel("confidence (0-100)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("images")
    fig.suptitle("confidence of named answers: genuine vs deepfake", fontsize=10)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path

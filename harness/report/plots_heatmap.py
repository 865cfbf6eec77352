"""Beta x gamma heatmaps of high-score deception: DHC(beta) or DHS(gamma), % of valid probes
(:func:`harness.sweep.deception_grid`), one panel per dataset x vendor, the study's point marked."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness.plotstyle import DPI, figure, vendor_display
from harness.sweep import STUDY_VALUES

CONTOURS = (10.0, 25.0, 50.0, 75.0)
DECEPTION_TITLE = "high-score deception: DHC(beta) or DHS(gamma), % of valid probes"


def study_point_value(grid: pd.DataFrame) -> float | None:
    """The value at the study's (beta, gamma) when the grid has that point."""
    at = grid[(grid["beta"] == STUDY_VALUES["beta"]) & (grid["gamma"] == STUDY_VALUES["gamma"])]
    return float(at["value"].iloc[0]) if len(at) and not math.isnan(at["value"].iloc[0]) else None


def plot_deception_heatmap(grid: pd.DataFrame, path: Path, svg: bool = False) -> Path | None:
    """One PNG: a panel per (dataset, vendor) group of ``grid``; None when it is empty."""
    if grid.empty:
        return None
    keys = [c for c in grid.columns if c in ("dataset", "vendor", "source")]
    groups = list(grid.groupby(keys, sort=True))
    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    with figure(path, (4.4 * cols + 0.8, 3.8 * rows + 0.5), nrows=rows, ncols=cols, dpi=DPI,
                layout="constrained", svg=svg) as (fig, axes):
        mesh = lines = None
        for ax, (key, part) in zip(axes.flat, groups):
            key = key if isinstance(key, tuple) else (key,)
            labels = dict(zip(keys, key))
            betas = np.unique(part["beta"].to_numpy())
            gammas = np.unique(part["gamma"].to_numpy())
            values = part.pivot(index="beta", columns="gamma", values="value").reindex(index=betas, columns=gammas)
            z = values.to_numpy()
            mesh = ax.pcolormesh(gammas, betas, z, shading="nearest", cmap="magma", vmin=0, vmax=100,
                                 rasterized=True)  # an SVG with one image, not 10,000 rectangles
            if len(betas) > 2 and len(gammas) > 2 and np.nanmax(z) > np.nanmin(z):
                # contour levels are read off the colour bar (labels on the lines cost seconds of layout)
                lines = ax.contour(gammas, betas, z, levels=list(CONTOURS), colors="white", linewidths=0.7)
            ax.plot([STUDY_VALUES["gamma"]], [STUDY_VALUES["beta"]], marker="o", ms=7, mfc="none", mec="cyan", mew=2)
            at = study_point_value(part)
            note = f"study (beta 90, gamma 80): {at:.1f}%" if at is not None else "study point (90, 80)"
            ax.annotate(note, (STUDY_VALUES["gamma"], STUDY_VALUES["beta"]), xytext=(4, -16),
                        textcoords="offset points", ha="right", fontsize=8, color="white",
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "black", "alpha": 0.65, "edgecolor": "none"})
            name = " / ".join(str(v) for k, v in labels.items() if k != "vendor")
            ax.set_title(f"{name} / {vendor_display(str(labels.get('vendor', '')))}", fontsize=10)
            ax.set_xlabel("gamma (similarity threshold)", fontsize=9)
            ax.set_ylabel("beta (confidence threshold)", fontsize=9)
        for ax in axes.flat[len(groups):]:
            ax.set_visible(False)
        if mesh is not None:
            bar = fig.colorbar(mesh, ax=list(axes.flat[:len(groups)]), shrink=0.9,
                               label=f"% of valid probes (white lines: {', '.join(f'{c:g}' for c in CONTOURS)}%)")
            if lines is not None:
                bar.add_lines(lines)
        fig.suptitle(DECEPTION_TITLE, fontsize=11)
    return path


__all__ = ["CONTOURS", "DECEPTION_TITLE", "plot_deception_heatmap", "study_point_value"]

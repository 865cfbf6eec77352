"""ECDF overlays: recorded vs mock confidences, genuine and deepfake probes side by side."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes

from harness.compare.distributions import GroupComparison, Sample, ecdf
from harness.plotstyle import DPI, figure, vendor_display


def _step(ax: Axes, sample: Sample, label: str, color: str, style: str = "-") -> None:
    x, y = ecdf(sample.named_conf)
    if len(x):
        ax.step(x, y, where="post", color=color, linestyle=style,
                label=f"{label} (n={len(x)}, answered {sample.answer_rate:.0%})")


def ecdf_overlay(group: GroupComparison, path: Path, extra: dict[str, dict[str, Sample]] | None = None) -> Path:
    """``extra``: more mock curves by label (e.g. the calibrated mock) per population."""
    with figure(path, (10, 4), ncols=2, dpi=DPI, sharey=True) as (fig, axes):
        for ax, population in zip(axes[0], ("genuine", "deepfake")):
            rec, mock = group.samples[population]
            _step(ax, rec, "recorded", "black")
            _step(ax, mock, "mock", "tab:blue", "--")
            for i, (label, samples) in enumerate((extra or {}).items()):
                _step(ax, samples[population], label, ("tab:orange", "tab:green")[i % 2], ":")
            d = next(d for d in group.distances if d.population == population)
            ax.set_title(f"{population} probes: KS {d.ks:.2f}, W1 {d.wasserstein:.1f}")
            ax.set_xlabel("confidence of named answers (0-100)")
            ax.grid(True)
            ax.legend(fontsize=7, loc="upper left")
        axes[0, 0].set_ylabel("ECDF")
        fig.suptitle(f"{group.dataset} x {vendor_display(group.vendor)}: recorded vs mock")
        fig.tight_layout()
    return path

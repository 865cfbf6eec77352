"""ECDF overlays: recorded vs mock confidences, genuine and deepfake probes side by side."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.compare.distributions import GroupComparison, Sample, ecdf  # noqa: E402

TITLES = {"aws": "AWS", "ms": "MS", "nav": "NAV"}


def _step(ax, sample: Sample, label: str, color: str, style: str = "-") -> None:  # noqa: ANN001
    x, y = ecdf(sample.named_conf)
    if len(x):
        ax.step(x, y, where="post", color=color, linestyle=style,
                label=f"{label} (n={len(x)}, answered {sample.answer_rate:.0%})")


def ecdf_overlay(group: GroupComparison, path: Path, extra: dict[str, dict[str, Sample]] | None = None) -> Path:
    """``extra``: more mock curves by label (e.g. the calibrated mock) per population."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, population in zip(axes, ("genuine", "deepfake")):
        rec, mock = group.samples[population]
        _step(ax, rec, "recorded", "black")
        _step(ax, mock, "mock", "tab:blue", "--")
        for i, (label, samples) in enumerate((extra or {}).items()):
            _step(ax, samples[population], label, ("tab:orange", "tab:green")[i % 2], ":")
        d = next(d for d in group.distances if d.population == population)
        ax.set_title(f"{population} probes: KS {d.ks:.2f}, W1 {d.wasserstein:.1f}")
        ax.set_xlabel("confidence of named answers (0-100)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("ECDF")
    fig.suptitle(f"{group.dataset} x {TITLES.get(group.vendor, group.vendor)}: recorded vs mock")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Metadata of the study's six metrics, kept beside their definitions (DESIGN.md section 2).

One :class:`MetricMeta` per metric: its key, label, a long description, its scale, the
denominator on each basis in words, the threshold it depends on, and whether it is undefined
without a similarity score. Every report, table and plot reads its labels and denominators
from :data:`METRIC_META`; nothing under ``harness.report`` keeps its own copy.

This module imports nothing from the rest of the harness, so any layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

METRICS: tuple[str, ...] = ("TA", "NA", "DHF", "DHC", "DHS", "SIC")
BASES: tuple[str, ...] = ("study", "all")

# what each basis means, as a report heading says it
BASIS_LABELS: dict[str, str] = {
    "study": "study denominators",
    "all": "share of all valid probes",
}

# the threshold parameters a metric can depend on (and the sweep varies)
PARAMETER_LABELS: dict[str, str] = {
    "beta": "beta",
    "gamma": "gamma",
    "tau": "the reporting threshold tau",
}
PARAMETER_DESCRIPTIONS: dict[str, str] = {
    "beta": "high-confidence threshold on the deepfake's confidence (study: 90)",
    "gamma": "high-similarity threshold on the face-similarity score (study: 80)",
    "tau": "the vendor's reporting threshold: below it an answer counts as no celebrity",
}


@dataclass(frozen=True)
class MetricMeta:
    key: str
    label: str                  # short words, e.g. "targeted attack success"
    description: str            # one sentence of what is counted
    study_denominator: str      # the denominator as the study reports it, in words
    all_denominator: str        # the denominator on basis "all", in words
    parameter: str | None = None        # "beta" / "gamma": the threshold it depends on
    needs_similarity: bool = False      # undefined (not 0) for a vendor without a similarity call
    scale: str = "percent"
    lower: float = 0.0
    upper: float = 100.0

    @property
    def title(self) -> str:
        """``"TA: targeted attack success"``."""
        return f"{self.key}: {self.label}"

    def denominator(self, basis: str = "study") -> str:
        """The denominator in words (``"NA successes"``) on ``basis`` ("study" or "all")."""
        if basis == "study":
            return self.study_denominator
        if basis == "all":
            return self.all_denominator
        raise ValueError(f"unknown basis {basis!r}; expected one of {BASES}")

    def unit(self, basis: str = "study") -> str:
        """``"% of NA successes"``: what a value on ``basis`` is a percentage of."""
        return f"% of {self.denominator(basis)}"

    @property
    def depends_on_beta(self) -> bool:
        return self.parameter == "beta"

    @property
    def depends_on_gamma(self) -> bool:
        return self.parameter == "gamma"


METRIC_META: dict[str, MetricMeta] = {m.key: m for m in (
    MetricMeta(
        "TA", "targeted attack success",
        "the deepfake is named as the target: the name the vendor gives it is the name it gives a real "
        "image of the target (either reference for synthesis)",
        "valid probes", "valid probes"),
    MetricMeta(
        "NA", "non-targeted attack success",
        "the vendor names some celebrity on the deepfake",
        "valid probes", "valid probes"),
    MetricMeta(
        "DHF", "fake more confident than real",
        "NA, and the deepfake's confidence exceeds the confidence on the real target image (0 when the "
        "vendor names no one on it)",
        "valid probes", "valid probes"),
    MetricMeta(
        "DHC", "high-confidence deception",
        "NA, and the deepfake's confidence exceeds beta",
        "NA successes", "valid probes", parameter="beta"),
    MetricMeta(
        "DHS", "high-similarity deception",
        "not NA, and the similarity between the deepfake and the real target image exceeds gamma",
        "NA failures with a similarity score", "valid probes with a similarity score",
        parameter="gamma", needs_similarity=True),
    MetricMeta(
        "SIC", "share of impersonated celebrities",
        "distinct target celebrities with at least one TA success among their probes",
        "distinct targets", "distinct targets"),
)}

assert tuple(METRIC_META) == METRICS


def metric_meta(key: str) -> MetricMeta:
    try:
        return METRIC_META[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r}; expected one of {METRICS}") from None


def denominator_note(basis: str = "study", metrics: Iterable[str] = METRICS) -> str:
    """``"TA, NA, DHF over valid probes; DHC over NA successes; ..."``: metrics sharing a denominator
    grouped, in metric order."""
    groups: dict[str, list[str]] = {}
    for key in metrics:
        groups.setdefault(metric_meta(key).denominator(basis), []).append(key)
    return "; ".join(f"{', '.join(keys)} over {den}" for den, keys in groups.items())


def undefined_without_similarity() -> tuple[str, ...]:
    """The metrics a vendor without a similarity call leaves undefined (``("DHS",)``)."""
    return tuple(m.key for m in METRIC_META.values() if m.needs_similarity)


__all__ = [
    "BASES", "BASIS_LABELS", "METRICS", "METRIC_META", "MetricMeta", "PARAMETER_DESCRIPTIONS", "PARAMETER_LABELS",
    "denominator_note", "metric_meta", "undefined_without_similarity",
]

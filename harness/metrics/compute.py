"""The study's six metrics per group (dataset x vendor by default), as long-form records.

Each metric is reported on two bases (DESIGN.md section 2):

========  ==========================================  =========================================
metric    basis "study" (denominator as published)    basis "all" (share of all valid probes)
========  ==========================================  =========================================
TA        valid probes                                valid probes
NA        valid probes                                valid probes
DHF       valid probes                                valid probes
DHC       NA successes                                valid probes
DHS       NA failures with a similarity score         valid probes with a similarity score
SIC       distinct targets among valid probes         distinct targets among valid probes
========  ==========================================  =========================================

``value`` is ``100 * numerator / denominator`` and undefined (NaN) when the denominator is 0;
this is how DHS comes out for a vendor without a similarity call. ``ci_low`` / ``ci_high`` are
the 95% Wilson interval in percent. The same denominators in words, with the metrics' labels, are
in :mod:`harness.metrics.meta`, which every report reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.metrics.meta import BASES, METRICS
from harness.metrics.probes import ProbeArrays
from harness.metrics.wilson import wilson_interval

DEFAULT_BETA = 90.0
DEFAULT_GAMMA = 80.0
DEFAULT_BY: tuple[str, ...] = ("dataset", "vendor")
RECORD_COLUMNS: tuple[str, ...] = (
    "metric", "basis", "value", "numerator", "denominator", "ci_low", "ci_high", "beta", "gamma",
)
COUNT_COLUMNS: tuple[str, ...] = (
    "probes", "valid", "errored", "fake_errors", "target_errors", "similarity_errors", "with_similarity",
)


def rate_table(numerator: np.ndarray, denominator: np.ndarray) -> dict[str, np.ndarray]:
    """value, ci_low, ci_high in percent (NaN where the denominator is 0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, 100.0 * numerator / denominator, np.nan)
    low, high = wilson_interval(numerator, denominator)
    return {"value": value, "ci_low": 100.0 * low, "ci_high": 100.0 * high}


def metric_counts(
    probes: ProbeArrays, beta: float, gamma: float,
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(metric, basis) -> (numerators, denominators), one entry per group."""
    named = probes.named
    with_sim = probes.valid & probes.has_similarity
    missed_with_sim = with_sim & ~named
    c = probes.count_many({
        "valid": probes.valid,
        "NA": named,
        "TA": probes.ta,
        "DHF": probes.dhf,
        "DHC": named & (probes.fake_conf > beta),
        "with_sim": with_sim,
        "missed_with_sim": missed_with_sim,
        "DHS": missed_with_sim & (probes.similarity > gamma),
    })
    n_valid = c["valid"]
    distinct = probes.distinct_targets_many({"valid": probes.valid, "TA": probes.ta})
    targets, targets_hit = distinct["valid"], distinct["TA"]
    return {
        ("TA", "study"): (c["TA"], n_valid), ("TA", "all"): (c["TA"], n_valid),
        ("NA", "study"): (c["NA"], n_valid), ("NA", "all"): (c["NA"], n_valid),
        ("DHF", "study"): (c["DHF"], n_valid), ("DHF", "all"): (c["DHF"], n_valid),
        ("DHC", "study"): (c["DHC"], c["NA"]), ("DHC", "all"): (c["DHC"], n_valid),
        ("DHS", "study"): (c["DHS"], c["missed_with_sim"]), ("DHS", "all"): (c["DHS"], c["with_sim"]),
        ("SIC", "study"): (targets_hit, targets), ("SIC", "all"): (targets_hit, targets),
    }


def compute_metrics(
    df: pd.DataFrame,
    beta: float = DEFAULT_BETA,
    gamma: float = DEFAULT_GAMMA,
    by: Sequence[str] = DEFAULT_BY,
) -> pd.DataFrame:
    """All six metrics on both bases for every group of ``df`` (a validated results table).

    Returns one row per (group, metric, basis): the ``by`` columns, then ``metric``, ``basis``,
    ``value`` (percent, NaN when undefined), ``numerator``, ``denominator``, ``ci_low``,
    ``ci_high`` (percent) and the ``beta`` and ``gamma`` used. Groups are sorted by their keys,
    metrics in the order TA, NA, DHF, DHC, DHS, SIC, bases study then all.
    """
    probes = ProbeArrays.from_frame(df, by)
    return metrics_from_probes(probes, beta, gamma)


def metrics_from_probes(probes: ProbeArrays, beta: float = DEFAULT_BETA, gamma: float = DEFAULT_GAMMA) -> pd.DataFrame:
    counts = metric_counts(probes, float(beta), float(gamma))
    g = probes.n_groups
    order = [(m, b) for m in METRICS for b in BASES]
    k = len(order)
    numerators = np.stack([counts[key][0] for key in order], axis=1).reshape(-1)   # group-major
    denominators = np.stack([counts[key][1] for key in order], axis=1).reshape(-1)
    rates = rate_table(numerators, denominators)
    rows = np.repeat(np.arange(g), k)
    columns: dict[str, object] = {column: probes.keys[column].array.take(rows) for column in probes.keys.columns}
    columns.update(
        metric=np.tile([m for m, _ in order], g),
        basis=np.tile([b for _, b in order], g),
        value=rates["value"],
        numerator=numerators.astype(np.int64),
        denominator=denominators.astype(np.int64),
        ci_low=rates["ci_low"],
        ci_high=rates["ci_high"],
        beta=np.full(g * k, float(beta)),
        gamma=np.full(g * k, float(gamma)),
    )
    return pd.DataFrame(columns)


def count_probes(df: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Per group: probes, valid, errored (and which call failed), probes with a similarity score."""
    return counts_from_probes(ProbeArrays.from_frame(df, by))


def counts_from_probes(probes: ProbeArrays) -> pd.DataFrame:
    out = probes.keys.reset_index(drop=True).copy()
    c = probes.count_many({
        "probes": np.ones_like(probes.valid),
        "valid": probes.valid,
        "errored": probes.errored,
        "fake_errors": probes.fake_error,
        "target_errors": probes.target_error,
        "similarity_errors": probes.valid & probes.similarity_error,
        "with_similarity": probes.valid & probes.has_similarity,
    })
    for name in COUNT_COLUMNS:
        out[name] = c[name]
    return out

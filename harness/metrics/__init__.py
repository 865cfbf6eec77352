"""The study's six metrics (TA, NA, DHF, DHC, DHS, SIC): numpy-vectorised functional core.

``compute_metrics(df)`` returns long-form records (one per group x metric x basis);
``compute_counts(df)`` only the TA, NA and DHC successes and the valid probes per group (faster);
``count_probes(df)`` the probe / valid / errored counts per group. See :mod:`harness.metrics.compute`
for the denominators and :mod:`harness.metrics.probes` for the per-probe definitions,
:mod:`harness.metrics.meta` for each metric's label and denominators in words.
"""

from harness.metrics.compute import (
    BASES,
    COUNT_COLUMNS,
    DEFAULT_BETA,
    DEFAULT_BY,
    DEFAULT_GAMMA,
    METRICS,
    RECORD_COLUMNS,
    compute_metrics,
    count_probes,
    counts_from_probes,
    metrics_from_probes,
)
from harness.metrics.counts import COUNTS, compute_counts
from harness.metrics.meta import BASIS_LABELS, METRIC_META, MetricMeta, metric_meta
from harness.metrics.probes import ProbeArrays
from harness.metrics.wilson import wilson_interval

__all__ = [
    "BASES", "BASIS_LABELS", "COUNTS", "COUNT_COLUMNS", "DEFAULT_BETA", "DEFAULT_BY", "DEFAULT_GAMMA", "METRICS",
    "METRIC_META", "RECORD_COLUMNS", "MetricMeta", "ProbeArrays", "compute_counts", "compute_metrics", "count_probes",
    "counts_from_probes", "metric_meta", "metrics_from_probes", "wilson_interval",
]

"""Wilson score confidence interval for binomial proportions, vectorised over numpy arrays."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes / trials`` (proportions in [0, 1], NaN where trials == 0).

    Same formula as ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` (no continuity
    correction), computed for whole arrays at once.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)  # stdlib: scipy.stats costs 1.5 s to import
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1.0 + z2 / n
        center = (p + z2 / (2.0 * n)) / denom
        half = (z / denom) * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
        low = np.clip(center - half, 0.0, 1.0)
        high = np.clip(center + half, 0.0, 1.0)
    empty = n <= 0
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return low, high

"""Distribution-level comparison of a recorded results table with a mock one.

Genuine probes are the answers on the real target images (``target_name``/``target_conf``),
deepfake probes the answers on the deepfakes (``fake_*``). Rows whose call failed are left out.
Confidences are compared where a name was given (the vendors report none otherwise); the answer
rate says how often that is. Distances: two-sample Kolmogorov-Smirnov statistic and the
1-Wasserstein distance (scipy), on the 0-100 scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.metrics import compute_metrics

POPULATIONS = {"genuine": ("target_name", "target_conf", "target_error"),
               "deepfake": ("fake_name", "fake_conf", "fake_error")}


@dataclass(frozen=True)
class Sample:
    """Answers of one population: named confidences and the count of calls that named no one."""

    named_conf: np.ndarray  # 0-100
    unnamed: int

    @property
    def calls(self) -> int:
        return len(self.named_conf) + self.unnamed

    @property
    def answer_rate(self) -> float:
        return len(self.named_conf) / self.calls if self.calls else float("nan")

    @property
    def floor(self) -> float:
        return float(self.named_conf.min()) if len(self.named_conf) else float("nan")


def population_sample(df: pd.DataFrame, population: str) -> Sample:
    name_col, conf_col, err_col = POPULATIONS[population]
    ok = df[err_col].fillna("").astype(str) == ""
    named = ok & (df[name_col].fillna("").astype(str) != "")
    conf = pd.to_numeric(df.loc[named, conf_col], errors="coerce").to_numpy(dtype=float)
    conf = conf[np.isfinite(conf)]
    return Sample(conf, int((ok & ~named).sum()))


@dataclass(frozen=True)
class Distance:
    population: str
    n_recorded: int  # named answers
    n_mock: int
    answer_rate_recorded: float
    answer_rate_mock: float
    floor_recorded: float
    floor_mock: float
    ks: float
    ks_pvalue: float
    wasserstein: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def distance(population: str, recorded: Sample, mock: Sample) -> Distance:
    if len(recorded.named_conf) and len(mock.named_conf):
        ks = stats.ks_2samp(recorded.named_conf, mock.named_conf)
        ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)
        w = float(stats.wasserstein_distance(recorded.named_conf, mock.named_conf))
    else:
        ks_stat = ks_p = w = float("nan")
    return Distance(population, len(recorded.named_conf), len(mock.named_conf), recorded.answer_rate,
                    mock.answer_rate, recorded.floor, mock.floor, ks_stat, ks_p, w)


def ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(np.asarray(values, dtype=float))
    return x, np.arange(1, len(x) + 1) / max(len(x), 1)


@dataclass
class GroupComparison:
    dataset: str
    vendor: str
    distances: list[Distance]
    samples: dict[str, tuple[Sample, Sample]]  # population -> (recorded, mock)


def compare_tables(recorded: pd.DataFrame, mock: pd.DataFrame) -> list[GroupComparison]:
    """One comparison per (dataset, vendor) present in both tables."""
    out = []
    rec_groups = {k: g for k, g in recorded.groupby(["dataset", "vendor"], sort=True)}
    mock_groups = {k: g for k, g in mock.groupby(["dataset", "vendor"], sort=True)}
    for key in sorted(set(rec_groups) & set(mock_groups)):
        samples = {p: (population_sample(rec_groups[key], p), population_sample(mock_groups[key], p))
                   for p in POPULATIONS}
        out.append(GroupComparison(key[0], key[1], [distance(p, *samples[p]) for p in POPULATIONS], samples))
    return out


def metrics_side_by_side(recorded: pd.DataFrame, mock: pd.DataFrame, beta: float, gamma: float,
                         basis: str = "study") -> pd.DataFrame:
    """The six metrics of both tables for the (dataset, vendor) groups they share, with Wilson intervals."""
    cols = ["dataset", "vendor", "metric", "value", "numerator", "denominator", "ci_low", "ci_high"]
    r = compute_metrics(recorded, beta, gamma)
    m = compute_metrics(mock, beta, gamma)
    r = r[r["basis"] == basis][cols]
    m = m[m["basis"] == basis][cols]
    both = r.merge(m, on=["dataset", "vendor", "metric"], suffixes=("_recorded", "_mock"))
    both["difference"] = both["value_mock"] - both["value_recorded"]
    both["basis"] = basis
    return both

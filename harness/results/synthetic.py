"""Synthetic results tables of any size, for benchmarks and load tests (not for measurements).

Rows look like a campaign's: datasets x vendors, a few hundred target celebrities, vendor answers
with AWS-like (>= 55), MS-like (>= 70) and NAV-like (any) confidence floors, similarity for AWS and
MS only, and a small share of failed calls. Built column-wise with numpy; no Python loop per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.results.schema import COLUMN_NAMES, SCHEMA_VERSION

DATASETS = ("CelebDF", "FCelebDF", "VoxCelebTH", "CelebFOM", "CelebBlend")
VENDOR_FLOORS = {"aws": 55.0, "ms": 70.0, "nav": 0.01}


def synthetic_results(n: int, seed: int = 0, n_targets: int = 300, error_rate: float = 0.01) -> pd.DataFrame:
    """A valid results table with ``n`` rows (schema dtypes, no validation pass needed)."""
    rng = np.random.default_rng(seed)
    people = np.array([f"Celebrity {i:04d}" for i in range(n_targets)], dtype=object)
    vendors = np.array(list(VENDOR_FLOORS), dtype=object)
    floors = np.array(list(VENDOR_FLOORS.values()))

    dataset_i = rng.integers(0, len(DATASETS), n)
    vendor_i = rng.integers(0, len(vendors), n)
    target_i = rng.integers(0, n_targets, n)
    synthesis = dataset_i == DATASETS.index("CelebBlend")
    other_i = (target_i + rng.integers(1, n_targets, n)) % n_targets

    floor = floors[vendor_i]
    real_named = rng.random(n) < 0.93
    real_conf = np.where(real_named, rng.uniform(np.maximum(floor, 80.0), 100.0), np.nan)
    real2_named = synthesis & (rng.random(n) < 0.9)
    real2_conf = np.where(real2_named, rng.uniform(80.0, 100.0, n), np.nan)

    u = rng.random(n)
    fake_named = (u < 0.45) | (vendor_i == 2)
    fake_is_target = fake_named & (u < 0.30)
    fake_is_other = fake_named & synthesis & (u >= 0.30) & (u < 0.36)
    random_person = people[rng.integers(0, n_targets, n)]
    fake_name = np.where(fake_is_target, people[target_i], np.where(fake_is_other, people[other_i], random_person))
    fake_name = np.where(fake_named, fake_name, "")
    fake_conf = np.where(fake_named, floor + (100.0 - floor) * rng.beta(2.0, 1.2, n), np.nan)

    similarity = np.where(vendor_i == 2, np.nan, 100.0 * rng.beta(2.0, 2.5, n))
    err = rng.random(n)
    fake_error = np.where(err < error_rate, "ThrottlingException", "")
    target_error = np.where((err >= error_rate) & (err < 1.5 * error_rate), "InvalidImageFormatException", "")
    similarity_error = np.where((err >= 1.5 * error_rate) & (err < 2 * error_rate) & (vendor_i != 2),
                                "InvalidParameterException", "")

    def text(values: Any) -> pd.Series:
        return pd.Series(values, dtype="str")

    datasets = np.array(DATASETS, dtype=object)
    methods = np.array(["replacement", "replacement", "reenactment", "reenactment", "synthesis"], dtype=object)
    target_names = np.where(real_named, people[target_i], "")
    columns = {
        "schema_version": pd.Series(np.full(n, SCHEMA_VERSION, dtype=np.int64)),
        "dataset": text(datasets[dataset_i]),
        "source": text(np.full(n, f"synthetic-{seed}", dtype=object)),
        "method": text(methods[dataset_i]),
        "probe_id": text(np.char.add("p", np.arange(n).astype(str)).astype(object)),
        "vendor": text(vendors[vendor_i]),
        "deepfake": text(np.full(n, "", dtype=object)),
        "target": text(people[target_i]),
        "references": text(np.where(synthesis, people[target_i] + "|" + people[other_i], "")),
        "target_name": text(target_names),
        "target_conf": pd.Series(real_conf),
        "target_error": text(target_error.astype(object)),
        "target2_name": text(np.where(real2_named, people[other_i], "")),
        "target2_conf": pd.Series(real2_conf),
        "target2_error": text(np.full(n, "", dtype=object)),
        "fake_name": text(fake_name),
        "fake_conf": pd.Series(fake_conf),
        "fake_error": text(fake_error.astype(object)),
        "similarity": pd.Series(similarity),
        "similarity_error": text(similarity_error.astype(object)),
    }
    return pd.DataFrame({name: columns[name] for name in COLUMN_NAMES})

"""compute_counts against a per-row reference, and the grouping's code paths against each other.

The reference is plain Python over row dictionaries, straight from DESIGN.md section 2; the paths
(Arrow lookup in the first rows' values, Arrow dictionary encoding, pandas factorize for non-Arrow
text, two threads) are forced with small thresholds so that small tables reach them.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.metrics import COUNTS, compute_counts, compute_metrics, count_probes
from harness.metrics import groups as grouping
from harness.metrics.probes import ProbeArrays
from harness.results import results_from_rows
from harness.results.synthetic import synthetic_results

from support.metric_tables import probe_rows, row_key, scores

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_counts(rows, beta):
    """(dataset, vendor) -> {valid, TA, NA, DHC}, one probe at a time."""
    out: dict = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for r in rows:
        c = out[(r["dataset"], r["vendor"].lower())]
        if r.get("fake_error") or r.get("target_error") or r.get("target2_error"):
            continue
        c["valid"] += 1
        fake = r.get("fake_name") or ""
        if not fake:
            continue
        c["NA"] += 1
        refs = [r.get("target_name") or "", r.get("target2_name") or ""]
        c["TA"] += any(fake == name for name in refs if name)
        conf = r.get("fake_conf")
        conf = 0.0 if conf is None or (isinstance(conf, float) and math.isnan(conf)) else conf
        c["DHC"] += conf > beta
    return dict(out)


def _as_dict(counts: pd.DataFrame) -> dict:
    return {(r.dataset, r.vendor): {c: getattr(r, c) for c in COUNTS} for r in counts.itertuples()}


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, max_size=40), beta=scores)
def test_equals_per_row_reference(rows, beta):
    counts = compute_counts(results_from_rows(rows), beta=beta)
    assert _as_dict(counts) == reference_counts(rows, beta)
    assert list(counts.columns) == ["dataset", "vendor", *COUNTS]


def _numerators(records: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    study = records[records["basis"] == "study"].set_index([*by, "metric"]) if by else \
        records[records["basis"] == "study"].set_index("metric")
    out = study["numerator"].unstack("metric")[["TA", "NA", "DHC"]] if by else \
        study["numerator"].loc[["TA", "NA", "DHC"]].to_frame().T
    valid = (study.xs("TA", level="metric") if by else study.loc[["TA"]])["denominator"].to_numpy()
    out.insert(0, "valid", valid)
    out = out.reset_index() if by else out.reset_index(drop=True)
    out.columns.name = None
    return out[[*by, *COUNTS]].astype(dict.fromkeys(COUNTS, "int64"))


@pytest.mark.parametrize("by", [["dataset", "vendor"], ["vendor"], [], ["dataset", "vendor", "target"]])
@pytest.mark.parametrize("beta", [90.0, 55.0, -1.0])
def test_equals_compute_metrics_numerators(by, beta):
    df = synthetic_results(3000, seed=7)
    got = compute_counts(df, beta=beta, by=by)
    pd.testing.assert_frame_equal(got, _numerators(compute_metrics(df, beta=beta, by=by), by))


def test_empty_table():
    df = synthetic_results(0)
    assert compute_counts(df).empty
    assert list(compute_counts(df).columns) == ["dataset", "vendor", *COUNTS]


def _everything(df: pd.DataFrame, by: list[str]) -> tuple:
    probes = ProbeArrays.from_frame(df, by)
    return (compute_counts(df, by=by), compute_metrics(df, by=by), count_probes(df, by=by),
            probes.group, probes.target)


def _assert_same(a: tuple, b: tuple) -> None:
    for x, y in zip(a[:3], b[:3]):
        pd.testing.assert_frame_equal(x, y)
    np.testing.assert_array_equal(a[3], b[3])
    # target codes are arbitrary labels: the same partition of the rows is what counts
    assert len(set(zip(a[4], b[4]))) == len(set(a[4])) == len(set(b[4]))


def _shuffled_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Key columns with a missing value, values outside the first rows, and several Arrow chunks."""
    df = df.copy()
    df.loc[df.index[-3:], "dataset"] = "Zeta (late)"
    df.loc[df.index[-1], "vendor"] = np.nan
    df.loc[df.index[5], "vendor"] = "Émile"
    half = len(df) // 2
    return pd.concat([df.iloc[:half], df.iloc[half:]], ignore_index=True)


@pytest.mark.parametrize("by", [["dataset", "vendor"], ["vendor"], ["dataset", "vendor", "target"]])
def test_grouping_paths_agree(monkeypatch, by):
    df = _shuffled_keys(synthetic_results(4000, seed=3))
    assert df["vendor"].array._pa_array.num_chunks == 2
    as_object = df.astype({c: object for c in ("dataset", "vendor", "target")})
    expected = _everything(as_object, by)  # no Arrow: pandas factorize throughout
    for c in expected[:3]:
        for column in by:
            c[column] = c[column].astype(df[column].dtype)
    _assert_same(_everything(df, by), expected)  # lookup in the first rows' values, then dictionary_encode
    monkeypatch.setattr(grouping, "SAMPLE_ROWS", 10)  # values missing from the first rows: encode
    _assert_same(_everything(df, by), expected)
    monkeypatch.setattr(grouping, "FEW_VALUES", 0)  # never the lookup
    _assert_same(_everything(df, by), expected)
    monkeypatch.setattr(grouping, "PARALLEL_ROWS", 100)  # two threads
    _assert_same(_everything(df, by), expected)


def test_missing_key_sorts_last_like_factorize():
    df = _shuffled_keys(synthetic_results(500, seed=1))
    counts = compute_counts(df, by=["vendor"])
    assert counts["vendor"].iloc[:-1].tolist() == sorted(counts["vendor"].iloc[:-1])
    assert pd.isna(counts["vendor"].iloc[-1])
    assert counts["valid"].sum() == count_probes(df, by=["vendor"])["valid"].sum()

"""Property tests of the six metrics on generated tables, and equality with a per-row reference.

The reference below is written separately from ``harness.metrics``: plain Python over row
dictionaries, straight from DESIGN.md section 2. It shares no code with the vectorised version.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from harness.metrics import compute_metrics, count_probes
from harness.results import results_from_rows

from support.metric_tables import maybe_score, probe_rows, row_key, scores  # noqa: F401

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

tables = st.lists(probe_rows(), unique_by=row_key, min_size=0, max_size=40)


# ------------------------------------------------------------------ independent reference
def _conf(value):
    return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def reference_metrics(rows, beta, gamma):
    """(dataset, vendor, metric, basis) -> (numerator, denominator), one probe at a time."""
    groups = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["vendor"].lower())].append(row)
    out = {}
    for key, members in groups.items():
        counts = defaultdict(int)
        targets, targets_hit = set(), set()
        for r in members:
            if r.get("fake_error") or r.get("target_error") or r.get("target2_error"):
                continue
            counts["valid"] += 1
            targets.add(r["target"])
            fake = r.get("fake_name") or ""
            fake_conf = _conf(r.get("fake_conf")) if fake else 0.0
            refs = [(r.get("target_name") or "", _conf(r.get("target_conf")))]
            refs.append((r.get("target2_name") or "", _conf(r.get("target2_conf"))))
            named_refs = [(n, c) for n, c in refs if n]
            na = fake != ""
            ta = na and any(fake == n for n, _ in named_refs)
            p_t_conf = max([c for _, c in named_refs], default=0.0)
            sim = r.get("similarity")
            has_sim = (sim is not None and not (isinstance(sim, float) and math.isnan(sim))
                       and not r.get("similarity_error"))
            if na:
                counts["NA"] += 1
                if fake_conf > p_t_conf:
                    counts["DHF"] += 1
                if fake_conf > beta:
                    counts["DHC"] += 1
            if ta:
                counts["TA"] += 1
                targets_hit.add(r["target"])
            if has_sim:
                counts["with_sim"] += 1
                if not na:
                    counts["missed_with_sim"] += 1
                    if sim > gamma:
                        counts["DHS"] += 1
        d, v = key
        for metric in ("TA", "NA", "DHF"):
            out[(d, v, metric, "study")] = out[(d, v, metric, "all")] = (counts[metric], counts["valid"])
        out[(d, v, "DHC", "study")] = (counts["DHC"], counts["NA"])
        out[(d, v, "DHC", "all")] = (counts["DHC"], counts["valid"])
        out[(d, v, "DHS", "study")] = (counts["DHS"], counts["missed_with_sim"])
        out[(d, v, "DHS", "all")] = (counts["DHS"], counts["with_sim"])
        out[(d, v, "SIC", "study")] = out[(d, v, "SIC", "all")] = (len(targets_hit), len(targets))
    return out


def _as_dict(records: pd.DataFrame):
    return {
        (r.dataset, r.vendor, r.metric, r.basis): (int(r.numerator), int(r.denominator))
        for r in records.itertuples()
    }


def _values(records: pd.DataFrame) -> pd.DataFrame:
    return records.set_index(["dataset", "vendor", "metric", "basis"]).sort_index()


# ------------------------------------------------------------------ properties
@SETTINGS
@given(rows=tables, beta=scores, gamma=scores)
def test_equals_per_row_reference(rows, beta, gamma):
    records = compute_metrics(results_from_rows(rows), beta=beta, gamma=gamma)
    assert _as_dict(records) == reference_metrics(rows, beta, gamma)
    if len(records):
        expected = np.where(records["denominator"] > 0,
                            100 * records["numerator"] / records["denominator"].clip(lower=1), np.nan)
        np.testing.assert_allclose(records["value"], expected, equal_nan=True)


@SETTINGS
@given(rows=tables)
def test_ta_implies_na_and_rates_lie_in_0_100(rows):
    records = _values(compute_metrics(results_from_rows(rows)))
    if records.empty:
        return
    num = records["numerator"]
    for d, v in {k[:2] for k in records.index}:
        assert num[(d, v, "TA", "all")] <= num[(d, v, "NA", "all")]
        assert num[(d, v, "DHC", "all")] <= num[(d, v, "NA", "all")]
        assert num[(d, v, "DHF", "all")] <= num[(d, v, "NA", "all")]
        # DHS successes are NA failures
        assert num[(d, v, "DHS", "all")] <= records.loc[(d, v, "NA", "all"), "denominator"] - num[(d, v, "NA", "all")]
        assert (num[(d, v, "SIC", "all")] > 0) == (num[(d, v, "TA", "all")] > 0)
    defined = records["denominator"] > 0
    assert records["value"][~defined].isna().all()
    value, low, high = (records.loc[defined, c] for c in ("value", "ci_low", "ci_high"))
    assert ((value >= 0) & (value <= 100)).all()
    assert ((low >= 0) & (low <= value + 1e-9) & (value <= high + 1e-9) & (high <= 100)).all()


@SETTINGS
@given(rows=tables, thresholds=st.lists(scores, min_size=2, max_size=5))
def test_dhc_and_dhs_non_increasing_in_their_threshold(rows, thresholds):
    if not rows:
        return
    df = results_from_rows(rows)
    previous = None
    for t in sorted(thresholds):
        r = _values(compute_metrics(df, beta=t, gamma=t))
        dh = r.xs("all", level="basis")["numerator"]
        cur = (dh.xs("DHC", level="metric"), dh.xs("DHS", level="metric"))
        if previous is not None:
            assert (cur[0] <= previous[0]).all() and (cur[1] <= previous[1]).all()
        previous = cur


@SETTINGS
@given(rows=tables, seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(rows, seed):
    df = results_from_rows(rows)
    shuffled = df.sample(frac=1.0, random_state=seed % (2**32)).reset_index(drop=True)
    pd.testing.assert_frame_equal(compute_metrics(df), compute_metrics(shuffled))


@settings(SETTINGS, max_examples=50)
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30),
       extra=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=15),
       which=st.sampled_from(["fake_error", "target_error", "target2_error"]))
def test_errored_rows_do_not_change_rates(rows, extra, which):
    keys = {(r["dataset"], r["vendor"]) for r in rows}
    errored = []
    for i, r in enumerate(extra):
        d, v = sorted(keys)[i % len(keys)]
        errored.append(dict(r, dataset=d, vendor=v, probe_id=f"errored-{i}", **{which: "ServiceUnavailable"}))
    before = compute_metrics(results_from_rows(rows))
    after = compute_metrics(results_from_rows(rows + errored))
    pd.testing.assert_frame_equal(before, after)
    counts_before = count_probes(results_from_rows(rows)).set_index(["dataset", "vendor"])
    counts_after = count_probes(results_from_rows(rows + errored)).set_index(["dataset", "vendor"])
    assert (counts_after["valid"] == counts_before["valid"]).all()
    assert counts_after["errored"].sum() == counts_before["errored"].sum() + len(errored)


@SETTINGS
@given(rows=tables)
def test_wilson_interval_matches_scipy(rows):
    records = compute_metrics(results_from_rows(rows))
    for r in records[records["denominator"] > 0].drop_duplicates(["numerator", "denominator"]).itertuples():
        ci = binomtest(int(r.numerator), int(r.denominator)).proportion_ci(confidence_level=0.95, method="wilson")
        assert math.isclose(r.ci_low, 100 * ci.low, abs_tol=1e-9)
        assert math.isclose(r.ci_high, 100 * ci.high, abs_tol=1e-9)

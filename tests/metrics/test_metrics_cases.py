"""The metrics on small hand-made tables whose answers are worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.metrics import METRICS, RECORD_COLUMNS, compute_metrics, count_probes
from harness.results import results_from_rows


def probe(**kw):
    base = dict(dataset="D", vendor="aws", target="T", target_name="T", target_conf=95.0)
    base["probe_id"] = kw.pop("probe_id", str(id(kw)))
    return {**base, **kw}


def table(rows):
    return results_from_rows([dict(r, probe_id=str(i)) for i, r in enumerate(rows)])


def get(records, metric, basis="study", **keys):
    sel = (records["metric"] == metric) & (records["basis"] == basis)
    for k, v in keys.items():
        sel &= records[k] == v
    (row,) = records[sel].to_dict("records")
    return row


def test_worked_example():
    rows = [
        probe(fake_name="T", fake_conf=99.0, similarity=85.0),      # TA, NA, DHF, DHC
        probe(fake_name="X", fake_conf=60.0, similarity=90.0),      # NA only
        probe(fake_name="", similarity=81.0),                        # NA failure, DHS (81 > 80)
        probe(fake_name="", similarity=80.0),                        # NA failure, 80 is not > 80
        # leaves DHS denominators only
        probe(fake_name="", similarity_error="InvalidParameterException", similarity=None),
        probe(fake_name="", fake_error="ThrottlingException"),       # errored: out of everything
        probe(target="U", target_name="", fake_name="U", fake_conf=91.0),  # P_T names no one: not TA, DHF vs 0
    ]
    r = compute_metrics(table(rows))
    assert list(r.columns) == ["dataset", "vendor", *RECORD_COLUMNS]
    assert (get(r, "TA")["numerator"], get(r, "TA")["denominator"]) == (1, 6)
    assert (get(r, "NA")["numerator"], get(r, "NA")["denominator"]) == (3, 6)
    assert (get(r, "DHF")["numerator"], get(r, "DHF")["denominator"]) == (2, 6)
    assert (get(r, "DHC")["numerator"], get(r, "DHC")["denominator"]) == (2, 3)      # share of NA successes
    assert (get(r, "DHC", "all")["numerator"], get(r, "DHC", "all")["denominator"]) == (2, 6)
    assert (get(r, "DHS")["numerator"], get(r, "DHS")["denominator"]) == (1, 2)      # NA failures with a score
    assert (get(r, "DHS", "all")["numerator"], get(r, "DHS", "all")["denominator"]) == (1, 4)
    assert (get(r, "SIC")["numerator"], get(r, "SIC")["denominator"]) == (1, 2)
    assert get(r, "DHC")["value"] == pytest.approx(200 / 3)
    c = count_probes(table(rows)).iloc[0]
    assert (c.probes, c.valid, c.errored, c.fake_errors, c.similarity_errors, c.with_similarity) == (7, 6, 1, 1, 1, 4)


def test_dhs_undefined_for_vendor_without_similarity():
    rows = [probe(vendor="nav", fake_name="", similarity=None), probe(vendor="nav", fake_name="T", fake_conf=1.0)]
    r = compute_metrics(table(rows))
    for basis in ("study", "all"):
        rec = get(r, "DHS", basis)
        assert rec["denominator"] == 0 and math.isnan(rec["value"]) and math.isnan(rec["ci_low"])
    assert get(r, "NA")["value"] == 50.0


def test_dhs_undefined_when_every_probe_is_named():
    r = compute_metrics(table([probe(fake_name="T", fake_conf=99.0, similarity=99.0)]))
    assert math.isnan(get(r, "DHS")["value"]) and get(r, "DHS", "all")["value"] == 0.0


def test_synthesis_ta_matches_either_reference():
    rows = [
        probe(method="synthesis", target="A", target_name="A", target2_name="B", target2_conf=99.0,
              fake_name="B", fake_conf=98.0),
        probe(method="synthesis", target="A", target_name="A", target2_name="", fake_name="C", fake_conf=98.0),
        probe(method="synthesis", target="C", target_name="C", target2_name="B", target2_error="Timeout",
              fake_name="B", fake_conf=99.0),
    ]
    r = compute_metrics(table(rows))
    assert (get(r, "TA")["numerator"], get(r, "TA")["denominator"]) == (1, 2)
    # DHF compares with the highest named reference confidence: 98 > max(95, 99) fails, 98 > 95 holds
    assert get(r, "DHF")["numerator"] == 1
    assert (get(r, "SIC")["numerator"], get(r, "SIC")["denominator"]) == (1, 1)


def test_groups_sorted_and_by_source():
    rows = [probe(dataset="Z", source="b.csv", fake_name="T", fake_conf=99.0),
            probe(dataset="A", source="a.csv"), probe(dataset="A", source="c.csv", vendor="ms")]
    r = compute_metrics(table(rows), by=("dataset", "vendor", "source"))
    assert list(r.columns[:3]) == ["dataset", "vendor", "source"]
    assert r[["dataset", "vendor", "source"]].drop_duplicates().values.tolist() == [
        ["A", "aws", "a.csv"], ["A", "ms", "c.csv"], ["Z", "aws", "b.csv"]]
    assert r["metric"].tolist()[:12] == [m for m in METRICS for _ in (0, 1)]


def test_empty_table_gives_no_records():
    r = compute_metrics(results_from_rows([]))
    assert r.empty and list(r.columns) == ["dataset", "vendor", *RECORD_COLUMNS]


def test_beta_gamma_recorded_and_strict():
    rows = [probe(fake_name="T", fake_conf=90.0), probe(fake_name="T", fake_conf=90.5)]
    r = compute_metrics(table(rows), beta=90, gamma=70)
    assert get(r, "DHC")["numerator"] == 1
    assert (r["beta"] == 90.0).all() and (r["gamma"] == 70.0).all()


def test_threaded_and_inline_column_work_agree(monkeypatch):
    import harness.metrics.probes as probes
    from harness.results import validate_results
    from harness.results.synthetic import synthetic_results

    df = synthetic_results(20_000, seed=5)
    pd.testing.assert_frame_equal(validate_results(df), df)  # the benchmark tables are valid tables
    monkeypatch.setattr(probes, "PARALLEL_ROWS", 10**12)
    inline = compute_metrics(df, by=("dataset", "vendor", "method"))
    monkeypatch.setattr(probes, "PARALLEL_ROWS", 1)
    threaded = compute_metrics(df, by=("dataset", "vendor", "method"))
    pd.testing.assert_frame_equal(inline, threaded)
    assert inline["numerator"].sum() > 0 and inline["value"].notna().any()

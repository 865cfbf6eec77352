"""Threshold sweeps: every grid point equals recomputing the metrics there, and plots get written."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.metrics import compute_metrics
from harness.report.plots_sweep import plot_sweep
from harness.results import results_from_rows
from harness.sweep import parse_grid, steepest_changes, sweep

from support.metric_tables import probe_rows, row_key, scores  # same generated tables as the metric properties

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
grids = st.lists(scores, min_size=1, max_size=6).map(lambda xs: np.unique(np.array(xs + [0.0, 90.0, 100.0])))


def _with_reporting_threshold(rows, tau):
    """The table a vendor reporting only from ``tau`` would have produced: lower answers blanked."""
    out = []
    for r in rows:
        r = dict(r)
        answers = (("fake_name", "fake_conf"), ("target_name", "target_conf"), ("target2_name", "target2_conf"))
        for name, conf in answers:
            c = r.get(conf)
            if r.get(name) and (0.0 if c is None else c) < tau:
                r[name], r[conf] = "", None
        out.append(r)
    return out


def _curve(table, parameter, metric, basis="study"):
    sel = table[(table["parameter"] == parameter) & (table["metric"] == metric) & (table["basis"] == basis)]
    return sel.set_index(["dataset", "vendor", "threshold"])


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30), grid=grids)
def test_beta_and_gamma_curves_equal_metrics_recomputed_at_each_point(rows, grid):
    df = results_from_rows(rows)
    curves = sweep(df, grid)
    for t in grid:
        m = compute_metrics(df, beta=t, gamma=t).set_index(["dataset", "vendor", "metric", "basis"])
        for parameter, metric in (("beta", "DHC"), ("gamma", "DHS")):
            for basis in ("study", "all"):
                c = _curve(curves, parameter, metric, basis).xs(t, level="threshold")
                expected = m.xs((metric, basis), level=("metric", "basis"))
                assert c["numerator"].to_dict() == expected["numerator"].to_dict()
                assert c["denominator"].to_dict() == expected["denominator"].to_dict()
                np.testing.assert_allclose(c["ci_low"], expected["ci_low"], equal_nan=True)


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30), grid=grids)
def test_tau_curves_equal_metrics_of_the_thresholded_table(rows, grid):
    curves = sweep(results_from_rows(rows), grid)
    for t in grid:
        m = compute_metrics(results_from_rows(_with_reporting_threshold(rows, t)))
        m = m.set_index(["dataset", "vendor", "metric", "basis"])
        for metric in ("NA", "TA", "DHF", "SIC"):
            c = _curve(curves, "tau", metric).xs(t, level="threshold")
            expected = m.xs((metric, "study"), level=("metric", "basis"))
            assert c["numerator"].to_dict() == expected["numerator"].to_dict(), (metric, t)
            assert c["denominator"].to_dict() == expected["denominator"].to_dict(), (metric, t)


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30))
def test_curves_non_increasing_and_bands_hold_the_value(rows):
    curves = sweep(results_from_rows(rows), np.arange(0.0, 101.0, 5.0))
    for _, curve in curves.groupby(["dataset", "vendor", "parameter", "metric", "basis"]):
        assert (np.diff(curve["numerator"].to_numpy()) <= 0).all()
        d = curve[curve["denominator"] > 0]
        assert ((d["ci_low"] <= d["value"] + 1e-9) & (d["value"] <= d["ci_high"] + 1e-9)).all()


def test_parse_grid():
    assert parse_grid("0:100:1").tolist() == list(range(101))
    assert parse_grid("90, 50,70,50").tolist() == [50.0, 70.0, 90.0]
    assert parse_grid("0:1:0.25").tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    for bad in ("a:b:c", "0:10:0", "", "x"):
        with pytest.raises(ValueError, match="bad grid"):
            parse_grid(bad)
    for bad in ("0:100", "0:100:1:2"):  # said in words, not as Python's unpacking error
        with pytest.raises(ValueError, match="three parts, start:stop:step") as info:
            parse_grid(bad)
        assert "unpack" not in str(info.value)


def test_steepest_change_and_half_point():
    rows = [dict(dataset="D", vendor="aws", probe_id=str(i), target="T", target_name="T", target_conf=99.0,
                 fake_name="T", fake_conf=c) for i, c in enumerate([60.0, 61.0, 62.0, 95.0])]
    table = sweep(results_from_rows(rows), np.arange(0.0, 101.0, 10.0))
    steep = steepest_changes(table).set_index(["parameter", "metric"])
    dhc = steep.loc[("beta", "DHC")]
    # DHC over beta (conf > beta): 100% up to 50, 75% at 60 (61, 62, 95), 25% at 70..90, 0% at 100:
    # the biggest drop is 60 -> 70, and 70 is the first point at or below half of 100%
    assert (dhc["from_threshold"], dhc["to_threshold"]) == (60.0, 70.0)
    assert dhc["from_value"] == 75.0 and dhc["to_value"] == 25.0 and dhc["half_at"] == 70.0
    na = steep.loc[("tau", "NA")]  # conf >= tau: 100% up to 60 (60 >= 60 stays), 25% at 70..90, 0% at 100
    assert (na["from_threshold"], na["to_threshold"], na["to_value"], na["half_at"]) == (60.0, 70.0, 25.0, 70.0)
    assert ("tau", "DHF") not in steep.index  # the real image is always more confident: flat at 0
    assert ("gamma", "DHS") not in steep.index  # no similarity: undefined throughout


def test_plots_are_written_and_readable(tmp_path, output_dir):
    rng = np.random.default_rng(3)
    rows = []
    for i in range(300):
        vendor = ["aws", "ms", "nav"][i % 3]
        named = rng.random() < 0.6
        rows.append(dict(dataset=["CelebDF", "CelebFOM"][i % 2], vendor=vendor, probe_id=str(i), target=f"P{i % 7}",
                         target_name=f"P{i % 7}", target_conf=float(rng.uniform(80, 100)),
                         fake_name=f"P{i % 7}" if named else "",
                         fake_conf=float(rng.uniform(55, 100)) if named else None,
                         similarity=None if vendor == "nav" else float(rng.uniform(0, 100))))
    table = sweep(results_from_rows(rows))
    paths = plot_sweep(table, output_dir / "sweep-test")
    assert sorted(p.name for p in paths) == sorted(
        ["sweep_DHC_beta.png", "sweep_DHS_gamma.png", "sweep_NA_tau.png", "sweep_TA_tau.png",
         "sweep_DHF_tau.png", "sweep_SIC_tau.png"])
    import matplotlib.image

    image = matplotlib.image.imread(paths[0])
    assert image.shape[0] > 300 and image.shape[1] > 600
    assert image.std() > 0.05  # not a blank canvas


def test_empty_table_sweeps_to_nothing():
    assert sweep(results_from_rows([])).empty
    assert steepest_changes(sweep(results_from_rows([]))).empty


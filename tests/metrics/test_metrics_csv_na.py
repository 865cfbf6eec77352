"""The metric NA survives ``pandas.read_csv`` with its defaults in every CSV dfi writes with a metric column.

The files carry metric file ids (``ta``, ``na``, ...; :mod:`harness.metrics.files`); the project's
own reader gives the acronyms back, from these files and from older ones that carry the acronyms.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.metrics import METRICS, compute_metrics
from harness.metrics.files import FILE_ID_METRICS, METRIC_FILE_IDS, PANDAS_DEFAULT_NA, read_metric_csv, write_metric_csv
from harness.report.tables import write_metrics
from harness.results import results_from_rows, write_results

IDS = set(FILE_ID_METRICS)
ROWS = [
    dict(dataset="CelebFOM", vendor="aws", probe_id="1", target="A", target_name="A", target_conf=99.0,
         fake_name="A", fake_conf=95.0, similarity=91.0),
    dict(dataset="CelebFOM", vendor="aws", probe_id="2", target="B", target_name="B", target_conf=99.0,
         fake_name="", similarity=85.0),
    dict(dataset="CelebDF", vendor="ms", probe_id="3", target="A", target_name="A", target_conf=80.0,
         fake_name="C", fake_conf=12.0),
    dict(dataset="CelebDF", vendor="ms", probe_id="4", target="B", target_name="B", target_conf=80.0,
         fake_name="", fake_error="ServiceUnavailable"),
]


@pytest.fixture()
def results() -> pd.DataFrame:
    return results_from_rows(ROWS)


def assert_every_metric_survives(path_or_text: Path | str, groups: int) -> pd.DataFrame:
    source = path_or_text if isinstance(path_or_text, Path) else io.StringIO(path_or_text)
    table = pd.read_csv(source)  # pandas' defaults, as a user reads the file
    assert table["metric"].notna().all()
    assert set(table["metric"]) == IDS
    counts = table["metric"].value_counts()
    assert counts["na"] == counts["ta"] and counts["na"] >= groups  # as many NA rows as any other metric
    return table


def test_the_file_ids_are_not_missing_values_to_pandas():
    from pandas._libs.parsers import STR_NA_VALUES

    assert PANDAS_DEFAULT_NA == set(STR_NA_VALUES)
    assert not IDS & set(STR_NA_VALUES)
    assert {METRIC_FILE_IDS[m] for m in METRICS} == IDS and "NA" in STR_NA_VALUES  # why the ids exist


def test_metrics_csv_keeps_na(results, tmp_path):
    records, _ = write_metrics(results, tmp_path)
    table = assert_every_metric_survives(tmp_path / "metrics.csv", groups=2 * 2)
    assert len(table) == len(records)
    back = read_metric_csv(tmp_path / "metrics.csv")
    assert list(back["metric"]) == list(records["metric"])
    pd.testing.assert_frame_equal(back, records.reset_index(drop=True), check_dtype=False)
    assert list(records["metric"].unique()) == list(METRICS)  # the frame in memory keeps the acronyms


def test_dfi_metrics_csv_keeps_na(results, tmp_path):
    path = write_results(results, tmp_path / "results.csv")
    res = CliRunner().invoke(cli, ["metrics", str(path), "--csv"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    table = assert_every_metric_survives(res.output, groups=2)
    na = table[(table["metric"] == "na") & (table["basis"] == "study")].set_index("vendor")
    assert na.loc["aws", "value"] == 50.0 and na.loc["ms", "denominator"] == 1  # the errored probe left out


def test_sweep_csv_keeps_na(results, tmp_path):
    from harness.jobs.sweep import run_sweep

    path = write_results(results, tmp_path / "results.csv")
    res = run_sweep(results=[path], thresholds=np.array([0.0, 50.0, 100.0]), out_dir=tmp_path / "sweep",
                    plots=False)
    table = pd.read_csv(res.csv_path)
    assert table["metric"].notna().all() and "na" in set(table["metric"])
    assert len(table) == len(res.curves)
    back = read_metric_csv(res.csv_path)
    assert list(back["metric"]) == list(res.curves["metric"])
    assert (back["metric"] == "NA").sum() == (res.curves["metric"] == "NA").sum() > 0


def test_old_style_files_still_read(results, tmp_path):
    """Written before the file ids: acronyms, so pandas' defaults lose NA; the project's reader does not."""
    records = compute_metrics(results, by=("dataset", "vendor"))
    old = tmp_path / "metrics.csv"
    records.to_csv(old, index=False)
    assert pd.read_csv(old)["metric"].isna().sum() == (records["metric"] == "NA").sum() > 0  # the issue
    back = read_metric_csv(old)
    assert list(back["metric"]) == list(records["metric"])
    pd.testing.assert_frame_equal(back, records.reset_index(drop=True), check_dtype=False)
    undefined = back["value"].isna()
    assert undefined.any() and undefined.equals(records["value"].isna().reset_index(drop=True))


def test_other_values_and_frames_without_a_metric_column_pass_unchanged(tmp_path):
    frame = pd.DataFrame({"metric": ["NA", "answer_rate", None], "value": [1.0, math.nan, 3.0]})
    write_metric_csv(frame, tmp_path / "m.csv")
    assert list(pd.read_csv(tmp_path / "m.csv")["metric"].fillna("-")) == ["na", "answer_rate", "-"]
    assert list(frame["metric"].fillna("-")) == ["NA", "answer_rate", "-"]  # the caller's frame is untouched
    plain = pd.DataFrame({"NA_before": [1.0], "policy": ["x"]})
    write_metric_csv(plain, tmp_path / "p.csv")
    pd.testing.assert_frame_equal(read_metric_csv(tmp_path / "p.csv"), plain)


def test_simulation_outputs_keep_na(tmp_path):
    """Every CSV of a (small) simulation that has a metric column reads with pandas' defaults intact."""
    from harness.cli.simulate import simulate_cmd

    res = CliRunner().invoke(simulate_cmd, ["--scale", "0.02", "--out", str(tmp_path), "--no-sensitivity"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    checked = []
    for path in sorted(tmp_path.glob("*.csv")):
        table = pd.read_csv(path)
        if "metric" in table.columns:
            assert table["metric"].notna().all(), path.name
            assert not set(table["metric"]) & set(METRICS), path.name  # ids, not acronyms
            checked.append(path.name)
    assert {"metrics.csv", "sweep.csv"} <= set(checked)

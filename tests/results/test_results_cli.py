"""`dfi import-paper`, `dfi metrics` and `dfi sweep` end to end through the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import cli, main
from harness.results import read_results, results_from_rows, write_results

ROWS = [
    dict(dataset="CelebFOM", vendor="aws", probe_id="1", target="A", target_name="A", target_conf=99.0,
         fake_name="A", fake_conf=95.0, similarity=91.0, source="run-1"),
    dict(dataset="CelebFOM", vendor="aws", probe_id="2", target="B", target_name="B", target_conf=99.0,
         fake_name="", similarity=85.0, source="run-2"),
    dict(dataset="CelebFOM", vendor="nav", probe_id="1", target="A", target_name="A", target_conf=80.0,
         fake_name="C", fake_conf=12.0, source="run-1"),
    dict(dataset="CelebFOM", vendor="nav", probe_id="2", target="B", target_name="B", target_conf=80.0,
         fake_name="", fake_error="ServiceUnavailable", source="run-1"),
]


@pytest.fixture()
def results_file(tmp_path):
    return write_results(results_from_rows(ROWS), tmp_path / "results.jsonl")


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_metrics_json_records(results_file):
    records = json.loads(run("metrics", results_file, "--json", "--beta", 94, "--gamma", 90))
    keys = {"dataset", "vendor", "metric", "basis", "value", "numerator", "denominator", "ci_low", "ci_high",
            "beta", "gamma"}
    assert all(set(r) == keys for r in records) and len(records) == 2 * 6 * 2
    by = {(r["vendor"], r["metric"], r["basis"]): r for r in records}
    assert by[("aws", "TA", "study")]["value"] == 50.0 and by[("aws", "DHC", "study")]["numerator"] == 1
    assert by[("aws", "DHS", "study")]["denominator"] == 1 and by[("aws", "DHS", "study")]["numerator"] == 0  # 85 <= 90
    nav_dhs = by[("nav", "DHS", "study")]
    assert nav_dhs["value"] is None and nav_dhs["ci_low"] is None and nav_dhs["denominator"] == 0
    assert by[("nav", "NA", "study")]["denominator"] == 1  # the errored probe is left out
    assert records[0]["beta"] == 94.0 and records[0]["gamma"] == 90.0


def test_metrics_csv_by_source(results_file):
    from io import StringIO

    table = pd.read_csv(StringIO(run("metrics", results_file, "--csv", "--by", "source")))
    assert list(table.columns[:3]) == ["dataset", "vendor", "source"]
    assert set(table["source"]) == {"run-1", "run-2"}
    assert set(table["metric"]) == {"ta", "na", "dhf", "dhc", "dhs", "sic"}  # file ids: pandas keeps "na"
    ta = table[(table["metric"] == "ta") & (table["basis"] == "study")].set_index(["vendor", "source"])["value"]
    assert ta[("aws", "run-1")] == 100.0 and ta[("aws", "run-2")] == 0.0
    assert ta[("nav", "run-1")] == 0.0


def test_metrics_terminal_panels(results_file):
    out = run("metrics", results_file)
    for words in ("TA: targeted attack success", "DHS: high-similarity deception", "Probes and errors",
                  "CelebFOM", "AWS", "NAV", "undefined", "50.0%", "% of NA successes"):
        assert words in out, words


def test_import_then_metrics_then_sweep(shared_data, tmp_path):
    table_path = tmp_path / "paper.parquet"
    out = run("import-paper", shared_data / "paper-results", "-o", table_path)
    assert "no celebrity" in out and "the call failed" in out and "wrote 20998 rows" in out
    assert "2922 rows of Results_CelebDPR.csv" in out  # probes ms_CelebDPR.csv records too: kept once
    assert len(read_results(table_path)) == 20998
    records = json.loads(run("metrics", table_path, "--json"))
    ta = {(r["dataset"], r["vendor"]): r for r in records if r["metric"] == "TA" and r["basis"] == "study"}
    assert (ta[("CelebFOM", "ms")]["numerator"], ta[("CelebFOM", "ms")]["denominator"]) == (1129, 2176)
    out = run("sweep", table_path, "-o", tmp_path / "sweep", "--grid", "0:100:5")
    assert "changes fastest" in out
    curves = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    assert len(curves) == 6 * 21 * 12  # 6 groups, 21 grid points, 6 curves x 2 bases
    assert len(list((tmp_path / "sweep").glob("sweep_*.png"))) == 6


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    frame = results_from_rows(ROWS).astype(object)
    frame.loc[2, "fake_conf"] = "twelve"
    frame.to_csv(bad, index=False)
    with pytest.raises(SystemExit) as info:
        main(["metrics", str(bad)])
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines at the terminal width
    assert "bad.csv, row 3, column 'fake_conf'" in err and "'twelve' is not a number" in err
    assert "Traceback" not in err


def test_sweep_bad_grid(results_file):
    result = CliRunner().invoke(cli, ["sweep", str(results_file), "--grid", "0:200:10"])
    assert result.exit_code == 2 and "0-100" in result.output
    result = CliRunner().invoke(cli, ["sweep", str(results_file), "--grid", "nan,50"])
    assert result.exit_code == 2 and "finite" in result.output


def test_sweep_to_an_impossible_folder_is_one_line(results_file, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(results_file), "-o", str(tmp_path / "a_file" / "sweep"), "--no-plots"])
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and "cannot write the sweep here" in err and "Traceback" not in err


def test_metrics_refuses_nan_thresholds(results_file):
    for option in ("--beta", "--gamma"):
        result = CliRunner().invoke(cli, ["metrics", str(results_file), option, "nan"])
        assert result.exit_code == 2 and "not a number in 0-100" in result.output, result.output


def test_import_paper_refuses_bad_output_suffix_before_reading(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["import-paper", str(tmp_path), "-o", str(tmp_path / "out.xlsx")])
    assert "unknown results-file type" in capsys.readouterr().err


def test_empty_results_file(tmp_path):
    from harness.results import empty_results

    path = write_results(empty_results(), tmp_path / "empty.csv")
    assert "no probes in" in run("metrics", path)
    assert json.loads(run("metrics", path, "--json")) == []
    assert "no probes in" in run("sweep", path, "-o", tmp_path / "sweep")
    assert pd.read_csv(tmp_path / "sweep" / "sweep.csv").empty

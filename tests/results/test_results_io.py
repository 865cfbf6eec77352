"""The results table: round trips in every format, defaults, and clear errors on bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import InputFileError
from harness.results import SCHEMA_VERSION, empty_results, read_results, results_from_rows, write_results
from harness.results.schema import COLUMN_NAMES

ROWS = [
    dict(dataset="CelebDF", vendor="aws", probe_id="a/1.png", target="Emma Watson", target_name="Emma Watson",
         target_conf=99.5, fake_name="Emma Watson", fake_conf=97.0, similarity=88.25, method="replacement"),
    dict(dataset="CelebDF", vendor="MS", probe_id="a/1.png", target="Emma Watson", target_name="Emma Watson",
         target_conf=99.0, fake_name="", fake_conf=None, similarity=0.0, source="Results_celebDF.csv"),
    dict(dataset="CelebBlend", vendor="nav", probe_id="b/2.jpg", target="IU", references="IU|Emma Stone",
         target_name="IU", target_conf=1.0, target2_name="Emma Stone", target2_conf=50.0,
         fake_name="", fake_error="ThrottlingException: rate exceeded", method="synthesis"),
]


def test_rows_get_defaults_dtypes_and_schema_version():
    df = results_from_rows(ROWS)
    assert list(df.columns) == list(COLUMN_NAMES)
    assert (df["schema_version"] == SCHEMA_VERSION).all()
    assert df["vendor"].tolist() == ["aws", "ms", "nav"]          # case-normalised
    assert df["method"].tolist() == ["replacement", "unknown", "synthesis"]
    assert df["fake_conf"].dtype == np.float64 and math.isnan(df["fake_conf"][1])
    assert df["similarity"].tolist()[:2] == [88.25, 0.0]         # a recorded 0 stays 0, not missing
    assert math.isnan(df["similarity"][2])
    assert df["fake_error"][2].startswith("Throttling") and df["target_error"][2] == ""


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_round_trip_every_format(tmp_path, suffix):
    df = results_from_rows(ROWS)
    path = write_results(df, tmp_path / f"results.{suffix}")
    back = read_results(path)
    pd.testing.assert_frame_equal(back, df)
    assert [p.name for p in tmp_path.iterdir()] == [f"results.{suffix}"]  # no temp file left


def test_reading_several_files_concatenates(tmp_path):
    df = results_from_rows(ROWS)
    a = write_results(df, tmp_path / "a.csv")
    b = write_results(df.iloc[:1].assign(probe_id="another probe"), tmp_path / "b.parquet")
    both = read_results([a, b])
    assert len(both) == 4 and list(both.columns) == list(COLUMN_NAMES)


def test_a_row_repeated_across_files_is_refused_not_counted_twice(tmp_path):
    df = results_from_rows(ROWS)
    a = write_results(df, tmp_path / "a.csv")
    b = write_results(df.iloc[:1], tmp_path / "b.parquet")
    with pytest.raises(InputFileError, match=r"a.csv \+ .*b.parquet, row 4: repeats row 1"):
        read_results([a, b])


def test_empty_results_round_trip(tmp_path):
    path = write_results(empty_results(), tmp_path / "e.parquet")
    back = read_results(path)
    assert len(back) == 0 and list(back.columns) == list(COLUMN_NAMES)


def test_extra_columns_are_kept_as_text(tmp_path):
    df = results_from_rows([dict(ROWS[0], campaign_note="x")])
    back = read_results(write_results(df, tmp_path / "x.csv"))
    assert back["campaign_note"].tolist() == ["x"]


def _csv_with(tmp_path, change):
    frame = results_from_rows(ROWS).astype(object)
    change(frame)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "change, row, column, words",
    [
        (lambda f: f.__delitem__("fake_conf"), None, "fake_conf", "missing required column"),
        (lambda f: f.__setitem__("vendor", ["aws", "ms", "google"]), 3, "vendor", "unknown vendor 'google'"),
        (lambda f: f.__setitem__("fake_conf", [97.0, None, 100.5]), 3, "fake_conf", "outside the 0-100 scale"),
        (lambda f: f.__setitem__("target_conf", [-1.0, 99.0, 1.0]), 1, "target_conf", "outside the 0-100 scale"),
        (lambda f: f.__setitem__("similarity", [88.25, "high", None]), 2, "similarity", "'high' is not a number"),
        (lambda f: f.__setitem__("schema_version", [1, 2, 1]), 2, "schema_version", "schema version"),
        (lambda f: f.__setitem__("dataset", ["CelebDF", "", "x"]), 2, "dataset", "must not be empty"),
        (lambda f: f.__setitem__("method", ["replacement", "morphing", ""]), 2, "method", "unknown generation method"),
    ],
)
def test_bad_csv_names_file_row_and_column(tmp_path, change, row, column, words):
    path = _csv_with(tmp_path, change)
    with pytest.raises(InputFileError) as info:
        read_results(path)
    err = info.value
    assert err.path == str(path) and err.row == row and err.column == column
    assert words in str(err) and "bad.csv" in str(err)


def test_bad_jsonl_score_types(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.loads(results_from_rows(ROWS[:1]).to_json(orient="records", lines=True))
    path.write_text(json.dumps(good) + "\n" + json.dumps(dict(good, fake_conf=True)) + "\n")
    with pytest.raises(InputFileError) as info:
        read_results(path)
    assert (info.value.row, info.value.column) == (2, "fake_conf")
    path.write_text(json.dumps(dict(good, fake_conf=True)) + "\n")  # every value true/false: a bool column
    with pytest.raises(InputFileError, match="True is not a number") as info:
        read_results(path)
    assert (info.value.row, info.value.column) == (1, "fake_conf")


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="unknown results-file type"):
        read_results(tmp_path / "x.xlsx")
    with pytest.raises(InputFileError, match="no such file"):
        read_results(tmp_path / "nope.csv")


def test_write_refuses_bad_table_and_leaves_old_file(tmp_path):
    path = write_results(results_from_rows(ROWS), tmp_path / "r.csv")
    before = path.read_bytes()
    bad = results_from_rows(ROWS)
    bad.loc[0, "fake_conf"] = 250.0
    with pytest.raises(InputFileError, match="outside the 0-100 scale"):
        write_results(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_write_to_an_impossible_place_names_the_file(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(InputFileError, match="cannot write here"):  # its "folder" is a file (fails as root too)
        write_results(results_from_rows(ROWS), tmp_path / "a_file" / "r.csv")


def test_write_failure_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    path = write_results(results_from_rows(ROWS), tmp_path / "r.parquet")
    before = path.read_bytes()

    def explode(self, *args, **kwargs):
        with open(args[0], "wb") as fh:
            fh.write(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", explode)
    more = [dict(r, probe_id=f"{r['probe_id']}-{k}") for k in range(3) for r in ROWS]
    with pytest.raises(OSError, match="disk full"):
        write_results(results_from_rows(more), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]


def test_report_files_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A full disk while writing report.html, metrics.csv, ... leaves the old file and no temp file."""
    import errno

    from harness.metrics.files import write_metric_csv
    from harness.paths import write_atomic

    page = write_atomic(tmp_path / "report.html", "<html>old</html>")
    metrics = tmp_path / "metrics.csv"
    write_metric_csv(pd.DataFrame({"metric": ["NA"], "value": [1.0]}), metrics)
    before = {p.name: p.read_bytes() for p in (page, metrics)}
    assert oct(page.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    from pathlib import Path

    real_write_bytes = Path.write_bytes

    def half_then_full(self, data):
        real_write_bytes(self, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    def csv_half_then_full(self, path, *args, **kwargs):
        Path(path).write_text("metric,value\nta,0.")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    monkeypatch.setattr(pd.DataFrame, "to_csv", csv_half_then_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(page, "<html>" + "x" * 100_000 + "</html>")
    with pytest.raises(OSError, match="No space"):
        write_metric_csv(pd.DataFrame({"metric": ["TA"] * 50_000, "value": [0.5] * 50_000}), metrics)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (page, metrics)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv", "report.html"]


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask

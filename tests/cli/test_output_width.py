"""What ``dfi`` prints to a pipe: no wrapping at $COLUMNS, no ANSI codes, errors on one line.

Run as real subprocesses (stdout and stderr piped, ``COLUMNS=40``) with argument paths longer than
120 characters, so the assertions hold whatever the test's temporary folder is called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def dfi(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    environ.update({"COLUMNS": "40", **env})
    return subprocess.run([sys.executable, "-c", "from harness.cli import main; main()", *args],
                          capture_output=True, text=True, env=environ, timeout=120)


@pytest.fixture
def long_dir(tmp_path: Path) -> Path:
    folder = tmp_path / ("a-long-folder-name-" * 7 + "end")
    folder.mkdir()
    assert len(str(folder)) > 120
    return folder


def _assert_clean(res: subprocess.CompletedProcess[str]) -> None:
    assert "\x1b[" not in res.stdout and "\x1b[" not in res.stderr


def test_printed_paths_and_tables_do_not_wrap(long_dir: Path):
    shutil.copytree(REPO / "cassettes" / "mock-recorded", long_dir / "mock-recorded")
    res = dfi("cassettes", "list", str(long_dir))
    assert res.returncode == 0, res.stderr
    _assert_clean(res)
    rows = [line for line in res.stdout.splitlines() if "aws.yaml" in line]
    assert len(rows) == 1  # one table row, one line: path and operations unbroken
    assert str(long_dir / "mock-recorded" / "aws.yaml") in rows[0]
    assert "CompareFaces x6, RecognizeCelebrities x14" in rows[0]

    res = dfi("cassettes", "scan", str(long_dir))
    assert res.returncode == 0, res.stderr
    _assert_clean(res)
    assert "scanned 4 cassette(s): 0 finding(s)" in res.stdout.splitlines()


def test_a_written_path_is_printed_on_one_line(long_dir: Path):
    table = long_dir / "results.csv"
    pd.DataFrame({"dataset": ["d"] * 2, "vendor": ["aws"] * 2, "probe_id": ["p1", "p2"], "target": ["A", "B"],
                  "fake_name": ["A", "C"], "fake_conf": [99.0, 80.0]}).to_csv(table, index=False)
    out = long_dir / "sweep-out"
    res = dfi("sweep", str(table), "-o", str(out), "--grid", "0,50,100", "--no-plots")
    assert res.returncode == 0, res.stderr
    _assert_clean(res)
    assert any(line.startswith(f"wrote {out / 'sweep.csv'} (") for line in res.stdout.splitlines()), res.stdout


@pytest.mark.parametrize("args", [
    ("metrics", "{long}/missing.csv"),
    ("metrics", "{long}/results.unknown-suffix"),
    ("metrics", "--no-such-option", "{long}/x.csv"),
    ("metrics", "--beta", "{long}", "{long}/x.csv"),
    ("no-such-command-{long}",),
])
def test_errors_are_one_line_on_stderr(long_dir: Path, args: tuple[str, ...]):
    argv = [a.format(long=long_dir) for a in args]
    res = dfi(*argv)
    assert res.returncode != 0
    _assert_clean(res)
    assert res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")


def test_brackets_in_a_path_are_printed_literally(tmp_path: Path):
    missing = tmp_path / "[bold]x[/bold]" / "missing.csv"
    res = dfi("metrics", str(missing))
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(missing) in lines[0]


def test_no_color_and_a_pipe_give_plain_text(long_dir: Path):
    """NO_COLOR set and a pipe: plain text either way."""
    res = dfi("metrics", str(long_dir / "missing.csv"), NO_COLOR="1")
    _assert_clean(res)
    assert res.stderr.startswith("error: ")

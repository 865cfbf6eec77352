"""What the CLI prints does not depend on the terminal's width when it is not a terminal."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rich.table import Table

from harness.cli.console import PIPE_WIDTH, make_console, stderr_console, stdout_console


def test_piped_console_never_wraps_and_lays_tables_out_wide(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    long = "x" * 50 + " " + "/very/long/" * 30 + "path.yaml"
    c = stdout_console()
    assert not c.is_terminal and c.width == PIPE_WIDTH
    c.print(f"wrote {long}: 1 interaction(s)")
    out = capsys.readouterr().out
    assert out == f"wrote {long}: 1 interaction(s)\n"
    t = Table("a", "b")
    t.add_row("1" * 70, "2" * 70)
    stdout_console().print(t)
    assert "1" * 70 in capsys.readouterr().out  # one cell, one line: not wrapped at 80 columns


def test_fixed_widths_are_kept(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # e.g. docs/regenerate.py
    assert stdout_console().width == 100
    assert stdout_console(width=150).width == 150
    assert stderr_console(pipe_width=200).width == 200
    assert make_console(stderr=True).stderr


def test_error_lines_are_one_line_when_piped(capsys, tmp_path):
    from harness.cli import main

    deep = tmp_path / ("d" * 60) / ("e" * 60) / "missing.csv"
    with pytest.raises(SystemExit) as exc:
        main(["metrics", str(deep)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(deep) in lines[0]


def test_cli_output_under_the_test_runner_is_unwrapped(tmp_path):
    """click's runner swaps sys.stdout: the consoles are built per command, so they see it."""
    from harness.cli import cli

    folder = tmp_path / ("long-folder-name-" * 8)
    folder.mkdir()
    r = CliRunner().invoke(cli, ["cassettes", "scan", str(folder)])
    assert r.exit_code == 0, r.output
    assert "scanned 0 cassette(s): 0 finding(s)" in r.output.splitlines()

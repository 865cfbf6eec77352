"""Bad input to the command line: one `error:` line naming what is wrong (exit 2), never a
traceback, a hang or a silently wrong number."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from harness.cli import main

from support.campaign_doubles import noise_png


def _dfi(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    err = capsys.readouterr().err
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


ROW = {"dataset": "D", "vendor": "aws", "probe_id": "p1", "target": "T", "method": "replacement",
       "fake_name": "T", "fake_conf": 99.0, "target_name": "T", "target_conf": 99.5}


@pytest.fixture
def results_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(ROW) + "\n" + json.dumps({**ROW, "probe_id": "p2"}) + "\n")
    return path


@pytest.mark.parametrize("bad_line", ["[1, 2]", "5", '"text"', "null", "{not json"])
@pytest.mark.parametrize("command", [("metrics",), ("sweep", "--out-dir", "{out}"), ("compare", "tables", "{good}"),
                                     ("calibrate", "--vendor", "aws", "-o", "{out}/p.yaml")])
def test_a_results_line_that_is_not_an_object_names_its_line(capsys, tmp_path, results_jsonl, bad_line, command):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(results_jsonl.read_text() + bad_line + "\n")
    args = [a.format(out=tmp_path / "out", good=results_jsonl) for a in command]
    code, err = _dfi(capsys, *args[:2] if command[0] == "compare" else args[:1], str(bad),
                     *(args[2:] if command[0] == "compare" else args[1:]))
    line = _one_error_line(err)
    assert code == 2 and "bad.jsonl" in line and "line 3" in line


def test_a_repeated_results_row_is_refused_not_counted_twice(capsys, tmp_path, results_jsonl):
    dup = tmp_path / "dup.jsonl"
    dup.write_text(results_jsonl.read_text() + json.dumps(ROW) + "\n")
    code, err = _dfi(capsys, "metrics", str(dup))
    line = _one_error_line(err)
    assert code == 2 and "row 3" in line and "repeats row 1" in line and "'p1'" in line


@pytest.mark.parametrize("name,content", [("m.jsonl", b'{"probe_id": "\xff"}\n'),
                                          ("m.csv", b"probe_id,dataset,method,deepfake,target\n\xfe,x,y,z,w\n")])
def test_a_manifest_that_is_not_utf8_is_one_line(capsys, tmp_path, name, content):
    manifest = tmp_path / name
    manifest.write_bytes(content)
    code, err = _dfi(capsys, "run", "--dataset", str(manifest), "--out", str(tmp_path / "out"))
    line = _one_error_line(err)
    assert code == 2 and name in line and "not UTF-8" in line


def test_a_bad_frame_number_in_a_manifest_is_one_line(capsys, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"probe_id": "a", "dataset": "d", "method": "replacement",
                                    "deepfake": "clip.mp4#frame=abc", "target": "T"}) + "\n")
    code, err = _dfi(capsys, "run", "--dataset", str(manifest), "--out", str(tmp_path / "out"))
    line = _one_error_line(err)
    assert code == 2 and "frame 'abc' is not a frame number" in line


@pytest.mark.parametrize("flag", [("--beta", "nan"), ("--gamma", "nan"), ("--beta", "101"), ("--concurrency", "-1"),
                                  ("--concurrency", "0"), ("--max-retries", "-1"), ("--batch-size", "0"),
                                  ("--samples", "0"), ("--run-length", "0"), ("--rate", "aws=-1"),
                                  ("--rate", "aws=0"), ("--rate", "aws=nan"), ("--rate", "xyz=1"),
                                  ("--port", "aws=0"), ("--port", "aws=70000"), ("--port", "aws=x")])
def test_every_invalid_run_value_is_refused_before_any_work(capsys, tmp_path, flag):
    code, err = _dfi(capsys, "run", *flag, "--out", str(tmp_path / "out"))
    line = _one_error_line(err)
    assert code == 2 and flag[0] in line
    assert not (tmp_path / "out").exists()


def test_faces_detect_exits_1_when_an_image_cannot_be_read(capsys, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    fine = noise_png(tmp_path / "noise.png", seed=1)
    try:
        main(["faces", "detect", str(broken), str(fine)])
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    out = capsys.readouterr().out
    if "not installed" in out:
        pytest.skip("face models not installed")
    assert code == 1 and "broken.png" in out and "noise.png" in out


def test_a_full_disk_is_one_line_with_what_to_do(capsys, monkeypatch, tmp_path, results_jsonl):
    import harness.jobs.sweep as sweep_job

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sweep_job, "run_sweep", full)
    code, err = _dfi(capsys, "sweep", str(results_jsonl), "--out-dir", str(tmp_path / "out"))
    line = _one_error_line(err)
    assert code == 2 and "No space left on device" in line and "run the same command again" in line


@pytest.mark.parametrize("grid", ["0:100:0.0000001", "0:1e12:1", "0:inf:1", "0:100:nan"])
def test_a_sweep_grid_too_fine_or_not_finite_is_refused_at_once(capsys, tmp_path, results_jsonl, grid):
    code, err = _dfi(capsys, "sweep", str(results_jsonl), "--grid", grid, "--out-dir", str(tmp_path / "out"))
    line = _one_error_line(err)
    assert code == 2 and "--grid" in line and not (tmp_path / "out").exists()


def test_the_heatmap_axis_is_capped_whatever_the_grid():
    import numpy as np

    from harness.jobs.sweep import HEATMAP_POINTS, heatmap_axis

    fine = np.round(np.arange(0, 100.0001, 0.05), 10)
    axis = heatmap_axis(fine)
    assert len(axis) == HEATMAP_POINTS and axis[0] == 0 and axis[-1] == 100 and set(axis) <= set(fine)
    coarse = np.arange(0, 101.0)
    assert heatmap_axis(coarse) is coarse

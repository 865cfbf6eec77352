"""`dfi models` and `dfi faces` commands, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import cli

pytestmark = pytest.mark.models


def test_models_list_shows_every_model_intact(models):
    from harness.models import MODEL_SPECS, PACKS, installed_problems

    if installed_problems():
        pytest.skip(f"not every pack is installed ({'; '.join(installed_problems())}); run `dfi models fetch`")
    result = CliRunner().invoke(cli, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    rows = {m["name"]: m for m in listed["models"]}
    assert list(rows) == list(MODEL_SPECS)
    for name, m in rows.items():
        pack = PACKS[MODEL_SPECS[name].pack]
        assert m["status"] == "ok" and m["size"] > 0 and len(m["sha256"]) == 64
        assert (m["pack"], m["source"], m["licence"]) == (pack.name, pack.source, pack.licence)
    assert all(d["status"] == "ok" for d in listed["demo_images"])
    table = CliRunner().invoke(cli, ["models", "list"])
    for name in (*MODEL_SPECS, "t1.jpg"):
        assert " ok " in next(ln for ln in table.output.splitlines() if f" {name} " in ln or f"/{name} " in ln)


def test_models_fetch_when_installed_is_a_no_op(models):
    result = CliRunner().invoke(cli, ["models", "fetch"])
    assert result.exit_code == 0 and "already installed" in result.output


def test_faces_embed_writes_embeddings_and_reports_bad_files(models, shared_data, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    out = tmp_path / "emb.json"
    paths = [str(shared_data / "faces" / "obama.jpg"), str(bad), str(shared_data / "faces" / "biden.jpg")]
    result = CliRunner().invoke(cli, ["faces", "embed", *paths, "--out", str(out)], terminal_width=200)
    assert result.exit_code == 1  # one file failed
    assert "ImageDecodeError" in result.output and "obama.jpg" in result.output
    rows = json.loads(out.read_text())
    assert [r["image"].rsplit("/", 1)[-1] for r in rows] == ["obama.jpg", "biden.jpg"]
    assert all(len(r["embedding"]) == 512 for r in rows)
    e = np.array([r["embedding"] for r in rows])
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-4)


def test_faces_compare_and_detect(models, shared_data):
    faces = shared_data / "faces"
    result = CliRunner().invoke(cli, ["faces", "compare", str(faces / "obama.jpg"), str(faces / "obama3.jpg")])
    assert result.exit_code == 0
    assert float(result.output.strip().rsplit("=", 1)[1]) > 0.65
    result = CliRunner().invoke(cli, ["faces", "detect", str(faces / "biden.jpg")], terminal_width=200)
    assert result.exit_code == 0 and "biden.jpg" in result.output


def test_a_face_error_is_one_clear_line(models, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "harness", "faces", "compare", str(empty), str(empty)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert proc.returncode == 2
    assert "empty.jpg: the file is empty (0 bytes)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_output_path_that_cannot_be_written_is_one_line(models, shared_data, tmp_path):
    (tmp_path / "a_file").write_text("x")
    out = tmp_path / "a_file" / "emb.json"  # its folder is a file: fails for root too
    proc = subprocess.run([sys.executable, "-m", "harness", "faces", "embed", str(shared_data / "faces" / "obama.jpg"),
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})
    assert proc.returncode == 2 and f"{out}: Not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr

"""``dfi study`` end to end on the study's files: every output written, definitions switchable and named."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.jobs.study import run_study
from harness.study.definitions import StudyDefinitions

OUTPUTS = ("definitions.json", "grid.csv", "grid.md", "grid.png", "outcomes.csv", "outcomes.md", "per_celebrity.csv",
           "per_celebrity.md", "identities.csv", "identities.md", "confidence.csv", "confidence.md", "frames.csv",
           "frames.md", "frames_coverage.csv", "study.md")


@pytest.fixture(scope="module")
def attributes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "labels.csv"
    # made up for the test: the harness ships no labels
    path.write_text("celebrity,group\nEmma Watson,first\nBae Suzy,first\nTom Cruise,second\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def written(shared_data, tmp_path_factory, attributes_file):
    out = tmp_path_factory.mktemp("study") / "out"
    result = CliRunner().invoke(cli, ["study", str(shared_data / "paper-results"), "-o", str(out),
                                      "--attributes", str(attributes_file)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_every_output_is_written(written):
    out, output = written
    for name in (*OUTPUTS, "attributes.csv", "attributes.md"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "read 8 files, 20998 probes counted (2922 repeated rows counted once)" in output
    assert "zero_similarity=missing" in output and "wrote 18 files" in output


def test_per_celebrity_csv_has_exactly_the_columns(written):
    out, _ = written
    table = pd.read_csv(out / "per_celebrity.csv", keep_default_na=False)
    assert list(table.columns) == ["dataset", "vendor", "celebrity", "reference_conf", "target_conf", "similarity",
                                   "n_probes"]
    averages = table[table["celebrity"] == "Average"]
    assert len(averages) == 6      # one per dataset x vendor with data
    # unrounded, on 0-100
    fom = table[(table["dataset"] == "CelebFOM") & (table["celebrity"] == "Gal Gadot")].iloc[0]
    assert 0 < float(fom["target_conf"]) <= 100 and str(fom["target_conf"]) != str(round(float(fom["target_conf"])))
    md = (out / "per_celebrity.md").read_text()
    assert "| Celebrity | MS Reference | MS Target | MS Similarity | MS n |" in md
    assert "| Celebrity | AWS Reference | AWS Target | AWS Similarity | AWS n | MS Reference |" in md
    assert "| **Average** |" in md


def test_definitions_are_named_in_every_output(written):
    out, _ = written
    meta = json.loads((out / "definitions.json").read_text())
    assert meta["definitions"]["zero_similarity"] == "missing" and meta["definitions"]["ta_against"] == "vendor"
    assert meta["frame_thresholds"] == {"aws": 55.0, "ms": pytest.approx(70.0, abs=0.01)}
    assert meta["duplicates_dropped"] == {"Results_CelebDPR.csv": {"rows": 2922, "kept_in": "ms_CelebDPR.csv"}}
    for name in OUTPUTS:
        if name.endswith(".md"):
            assert "zero_similarity=missing" in (out / name).read_text() or name == "study.md", name
    for name in ("grid.csv", "outcomes.csv", "frames.csv", "attributes.csv"):
        columns = pd.read_csv(out / name, nrows=1).columns
        assert {"zero_similarity", "ta_against"} <= set(columns), name
    page = (out / "study.md").read_text()
    for section in ("## Definitions", "## Files read", "## The result grid", "## Whom the vendor names a deepfake as",
                    "## Per-celebrity tables", "## Most-named identities", "## Confidence of named answers",
                    "## Multi-frame aggregation", "## Metrics per celebrity attribute"):
        assert section in page, section
    assert "| `zero_similarity` | missing |" in page
    assert "/home/" not in page            # the study's machine prefix is not carried into probe ids


def test_attribute_groups_use_the_made_up_file(written):
    out, _ = written
    groups = pd.read_csv(out / "attributes.csv", keep_default_na=False)
    assert set(groups["group"]) == {"first", "second", "(not in file)"}


def test_switching_a_definition_changes_what_it_should(shared_data, tmp_path):
    paper = [shared_data / "paper-results"]
    default = run_study(paper, tmp_path / "a")
    score = run_study(paper, tmp_path / "b", StudyDefinitions(zero_similarity="score", ta_against="label",
                                                              celebrity_key="target", frames=(1, 2)))

    def rec(grid, metric, dataset):
        row = grid[(grid["metric"] == metric) & (grid["basis"] == "study") & (grid["dataset"] == dataset)
                   & (grid["vendor"] == "ms") & (grid["subset"] == "")].iloc[0]
        return int(row["numerator"]), int(row["denominator"])

    # zeros kept as scores: same DHS successes, more NA failures in the denominator (CelebFOM: 1,024 misses)
    assert rec(default.grid, "DHS", "CelebFOM") == (463, 880)
    assert rec(score.grid, "DHS", "CelebFOM") == (463, 1024)
    # TA against labels: the vendor calls "Amir Khan" "Aamir Khan", so his CelebDF deepfakes stop counting
    assert rec(score.grid, "TA", "CelebDF")[0] < rec(default.grid, "TA", "CelebDF")[0]
    assert rec(score.grid, "NA", "CelebDF") == rec(default.grid, "NA", "CelebDF")
    # CelebFOM keyed by the target instead of the driver: the same probes, other keys
    fom_default = default.per_celebrity[default.per_celebrity["dataset"] == "CelebFOM"]
    fom_target = score.per_celebrity[score.per_celebrity["dataset"] == "CelebFOM"]
    assert fom_default["n_probes"].iloc[-1] == fom_target["n_probes"].iloc[-1] == 2176
    assert not fom_default.set_index("celebrity")["n_probes"].equals(fom_target.set_index("celebrity")["n_probes"])
    assert set(score.frames.records["k"]) == {1, 2}
    assert "ta_against=label" in (tmp_path / "b" / "grid.md").read_text()


def _dfi(*args):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_bad_input_is_one_clear_line(shared_data, tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("name,region\nA,x\n", encoding="utf-8")
    result = _dfi("study", shared_data / "paper-results", "-o", tmp_path / "o", "--attributes", bad)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "no 'celebrity' column" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()          # refused before anything is read or written
    other = tmp_path / "results.csv"
    other.write_text("x\n1\n", encoding="utf-8")
    result = _dfi("study", other, "-o", tmp_path / "o")
    assert result.returncode == 2 and "not one of the study's result files" in result.stderr
    result = CliRunner().invoke(cli, ["study", "--frames", "0,4", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "window sizes must be >= 1" in result.output


def test_frames_page_reads_down_k_and_names_what_has_no_window(written):
    out, _ = written
    page = (out / "frames.md").read_text()
    assert "| VoxCelebTH (Results_vox1.csv) | MS | 8 | 200 | 50 | 0 |" in page
    assert "No window of k frames (no video has that many frames): FCelebDF AWS k=4" in page
    coverage = pd.read_csv(out / "frames_coverage.csv")
    assert dict(zip(coverage["source"], coverage["identifies_frames"])) == {
        "Results_celebDF.csv": False, "AWS_Results_CelebDPR.csv": True, "ms_CelebDPR.csv": True,
        "Results_vox1.csv": True, "Results_vox2.csv": True, "Results_FOM.csv": False, "Results_FaceApp.csv": False}

"""``dfi vendorfit fit`` and ``dfi vendorfit validate`` on the study's recorded files (../shared/data):
the files they write, their determinism for a seed, and the YAML loading back."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.vendorfit.build import load_dependence, load_models
from harness.vendorfit.validate import CELL_COLUMNS, METRIC_COLUMNS
from mockvendors.fitted.model import ASSUMED, RECORDS, VendorModel

pytestmark = pytest.mark.shared


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, prog_name="dfi", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_writes_three_models_that_load_back_and_are_deterministic(shared_data, tmp_path):
    papers = str(shared_data / "paper-results")
    one, two = tmp_path / "one" / "nested", tmp_path / "two"
    out = _run(["vendorfit", "fit", papers, "-o", str(one), "--fit-date", "2026-01-01", "--seed", "3"])
    _run(["vendorfit", "fit", papers, "-o", str(two), "--fit-date", "2026-01-01", "--seed", "3"])
    for vendor in ("aws", "ms", "nav"):
        assert (one / f"{vendor}.yaml").read_bytes() == (two / f"{vendor}.yaml").read_bytes()
        models = load_models(one / f"{vendor}.yaml")
        assert list(models) == [vendor]
        model = models[vendor]
        assert isinstance(model, VendorModel) and model.provenance.fit_date == "2026-01-01"
        assert model.provenance.seed == 3 and model.provenance.dfi_version
        assert set(load_dependence(one / f"{vendor}.yaml")[vendor]) >= set(model.datasets)
    ms = load_models(one / "ms.yaml")["ms"]
    assert ms.provenance.half == "all" and "AWS_Results_CelebDPR.csv" not in ms.provenance.source_files
    assert "Results_FaceApp.csv" in ms.provenance.source_files
    assert load_models(one / "aws.yaml")["aws"].dataset("CelebDF").provenance["deepfake.confidence"] == ASSUMED
    assert load_models(one / "aws.yaml")["aws"].dataset("FCelebDF").provenance["deepfake.answer_rate"] == RECORDS
    # the summary: one row per vendor x dataset, and the files written
    for line in ("AWS", "MS", "NAV", "CelebBlend", "records/aggregates/assumed", "ms.yaml"):
        assert line in out
    half = tmp_path / "half"
    _run(["vendorfit", "fit", papers, "-o", str(half), "--half", "A", "--fit-date", "2026-01-01"])
    assert load_models(half / "ms.yaml")["ms"].provenance.half == "A"


def test_validate_writes_the_distances_predictions_and_plots(shared_data, tmp_path):
    papers = str(shared_data / "paper-results")
    args = ["vendorfit", "validate", papers, "--resamples", "10", "--replicas", "2", "--seed", "1"]
    out = _run([*args, "-o", str(tmp_path / "a")])
    _run([*args, "-o", str(tmp_path / "b")])
    a, b = tmp_path / "a", tmp_path / "b"
    cells = pd.read_csv(a / "distances.csv")
    assert list(cells.columns) == list(CELL_COLUMNS) and len(cells) == 12
    assert set(cells["population"]) == {"genuine", "deepfake"}
    assert list(pd.read_csv(a / "predictions.csv").columns) == list(METRIC_COLUMNS)
    for name in ("distances.csv", "distances.md", "predictions.csv", "predictions.md"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    plots = sorted(p.name for p in (a / "plots").glob("*.png"))
    assert len(plots) == 6 and "ecdf_FCelebDF_aws.png" in plots
    met = int(cells["goal"].sum())
    assert f"{met} of 12 cells meet the goal" in out
    assert "KS A-B" in out and "FCelebDF" in out
    independent = _run([*args, "-o", str(tmp_path / "c"), "--independent"])
    assert "cells meet the goal" in independent

"""On the study's recorded files (../shared/data): the split, determinism, round trip and validation."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from harness.study.data import load_study
from harness.vendorfit.build import fit_study_models, from_yaml, to_yaml
from harness.vendorfit.fit import fit_vendor_model
from harness.vendorfit.split import celebrity_halves, half_labels, select_half
from harness.vendorfit.validate import CELL_COLUMNS, validate
from mockvendors.fitted.model import ASSUMED, RECORDS, VendorModel

pytestmark = pytest.mark.shared
RECORDED = {("aws", "FCelebDF"), *(("ms", d) for d in ("CelebDF", "FCelebDF", "VoxCelebTH", "CelebFOM", "CelebBlend"))}


@pytest.fixture(scope="module")
def table(shared_data):
    return load_study([shared_data / "paper-results"]).table


def test_the_split_is_by_celebrity_and_deterministic(table):
    halves = half_labels(table, seed=3)
    assert set(halves) == {"A", "B"}
    for source, rows in table.assign(half=halves).groupby("source"):
        both = rows.groupby("celebrity")["half"].nunique()
        assert (both == 1).all(), f"{source}: a celebrity in both halves"
    # the same celebrity is in the same half for every vendor and file of a dataset
    per_dataset = table.assign(half=halves).groupby(["dataset", "celebrity"])["half"].nunique()
    assert (per_dataset == 1).all()
    assert np.array_equal(halves, half_labels(table.sample(frac=1.0, random_state=1).sort_index(), seed=3))
    assert celebrity_halves(table, 3) != celebrity_halves(table, 4)
    a, b = select_half(table, "A", 3), select_half(table, "B", 3)
    assert len(a) + len(b) == len(table)
    for dataset in set(table["dataset"]):
        na, nb = (x.loc[x["dataset"] == dataset, "celebrity"].nunique() for x in (a, b))
        assert abs(na - nb) <= 1


def test_fitting_is_deterministic_for_a_seed(table):
    one = fit_vendor_model(table, "aws", seed=5, fit_date="2026-01-01")
    two = fit_vendor_model(table, "aws", seed=5, fit_date="2026-01-01")
    assert one.to_dict() == two.to_dict()
    assert fit_vendor_model(table, "aws", seed=6, fit_date="2026-01-01").to_dict() != one.to_dict()
    assert one.step == 1.0 and one.floor == 55.0   # AWS reports whole-number confidences, none below 55
    assert one.provenance.source_files == ("AWS_Results_CelebDPR.csv",) and one.provenance.half == "A"


def test_study_models_round_trip_and_say_where_each_parameter_comes_from(table):
    models = fit_study_models(table, seed=0, fit_date="2026-01-01")
    assert from_yaml(to_yaml(models)) == models
    for model in models.values():
        assert VendorModel.from_dict(yaml.safe_load(yaml.safe_dump(model.to_dict()))) == model
    assert set(models["ms"].datasets) == {"CelebDF", "FCelebDF", "VoxCelebTH", "CelebFOM", "CelebBlend"}
    assert set(models["aws"].datasets) == set(models["ms"].datasets)
    assert models["aws"].dataset("FCelebDF").provenance["deepfake.answer_rate"] == RECORDS
    assert models["aws"].dataset("CelebDF").provenance["deepfake.confidence"] == ASSUMED
    assert models["ms"].step is None and models["ms"].floor == 70.0
    assert models["ms"].dataset("unseen").dataset == "pooled"


def test_validation_has_a_finite_row_per_recorded_cell(table):
    result = validate(table, seed=0, resamples=20, replicas=2, fit_date="2026-01-01")
    cells = result.cells
    assert list(cells.columns) == list(CELL_COLUMNS)
    assert {(v, d) for v, d in zip(cells["vendor"], cells["dataset"])} == RECORDED
    assert len(cells) == 2 * len(RECORDED)
    for column in ("ks", "ks_low", "ks_high", "w1", "answer_rate_recorded", "answer_rate_model", "answer_rate_diff",
                   "answer_rate_diff_low", "answer_rate_diff_high", "ks_halves"):
        assert np.isfinite(cells[column].to_numpy(dtype=float)).all(), column
    assert cells["ks"].between(0, 1).all() and cells["goal"].dtype == bool
    metrics = result.metrics
    assert set(metrics["metric"]) == {"TA", "NA", "DHF", "DHC", "DHS", "SIC"}
    ta = metrics[(metrics["metric"] == "TA") & (metrics["basis"] == "study")]
    assert len(ta) == len(RECORDED) and np.isfinite(ta["model"]).all()

"""The fitter against a known model: what it samples it recovers; the sampler's rows are results rows;
the model's dict and YAML round trip; the published aggregates are reproduced."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from harness.metrics import compute_metrics
from harness.results.io import validate_results
from harness.results.schema import COLUMN_NAMES
from harness.vendorfit.aggregates import PUBLISHED, fit_to_aggregates, nav_model, with_published
from harness.vendorfit.build import from_yaml, to_yaml
from harness.vendorfit.fit import fit_vendor_model
from harness.vendorfit.sample import sample_table, synthetic_skeleton
from mockvendors.fitted.model import (
    AGGREGATES,
    ASSUMED,
    ORIGINS,
    POOLED,
    Coverage,
    DatasetModel,
    PopulationModel,
    Provenance,
    Rate,
    ScoreModel,
    SimilarityModel,
    Split,
    VendorModel,
)

GRID = np.linspace(70.5, 99.9, 60)


def known_model(*, coverage: float, q: float, rate_known: float, rate_unknown: float, target: float,
                reference: float, conf: tuple[float, float], sim_missing: float = 0.2) -> VendorModel:
    genuine = PopulationModel("ms", "CelebDF", "genuine", 0, Rate(coverage * q),
                              ScoreModel("logitnormal", (6.0, 2.5), 70.0), answer_rate_if_known=Rate(q))
    deepfake = PopulationModel(
        "ms", "CelebDF", "deepfake", 0, Rate(rate_known),
        ScoreModel("logitnormal", conf, 70.0),
        answer_rate_by_target={"known": Rate(rate_known), "unknown": Rate(rate_unknown)},
        outcomes={"known": Split({"target": target, "reference": reference, "other": 1 - target - reference}),
                  "unknown": Split({"target": 0.0, "reference": 0.5, "other": 0.5})},
        similarity={c: SimilarityModel(Rate(sim_missing), ScoreModel("beta", (2.0, 3.0), 50.0))
                    for c in ("named", "unnamed")},
    )
    dm = DatasetModel("ms", "CelebDF", genuine, deepfake, Coverage(0, Rate(coverage), {}),
                      other_names={"Someone Famous": 3, "Another One": 1})
    return VendorModel("ms", 70.0, None, {"CelebDF": dm}, dm, Provenance((), "all", "2026-01-01", "0", 0))


def _max_cdf_gap(a: ScoreModel, b: ScoreModel) -> float:
    return float(np.max(np.abs(a.cdf(GRID) - b.cdf(GRID))))


# no shrinking: each example samples and fits 6,000 probes, and a shrink would run hundreds of them
@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(coverage=st.floats(0.55, 0.9), q=st.floats(0.6, 0.95), rate_known=st.floats(0.2, 0.8),
       rate_unknown=st.floats(0.05, 0.5), target=st.floats(0.3, 0.8), reference=st.floats(0.05, 0.15),
       mu=st.floats(0.5, 4.0), sigma=st.floats(1.0, 3.0), seed=st.integers(0, 2**16))
def test_fitter_recovers_the_model_it_was_sampled_from(coverage, q, rate_known, rate_unknown, target, reference,
                                                       mu, sigma, seed):
    truth = known_model(coverage=coverage, q=q, rate_known=rate_known, rate_unknown=rate_unknown,
                        target=target, reference=reference, conf=(mu, sigma))
    skeleton = synthetic_skeleton("CelebDF", 400, 15, seed=seed)
    # three real images per celebrity, so that coverage and the per-image rate are identified apart
    skeleton["real_image"] = skeleton["target"] + "/" + (np.arange(len(skeleton)) % 3).astype(str)
    rows = sample_table(truth, "CelebDF", skeleton, seed=seed)
    fitted = fit_vendor_model(rows, "ms", seed=0, half="all").dataset("CelebDF")
    true_dm = truth.dataset("CelebDF")
    assert fitted.coverage.share.p == pytest.approx(coverage, abs=0.08)
    assert fitted.genuine.answer_rate_if_known.p == pytest.approx(q, abs=0.06)
    assert fitted.deepfake.rate_for("known") == pytest.approx(rate_known, abs=0.04)
    assert fitted.deepfake.rate_for("unknown") == pytest.approx(rate_unknown, abs=0.06)
    split = fitted.deepfake.split_for("known")
    assert split.share("target") == pytest.approx(target, abs=0.05)
    assert split.share("reference") == pytest.approx(reference, abs=0.04)
    assert _max_cdf_gap(fitted.deepfake.confidence, true_dm.deepfake.confidence) < 0.04
    assert _max_cdf_gap(fitted.genuine.confidence, true_dm.genuine.confidence) < 0.1
    assert fitted.deepfake.similarity["unnamed"].missing.p == pytest.approx(0.2, abs=0.04)
    assert set(fitted.other_names) <= {"Someone Famous", "Another One"}


def test_sampled_rows_are_a_valid_results_table_that_the_metrics_read():
    truth = known_model(coverage=0.8, q=0.9, rate_known=0.5, rate_unknown=0.1, target=0.7, reference=0.1,
                        conf=(2.0, 2.0))
    rows = sample_table(truth, "CelebDF", seed=3, n_celebrities=30, probes_per_celebrity=10)
    checked = validate_results(rows[list(COLUMN_NAMES)])
    assert len(checked) == 300
    named = rows["fake_name"] != ""
    assert rows.loc[named, "fake_conf"].between(70.0, 100.0).all() and rows.loc[~named, "fake_conf"].isna().all()
    metrics = compute_metrics(rows)
    assert set(metrics["metric"]) == {"TA", "NA", "DHF", "DHC", "DHS", "SIC"}
    pd.testing.assert_frame_equal(rows, sample_table(truth, "CelebDF", seed=3, n_celebrities=30,
                                                     probes_per_celebrity=10))


def test_skeleton_structure_is_kept():
    skeleton = synthetic_skeleton("CelebBlend", 10, 3, seed=1)
    truth = known_model(coverage=1.0, q=1.0, rate_known=1.0, rate_unknown=1.0, target=1.0, reference=0.0,
                        conf=(2.0, 2.0))
    rows = sample_table(truth, "CelebBlend", skeleton, seed=2)
    assert list(rows["probe_id"]) == list(skeleton["probe_id"])
    assert (rows["target2_name"] != "").all()   # both blended people are named, so either is a TA
    ta = compute_metrics(rows).query("metric == 'TA' and basis == 'study'")["value"].iloc[0]
    assert ta == 100.0


def test_model_round_trips_through_dict_and_yaml():
    truth = known_model(coverage=0.8, q=0.9, rate_known=0.5, rate_unknown=0.1, target=0.7, reference=0.1,
                        conf=(2.0, 2.0))
    rows = sample_table(truth, "CelebDF", seed=4, n_celebrities=60, probes_per_celebrity=10)
    model = fit_vendor_model(rows, "ms", seed=0, half="all", fit_date="2026-01-01")
    assert VendorModel.from_dict(model.to_dict()) == model
    assert VendorModel.from_dict(yaml.safe_load(yaml.safe_dump(model.to_dict()))) == model
    assert from_yaml(to_yaml({"ms": model})) == {"ms": model}


def test_published_aggregates_are_reproduced_and_labelled():
    truth = known_model(coverage=0.9, q=0.95, rate_known=0.4, rate_unknown=0.2, target=0.5, reference=0.0,
                        conf=(1.0, 2.0))
    aws_like = VendorModel("aws", 55.0, 1.0, {}, truth.pooled, truth.provenance)
    completed = with_published(aws_like)
    assert set(completed.datasets) == set(PUBLISHED["aws"])
    nav = nav_model(truth)
    assert set(nav.datasets) == set(PUBLISHED["nav"]) and nav.pooled.dataset == POOLED
    for model in (completed, nav):
        for dataset, (ta, na) in PUBLISHED[model.vendor].items():
            dm = model.dataset(dataset)
            assert dm.provenance["deepfake.answer_rate"] == AGGREGATES
            assert dm.provenance["deepfake.confidence"] == ASSUMED
            assert set(dm.provenance.values()) <= set(ORIGINS)
            rows = sample_table(model, dataset, seed=7, n_celebrities=300, probes_per_celebrity=20)
            got = compute_metrics(rows).query("basis == 'study'").set_index("metric")["value"]
            assert got["NA"] == pytest.approx(na, abs=2.0)
            assert got["TA"] == pytest.approx(ta, abs=2.5)
        assert VendorModel.from_dict(yaml.safe_load(yaml.safe_dump(model.to_dict()))) == model
    assert nav.dataset("CelebDF").deepfake.similarity == {}
    assert nav.dataset("CelebDF").genuine.answer_rate.p == 1.0


def test_fit_to_aggregates_caps_an_unreachable_targeted_share():
    truth = known_model(coverage=0.5, q=0.5, rate_known=0.4, rate_unknown=0.2, target=0.5, reference=0.0,
                        conf=(1.0, 2.0))
    dm = fit_to_aggregates(truth.pooled, "X", 40.0, 50.0, shape_note="a test shape")
    assert dm.deepfake.split_for("known").share("target") == 1.0
    assert any("capped" in n for n in dm.notes)
    assert not any(isinstance(v, float) and math.isnan(v) for v in dm.to_dict()["deepfake"]["answer_rate"].values())

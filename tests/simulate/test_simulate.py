"""The embedding-space simulation: measured geometry, the mock behaviour's reporting rules, the
metrics/sweep code on its table, and the defense evaluated on it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from harness.defense.evaluate import blank_flagged, defense_table
from harness.metrics import compute_metrics
from harness.simulate.defense import DetectorSetting, defense_study
from harness.simulate.params import STUDY_DATASETS, SimulationError, SimulationParams
from harness.simulate.run import simulate
from harness.simulate.sensitivity import threshold_table
from harness.simulate.world import World


@pytest.fixture(scope="module")
def params() -> SimulationParams:
    return SimulationParams.load()


@pytest.fixture(scope="module")
def small(params):
    return simulate(params.scaled(0.08))


def test_packaged_parameters_are_the_study_scale_and_say_where_they_come_from(params):
    assert params.celebrities == 286
    assert params.datasets == STUDY_DATASETS
    assert 15_500 < params.total_probes < 16_500
    assert {d.method for d in params.datasets} == {"replacement", "reenactment", "synthesis"}
    assert "measured" in params.embedding.provenance
    for g in params.generators.values():
        assert "measured" in g.provenance


def test_world_reproduces_the_measured_cosine_spreads(params):
    world = World(params.scaled(0.05))
    emb, owner = world.gallery_embeddings, world.gallery_owner
    cos = emb @ emb.T
    same = (owner[:, None] == owner[None, :]) & ~np.eye(len(owner), dtype=bool)
    diff = owner[:, None] != owner[None, :]
    e = params.embedding
    assert abs(cos[same].mean() - e.same_person.mean) < 0.03
    assert abs(cos[diff].mean() - e.different_person.mean) < 0.02
    assert abs(cos[diff].std() - e.different_person.sd) < 0.02
    for probes in world.datasets:  # how far each generator moved the face
        if probes.spec.probes < 50:
            continue
        g = params.generators[probes.spec.method]
        assert abs(probes.identity_cos.mean() - g.to_identity.mean) < 0.06


def test_simulated_vendors_follow_the_mock_reporting_rules(small):
    r = small.results
    aws, ms, nav = (r[r["vendor"] == v] for v in ("aws", "ms", "nav"))
    assert aws.loc[aws["fake_name"] != "", "fake_conf"].min() >= 55.0
    assert ms.loc[ms["fake_name"] != "", "fake_conf"].min() >= 70.0
    assert (nav["fake_name"] != "").all()  # NAV always names someone
    assert nav["similarity"].isna().all() and aws["similarity"].notna().all()
    assert set(r["dataset"]) == {d.name for d in STUDY_DATASETS}


def test_same_seed_same_world_and_answers(params):
    p = params.scaled(0.02)
    a, b = simulate(p).results, simulate(p).results
    pd.testing.assert_frame_equal(a, b)
    c = simulate(replace(p, seed=7)).results
    assert not a["fake_conf"].equals(c["fake_conf"])


def test_metrics_and_tau_sweep_agree_with_rerunning_the_vendor_behaviour(small):
    """The sweep's tau applied to an unthresholded run equals a run with the vendors' own thresholds."""
    th = threshold_table(small.world, grid=(55.0, 70.0))
    m = compute_metrics(small.results, by=("vendor",))
    for vendor, tau in (("aws", 55.0), ("ms", 70.0)):
        for metric in ("NA", "TA"):
            direct = m[(m["vendor"] == vendor) & (m["metric"] == metric) & (m["basis"] == "study")]["value"].item()
            swept = th[(th["vendor"] == vendor) & (th["metric"] == metric) & (th["threshold"] == tau)]["value"].item()
            assert swept == pytest.approx(direct)


def test_reporting_threshold_override_goes_through_the_behaviour(params):
    p = params.scaled(0.02)
    low = simulate(p, ["aws"], {"aws": {"report_threshold": 30}}).results
    high = simulate(p, ["aws"], {"aws": {"report_threshold": 90}}).results
    assert low.loc[low["fake_name"] != "", "fake_conf"].min() < 55
    assert high.loc[high["fake_name"] != "", "fake_conf"].min() >= 90
    assert (high["fake_name"] != "").sum() < (low["fake_name"] != "").sum()


def test_defense_on_the_simulation_perfect_and_blind_detectors(small, params):
    train = simulate(replace(params.scaled(0.03), seed=1))
    t = defense_study(small, train, [DetectorSetting("perfect", 1.0, 0.0), DetectorSetting("blind", 0.0, 0.0)])
    perfect = t[t["policy"] == "DD1[perfect]"]
    blind = t[t["policy"] == "DD1[blind]"]
    assert (perfect["NA_after"] == 0).all() and (perfect["genuine_cost"] == 0).all()
    np.testing.assert_allclose(blind["NA_after"], blind["NA_before"])
    dd2 = t[t["policy"] == "DD2[perfect+blind]"]
    assert (dd2["NA_after"].to_numpy() <= blind["NA_after"].to_numpy()).all()


def test_correlated_detector_beats_the_independence_estimate(params):
    """When the detector misses exactly the convincing fakes, more attacks get through than
    rate x (1 - TPR) predicts -- visible where the vendor is fooled by only part of the fakes."""
    p = params.scaled(0.2)
    sim = simulate(p, ["aws"], {"aws": {"report_threshold": 90}})
    train = simulate(replace(params.scaled(0.03), seed=1), ["aws"])
    t = defense_study(sim, train, [DetectorSetting("indep", 0.8, 0.05, 0.0), DetectorSetting("corr", 0.8, 0.05, 1.0)])
    ind = t[t["policy"] == "DD1[indep]"]
    cor = t[t["policy"] == "DD1[corr]"]
    assert (cor["NA_after"] - cor["NA_indep_est"]).mean() > 3.0
    assert abs((ind["NA_after"] - ind["NA_indep_est"]).mean()) < 2.0


def test_defense_table_counts_genuine_cost_from_the_after_table(small):
    r = small.results
    n = len(r)
    fake = np.zeros(n, bool)
    target = np.zeros(n, bool)
    target[::4] = True  # block every fourth genuine image
    after = blank_flagged(r, fake, target)
    t = defense_table(r, after, fake, target)
    named = (r["target_name"] != "").to_numpy()
    expected = 100 * (named & target).sum() / named.sum()
    pooled = 100 * t["genuine_destroyed"].sum() / t["genuine_named_before"].sum()
    assert pooled == pytest.approx(expected)
    assert (t["NA_after"] == t["NA_before"]).all()  # no deepfake was blocked


def test_bad_parameters_are_refused(params):
    with pytest.raises(SimulationError):
        replace(params, celebrities=10)
    with pytest.raises(SimulationError):
        replace(params, regions={"western": 0.5})


def test_fit_recovers_a_known_deepfake_strength(params):
    """A 'study' simulated with a known to_identity is fitted back from the measured default."""
    from harness.simulate.fit import fit_to_study
    from harness.simulate.params import Spread

    spec = next(d for d in params.datasets if d.name == "CelebDF")
    truth = replace(params, datasets=(replace(spec, probes=1500, to_identity=Spread(0.45, 0.11)),))
    study = simulate(truth, ["ms"]).results
    start = replace(params, datasets=(replace(spec, probes=1500),))
    fitted, table = fit_to_study(start, study, iterations=8)
    got = fitted.datasets[0].to_identity.mean
    assert abs(got - 0.45) < 0.03, table
    assert abs(table["sim_NA_fitted"].item() - table["study_NA"].item()) < 3.0

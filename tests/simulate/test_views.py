"""Several recognizers in one simulated world: each view keeps its own measured statistics, shares
who impersonates whom, and follows the reference's mistakes as far as its coupling says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.compare.agreement import agreement
from harness.simulate.coupling import centred_correlation, fit_coupling, pearson, simulated_correlations
from harness.simulate.params import Coupling, RecognizerStats, SimulationError, SimulationParams
from harness.simulate.run import simulate, vendor_view
from harness.simulate.world import World
from mockvendors.profile import load_profile


@pytest.fixture(scope="module")
def params() -> SimulationParams:
    return SimulationParams.load()


def with_view(p: SimulationParams, name: str, coupling: Coupling, like: str | None = None) -> SimulationParams:
    emb, gens = p.stats_of(like or p.recognizer)
    return replace(p, recognizers={name: RecognizerStats(emb, gens, coupling)})


def test_packaged_parameters_have_a_measured_view_for_every_vendor_recognizer(params):
    for vendor in ("aws", "ms", "nav"):
        assert load_profile(vendor).recognizer in params.recognizer_names
    for name, view in params.recognizers.items():
        assert "measured with " + name in view.embedding.provenance
        assert "fitted by bisection" in view.coupling.provenance
        c = view.coupling  # 1 where the measured correlation is at or above what the two geometries allow
        assert 0.0 < c.identity <= 1.0 and 0.0 < c.deepfake <= 1.0 and min(c.identity, c.deepfake) < 1.0
    assert params.stats_of("dlib_resnet")[0].different_person.mean > 0.5  # dlib's own, high, scale


def test_each_view_reproduces_its_own_recognizers_spreads(params):
    world = World(params.scaled(0.05))
    for name, view in world.views.items():
        emb, gens = params.stats_of(name)
        assert view.centres.shape[1] == emb.dim
        e, owner = view.gallery_embeddings, world.gallery_owner
        cos = e @ e.T
        diff = owner[:, None] != owner[None, :]
        same = (owner[:, None] == owner[None, :]) & ~np.eye(len(owner), dtype=bool)
        assert abs(cos[diff].mean() - emb.different_person.mean) < 0.02, name
        assert abs(cos[same].mean() - emb.same_person.mean) < 0.03, name
        for probes in view.datasets:
            if probes.spec.probes >= 50:
                assert abs(probes.identity_cos.mean() - gens[probes.spec.method].to_identity.mean) < 0.06, name


def test_views_share_who_impersonates_whom_and_the_reference_is_unchanged(params):
    p = params.scaled(0.03)
    world, alone = World(p), World(replace(p, recognizers={}))
    np.testing.assert_array_equal(world.datasets[0].fake, alone.datasets[0].fake)
    for view in world.views.values():
        for a, b in zip(view.datasets, world.datasets, strict=True):
            np.testing.assert_array_equal(a.target, b.target)
            np.testing.assert_array_equal(a.other, b.other)


def test_coupling_one_on_the_same_statistics_is_the_same_world(params):
    p = with_view(params.scaled(0.03), "copy", Coupling(1.0, 1.0))
    world = World(p)
    for a, b in zip(world.views["copy"].datasets, world.datasets, strict=True):
        np.testing.assert_allclose(a.fake, b.fake)
    assert simulated_correlations(p, "copy") == pytest.approx((1.0, 1.0))


@pytest.mark.parametrize(("target_i", "target_d"), [(0.3, 0.5), (0.8, 0.6)])
def test_fit_coupling_recovers_the_correlations_it_was_given(params, target_i, target_d):
    emb, gens = params.stats_of(params.recognizer)
    c = fit_coupling(replace(params, recognizers={}), "copy", emb, gens, target_i, target_d, iterations=8)
    got_i, got_d = simulated_correlations(with_view(params.scaled(0.15), "copy", c), "copy")
    assert got_i == pytest.approx(target_i, abs=0.03)
    assert got_d == pytest.approx(target_d, abs=0.03)


def test_correlation_helpers_centre_each_group():
    a = np.array([0.1, 0.2, 0.3, 0.9, 1.0, 1.1])
    b = np.array([0.3, 0.2, 0.1, 0.6, 0.5, 0.4])  # opposite within groups, same between them
    assert pearson(a, b) > 0.7
    assert centred_correlation([(a[:3], b[:3]), (a[3:], b[3:])]) == pytest.approx(-1.0)


def test_vendors_answer_from_their_own_view_and_disagree_partly(params):
    sim = simulate(params.scaled(0.1))
    world = sim.world
    for vendor, beh in sim.vendors.items():
        assert beh.profile.recognizer == load_profile(vendor).recognizer
        assert vendor_view(world, beh.profile).recognizer == beh.profile.recognizer
    agree = agreement(sim.results)
    aws_ms = agree[(agree["vendor1"] == "aws") & (agree["vendor2"] == "ms")]
    assert (aws_ms["only1"] + aws_ms["only2"]).sum() > 0  # not one model's mistakes three times
    assert (aws_ms["kappa"] < 0.99).all()


def test_parameters_without_views_still_load_and_carry_calibrations_through_the_anchors(params):
    old = replace(params.scaled(0.03), recognizers={})
    d = old.to_dict()
    d.pop("recognizers")
    d.pop("recognizer")
    loaded = SimulationParams.from_dict(d)
    assert loaded.recognizer_names == ("faceplugin",)
    sim = simulate(loaded, ["ms"])
    assert sim.vendors["ms"].profile.recognizer == "faceplugin"  # carried to the reference scale
    assert (sim.results["fake_name"] != "").any()


def test_bad_views_are_refused(params):
    emb, gens = params.stats_of(params.recognizer)
    with pytest.raises(SimulationError):
        Coupling(1.5, 0.5)
    with pytest.raises(SimulationError):
        replace(params, recognizers={params.recognizer: RecognizerStats(emb, gens, Coupling(1, 1))})
    with pytest.raises(SimulationError):
        replace(params, recognizers={"x": RecognizerStats(emb, {}, Coupling(1, 1))})


def test_round_trip_through_json(params, tmp_path):
    params.save(tmp_path / "p.json")
    assert SimulationParams.load(tmp_path / "p.json") == params

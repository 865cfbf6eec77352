"""The score families: their MLE recovers the parameters a sample was drawn with, on a grid or not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.vendorfit import families
from mockvendors.fitted import distributions
from mockvendors.fitted.model import ScoreModel


@settings(max_examples=12, deadline=None)
@given(mu=st.floats(-1.0, 4.0), sigma=st.floats(0.5, 3.0), step=st.sampled_from([None, 1.0]),
       seed=st.integers(0, 2**16))
def test_logitnormal_fit_recovers_its_parameters(mu, sigma, step, seed):
    rng = np.random.default_rng(seed)
    x = distributions.draw_scores("logitnormal", (mu, sigma), 55.0, 100.0, step, rng, 3000)
    fit = families.fit_family("logitnormal", x, 55.0, 100.0, step)
    assert fit.params[0] == pytest.approx(mu, abs=0.2 + 0.05 * sigma)
    assert fit.params[1] == pytest.approx(sigma, rel=0.12)


@settings(max_examples=12, deadline=None)
@given(a=st.floats(0.4, 4.0), b=st.floats(0.2, 3.0), step=st.sampled_from([None, 1.0]), seed=st.integers(0, 2**16))
def test_beta_fit_recovers_its_parameters(a, b, step, seed):
    rng = np.random.default_rng(seed)
    x = distributions.draw_scores("beta", (a, b), 55.0, 100.0, step, rng, 3000)
    fit = families.fit_family("beta", x, 55.0, 100.0, step)
    # a Beta whose mass sits in one grid bin is barely identified by binned data: compare the laws
    grid = np.linspace(55.5, 99.5, 45)
    true = ScoreModel("beta", (a, b), 55.0).cdf(grid)
    got = ScoreModel("beta", fit.params, 55.0).cdf(grid)
    assert np.max(np.abs(true - got)) < 0.04


def test_fit_best_picks_the_family_the_sample_came_from():
    rng = np.random.default_rng(0)
    x = distributions.draw_scores("logitnormal", (5.0, 3.0), 70.0, 100.0, None, rng, 4000)
    best, logliks = families.fit_best(x, 70.0, 100.0)
    assert best.family == "logitnormal" and set(logliks) == set(distributions.FAMILIES)
    y = distributions.draw_scores("beta", (0.4, 0.35), 55.0, 100.0, 1.0, rng, 4000)
    assert families.fit_best(y, 55.0, 100.0, 1.0)[0].family == "beta"


def test_draws_stay_inside_the_bounds_and_on_the_grid():
    rng = np.random.default_rng(1)
    x = distributions.draw_scores("beta", (0.3, 0.3), 55.0, 100.0, 1.0, rng, 5000)
    assert x.min() >= 55.0 and x.max() <= 100.0 and np.all(x == np.round(x))


def test_reporting_step():
    assert families.reporting_step(np.array([55.0, 58.999996185302734, 100.0])) == 1.0
    assert families.reporting_step(np.array([55.5, 60.0, 71.5])) == 0.5
    assert families.reporting_step(np.array([70.0056, 99.99])) is None

"""Parametric families for a vendor's bounded scores, and their maximum-likelihood fits.

A score ``x`` reported on ``(lower, upper)`` (a confidence above the vendor's reporting floor, a
similarity above its find-similar floor) is modelled on the unit variable
``u = (x - lower) / (upper - lower)``. Two two-parameter families are offered:

* ``"beta"`` -- ``u ~ Beta(a, b)``; with ``b < 1`` it piles mass at the top;
* ``"logitnormal"`` -- ``logit(u) ~ Normal(mu, sigma)``; it reaches much further into the last
  hundredths below 100, where Azure's confidences on real images sit (half of them >= 99.9).

Which one fits is decided per sample by likelihood (both have two parameters, so this is AIC's
choice), never by the held-out half. Why these two: in a first look at the study's files (seed-0
celebrity split, fit on half A, KS against half B) the Beta alone missed Azure's real-image
confidences badly (held-out KS 0.16-0.17 on CelebDF and CelebFOM, against 0.03-0.04 for the
logit-normal), while the logit-normal alone missed AWS's deepfakes, which pile up at the floor as
well as at the top (a U-shaped Beta fits those). The selection picks the logit-normal for most
Azure samples and the Beta for AWS's and for a few small or floor-heavy Azure ones (Azure's
FCelebDF deepfakes, CelebBlend's real images); ``ScoreModel.loglik`` keeps both log-likelihoods.

Reporting resolution. AWS reports whole numbers (every MatchConfidence in the study's files is an
integer, 55.0 to 100.0), so a reported value ``x`` stands for the interval ``[x - step/2, x +
step/2]`` clipped to ``(lower, upper)``: the fit maximises the interval-censored likelihood
``sum log(F(hi) - F(lo))`` (scipy.optimize, Nelder-Mead from the continuous fit on the reported
values), and draws are rounded to the same grid. Azure's scores are continuous (``step=None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from mockvendors.fitted.distributions import FAMILIES, to_unit, unit_cdf, unit_logpdf

STEPS: tuple[float, ...] = (1.0, 0.5, 0.1)
STEP_TOLERANCE = 1e-4


@dataclass(frozen=True)
class FamilyFit:
    family: str
    params: tuple[float, float]
    loglik: float  # on the unit variable u (the Jacobian is the same for every family)


def reporting_step(values: np.ndarray) -> float | None:
    """The coarsest of :data:`STEPS` every value lies on (within float noise), or None: continuous."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return None
    for step in STEPS:
        if np.all(np.abs(x / step - np.round(x / step)) * step <= STEP_TOLERANCE):
            return step
    return None


def _continuous_fit(family: str, u: np.ndarray) -> tuple[float, float]:
    if family == "logitnormal":
        z = special.logit(u)
        return float(z.mean()), float(max(z.std(), 1e-3))     # the closed-form MLE (ddof 0)
    if np.ptp(u) <= 0:                                        # one value: a sharp Beta at it
        m = float(u[0])
        return 1000.0 * m, 1000.0 * (1.0 - m)
    a, b, _, _ = stats.beta.fit(u, floc=0.0, fscale=1.0)
    return float(a), float(b)


def _pack(family: str, params: tuple[float, float]) -> np.ndarray:
    if family == "beta":
        return np.log(np.asarray(params))
    return np.array([params[0], np.log(params[1])])


def _unpack(family: str, theta: np.ndarray) -> tuple[float, float]:
    theta = np.clip(theta, -30.0, 30.0)
    if family == "beta":
        return float(np.exp(theta[0])), float(np.exp(theta[1]))
    return float(theta[0]), float(np.exp(theta[1]))


def fit_family(family: str, x: np.ndarray, lower: float, upper: float, step: float | None = None) -> FamilyFit:
    """Maximum-likelihood fit of one family to scores ``x`` on ``(lower, upper)``."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        raise ValueError("no scores to fit")
    u = to_unit(x, lower, upper)
    start = _continuous_fit(family, u)
    if step is None:
        return FamilyFit(family, start, float(unit_logpdf(family, start, u).sum()))
    # interval-censored: each distinct reported value is a bin [x - step/2, x + step/2] within the bounds
    values, counts = np.unique(np.round(x / step) * step, return_counts=True)
    lo = np.clip((values - step / 2 - lower) / (upper - lower), 0.0, 1.0)
    hi = np.clip((values + step / 2 - lower) / (upper - lower), 0.0, 1.0)

    def nll(theta: np.ndarray) -> float:
        params = _unpack(family, theta)
        mass = unit_cdf(family, params, hi) - unit_cdf(family, params, lo)
        return float(-(counts * np.log(np.maximum(mass, 1e-300))).sum())

    best = optimize.minimize(nll, _pack(family, start), method="Nelder-Mead",
                             options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
    params = _unpack(family, np.asarray(best.x))
    return FamilyFit(family, params, -float(best.fun))


def fit_best(x: np.ndarray, lower: float, upper: float, step: float | None = None,
             families: Sequence[str] = FAMILIES) -> tuple[FamilyFit, dict[str, float]]:
    """The family with the highest likelihood, and every candidate's log-likelihood."""
    fits = [fit_family(f, x, lower, upper, step) for f in families]
    best = max(fits, key=lambda f: (f.loglik, -families.index(f.family)))
    return best, {f.family: f.loglik for f in fits}

"""The bounded score families of a fitted vendor model: distribution functions only (fitting them
is :mod:`harness.vendorfit.families`' job).

A score ``x`` on ``(lower, upper)`` is modelled on ``u = (x - lower) / (upper - lower)``:
``"beta"`` (``u ~ Beta(a, b)``) or ``"logitnormal"`` (``logit(u) ~ Normal(mu, sigma)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special, stats

FAMILIES: tuple[str, ...] = ("beta", "logitnormal")
# u is kept this far inside (0, 1): a value reported exactly at a bound (AWS's 100.0, an Azure
# similarity at its floor) would otherwise have log density -inf under both families
EDGE = 1e-7


def to_unit(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return np.clip((np.asarray(x, dtype=np.float64) - lower) / (upper - lower), EDGE, 1.0 - EDGE)


def from_unit(u: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return lower + (upper - lower) * np.asarray(u, dtype=np.float64)


def unit_cdf(family: str, params: Sequence[float], u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if family == "beta":
        return np.asarray(stats.beta.cdf(u, params[0], params[1]), dtype=np.float64)
    if family == "logitnormal":
        with np.errstate(divide="ignore"):
            z = special.logit(np.clip(u, 0.0, 1.0))
        return np.asarray(stats.norm.cdf(z, params[0], params[1]), dtype=np.float64)
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def unit_logpdf(family: str, params: Sequence[float], u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if family == "beta":
        return np.asarray(stats.beta.logpdf(u, params[0], params[1]), dtype=np.float64)
    if family == "logitnormal":
        z = special.logit(u)
        return np.asarray(stats.norm.logpdf(z, params[0], params[1]) - np.log(u) - np.log1p(-u), dtype=np.float64)
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def unit_sample(family: str, params: Sequence[float], rng: np.random.Generator, size: int) -> np.ndarray:
    if family == "beta":
        return rng.beta(params[0], params[1], size)
    if family == "logitnormal":
        return np.asarray(special.expit(rng.normal(params[0], params[1], size)), dtype=np.float64)
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def unit_ppf(family: str, params: Sequence[float], q: np.ndarray) -> np.ndarray:
    """The quantile function of the family on ``u`` (the inverse of :func:`unit_cdf`)."""
    q = np.clip(np.asarray(q, dtype=np.float64), 0.0, 1.0)
    if family == "beta":
        return np.asarray(stats.beta.ppf(q, params[0], params[1]), dtype=np.float64)
    if family == "logitnormal":
        return np.asarray(special.expit(stats.norm.ppf(q, params[0], params[1])), dtype=np.float64)
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def draw_scores(family: str, params: Sequence[float], lower: float, upper: float, step: float | None,
                rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` scores from the family, on the vendor's reporting grid when it has one."""
    x = from_unit(unit_sample(family, params, rng, size), lower, upper)
    if step is not None:
        x = np.round(x / step) * step
    return np.clip(x, lower, upper)

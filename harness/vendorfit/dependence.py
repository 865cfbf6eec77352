"""What the per-probe model leaves out: how answers on the same celebrity, and on a deepfake and its
target's real image, hang together.

:class:`~mockvendors.fitted.model.PopulationModel` draws every deepfake answer independently: one
answer rate for every celebrity, and a deepfake confidence independent of the real image's. The
study's files say otherwise, and two held-out metrics show it (SIC overpredicted: with one rate
every celebrity gets a TA somewhere; DHF overpredicted: a deepfake of a celebrity the vendor is
sure about is itself answered surely, so it rarely beats the real image). Two parameters per
dataset model fix that, fitted by maximum likelihood on the same rows as the model:

* **rate spread** (:class:`Spread`): per target celebrity the deepfake answer rate is
  ``p_c ~ Beta`` with the model's rate as its mean and intra-class correlation ``rho``
  (``a = m (1 - rho) / rho``, ``b = (1 - m)(1 - rho) / rho``), so a celebrity's ``k_c`` named of
  ``n_c`` probes is beta-binomial. ``rho`` is the profile MLE with the mean held at the model's
  (pooled binomial) rate, so the expected answer rate, NA and TA do not move; one per target
  condition (``known``/``unknown``). ``rho = 0`` is the binomial;
* **confidence copula** (:class:`Copula`): a Gaussian copula between the named deepfake's
  confidence and its target's real-image confidence (``ProbeArrays.ref_conf``, the one DHF
  compares against), ``rho`` by canonical maximum likelihood: both scores to average-rank
  pseudo-observations ``rank / (n + 1)``, then the bivariate-normal MLE of the normal scores. Ranks,
  not the fitted marginals, because a target's answer is the median of several images and not
  distributed as one image's; ties (AWS's whole numbers, Azure's 99.99s) get their average rank.
  ``lr`` is the likelihood-ratio statistic against independence; the sampler uses ``rho`` only
  where ``lr`` exceeds :data:`LR_CRITICAL` (chi-square 1 df, 5%), i.e. where the data support it.

:func:`fit_dependence` fits one dataset's; :func:`vendor_dependence` every dataset of a
:class:`~mockvendors.fitted.model.VendorModel` (the cells fitted to published aggregates, which
record no celebrity or pair, take the vendor's pooled fit; Naver takes Azure's pooled one; both
marked :data:`~mockvendors.fitted.model.ASSUMED`). The sampler
(:func:`harness.vendorfit.sample.sample_table`, ``dependence=``) uses them; the YAML keeps them
under each vendor's ``dependence`` key (:mod:`harness.vendorfit.build`), which
``VendorModel.from_dict`` ignores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from harness.metrics.probes import ProbeArrays
from harness.vendorfit.fit import target_known
from mockvendors.fitted.model import ASSUMED, POOLED, RECORDS, TARGET_CONDITIONS, VendorModel

LR_CRITICAL = 3.841    # chi-square, 1 degree of freedom, 95%
RHO_MAX = 0.999
MIN_CELEBRITIES = 5
MIN_PAIRS = 20


@dataclass(frozen=True)
class Spread:
    """Beta-binomial spread of the deepfake answer rate over target celebrities."""

    rho: float            # intra-class correlation; 0: every celebrity has the model's rate
    mean: float           # the rate it was fitted around (the model's)
    celebrities: int
    lr: float = 0.0       # 2 x (log-likelihood at rho - at 0)

    def beta(self, mean: float | None = None) -> tuple[float, float] | None:
        """The Beta(a, b) of a celebrity's rate around ``mean`` (default: its own); None: no spread."""
        m = self.mean if mean is None else mean
        if self.rho <= 0 or not 0 < m < 1:
            return None
        s = (1.0 - self.rho) / self.rho
        return m * s, (1.0 - m) * s

    def to_dict(self) -> dict[str, Any]:
        return {"rho": float(self.rho), "mean": float(self.mean), "celebrities": int(self.celebrities),
                "lr": float(self.lr)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Spread:
        return cls(float(d["rho"]), float(d["mean"]), int(d["celebrities"]), float(d.get("lr", 0.0)))


@dataclass(frozen=True)
class Copula:
    """Gaussian copula of (named deepfake confidence, target's real-image confidence)."""

    rho: float
    n: int                # pairs it was fitted to
    lr: float = 0.0       # 2 x (log-likelihood at rho - at 0)

    @property
    def supported(self) -> bool:
        return self.lr > LR_CRITICAL

    @property
    def used_rho(self) -> float:
        """The correlation the sampler draws with: ``rho`` where the data support it, else 0."""
        return self.rho if self.supported else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"rho": float(self.rho), "n": int(self.n), "lr": float(self.lr)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Copula:
        return cls(float(d["rho"]), int(d["n"]), float(d.get("lr", 0.0)))


@dataclass(frozen=True)
class Dependence:
    spread: dict[str, Spread] = field(default_factory=dict)   # by target condition
    copula: Copula | None = None
    origin: str = RECORDS

    def to_dict(self) -> dict[str, Any]:
        return {"spread": {k: v.to_dict() for k, v in self.spread.items()},
                "copula": None if self.copula is None else self.copula.to_dict(), "origin": self.origin}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Dependence:
        return cls({str(k): Spread.from_dict(v) for k, v in (d.get("spread") or {}).items()},
                   None if d.get("copula") is None else Copula.from_dict(d["copula"]), str(d.get("origin", RECORDS)))


def _betabinom_ll(k: np.ndarray, n: np.ndarray, m: float, rho: float) -> float:
    if rho <= 0:
        return float((k * np.log(m) + (n - k) * np.log1p(-m)).sum())
    s = (1.0 - rho) / rho
    a, b = m * s, (1.0 - m) * s
    return float((special.betaln(k + a, n - k + b) - special.betaln(a, b)).sum())   # binomial coefficient cancels


def fit_spread(named: np.ndarray, trials: np.ndarray, mean: float | None = None) -> Spread | None:
    """Profile MLE of ``rho`` for per-celebrity counts ``named`` of ``trials``, the mean held at
    ``mean`` (default: the pooled share). None with fewer than :data:`MIN_CELEBRITIES` celebrities."""
    k = np.asarray(named, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    keep = n > 0
    k, n = k[keep], n[keep]
    if len(k) < MIN_CELEBRITIES:
        return None
    m = float(k.sum() / n.sum()) if mean is None else float(mean)
    if not 0 < m < 1:
        return Spread(0.0, m, len(k))
    null = _betabinom_ll(k, n, m, 0.0)
    best = optimize.minimize_scalar(lambda r: -_betabinom_ll(k, n, m, r), bounds=(1e-6, RHO_MAX), method="bounded",
                                    options={"xatol": 1e-7})
    rho, ll = float(best.x), -float(best.fun)
    if ll <= null:
        return Spread(0.0, m, len(k))
    return Spread(rho, m, len(k), 2.0 * (ll - null))


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Average-rank pseudo-observations ``rank / (n + 1)`` as standard normal scores."""
    x = np.asarray(x, dtype=np.float64)
    return np.asarray(stats.norm.ppf(stats.rankdata(x) / (len(x) + 1.0)), dtype=np.float64)


def _copula_ll(z1: np.ndarray, z2: np.ndarray, rho: float) -> float:
    r2 = rho * rho
    q = r2 * (z1 * z1 + z2 * z2) - 2.0 * rho * z1 * z2
    return float(-0.5 * len(z1) * np.log1p(-r2) - (q / (2.0 * (1.0 - r2))).sum())


def fit_copula(x: np.ndarray, y: np.ndarray) -> Copula | None:
    """Canonical-ML Gaussian copula correlation of paired scores; None below :data:`MIN_PAIRS` pairs."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    z1, z2 = normal_scores(x), normal_scores(y)
    best = optimize.minimize_scalar(lambda r: -_copula_ll(z1, z2, r), bounds=(-RHO_MAX, RHO_MAX), method="bounded",
                                    options={"xatol": 1e-7})
    rho = float(best.x)
    return Copula(rho, len(x), max(0.0, 2.0 * (-float(best.fun) - _copula_ll(z1, z2, 0.0))))


def fit_dependence(rows: pd.DataFrame, rates: Mapping[str, float] | None = None) -> Dependence:
    """One dataset's :class:`Dependence` from one vendor's recorded rows.

    ``rates``: the model's deepfake answer rate per target condition, the means the spreads are
    fitted around (default: each condition's pooled share in ``rows``).
    """
    probes = ProbeArrays.from_frame(rows, [])
    known = target_known(rows)
    target = rows["target"].fillna("").astype(str).to_numpy(dtype=object) if "target" in rows.columns else \
        np.full(len(rows), "", dtype=object)
    spread = {}
    for condition, mask in (("known", known), ("unknown", ~known)):
        here = probes.valid & mask
        if not here.any():
            continue
        per = pd.DataFrame({"t": target[here], "k": probes.named[here]}).groupby("t")["k"].agg(["sum", "size"])
        fitted = fit_spread(per["sum"].to_numpy(), per["size"].to_numpy(), (rates or {}).get(condition))
        if fitted is not None:
            spread[condition] = fitted
    pair = probes.named & (probes.ref_conf > 0)
    copula = fit_copula(probes.fake_conf[pair], probes.ref_conf[pair])
    return Dependence(spread, copula, RECORDS)


def vendor_dependence(table: pd.DataFrame, model: VendorModel, *, half_rows: pd.DataFrame | None = None,
                      fallback: Dependence | None = None) -> dict[str, Dependence]:
    """dataset (and ``"pooled"``) -> :class:`Dependence` for ``model``, fitted to ``half_rows``
    (the rows the model was fitted on; default ``table``), restricted to the model's vendor.

    A dataset the rows do not record takes the pooled one (``origin`` :data:`ASSUMED`); with no
    recorded row at all (Naver) every dataset takes ``fallback`` (assumed), or none.
    """
    rows = table if half_rows is None else half_rows
    rows = rows[rows["vendor"].astype(str) == model.vendor]
    out: dict[str, Dependence] = {}
    if rows.empty:
        if fallback is None:
            return out
        assumed = Dependence(fallback.spread, fallback.copula, ASSUMED)
        return {POOLED: assumed, **{d: assumed for d in model.datasets}}

    def rates(dm_name: str) -> dict[str, float]:
        dm = model.dataset(dm_name)
        return {c: dm.deepfake.rate_for(c) for c in TARGET_CONDITIONS}

    out[POOLED] = fit_dependence(rows, rates(POOLED))
    recorded = set(rows["dataset"].astype(str))
    for name in model.datasets:
        if name in recorded:
            out[name] = fit_dependence(rows[rows["dataset"].astype(str) == name], rates(name))
        else:
            out[name] = Dependence(out[POOLED].spread, out[POOLED].copula, ASSUMED)
    return out


def dependence_to_dict(dependence: Mapping[str, Dependence]) -> dict[str, Any]:
    return {k: v.to_dict() for k, v in dependence.items()}


def dependence_from_dict(d: Mapping[str, Any] | None) -> dict[str, Dependence]:
    return {str(k): Dependence.from_dict(v) for k, v in (d or {}).items()}

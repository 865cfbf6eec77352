"""Simulated detectors for what-if studies, and the ``sim:`` spec that names one.

Simulated detectors are not detectors of anything: they know the truth about each image from a
table the caller gives them and answer with chosen error rates. They exist to ask "what if a
detector with TPR x / FPR y guarded the vendor?", including the case the study's analytic
estimate ignores: a detector whose misses are *correlated* with the vendor being fooled (a
better deepfake is both harder to detect and easier to recognise).

The spec syntax ``sim:NAME:TPR,FPR[,CORRELATION]`` (rates and correlation 0-1) is parsed here
and only here: :meth:`SimulatedSpec.parse`. ``dfi simulate``, where every detector is simulated,
lets the ``sim:`` prefix be left out (``bare_ok=True``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from harness.detectors.base import UnscorableImageError, image_key
from harness.detectors.spec import DetectorSpecError

SIM_PREFIX = "sim:"
SIM_SYNTAX = "sim:NAME:TPR,FPR[,CORRELATION]"


@dataclass(frozen=True)
class SimulatedSpec:
    """What a ``sim:`` spec says: a name, the rates and the correlation (all checked, 0-1)."""

    name: str
    tpr: float
    fpr: float
    correlation: float = 0.0

    def __post_init__(self) -> None:
        values = {"TPR": self.tpr, "FPR": self.fpr, "correlation": self.correlation}
        bad = [f"{k} {v}" for k, v in values.items() if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0)]
        if not self.name or bad:
            what = "an empty name" if not self.name else ", ".join(bad) + " not in [0, 1]"
            raise DetectorSpecError(f"simulated detector {self.name!r}: {what}")

    @classmethod
    def parse(cls, text: str, *, bare_ok: bool = False) -> Self:
        """``sim:NAME:TPR,FPR[,CORRELATION]`` (``NAME:TPR,FPR[,CORRELATION]`` too where ``bare_ok``);
        a :class:`DetectorSpecError` of one line otherwise."""
        body = text[len(SIM_PREFIX):] if text.startswith(SIM_PREFIX) else (text if bare_ok else None)
        syntax = SIM_SYNTAX if not bare_ok else "[sim:]NAME:TPR,FPR[,CORRELATION]"
        try:
            if body is None:
                raise ValueError
            name, sep, rest = body.partition(":")
            parts = [float(x) for x in rest.split(",")] if sep else []
            if not name or len(parts) not in (2, 3) or not all(c.isalnum() or c in "_.-" for c in name):
                raise ValueError
        except ValueError:
            raise DetectorSpecError(
                f"simulated detector {text!r}: expected {syntax}, rates 0-1, e.g. sim:good:0.95,0.05,0.5") from None
        try:
            return cls(name, *parts)
        except DetectorSpecError as exc:
            raise DetectorSpecError(f"{exc} (in {text!r})") from None

    def __str__(self) -> str:
        return f"{SIM_PREFIX}{self.name}:{self.tpr:g},{self.fpr:g},{self.correlation:g}"

    def build(self, truth: Mapping[str, ImageTruth], *, seed: int = 0) -> SimulatedDetector:
        return SimulatedDetector(self.name, self.tpr, self.fpr, truth, correlation=self.correlation, seed=seed)


@dataclass(frozen=True)
class ImageTruth:
    """What a simulated detector is told about an image.

    ``quality``: for deepfakes, how convincing the fake is (any monotone scale, e.g. the vendors'
    confidence on it or its embedding cosine to the target). Only its rank among the fakes of the
    same ``group`` is used, so a correlated detector keeps its TPR within every group.
    """

    is_fake: bool
    quality: float | None = None
    group: str = ""  # fakes are ranked by quality within their group (e.g. dataset)


def _uniform_from_key(*parts: str) -> float:
    """A deterministic U(0,1) draw from a key (stable across runs and platforms)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2.0**64


def _probit(p: float) -> float:
    """Phi^-1(p) with the ends mapped to +-inf (a perfect or a useless detector)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return float(ndtri(p))


class SimulatedDetector:
    """A detector with a chosen true-positive and false-positive rate.

    Model (a Gaussian copula): every image gets a deterministic noise draw e ~ N(0,1) from its key.
    A deepfake with standardised quality q (the normal score of its quality rank among all fakes)
    has the latent d = rho*q + sqrt(1-rho^2)*e and is flagged when d < Phi^-1(TPR), so P(flag) = TPR
    and, for rho > 0, the most convincing fakes are the ones it misses. A genuine image is flagged
    when e < Phi^-1(FPR). The fake-probability reported is Phi(Phi^-1(rate) - latent), which
    crosses 0.5 exactly at the flag boundary (so use threshold 0.5).
    """

    threshold = 0.5

    def __init__(
        self,
        name: str,
        tpr: float,
        fpr: float,
        truth: Mapping[str, ImageTruth],
        *,
        correlation: float = 0.0,
        seed: int = 0,
    ):
        SimulatedSpec(name, tpr, fpr, correlation)  # the rates' checks, one place
        if correlation > 0 and any(t.is_fake and t.quality is None for t in truth.values()):
            raise DetectorSpecError(f"simulated detector {name!r}: correlation needs a quality for every deepfake")
        self.name = name
        self.tpr = tpr
        self.fpr = fpr
        self.correlation = correlation
        self.seed = seed
        self._truth = dict(truth)
        self._z_quality = self._standardised_quality()

    def _standardised_quality(self) -> dict[str, float]:
        fakes = [k for k, t in self._truth.items() if t.is_fake]
        if not fakes or self.correlation == 0:
            return {k: 0.0 for k in fakes}
        groups: dict[str, list[str]] = {}
        for k in fakes:
            groups.setdefault(self._truth[k].group, []).append(k)
        out: dict[str, float] = {}
        for keys in groups.values():
            q = np.array([self._truth[k].quality for k in keys], dtype=float)
            z = ndtri(rankdata(q) / (len(q) + 1))
            out.update(zip(keys, z.tolist(), strict=True))
        return out

    def noise(self, key: str) -> float:
        return float(ndtri(_uniform_from_key(self.name, str(self.seed), key)))

    def score_key(self, key: str) -> float:
        """Fake-probability of the image with this key (sha256 of its bytes, or a probe id in simulations)."""
        truth = self._truth.get(key)
        if truth is None:
            raise UnscorableImageError(f"simulated detector {self.name!r} was told nothing about image {key[:12]}")
        e = self.noise(key)
        if truth.is_fake:
            rho = self.correlation
            latent = rho * self._z_quality[key] + math.sqrt(1.0 - rho * rho) * e
            return float(ndtr(_probit(self.tpr) - latent))
        return float(ndtr(_probit(self.fpr) - e))

    def score(self, image: bytes) -> float:
        return self.score_key(image_key(image))

    def score_keys(self, keys: Iterable[str]) -> np.ndarray:
        return np.array([self.score_key(k) for k in keys], dtype=float)

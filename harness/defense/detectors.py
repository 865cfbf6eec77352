"""Deepfake detectors as the defense sees them, and simulated detectors for what-if studies.

A detector maps an image (the bytes a vendor would receive) to a fake-probability in [0, 1]
(higher = more likely a deepfake). Real detectors (the ONNX registry in ``harness.detectors``,
the trained spectrum detector in ``harness.defense.trained_detector``) and the simulated ones
below all satisfy :class:`Detector`.

Simulated detectors are not detectors of anything: they know the truth about each image from a
table the caller gives them and answer with chosen error rates. They exist to ask "what if a
detector with TPR x / FPR y guarded the vendor?", including the case the study's analytic
estimate ignores: a detector whose misses are *correlated* with the vendor being fooled (a
better deepfake is both harder to detect and easier to recognise).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from harness.errors import DfiError


class DetectorError(DfiError):
    """A detector could not score an image (unknown image, no face, bad bytes)."""


def largest_face_box(image_bgr: np.ndarray, who: str) -> tuple[float, float, float, float]:
    """Box of the largest face the default pipeline finds; a DetectorError naming ``who`` otherwise."""
    from harness.faces import default_pipeline

    try:
        faces = default_pipeline().detect(image_bgr)
    except DfiError as exc:
        raise DetectorError(f"{who}: {exc}") from exc
    if not faces:
        raise DetectorError(f"{who}: no face found in the image")
    return max(faces, key=lambda f: f.width * f.height).box


@runtime_checkable
class Detector(Protocol):
    name: str

    def score(self, image: bytes) -> float:
        """Fake-probability of the image, 0 (real) .. 1 (fake)."""
        ...


def image_key(image: bytes) -> str:
    """The identity of an image everywhere in the defense: sha256 of its bytes."""
    return hashlib.sha256(image).hexdigest()


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
        if not 0.0 <= tpr <= 1.0 or not 0.0 <= fpr <= 1.0:
            raise DetectorError(f"simulated detector {name!r}: TPR and FPR must be in [0, 1], got {tpr}, {fpr}")
        if not 0.0 <= correlation <= 1.0:
            raise DetectorError(f"simulated detector {name!r}: correlation must be in [0, 1], got {correlation}")
        if correlation > 0 and any(t.is_fake and t.quality is None for t in truth.values()):
            raise DetectorError(f"simulated detector {name!r}: correlation needs a quality for every deepfake")
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
            raise DetectorError(f"simulated detector {self.name!r} was told nothing about image {key[:12]}")
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


def detector_scores(detectors: Sequence[Detector], image: bytes) -> np.ndarray:
    """Scores of one image under each detector, as a (k,) array; a failing detector raises DetectorError."""
    out = np.empty(len(detectors), dtype=float)
    for j, det in enumerate(detectors):
        try:
            s = float(det.score(image))
        except DetectorError:
            raise
        except DfiError as exc:  # e.g. a face error from an ONNX detector's crop step
            raise DetectorError(f"detector {det.name!r}: {exc}") from exc
        if not 0.0 <= s <= 1.0 or math.isnan(s):
            raise DetectorError(f"detector {det.name!r} returned {s}, not a probability in [0, 1]")
        out[j] = s
    return out

"""A synthetic world of celebrity embeddings and deepfakes whose cosine statistics match real ones.

Construction (all vectors unit-length, in the embedding model's dimension D):

- identity centres ``c_i = sqrt(rho) g + sqrt(1 - rho) v_i``: ``g`` is shared by all faces (real
  embeddings of different people have a small positive mean cosine ``rho``-ish), ``v_i`` random in a
  ``k``-dimensional subspace; ``k`` sets how widely different people's cosines spread;
- a photo of person i: ``x = a c_i + sqrt(1 - a^2) w`` with ``w`` random and ``a`` drawn per photo,
  so two photos of one person have cosine ~ ``a a'`` (the measured same-person spread);
- a deepfake that takes its identity from photo ``x_id`` and the rest from photo ``x_other``:
  ``f = t x_id + o x_other + sqrt(1 - t^2 - o^2) w``, with ``t`` and ``o`` drawn from the family's
  measured ``to_identity`` / ``to_other`` cosine spreads (replacement: identity = the target's face,
  other = the reference video's person; reenactment: identity = the target's frame, other = the
  driving person; synthesis: the two blended celebrities).

The parameters (``rho``, ``k``, photo strength) are solved from the measured cosine means and
spreads in :func:`solve_geometry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.simulate.params import DatasetSpec, SimulationParams, Spread


@dataclass(frozen=True)
class Geometry:
    rho: float  # mean cosine between identity centres
    subspace: int  # dimension in which identity centres differ
    photo_mean: float  # mean cosine of a photo to its identity centre
    photo_sd: float


def solve_geometry(p: SimulationParams) -> Geometry:
    same, diff = p.embedding.same_person, p.embedding.different_person
    dim = p.embedding.dim
    mu_s = min(max(same.mean, 0.05), 0.99)
    a_mean = math.sqrt(mu_s)
    # cos(x, x') = a a' (photos of one person): sd ~ sqrt(2) a_mean sd(a)
    a_sd = same.sd / (math.sqrt(2.0) * a_mean) if a_mean > 0 else 0.0
    rho = min(max(diff.mean / mu_s, 0.0), 0.9)
    # spread of different-person photo cosines: identity part mu_s (1 - rho)/sqrt(k), photo noise part
    noise = (1.0 - mu_s) / math.sqrt(dim)
    ident_sd = math.sqrt(max(diff.sd**2 - noise**2, 1e-6))
    k = int(round((mu_s * (1.0 - rho) / ident_sd) ** 2))
    return Geometry(rho, max(2, min(k, dim - 1)), a_mean, a_sd)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _draw(rng: np.random.Generator, s: Spread, n: int, lo: float, hi: float) -> np.ndarray:
    return np.clip(rng.normal(s.mean, s.sd, n), lo, hi)


@dataclass
class Celebrities:
    names: list[str]
    regions: list[str]
    centres: np.ndarray  # (N, D)


@dataclass
class SimProbes:
    """One dataset's probes: every array has one row per probe."""

    spec: DatasetSpec
    target: np.ndarray  # celebrity index the deepfake impersonates (synthesis: first source)
    other: np.ndarray  # reference / driving person (synthesis: second source)
    fake: np.ndarray  # (n, D) deepfake embeddings
    target_photo: np.ndarray  # (n, D) a genuine photo of the target (P_T and similarity)
    other_photo: np.ndarray  # (n, D) a genuine photo of the other person (synthesis: second reference)
    identity_cos: np.ndarray  # cosine of the fake to its identity source photo (generator strength)


class World:
    """Celebrities, a gallery of their photos, and deepfake probes for each dataset."""

    def __init__(self, params: SimulationParams):
        self.params = params
        self.geometry = solve_geometry(params)
        self.rng = np.random.default_rng(params.seed)
        self.dim = params.embedding.dim
        self.shared = _unit(self.rng.standard_normal(self.dim))
        self.celebrities = self._celebrities()
        self.gallery_embeddings, self.gallery_owner = self._gallery()
        self.datasets = [self._dataset(spec, i) for i, spec in enumerate(params.datasets)]

    def _celebrities(self) -> Celebrities:
        p, g = self.params, self.geometry
        n = p.celebrities
        basis = np.linalg.qr(self.rng.standard_normal((self.dim, g.subspace)))[0]  # (D, k) orthonormal
        v = _unit(self.rng.standard_normal((n, g.subspace)) @ basis.T)
        v = _unit(v - (v @ self.shared)[:, None] * self.shared[None, :])
        centres = _unit(math.sqrt(g.rho) * self.shared[None, :] + math.sqrt(1 - g.rho) * v)
        regions = list(p.regions)
        shares = np.array([p.regions[r] for r in regions])
        counts = np.floor(shares * n).astype(int)
        counts[0] += n - counts.sum()
        region_of = np.repeat(np.arange(len(regions)), counts)
        self.rng.shuffle(region_of)
        names = [f"Celebrity {i:03d}" for i in range(n)]
        return Celebrities(names, [regions[r] for r in region_of], centres)

    def photos(self, who: np.ndarray) -> np.ndarray:
        """One fresh genuine photo embedding per entry of ``who`` (celebrity indices)."""
        g = self.geometry
        a = _draw(self.rng, Spread(g.photo_mean, g.photo_sd), len(who), 0.05, 0.999)
        c = self.celebrities.centres[who]
        w = self.rng.standard_normal((len(who), self.dim), dtype=np.float32).astype(np.float64)
        w = _unit(w - np.sum(w * c, axis=1, keepdims=True) * c)
        return _unit(a[:, None] * c + np.sqrt(1 - a**2)[:, None] * w)

    def _gallery(self) -> tuple[np.ndarray, np.ndarray]:
        owner = np.repeat(np.arange(self.params.celebrities), self.params.gallery_photos)
        return self.photos(owner), owner

    def _dataset(self, spec: DatasetSpec, k: int) -> SimProbes:
        n_celebs = self.params.celebrities
        targets = self.rng.choice(n_celebs, size=spec.targets, replace=False)
        target = targets[np.arange(spec.probes) % spec.targets]
        if spec.method == "synthesis":
            other = self.rng.choice(targets, size=spec.probes)  # study: blends of two celebrities of the set
        else:
            other = self.rng.integers(0, n_celebs, spec.probes)
        clash = other == target
        while clash.any():
            other[clash] = self.rng.integers(0, n_celebs, int(clash.sum()))
            clash = other == target
        gen = self.params.generators[spec.method]
        source_t = self.photos(target)  # the photo/footage the generator takes the identity from
        source_o = self.photos(other)
        t = _draw(self.rng, spec.to_identity or gen.to_identity, spec.probes, 0.0, 0.995)
        o = _draw(self.rng, gen.to_other, spec.probes, 0.0, 0.995)
        over = t**2 + o**2 > 0.999
        scale = np.where(over, np.sqrt(0.999 / np.maximum(t**2 + o**2, 1e-12)), 1.0)
        t, o = t * scale, o * scale
        w = _unit(self.rng.standard_normal((spec.probes, self.dim)))
        fake = _unit(t[:, None] * source_t + o[:, None] * source_o + np.sqrt(1 - t**2 - o**2)[:, None] * w)
        return SimProbes(spec, target, other, fake, self.photos(target), self.photos(other),
                         np.sum(fake * source_t, axis=1))

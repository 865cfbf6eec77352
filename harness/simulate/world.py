"""A synthetic world of celebrity embeddings and deepfakes whose cosine statistics match real ones.

Construction (all vectors unit-length, in the embedding model's dimension D):

- identity centres ``c_i = sqrt(rho) g + sqrt(1 - rho) v_i``: ``g`` is shared by all faces (real
  embeddings of different people have a small positive mean cosine ``rho``-ish), ``v_i`` random in a
  ``k``-dimensional subspace; ``k`` sets how widely different people's cosines spread;
- a photo of person i: ``x = a c_i + sqrt(1 - a^2) w`` with ``w`` random and ``a`` drawn per photo,
  so two photos of one person have cosine ~ ``a a'`` (the measured same-person spread);
- a deepfake that takes its identity from photo ``x_id`` and the rest from photo ``x_other``:
  ``f = t x_id + o x_other + r w`` (``w`` orthogonal to both photos), with the weights solved
  (:func:`fake_weights`) so that ``f``'s cosines to the two photos are draws from the family's
  measured ``to_identity`` / ``to_other`` spreads, whatever the two photos' own cosine (near 0 for
  faceplugin, about 0.83 for dlib, whose different people all sit close together) (replacement:
  identity = the target's face, other = the reference video's person; reenactment: identity = the
  target's frame, other = the driving person; synthesis: the two blended celebrities).

The parameters (``rho``, ``k``, photo strength) are solved from the measured cosine means and
spreads in :func:`solve_geometry`.

Several recognizers: the world is built once per recognizer the parameters describe (a
:class:`View`), each in its own dimension and with its own measured spreads, over the same
celebrities, gallery owners and probes (who impersonates whom). Every random draw is a standard
normal from a named stream; a view mixes the reference recognizer's draw with its own,
``sqrt(c) * shared + sqrt(1 - c) * own`` (``c``: the view's :class:`~harness.simulate.params.Coupling`),
so each recognizer keeps its own statistics while its mistakes are only partly the reference's.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

import numpy as np

from harness.simulate.params import (
    Coupling,
    DatasetSpec,
    EmbeddingStats,
    GeneratorStats,
    SimulationError,
    SimulationParams,
    Spread,
)


@dataclass(frozen=True)
class Geometry:
    rho: float  # mean cosine between identity centres
    subspace: int  # dimension in which identity centres differ
    photo_mean: float  # mean cosine of a photo to its identity centre
    photo_sd: float


def solve_geometry(p: SimulationParams | EmbeddingStats) -> Geometry:
    e = p.embedding if isinstance(p, SimulationParams) else p
    same, diff = e.same_person, e.different_person
    dim = e.dim
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


# The world's vectors are float32: the mock vendors compare them with their galleries in float32
# anyway, and the world builds twice as fast as in float64 (half the memory traffic). Scalars (the
# per-probe cosines and weights) stay float64: the weights divide by 1 - cos^2, which can be small.
VECTOR = np.float32


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.vecdot(x, x))[..., None]


def _unit_in_place(x: np.ndarray) -> np.ndarray:
    x /= np.sqrt(np.vecdot(x, x))[..., None]
    return x


def fake_weights(to_identity: np.ndarray, to_other: np.ndarray, between: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``t, o`` of a deepfake ``t x_id + o x_other + rest * w`` (``w`` orthogonal to both photos)
    whose cosines to the two photos are ``to_identity`` and ``to_other``, the photos' own cosine being
    ``between``. Where the two cosines are not reachable together (the fake would be longer than 1),
    both weights shrink by the same factor."""
    r = np.clip(between, -0.995, 0.995)
    t = (to_identity - r * to_other) / (1 - r**2)
    o = (to_other - r * to_identity) / (1 - r**2)
    norm2 = t**2 + o**2 + 2 * t * o * r
    shrink = np.where(norm2 > 0.999, np.sqrt(0.999 / np.maximum(norm2, 1e-12)), 1.0)
    return t * shrink, o * shrink


def _project(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The part of each row of ``w`` in the span of the rows of ``a`` and ``b`` (unit rows)."""
    ab = np.vecdot(a, b).astype(np.float64)
    wa, wb = np.vecdot(w, a).astype(np.float64), np.vecdot(w, b).astype(np.float64)
    det = np.maximum(1 - ab**2, 1e-9)
    ca, cb = ((wa - ab * wb) / det).astype(w.dtype), ((wb - ab * wa) / det).astype(w.dtype)
    out = a * ca[:, None]
    out += b * cb[:, None]
    return out


class Streams:
    """Named random streams: the same name gives the same draws in every view, mixed with the view's
    own draws by its coupling (the reference view, ``coupling=None``, takes the shared draws as they are).

    A name's generator is kept, so drawing a stream in consecutive pieces gives the same numbers as
    drawing it at once (numpy's Generator draws in order and caches nothing between calls): that is
    what lets :meth:`World.probe_chunks` build a dataset chunk by chunk with the eager world's draws.
    ``shared``: the views of one chunked build share their shared-stream generators and the chunk's
    shared draws (each is drawn once, not once per view)."""

    def __init__(self, seed: int, recognizer: str, latent_dim: int, coupling: Coupling | None,
                 shared: SharedDraws | None = None):
        self.seed = seed
        self.own_key = zlib.crc32(recognizer.encode()) + 1
        self.latent_dim = latent_dim
        self.coupling = coupling
        self._generators: dict[tuple[str, int], np.random.Generator] = {}
        self._shared = shared

    def _rng(self, name: str, who: int) -> np.random.Generator:
        if who == 0 and self._shared is not None:
            return self._shared.generator(self.seed, name)
        rng = self._generators.get((name, who))
        if rng is None:
            rng = self._generators[(name, who)] = _generator(self.seed, name, who)
        return rng

    def shared(self, name: str) -> np.random.Generator:
        """A stream every view shares as it is (who impersonates whom, regions)."""
        return self._rng(name, 0)

    def _shared_normal(self, name: str, shape: tuple[int, ...], dtype: type[np.floating]) -> np.ndarray:
        if self._shared is None:
            return self._rng(name, 0).standard_normal(shape, dtype=dtype)
        return self._shared.normal(self.seed, name, shape, dtype)

    def normal(self, name: str, shape: tuple[int, ...], kind: str,
               dtype: type[np.floating] | None = None) -> np.ndarray:
        """Standard normals of ``shape``; the last axis of a ``(n, d)`` draw is the first ``d`` of
        the latent dimension, so views of different dimensions share their leading coordinates.
        ``dtype``: :data:`VECTOR` for ``(n, d)`` draws, float64 for the rest unless given. The array
        may be the one every view shares: never change it in place."""
        vector = len(shape) == 2
        dtype = dtype if dtype is not None else (VECTOR if vector else np.float64)
        full = (shape[0], self.latent_dim) if vector else shape
        z = self._shared_normal(name, full, dtype)
        if vector:
            z = z[:, : shape[1]]
        if self.coupling is None:
            return z
        c = self.coupling.identity if kind == "identity" else self.coupling.deepfake
        if c >= 1.0:
            return z
        own = self._rng(name, self.own_key).standard_normal(shape, dtype=dtype)
        own *= dtype(math.sqrt(1.0 - c))
        own += z * dtype(math.sqrt(c))
        return own


def _generator(seed: int, name: str, who: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode()), who])


class SharedDraws:
    """The shared streams of a chunked build: one generator per name for all views, and the current
    chunk's draw of each name (:meth:`next_chunk` forgets them)."""

    def __init__(self) -> None:
        self._generators: dict[str, np.random.Generator] = {}
        self._draws: dict[str, np.ndarray] = {}

    def generator(self, seed: int, name: str) -> np.random.Generator:
        rng = self._generators.get(name)
        if rng is None:
            rng = self._generators[name] = _generator(seed, name, 0)
        return rng

    def normal(self, seed: int, name: str, shape: tuple[int, ...], dtype: type[np.floating]) -> np.ndarray:
        z = self._draws.get(name)
        if z is None:
            z = self._draws[name] = self.generator(seed, name).standard_normal(shape, dtype=dtype)
        return z

    def next_chunk(self) -> None:
        self._draws.clear()


def _spread_draw(z: np.ndarray, s: Spread, lo: float, hi: float) -> np.ndarray:
    return np.clip(s.mean + s.sd * z, lo, hi)


@dataclass
class Celebrities:
    names: list[str]
    regions: list[str]
    centres: np.ndarray  # (N, D) on the reference recognizer's view (float32, like every vector here)


@dataclass
class SimProbes:
    """One dataset's probes (or a chunk of them: ``spec.probes`` is the whole dataset's count): every
    array has one row per probe."""

    spec: DatasetSpec
    target: np.ndarray  # celebrity index the deepfake impersonates (synthesis: first source)
    other: np.ndarray  # reference / driving person (synthesis: second source)
    fake: np.ndarray  # (n, D) deepfake embeddings
    target_photo: np.ndarray  # (n, D) a genuine photo of the target (P_T and similarity)
    other_photo: np.ndarray  # (n, D) synthesis: a genuine photo of the second source (its second
    # reference); (0, D) for the other methods, which never show it to a vendor
    identity_cos: np.ndarray  # cosine of the fake to its identity source photo (generator strength)


@dataclass
class View:
    """The world as one recognizer sees it."""

    recognizer: str
    geometry: Geometry
    centres: np.ndarray  # (N, D)
    gallery_embeddings: np.ndarray
    datasets: list[SimProbes]


def carried_to_identity(spec: DatasetSpec, reference: GeneratorStats, own: GeneratorStats) -> Spread:
    """A dataset's ``to_identity`` on a recognizer's scale: a per-dataset override (measured on the
    reference recognizer) moves the family's mean by the same number of the family's spreads."""
    if spec.to_identity is None:
        return own.to_identity
    ref = reference.to_identity
    if ref.sd <= 0:
        return own.to_identity
    z = (spec.to_identity.mean - ref.mean) / ref.sd
    ratio = own.to_identity.sd / ref.sd
    return Spread(own.to_identity.mean + z * own.to_identity.sd, spec.to_identity.sd * ratio)


class World:
    """Celebrities, a gallery of their photos, and deepfake probes for each dataset, seen by every
    recognizer the parameters have statistics for (:attr:`views`; the reference first)."""

    def __init__(self, params: SimulationParams, recognizers: Collection[str] | None = None,
                 progress: Callable[[int], None] | None = None, *, probes: bool = True):
        """``recognizers``: build only these views besides the reference (default: every one).
        ``progress()`` is called once per dataset of each view built (:meth:`build_steps` in all).
        ``probes=False``: celebrities and galleries only (every view's ``datasets`` empty); the probes
        come chunk by chunk from :meth:`probe_chunks`, with the same draws."""
        self.params = params
        p = params
        self.latent_dim = max(p.stats_of(r)[0].dim for r in p.recognizer_names)
        self.regions = self._regions()
        self.gallery_owner = np.repeat(np.arange(p.celebrities), p.gallery_photos)
        self.pairs = [self._people(spec) for spec in p.datasets]
        wanted = p.recognizer_names if recognizers is None else [r for r in p.recognizer_names
                                                                   if r == p.recognizer or r in recognizers]
        self._progress = progress
        self._with_probes = probes
        self.views: dict[str, View] = {r: self._view(r) for r in wanted}
        ref = self.views[p.recognizer]
        self.geometry = ref.geometry
        self.dim = ref.centres.shape[1]
        self.celebrities = Celebrities([f"Celebrity {i:03d}" for i in range(p.celebrities)], self.regions,
                                       ref.centres)
        self.gallery_embeddings = ref.gallery_embeddings
        self.datasets = ref.datasets

    @staticmethod
    def build_steps(params: SimulationParams, recognizers: Collection[str] | None = None) -> int:
        """How many times building the world calls ``progress``: datasets x views built."""
        views = len(params.recognizer_names) if recognizers is None else len(
            [r for r in params.recognizer_names if r == params.recognizer or r in recognizers])
        return views * len(params.datasets)

    def view(self, recognizer: str) -> View | None:
        return self.views.get(recognizer)

    def probe_chunks(self, index: int, size: int) -> Iterator[dict[str, SimProbes]]:
        """Dataset ``index``'s probes in consecutive chunks of ``size`` (the last one shorter), each as
        every view sees it: the rows the eager world's ``views[r].datasets[index]`` has, whatever ``size``
        (every stream is drawn in order). Each call starts again from the dataset's first probe."""
        if size < 1:
            raise SimulationError(f"a chunk needs at least one probe, not {size}")
        p = self.params
        spec, (target, other) = p.datasets[index], self.pairs[index]
        shared = SharedDraws()
        streams = {r: Streams(p.seed, r, self.latent_dim, self._coupling(r), shared) for r in self.views}
        for start in range(0, spec.probes, size):
            shared.next_chunk()
            who = (target[start:start + size], other[start:start + size])
            chunk = {}
            for r, view in self.views.items():
                _, gens = p.stats_of(r)
                chunk[r] = self._dataset(streams[r], view.geometry, view.centres, spec, who, p.generators, gens)
            yield chunk

    def _coupling(self, recognizer: str) -> Coupling | None:
        p = self.params
        return None if recognizer == p.recognizer else p.recognizers[recognizer].coupling

    def _regions(self) -> list[str]:
        p = self.params
        n = p.celebrities
        regions = list(p.regions)
        shares = np.array([p.regions[r] for r in regions])
        counts = np.floor(shares * n).astype(int)
        counts[0] += n - counts.sum()
        region_of = np.repeat(np.arange(len(regions)), counts)
        Streams(p.seed, "", 1, None).shared("regions").shuffle(region_of)
        return [regions[r] for r in region_of]

    def _people(self, spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
        """Who each probe impersonates and who the other person is: the same in every view."""
        rng = Streams(self.params.seed, "", 1, None).shared(f"{spec.name}/people")
        n_celebs = self.params.celebrities
        targets = rng.choice(n_celebs, size=spec.targets, replace=False)
        target = targets[np.arange(spec.probes) % spec.targets]
        if spec.method == "synthesis":
            other = rng.choice(targets, size=spec.probes)  # study: blends of two celebrities of the set
        else:
            other = rng.integers(0, n_celebs, spec.probes)
        clash = other == target
        while clash.any():
            other[clash] = rng.integers(0, n_celebs, int(clash.sum()))
            clash = other == target
        return target, other

    def _view(self, recognizer: str) -> View:
        p = self.params
        emb, gens = p.stats_of(recognizer)
        streams = Streams(p.seed, recognizer, self.latent_dim, self._coupling(recognizer))
        g = solve_geometry(emb)
        centres = self._centres(streams, g, emb.dim)
        gallery = self._photos(streams, g, centres, self.gallery_owner, "gallery")
        datasets: list[SimProbes] = []
        for spec, who in zip(p.datasets if self._with_probes else (), self.pairs, strict=False):
            datasets.append(self._dataset(streams, g, centres, spec, who, p.generators, gens))
            if self._progress is not None:
                self._progress(1)
        return View(recognizer, g, centres, gallery, datasets)

    def _centres(self, streams: Streams, g: Geometry, dim: int) -> np.ndarray:
        n = self.params.celebrities
        f64 = np.float64
        shared = _unit(streams.normal("shared-direction", (1, dim), "identity", f64))[0]
        basis = np.linalg.qr(streams.normal("identity-basis", (dim, dim), "identity", f64)[:, : g.subspace])[0]
        v = _unit(streams.normal("identity-centres", (n, dim), "identity", f64)[:, : g.subspace] @ basis.T)
        v = _unit(v - (v @ shared)[:, None] * shared[None, :])
        return _unit(math.sqrt(g.rho) * shared[None, :] + math.sqrt(1 - g.rho) * v).astype(VECTOR)

    def _photos(self, streams: Streams, g: Geometry, centres: np.ndarray, who: np.ndarray, name: str) -> np.ndarray:
        """One genuine photo embedding per entry of ``who`` (celebrity indices), from stream ``name``."""
        a = _spread_draw(streams.normal(f"{name}/strength", (len(who),), "identity"),
                         Spread(g.photo_mean, g.photo_sd), 0.05, 0.999)
        c = centres[who]
        w = streams.normal(f"{name}/noise", (len(who), centres.shape[1]), "identity")
        noise = c * np.vecdot(w, c)[:, None]
        np.subtract(w, noise, out=noise)  # w's part orthogonal to the centre, scaled to length sqrt(1 - a^2)
        noise *= (np.sqrt(1 - a**2) / np.sqrt(np.vecdot(noise, noise))).astype(c.dtype)[:, None]
        c *= a.astype(c.dtype)[:, None]
        c += noise
        return _unit_in_place(c)

    def _dataset(self, streams: Streams, g: Geometry, centres: np.ndarray, spec: DatasetSpec,
                 who: tuple[np.ndarray, np.ndarray], reference: dict[str, GeneratorStats],
                 own: dict[str, GeneratorStats]) -> SimProbes:
        target, other = who
        n, name = len(target), spec.name
        gen = own[spec.method]
        source_t = self._photos(streams, g, centres, target, f"{name}/identity-source")
        source_o = self._photos(streams, g, centres, other, f"{name}/other-source")
        to_identity = carried_to_identity(spec, reference[spec.method], gen)
        c_t = _spread_draw(streams.normal(f"{name}/to-identity", (n,), "deepfake"), to_identity, 0.0, 0.995)
        c_o = _spread_draw(streams.normal(f"{name}/to-other", (n,), "deepfake"), gen.to_other, 0.0, 0.995)
        between = np.vecdot(source_t, source_o).astype(np.float64)
        t, o = fake_weights(c_t, c_o, between)
        w = _unit(streams.normal(f"{name}/fake-noise", (n, centres.shape[1]), "deepfake"))
        w -= _project(w, source_t, source_o)
        rest = np.sqrt(np.clip(1 - t**2 - o**2 - 2 * t * o * between, 0.0, 1.0))
        w *= (rest / np.sqrt(np.vecdot(w, w))).astype(w.dtype)[:, None]
        w += source_t * t.astype(w.dtype)[:, None]
        w += source_o * o.astype(w.dtype)[:, None]
        fake = _unit_in_place(w)
        other_photo = (self._photos(streams, g, centres, other, f"{name}/other-photo")
                       if spec.method == "synthesis" else np.empty((0, centres.shape[1]), centres.dtype))
        return SimProbes(spec, target, other, fake,
                         self._photos(streams, g, centres, target, f"{name}/target-photo"), other_photo,
                         np.vecdot(fake, source_t).astype(np.float64))

"""How far one recognizer's mistakes follow another's: the couplings of the simulated world's views.

Two real recognizers, shown the same pairs of photos of different people, give cosines that are
correlated but not equal (both find a look-alike pair alike, but not equally so); shown the same
deepfakes, they disagree on how much of the target each fake carries. :func:`fit_coupling` picks a
view's :class:`~harness.simulate.params.Coupling` so that the simulated world reproduces the two
correlations measured on real images (:mod:`harness.simulate.estimate`):

* ``identity``: Pearson correlation, over pairs of different people, of the reference recognizer's
  cosine with the view's (in the world: the first gallery photo of every celebrity, all pairs);
* ``deepfake``: Pearson correlation of the two recognizers' cosines of each deepfake to the photo it
  takes its identity from, centred within each generator (world: within each dataset), so that one
  generator being stronger than another does not count as agreement.

Both correlations rise with the coupling, so each is found by bisection, the identity coupling
first (the deepfake correlation depends on both). A measured correlation above what coupling 1 gives
(the two recognizers' own spreads and dimensions cap it) is met by coupling 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from harness.simulate.params import Coupling, EmbeddingStats, GeneratorStats, RecognizerStats, SimulationParams

COUPLING_SCALE = 0.15  # share of the study's probes in the worlds the bisection simulates
ITERATIONS = 12


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def centred_correlation(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Pearson correlation of paired values after subtracting each group's own means."""
    xs, ys = [], []
    for a, b in groups:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if len(a) < 2:
            continue
        xs.append(a - a.mean())
        ys.append(b - b.mean())
    if not xs:
        return float("nan")
    return pearson(np.concatenate(xs), np.concatenate(ys))


def simulated_correlations(params: SimulationParams, recognizer: str) -> tuple[float, float]:
    """(identity, deepfake) correlations between the reference view and ``recognizer``'s in the world
    ``params`` builds (see the module docstring for what each one pairs)."""
    from harness.simulate.world import World

    world = World(params)
    ref, view = world.views[params.recognizer], world.views[recognizer]
    first = np.arange(0, len(world.gallery_owner), params.gallery_photos)
    a, b = ref.gallery_embeddings[first], view.gallery_embeddings[first]
    upper = np.triu_indices(len(first), 1)
    identity = pearson((a @ a.T)[upper], (b @ b.T)[upper])
    deepfake = centred_correlation([(p.identity_cos, q.identity_cos)
                                    for p, q in zip(ref.datasets, view.datasets, strict=True)])
    return identity, deepfake


def fit_coupling(params: SimulationParams, recognizer: str, embedding: EmbeddingStats,
                 generators: dict[str, GeneratorStats], identity_r: float, deepfake_r: float,
                 iterations: int = ITERATIONS) -> Coupling:
    """The coupling of ``recognizer``'s view (its statistics given) that reproduces the measured
    correlations ``identity_r`` and ``deepfake_r`` with the reference recognizer."""
    small = replace(params.scaled(COUPLING_SCALE), recognizers={})

    def with_coupling(identity: float, deepfake: float) -> SimulationParams:
        view = RecognizerStats(embedding, generators, Coupling(identity, deepfake))
        return replace(small, recognizers={recognizer: view})

    def solve(target: float, corr_at) -> float:  # noqa: ANN001
        if not np.isfinite(target) or target <= corr_at(0.0):
            return 0.0
        if target >= corr_at(1.0):
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(iterations):
            mid = (lo + hi) / 2
            if corr_at(mid) < target:
                lo = mid
            else:
                hi = mid
        return round((lo + hi) / 2, 4)

    identity = solve(identity_r, lambda c: simulated_correlations(with_coupling(c, 1.0), recognizer)[0])
    deepfake = solve(deepfake_r, lambda c: simulated_correlations(with_coupling(identity, c), recognizer)[1])
    got_i, got_d = simulated_correlations(with_coupling(identity, deepfake), recognizer)
    return Coupling(identity, deepfake, (
        f"fitted by bisection to the correlations measured with {params.recognizer} and {recognizer} on the same "
        f"real images: different-person cosines r = {identity_r:.3f} (world {got_i:.3f}), deepfake-to-identity "
        f"cosines centred per generator r = {deepfake_r:.3f} (world {got_d:.3f})"))

"""Run a simulated world through the mock vendors' behaviour code and produce a results table.

The vendors are :class:`mockvendors.behaviour.MockVendorBehaviour` objects (the same code behind
the in-process mocks and the HTTP servers) over a gallery of the world's synthetic celebrity
photos, called at their embedding-level entry points (``recognize_embeddings``,
``similarity_embeddings``): no images, so the study's ~16,000 probes x 3 vendors take seconds.
The table has the results schema, so metrics, sweeps, the defense and reports work on it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.results.io import validate_results
from harness.results.schema import SCHEMA_VERSION
from harness.simulate.parallel import task_pool
from harness.simulate.params import SimulationParams
from harness.simulate.world import SimProbes, View, World
from harness.vendors import registry
from mockvendors.analysis import ImageAnalysis
from mockvendors.behaviour import EmbeddingAnswers, MockVendorBehaviour
from mockvendors.gallery import Gallery, Identity, stable_id
from mockvendors.profile import VendorProfile, load_profile

SOURCE = "simulation"


class _NoImages:
    """The simulation never shows a vendor an image; asking it to analyse one is a bug."""

    model_id = "simulation"

    def analyze(self, image: bytes) -> ImageAnalysis:
        raise RuntimeError("the embedding-space simulation does not analyse images")


def world_gallery(world: World, recognizer: str | None = None) -> Gallery:
    celebs = world.celebrities
    view = world.views[recognizer or world.params.recognizer]
    identities = [Identity(n, stable_id(n), {"region": r}) for n, r in zip(celebs.names, celebs.regions, strict=True)]
    shas = [f"sim-gallery-{i}" for i in range(len(world.gallery_owner))]
    return Gallery(identities, view.gallery_embeddings, world.gallery_owner, shas,
                   model_id=f"simulation:{view.recognizer}")


def vendor_view(world: World, profile: VendorProfile) -> View:
    """The view a vendor answers from: its own recognizer's where the world has one, else the reference's."""
    return world.view(profile.recognizer) or world.views[world.params.recognizer]


def vendor_behaviours(
    world: World, vendors: Sequence[str] | None = None, overrides: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, MockVendorBehaviour]:
    """The mock vendors' behaviour (built-in profiles, ``overrides[vendor]`` merged over them).

    Each vendor answers from the world as its own recognizer sees it (:class:`~harness.simulate.world.View`),
    with its calibration as written, so the three vendors' mistakes are as correlated as the recognizers'
    couplings make them. A vendor whose recognizer the parameters have no statistics for (parameters
    written before there were views) answers from the reference view, with its calibrations carried to
    the reference scale through the anchors (:meth:`VendorProfile.on_scale_of`)."""
    vendors = registry.names() if vendors is None else vendors
    return {v: behaviour_in(world, load_profile(v, (overrides or {}).get(v))) for v in vendors}


def behaviour_in(world: World, profile: VendorProfile) -> MockVendorBehaviour:
    """``profile``'s behaviour over the gallery of its view of ``world``, on that view's scale."""
    view = vendor_view(world, profile)
    return MockVendorBehaviour(profile.on_scale_of(view.recognizer), world_gallery(world, view.recognizer),
                               _NoImages())


@dataclass
class Simulation:
    world: World
    vendors: dict[str, MockVendorBehaviour]
    results: pd.DataFrame
    probe_keys: list[np.ndarray]  # per dataset: probe ids (also the keys detectors score)


# The gallery cosines are a float32 matrix product whose rounding depends on how many rows it has
# (OpenBLAS picks its kernels and threads by shape), so the simulation asks the vendors about blocks
# of exactly VENDOR_BLOCK probes from a dataset's first, and the last (shorter) stretch in padded blocks
# of TAIL_BLOCK: a probe's answer is then the same whatever chunk (a multiple of VENDOR_BLOCK) it was
# built in. Smaller blocks cost CPU (512 rows: about twice 2,048's per row), larger ones padding.
VENDOR_BLOCK = 2048
TAIL_BLOCK = 512


def recognize_blocked(beh: MockVendorBehaviour, emb: np.ndarray, block: int | None) -> EmbeddingAnswers:
    """``beh.recognize_embeddings(emb)``, asked ``block`` rows at a time and the rows after the last
    whole block :data:`TAIL_BLOCK` at a time, padded (``block=None``: all at once)."""
    n = len(emb)
    if block is None or n == block:
        return beh.recognize_embeddings(emb)
    whole = n // block * block
    parts = [beh.recognize_embeddings(emb[start:start + block]) for start in range(0, whole, block)]
    tail = min(block, TAIL_BLOCK)
    for start in range(whole, n, tail):
        rows = emb[start:start + tail]
        if len(rows) < tail:
            rows = np.concatenate([rows, np.zeros((tail - len(rows), emb.shape[1]), emb.dtype)])
        parts.append(beh.recognize_embeddings(rows))
    return EmbeddingAnswers(*(np.concatenate([getattr(a, f) for a in parts])[:n]
                              for f in ("index", "cosine", "confidence", "named")))


def _answers(beh: MockVendorBehaviour, emb: np.ndarray, scale: float,
             block: int | None) -> tuple[np.ndarray, np.ndarray]:
    ans = recognize_blocked(beh, emb, block)
    identities = np.array([i.name for i in beh.gallery.identities] or [""], dtype=object)
    names = np.where(ans.named, identities[np.maximum(ans.index, 0)], "")
    conf = np.where(ans.named, ans.confidence * (100.0 / scale), np.nan)
    return names, conf


def dataset_rows(world: World, probes: SimProbes, beh: MockVendorBehaviour, ids: np.ndarray,
                 block: int | None = None) -> dict[str, Any]:
    """The results columns of ``beh`` on ``probes``; ``block``: ask the vendor that many probes at a
    time (:data:`VENDOR_BLOCK`), so the answers do not depend on how many probes ``probes`` holds."""
    spec = probes.spec
    names = np.array(world.celebrities.names, dtype=object)
    scale = beh.profile.scale
    fake_name, fake_conf = _answers(beh, probes.fake, scale, block)
    target_name, target_conf = _answers(beh, probes.target_photo, scale, block)
    n = len(probes.target)
    synthesis = spec.method == "synthesis"
    if synthesis:
        t2_name, t2_conf = _answers(beh, probes.other_photo, scale, block)
        references = names[probes.target] + "|" + names[probes.other]
    else:
        t2_name, t2_conf = np.full(n, "", dtype=object), np.full(n, np.nan)
        references = names[probes.other]
    if beh.profile.similarity is not None:
        sim_scale = beh.profile.similarity.scale
        similarity = beh.similarity_embeddings(probes.target_photo, probes.fake) * (100.0 / sim_scale)
    else:
        similarity = np.full(n, np.nan)
    empty = np.full(n, "", dtype=object)
    return {
        "schema_version": np.full(n, SCHEMA_VERSION), "dataset": np.full(n, spec.name, dtype=object),
        "source": np.full(n, SOURCE, dtype=object), "method": np.full(n, spec.method, dtype=object),
        "probe_id": ids, "vendor": np.full(n, beh.vendor, dtype=object), "deepfake": ids + ":fake",
        "target": names[probes.target], "references": references,
        "target_name": target_name, "target_conf": target_conf, "target_error": empty,
        "target2_name": t2_name, "target2_conf": t2_conf, "target2_error": empty,
        "fake_name": fake_name, "fake_conf": fake_conf, "fake_error": empty,
        "similarity": similarity, "similarity_error": empty,
    }


def probe_ids(probes: SimProbes, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Probe ids ``start`` to ``stop`` (default: every probe) of ``probes``' dataset."""
    stop = probes.spec.probes if stop is None else stop
    return np.array([f"{probes.spec.name}-{i:05d}" for i in range(start, stop)], dtype=object)


def run_world(world: World, vendors: Mapping[str, MockVendorBehaviour],
              progress: Callable[[int], None] | None = None, workers: int | None = None) -> Simulation:
    """Every vendor on every probe of ``world``; ``progress()`` once per vendor x dataset.
    ``workers``: threads for the vendor x dataset tasks (default: the CPUs this process may use)."""
    ids = [probe_ids(p) for p in world.datasets]
    tasks = [(beh, p, k) for beh in vendors.values()
             for p, k in zip(vendor_view(world, beh.profile).datasets, ids, strict=True)]

    def answer(task: tuple[MockVendorBehaviour, SimProbes, np.ndarray]) -> pd.DataFrame:
        beh, p, k = task
        return pd.DataFrame(dataset_rows(world, p, beh, k, VENDOR_BLOCK))

    frames = []
    with task_pool(workers) as pool:
        for frame in pool.map(answer, tasks):
            frames.append(frame)
            if progress is not None:
                progress(1)
    table = validate_results(pd.concat(frames, ignore_index=True), "<simulation>")
    return Simulation(world, dict(vendors), table, ids)


def simulate(params: SimulationParams, vendors: Sequence[str] | None = None,
             overrides: Mapping[str, dict[str, Any]] | None = None,
             progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Build the world from ``params`` and run every vendor on every probe; ``progress(done, total)``
    as each dataset of each view is built and each vendor has answered each dataset."""
    vendors = registry.names() if vendors is None else vendors
    recognizers = {load_profile(v, (overrides or {}).get(v)).recognizer for v in vendors}
    step = StepCounter(World.build_steps(params, recognizers) + len(vendors) * len(params.datasets), progress)
    world = World(params, recognizers, step)
    return run_world(world, vendor_behaviours(world, vendors, overrides), step)


class StepCounter:
    """``progress(done, total)`` from calls that each say "one more step done"."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None):
        self.total, self.done, self._progress = total, 0, progress
        if progress is not None:
            progress(0, total)

    def __call__(self, steps: int = 1) -> None:
        self.done += steps
        if self._progress is not None:
            self._progress(min(self.done, self.total), self.total)

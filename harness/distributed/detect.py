"""The defense's detectors as a Ray Data batch stage (``dfi defend --executor ray``).

:func:`harness.defense.campaign.run_defense` scores every prepared image with every detector once,
before its campaigns. :class:`RayDetectorScorer` is its ``score_images``: the images go through a pool
of Ray Data actors (:class:`DetectorStage`), each building the detectors once from the picklable
:class:`harness.defense.campaign.DetectorRecipe` (the specs, the truth the simulated detectors are
told, the evaluation guard, the trained detector the driver built), so one model session per actor
process, one onnxruntime thread per actor (one CPU each).

Every detector scores every image, each apart (:func:`harness.defense.campaign.detector_outcome`,
the in-process call), and an image a detector cannot score comes back as
:class:`harness.defense.campaign.Unscorable` with its message, never as a score and never dropped.
The driver reads these outcomes wherever it would have scored, so the scores, the error counts and
every table are those of the in-process run; the campaigns themselves run in the driver.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.defense.campaign import DetectorRecipe, ImageScores, Outcome, Unscorable, detector_outcome
from harness.detectors import Detector
from harness.distributed.cluster import RaySettings, cluster_cpus, quiet_ray_data, ray_cluster
from harness.errors import DfiError
from harness.models.runtime import THREADS_ENV

BATCH_SIZE = 16  # images per batch: long enough to amortise Ray Data's per-batch overhead
PASSES = ("guarded", "as_given")  # the fields of ImageScores, in column names


def _column(pass_name: str, detector: str, what: str) -> str:
    return f"{pass_name}:{detector}:{what}"


class DetectorStage:
    """A Ray Data actor: the detectors built once, then batches of (key, bytes) scored by each."""

    def __init__(self, recipe: DetectorRecipe):
        os.environ.setdefault(THREADS_ENV, "1")  # one CPU per actor: onnxruntime must not spread over all cores
        built = recipe.build()
        self.passes: tuple[tuple[str, list[Detector]], ...] = (("guarded", built.guarded),
                                                                ("as_given", built.reencoded))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        images = [bytes(b) for b in batch["data"]]
        out: dict[str, np.ndarray] = {"key": np.asarray(batch["key"])}
        for pass_name, detectors in self.passes:
            for d in detectors:
                outcomes = [detector_outcome(d, image) for image in images]
                out[_column(pass_name, d.name, "score")] = np.array(
                    [o if isinstance(o, float) else math.nan for o in outcomes], dtype=np.float64)
                out[_column(pass_name, d.name, "ok")] = np.array([isinstance(o, float) for o in outcomes], dtype=bool)
                out[_column(pass_name, d.name, "why")] = np.array(
                    [o.message if isinstance(o, Unscorable) else "" for o in outcomes], dtype=object)
        return out


def _collect(batches: Any, keys: Sequence[str]) -> ImageScores:
    scores = ImageScores()
    seen: set[str] = set()
    for batch in batches:
        batch_keys = [str(k) for k in batch["key"]]
        seen.update(batch_keys)
        for column in batch:
            pass_name, _, rest = str(column).partition(":")
            name, _, what = rest.rpartition(":")
            if pass_name not in PASSES or what != "score":
                continue
            target: dict[str, dict[str, Outcome]] = getattr(scores, pass_name)
            per_key = target.setdefault(name, {})
            ok = batch[_column(pass_name, name, "ok")]
            why = batch[_column(pass_name, name, "why")]
            for i, k in enumerate(batch_keys):
                per_key[k] = float(batch[column][i]) if bool(ok[i]) else Unscorable(str(why[i]))
    missing = set(keys) - seen
    if missing:
        raise DfiError(f"the Ray detector stage returned {len(keys) - len(missing)} of {len(keys)} images "
                       f"(missing e.g. {sorted(missing)[0]})")
    return scores


def score_on_ray(recipe: DetectorRecipe, keys: Sequence[str], data: Mapping[str, bytes], *,
                 workers: int, batch_size: int = BATCH_SIZE) -> ImageScores:
    """Every detector of ``recipe`` on every image of ``keys``, by at most ``workers``
    :class:`DetectorStage` actors of the connected Ray cluster (batches of at most ``batch_size``
    images, smaller when that gives every actor one)."""
    import ray
    import ray.data

    todo = sorted(set(keys))
    if not todo:
        return ImageScores()
    size = max(1, min(batch_size, -(-len(todo) // max(1, workers))))
    quiet_ray_data(ray)
    items = ray.data.from_items([{"key": k, "data": data[k]} for k in todo])
    pool = ray.data.ActorPoolStrategy(size=max(1, min(workers, -(-len(todo) // size))))
    ds = items.map_batches(DetectorStage, fn_constructor_kwargs={"recipe": recipe}, batch_size=size,
                           batch_format="numpy", compute=pool, num_cpus=1)
    return _collect(ds.iter_batches(batch_format="numpy", batch_size=None), todo)


@dataclass(frozen=True)
class RayDetectorScorer:
    """``score_images`` for :func:`harness.defense.campaign.run_defense`: the detectors on Ray
    (a local instance, or the cluster of ``settings.address``); ``settings.workers`` actors at once
    (default: the cluster's CPUs)."""

    settings: RaySettings = RaySettings()
    batch_size: int = BATCH_SIZE

    def __call__(self, recipe: DetectorRecipe, keys: Sequence[str], data: Mapping[str, bytes]) -> ImageScores:
        if not keys:
            return ImageScores()
        with ray_cluster(self.settings) as ray:
            workers = self.settings.workers or cluster_cpus(ray)
            return score_on_ray(recipe, keys, data, workers=workers, batch_size=self.batch_size)

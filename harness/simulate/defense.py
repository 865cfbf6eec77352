"""The defense in the simulation: simulated detectors score every simulated image, a DD1/DD2/DD3
policy flags them, and flagged images are answered "no celebrity" before the metrics are computed.

Image keys: ``<probe_id>:fake`` (the deepfake), ``<probe_id>:target`` (P_T's genuine photo) and
``<probe_id>:target2`` (synthesis: the second source's photo). A deepfake's quality (what a
correlated detector's misses follow) is its cosine to the impersonated celebrity's identity centre:
vendor-independent, and what makes a vendor name the target. Fakes are ranked within their dataset,
so a detector keeps its chosen TPR on every dataset and only *which* fakes it misses changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from harness.defense.evaluate import blank_flagged, defense_table
from harness.defense.policy import DD1, DD2, DD3, Policy, StackingCombiner
from harness.detectors import DetectorSpecError, ImageTruth, SimulatedDetector, SimulatedSpec
from harness.simulate.params import DatasetSpec
from harness.simulate.run import Simulation
from harness.simulate.stream import StreamedSimulation


@dataclass(frozen=True)
class DetectorSetting(SimulatedSpec):
    """A simulated detector of ``dfi simulate``: a :class:`harness.detectors.SimulatedSpec` whose
    ``sim:`` prefix may be left out."""

    @classmethod
    def parse(cls, text: str, *, bare_ok: bool = True) -> Self:
        """``[sim:]NAME:TPR,FPR[,RHO]``, rates 0-1, e.g. ``good:0.95,0.05`` or ``corr:0.9,0.05,0.8``;
        a ValueError of one line otherwise (parsed by :meth:`SimulatedSpec.parse`, the one parser)."""
        try:
            return super().parse(text, bare_ok=bare_ok)
        except DetectorSpecError as exc:
            raise ValueError(str(exc)) from None


def simulation_truth(sim: Simulation) -> dict[str, ImageTruth]:
    truth: dict[str, ImageTruth] = {}
    centres = sim.world.celebrities.centres
    for probes, ids in zip(sim.world.datasets, sim.probe_keys, strict=True):
        quality = np.sum(probes.fake * centres[probes.target], axis=1)
        truth.update(dataset_truth(probes.spec, ids, quality))
    return truth


def dataset_truth(spec: DatasetSpec, ids: np.ndarray, quality: np.ndarray) -> dict[str, ImageTruth]:
    """What the detectors are told about one dataset's images (``quality``: each deepfake's cosine to
    its target's identity centre)."""
    truth: dict[str, ImageTruth] = {}
    for pid, q in zip(ids.tolist(), quality.tolist(), strict=True):
        truth[f"{pid}:fake"] = ImageTruth(True, q, spec.name)
        truth[f"{pid}:target"] = ImageTruth(False)
        if spec.method == "synthesis":
            truth[f"{pid}:target2"] = ImageTruth(False)
    return truth


def make_detectors(sim: Simulation, settings: Sequence[DetectorSetting], seed: int = 0) -> list[SimulatedDetector]:
    truth = simulation_truth(sim)
    return [s.build(truth, seed=seed) for s in settings]


def _policies(dets: Sequence[SimulatedDetector], comb: StackingCombiner | None) -> list[Policy]:
    policies: list[Policy] = [DD1(d, name=f"DD1[{d.name}]") for d in dets]
    if len(dets) > 1 and comb is not None:
        policies.append(DD2(dets, name="DD2[" + "+".join(d.name for d in dets) + "]"))
        policies.append(DD3(dets, comb, name="DD3[" + "+".join(d.name for d in dets) + "]"))
    return policies


def _scores(detectors: Sequence[SimulatedDetector], keys: list[str]) -> np.ndarray:
    return np.column_stack([d.score_keys(keys) for d in detectors])


def row_keys(results: pd.DataFrame) -> tuple[list[str], list[str], list[str], np.ndarray]:
    pids = results["probe_id"].astype(str).tolist()
    synthesis = results["method"].eq("synthesis").to_numpy()
    return [f"{p}:fake" for p in pids], [f"{p}:target" for p in pids], [f"{p}:target2" for p in pids], synthesis


class ScoreBook:
    """Every detector's scores on every distinct image of a results table, computed once."""

    def __init__(self, results: pd.DataFrame, detectors: Sequence[SimulatedDetector]):
        fk, tk, t2k, synth = row_keys(results)
        self.keys = sorted(set(fk) | set(tk) | {k for k, s in zip(t2k, synth) if s})
        self.scores = {d.name: d.score_keys(self.keys) for d in detectors}

    def matrix(self, detectors) -> np.ndarray:  # noqa: ANN001
        return np.column_stack([self.scores[d.name] for d in detectors])


def flags_for(results: pd.DataFrame, policy, book: ScoreBook):  # noqa: ANN001
    """Per results row: policy flags on the deepfake, the target photo and (synthesis) the second photo."""
    fk, tk, t2k, synth = row_keys(results)
    pos = {k: i for i, k in enumerate(book.keys)}
    flagged = policy.flags(book.matrix(policy.detectors))
    f = flagged[[pos[k] for k in fk]]
    t = flagged[[pos[k] for k in tk]]
    t2 = np.array([bool(flagged[pos[k]]) if s else False for k, s in zip(t2k, synth)], dtype=bool)
    return f, t, t2


def train_combiner(train_sim: Simulation, detectors: Sequence[SimulatedDetector]) -> StackingCombiner:
    """DD3's combiner, fitted on a separate simulated world (the training split)."""
    fk, tk, _, _ = row_keys(train_sim.results.drop_duplicates("probe_id"))
    keys = fk + tk
    y = np.r_[np.ones(len(fk), bool), np.zeros(len(tk), bool)]
    return StackingCombiner(tuple(d.name for d in detectors)).fit(_scores(detectors, keys), y)


def defended_results(sim: Simulation, policy, book: ScoreBook) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:  # noqa: ANN001
    f, t, t2 = flags_for(sim.results, policy, book)
    return blank_flagged(sim.results, f, t, t2), f, t | t2


def defense_study(sim: Simulation, train_sim: Simulation, settings: Sequence[DetectorSetting], *,
                  beta: float = 90.0, gamma: float = 80.0, seed: int = 0) -> pd.DataFrame:
    """DD1 for each detector, DD2 over all of them and DD3 (trained on ``train_sim``), evaluated on
    ``sim``: one :func:`harness.defense.evaluate.defense_table` per policy, stacked."""
    dets = make_detectors(sim, settings, seed)
    comb = train_combiner(train_sim, make_detectors(train_sim, settings, seed + 1)) if len(dets) > 1 else None
    policies = _policies(dets, comb)
    book = ScoreBook(sim.results, dets)
    tables = []
    for pol in policies:
        after, f, t = defended_results(sim, pol, book)
        tables.append(defense_table(sim.results, after, f, t, beta=beta, gamma=gamma, policy=pol.name))
    return pd.concat(tables, ignore_index=True)


# --- the defense of a streamed simulation, one dataset at a time ------------------------------------
# A simulated detector's score on an image depends only on the image's key and on its deepfake's
# quality rank within its dataset, so detectors built on one dataset's truth score its images as the
# whole world's would: the study splits by dataset with the same numbers.

def streamed_combiner(train: StreamedSimulation, settings: Sequence[DetectorSetting],
                      seed: int = 0) -> StackingCombiner | None:
    """DD3's combiner fitted on a streamed training world's deepfakes and target photos (``None``
    with fewer than two detectors); the same fit :func:`train_combiner` makes on its results."""
    if len(settings) < 2:
        return None
    truth: dict[str, ImageTruth] = {}
    for spec, ids, quality in zip(train.world.params.datasets, train.probe_keys, train.quality, strict=True):
        truth.update(dataset_truth(spec, ids, quality))
    dets = [s.build(truth, seed=seed + 1) for s in settings]
    pids = np.concatenate(train.probe_keys).tolist()
    fk, tk = [f"{p}:fake" for p in pids], [f"{p}:target" for p in pids]
    y = np.r_[np.ones(len(fk), bool), np.zeros(len(tk), bool)]
    return StackingCombiner(tuple(d.name for d in dets)).fit(_scores(dets, fk + tk), y)


def dataset_defense(results: pd.DataFrame, spec: DatasetSpec, ids: np.ndarray, quality: np.ndarray,
                    settings: Sequence[DetectorSetting], comb: StackingCombiner | None, *,
                    beta: float = 90.0, gamma: float = 80.0, seed: int = 0) -> pd.DataFrame:
    """:func:`defense_study`'s rows for one dataset (``results``: its rows, every vendor)."""
    dets = [s.build(dataset_truth(spec, ids, quality), seed=seed) for s in settings]
    book = ScoreBook(results, dets)
    tables = []
    for pol in _policies(dets, comb):
        f, t, t2 = flags_for(results, pol, book)
        after = blank_flagged(results, f, t, t2)
        tables.append(defense_table(results, after, f, t | t2, beta=beta, gamma=gamma, policy=pol.name))
    return pd.concat(tables, ignore_index=True)

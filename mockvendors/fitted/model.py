"""The fitted behaviour model of a vendor, as plain frozen dataclasses.

One :class:`VendorModel` per vendor holds a :class:`DatasetModel` per dataset it was fitted on and
a pooled one (``pooled``) for datasets it has not seen (:meth:`VendorModel.dataset`). A dataset
model holds one :class:`PopulationModel` per population:

* ``genuine`` -- the vendor's answers on real images of the dataset's celebrities (one call per
  distinct real image): answer rate, the confidence of the named answers, and the rate among
  celebrities the vendor knows (:class:`Coverage` says which those are);
* ``deepfake`` -- its answers on the deepfakes (one call per probe): answer rate overall and by
  whether the vendor named the target's real image (``"known"``/``"unknown"``; a deepfake of a
  celebrity the vendor does not know is rarely named), the split of the named ones into
  ``target``/``reference``/``other`` (the outcomes of :mod:`harness.study.outcomes`), a confidence
  model per outcome where there are enough values, and the similarity score of named and unnamed
  deepfakes where the vendor has a similarity call.

Scores are on the harness's 0-100 scale. Every parameter's origin is in ``provenance``
(:data:`RECORDS`, :data:`AGGREGATES`, :data:`ASSUMED`), keyed by a dotted path such as
``"deepfake.answer_rate"``; ``notes`` say what an assumption is. ``to_dict``/``from_dict`` give
plain dicts (str, int, float, bool, None, list, dict: no NaN, no tuples) for YAML or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mockvendors.fitted import distributions as families

RECORDS = "fitted to records"
AGGREGATES = "fitted to published aggregates"
ASSUMED = "assumed"
ORIGINS: tuple[str, ...] = (RECORDS, AGGREGATES, ASSUMED)
POOLED = "pooled"
POPULATIONS: tuple[str, ...] = ("genuine", "deepfake")
TARGET_CONDITIONS: tuple[str, ...] = ("known", "unknown")
SIMILARITY_CONDITIONS: tuple[str, ...] = ("named", "unnamed")
MODEL_FORMAT = 1


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, tuples to lists, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ScoreModel:
    """A bounded score's distribution (:mod:`mockvendors.fitted.distributions`), on ``(lower, upper)``."""

    family: str
    params: tuple[float, float]
    lower: float
    upper: float = 100.0
    step: float | None = None          # reporting resolution (AWS: 1.0); None: continuous
    n: int = 0                          # values it was fitted to (0: not fitted to values)
    loglik: dict[str, float] = field(default_factory=dict)  # every candidate family's, on u

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return families.draw_scores(self.family, self.params, self.lower, self.upper, self.step, rng, size)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(score <= x) of the continuous score (before rounding to ``step``)."""
        u = (np.asarray(x, dtype=np.float64) - self.lower) / (self.upper - self.lower)
        return families.unit_cdf(self.family, self.params, np.clip(u, 0.0, 1.0))

    def to_dict(self) -> dict[str, Any]:
        return _plain({"family": self.family, "params": [float(p) for p in self.params], "lower": self.lower,
                       "upper": self.upper, "step": self.step, "n": self.n, "loglik": self.loglik})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScoreModel:
        p = d["params"]
        return cls(str(d["family"]), (float(p[0]), float(p[1])), float(d["lower"]), float(d["upper"]),
                   _opt_float(d.get("step")), int(d.get("n", 0)),
                   {str(k): float(v) for k, v in (d.get("loglik") or {}).items()})


@dataclass(frozen=True)
class Rate:
    """A Bernoulli probability and the number of trials behind it (None: not counted, e.g. published)."""

    p: float
    n: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"p": float(self.p), "n": self.n}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rate:
        return cls(float(d["p"]), None if d.get("n") is None else int(d["n"]))


@dataclass(frozen=True)
class Split:
    """Multinomial shares of the named deepfakes over ``target``/``reference``/``other`` (sum 1)."""

    shares: dict[str, float]
    n: int | None = None

    def share(self, outcome: str) -> float:
        return float(self.shares.get(outcome, 0.0))

    def to_dict(self) -> dict[str, Any]:
        return _plain({"shares": self.shares, "n": self.n})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Split:
        return cls({str(k): float(v) for k, v in d["shares"].items()}, None if d.get("n") is None else int(d["n"]))


@dataclass(frozen=True)
class SimilarityModel:
    """Similarity scores of one group of deepfakes: how many have none, and the rest's distribution."""

    missing: Rate                      # share of probes without a score (Azure: find-similar found no face)
    scores: ScoreModel | None

    def to_dict(self) -> dict[str, Any]:
        return {"missing": self.missing.to_dict(), "scores": None if self.scores is None else self.scores.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SimilarityModel:
        return cls(Rate.from_dict(d["missing"]), None if d.get("scores") is None else ScoreModel.from_dict(d["scores"]))


@dataclass(frozen=True)
class PopulationModel:
    vendor: str
    dataset: str
    population: str                    # "genuine" | "deepfake"
    n: int                             # calls it was fitted to (0: not fitted to records)
    answer_rate: Rate                  # P(a name is returned)
    confidence: ScoreModel | None      # confidence of the named answers
    # genuine: P(named) for a real image of a celebrity the vendor knows
    answer_rate_if_known: Rate | None = None
    # deepfake: P(named) by whether the vendor named the target's real image ("known"/"unknown")
    answer_rate_by_target: dict[str, Rate] = field(default_factory=dict)
    # deepfake: the outcome split of named answers, by the same condition
    outcomes: dict[str, Split] = field(default_factory=dict)
    # deepfake: a confidence model of its own for an outcome that has enough values
    outcome_confidence: dict[str, ScoreModel] = field(default_factory=dict)
    # deepfake: similarity of named / unnamed deepfakes; empty for a vendor without a similarity call
    similarity: dict[str, SimilarityModel] = field(default_factory=dict)

    def rate_for(self, condition: str) -> float:
        """Answer rate of a deepfake whose target is ``condition`` ("known"/"unknown")."""
        rate = self.answer_rate_by_target.get(condition)
        return self.answer_rate.p if rate is None else rate.p

    def split_for(self, condition: str) -> Split:
        split = self.outcomes.get(condition) or self.outcomes.get("known")
        return split if split is not None else Split({"other": 1.0})

    def confidence_for(self, outcome: str) -> ScoreModel | None:
        return self.outcome_confidence.get(outcome, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor, "dataset": self.dataset, "population": self.population, "n": self.n,
            "answer_rate": self.answer_rate.to_dict(),
            "confidence": None if self.confidence is None else self.confidence.to_dict(),
            "answer_rate_if_known": None if self.answer_rate_if_known is None else self.answer_rate_if_known.to_dict(),
            "answer_rate_by_target": {k: v.to_dict() for k, v in self.answer_rate_by_target.items()},
            "outcomes": {k: v.to_dict() for k, v in self.outcomes.items()},
            "outcome_confidence": {k: v.to_dict() for k, v in self.outcome_confidence.items()},
            "similarity": {k: v.to_dict() for k, v in self.similarity.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PopulationModel:
        known = d.get("answer_rate_if_known")
        return cls(
            str(d["vendor"]), str(d["dataset"]), str(d["population"]), int(d["n"]), Rate.from_dict(d["answer_rate"]),
            None if d.get("confidence") is None else ScoreModel.from_dict(d["confidence"]),
            None if known is None else Rate.from_dict(known),
            {str(k): Rate.from_dict(v) for k, v in (d.get("answer_rate_by_target") or {}).items()},
            {str(k): Split.from_dict(v) for k, v in (d.get("outcomes") or {}).items()},
            {str(k): ScoreModel.from_dict(v) for k, v in (d.get("outcome_confidence") or {}).items()},
            {str(k): SimilarityModel.from_dict(v) for k, v in (d.get("similarity") or {}).items()},
        )


@dataclass(frozen=True)
class Coverage:
    """Which of the dataset's celebrities the vendor knows: names a real image of at all."""

    celebrities: int
    share: Rate                        # share of celebrities known (MLE: known / celebrities)
    known: dict[str, bool] = field(default_factory=dict)  # per celebrity label, where observed

    def to_dict(self) -> dict[str, Any]:
        return {"celebrities": self.celebrities, "share": self.share.to_dict(),
                "known": {k: bool(v) for k, v in sorted(self.known.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Coverage:
        return cls(int(d["celebrities"]), Rate.from_dict(d["share"]),
                   {str(k): bool(v) for k, v in (d.get("known") or {}).items()})


@dataclass(frozen=True)
class DatasetModel:
    vendor: str
    dataset: str                       # or POOLED
    genuine: PopulationModel
    deepfake: PopulationModel
    coverage: Coverage
    # the vendor's own name for a celebrity where it differs from the dataset's label
    names: dict[str, str] = field(default_factory=dict)
    # names it gave deepfakes named as someone else, with counts (the pool "other" names are drawn from)
    other_names: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)   # parameter path -> one of ORIGINS
    notes: tuple[str, ...] = ()

    def population(self, name: str) -> PopulationModel:
        if name not in POPULATIONS:
            raise ValueError(f"unknown population {name!r}; expected one of {POPULATIONS}")
        return self.genuine if name == "genuine" else self.deepfake

    def name_of(self, label: str) -> str:
        return self.names.get(label, label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor, "dataset": self.dataset, "genuine": self.genuine.to_dict(),
            "deepfake": self.deepfake.to_dict(), "coverage": self.coverage.to_dict(),
            "names": dict(sorted(self.names.items())),
            "other_names": {k: int(v) for k, v in sorted(self.other_names.items())},
            "provenance": dict(sorted(self.provenance.items())), "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetModel:
        return cls(
            str(d["vendor"]), str(d["dataset"]), PopulationModel.from_dict(d["genuine"]),
            PopulationModel.from_dict(d["deepfake"]), Coverage.from_dict(d["coverage"]),
            {str(k): str(v) for k, v in (d.get("names") or {}).items()},
            {str(k): int(v) for k, v in (d.get("other_names") or {}).items()},
            {str(k): str(v) for k, v in (d.get("provenance") or {}).items()},
            tuple(str(n) for n in d.get("notes") or ()),
        )


@dataclass(frozen=True)
class Provenance:
    source_files: tuple[str, ...]
    half: str                          # "A", "B" or "all": which rows of the split were fitted
    fit_date: str                      # ISO date
    dfi_version: str
    seed: int
    published: tuple[str, ...] = ()    # the published aggregates used, where any

    def to_dict(self) -> dict[str, Any]:
        return {"source_files": list(self.source_files), "half": self.half, "fit_date": self.fit_date,
                "dfi_version": self.dfi_version, "seed": self.seed, "published": list(self.published)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        return cls(tuple(str(s) for s in d["source_files"]), str(d["half"]), str(d["fit_date"]),
                   str(d["dfi_version"]), int(d["seed"]), tuple(str(s) for s in d.get("published") or ()))


@dataclass(frozen=True)
class VendorModel:
    vendor: str
    floor: float                       # reporting floor of a named confidence, 0-100
    step: float | None                 # reporting resolution of confidences; None: continuous
    datasets: dict[str, DatasetModel]
    pooled: DatasetModel
    provenance: Provenance

    def dataset(self, name: str) -> DatasetModel:
        """The model of dataset ``name``, or the pooled one where the vendor was not fitted on it."""
        return self.datasets.get(name, self.pooled)

    def to_dict(self) -> dict[str, Any]:
        return {"format": MODEL_FORMAT, "vendor": self.vendor, "floor": float(self.floor), "step": self.step,
                "datasets": {k: v.to_dict() for k, v in self.datasets.items()}, "pooled": self.pooled.to_dict(),
                "provenance": self.provenance.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VendorModel:
        if int(d.get("format", MODEL_FORMAT)) != MODEL_FORMAT:
            raise ValueError(f"vendor model format {d.get('format')!r}; this dfi reads {MODEL_FORMAT}")
        return cls(str(d["vendor"]), float(d["floor"]), _opt_float(d.get("step")),
                   {str(k): DatasetModel.from_dict(v) for k, v in d["datasets"].items()},
                   DatasetModel.from_dict(d["pooled"]), Provenance.from_dict(d["provenance"]))

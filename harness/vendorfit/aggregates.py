"""Models for the (vendor, dataset) cells the study published but whose answers are not recorded.

The study's files record Azure on all five datasets and AWS on FCelebDF only. For the rest it
published TA and NA before the defense, as percentages of all deepfake probes
(:data:`PUBLISHED`). These identify two parameters of a cell, each by the Bernoulli/multinomial
MLE with the published share as the observed share (the counts behind them are not published, so
``n`` is None):

* ``deepfake.answer_rate`` = NA / 100 (NA: the deepfake is named as anyone);
* the targeted share of named deepfakes whose target the vendor knows,
  ``outcomes.known.target`` = TA / (NA x k), where k (:func:`known_target_share`, from ``coverage.share`` and
  ``genuine.answer_rate_if_known``) is the model's share of probes with a named real image of a
  target (TA needs that name, DESIGN.md section 2), capped at 1 (a note says when).

Everything else is not identified by two shares and is **assumed**, as ``provenance`` and
``notes`` say per parameter:

* AWS: the confidence models (overall and per outcome), similarity, genuine answers, coverage
  share and other-names pool are AWS's pooled fit to its recorded FCelebDF answers
  (:meth:`VendorModel.pooled`), carried over unchanged;
* both: a deepfake is named at the same rate whether or not its target is known (the published
  NA is one number), and none is named as the reference person (``reference`` share 0; the study
  published no split for these cells), so the rest of the named ones are ``other``;
* Naver, which nothing records: it always returns a name on a real image of a celebrity
  (DESIGN.md section 2: "NAV always returns a name, even at confidence 0.01%"), so genuine answer
  rate and coverage are 1 and its reporting floor is 0; its confidences have the shape that
  Azure's pooled fit has on the unit variable (Azure is the other vendor reporting 0-1
  confidences), stretched from (70, 100) to (0, 100); it has no similarity call, so no similarity
  model; its other-names pool is empty (placeholders are drawn). Its ``pooled`` model is the
  unweighted mean of the five published cells.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import replace

import harness
from mockvendors.fitted.model import (
    AGGREGATES,
    ASSUMED,
    POOLED,
    Coverage,
    DatasetModel,
    PopulationModel,
    Provenance,
    Rate,
    ScoreModel,
    Split,
    VendorModel,
)

# (TA, NA) in % of all deepfake probes, before the defense, as the study published them
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "nav": {"FCelebDF": (5.2, 98.6), "CelebDF": (2.1, 99.8), "VoxCelebTH": (0.0, 99.9),
            "CelebFOM": (2.6, 99.8), "CelebBlend": (13.3, 99.9)},
    "aws": {"CelebDF": (10.7, 42.5), "VoxCelebTH": (68.7, 77.8), "CelebFOM": (47.5, 65.0),
            "CelebBlend": (13.9, 42.2)},
}
PUBLISHED_NOTE = "the study's published TA and NA before defense (% of all deepfake probes)"
NAV_FLOOR = 0.0
SYNTHESIS_DATASETS: tuple[str, ...] = ("CelebBlend",)   # two reference people per probe


def known_target_share(shape: DatasetModel, references: int = 1) -> float:
    """The model's share of probes with a named real image of a target: 1 - (1 - coverage x P(named |
    known)) ** references (a blend has two references, either of which makes a TA)."""
    q = shape.genuine.answer_rate_if_known or shape.genuine.answer_rate
    return 1.0 - (1.0 - shape.coverage.share.p * q.p) ** references


def fit_to_aggregates(shape: DatasetModel, dataset: str, ta: float, na: float, *,
                      shape_note: str) -> DatasetModel:
    """A dataset model whose answer rate and targeted share reproduce published ``ta`` and ``na`` (%).

    The parameters two shares do not identify are ``shape``'s (``shape_note`` says where it is from).
    """
    if not 0 <= ta <= na <= 100:
        raise ValueError(f"published TA {ta} and NA {na} must satisfy 0 <= TA <= NA <= 100")
    notes = [f"answer rate and targeted share fitted to {PUBLISHED_NOTE}: TA {ta:g}, NA {na:g}"]
    k = known_target_share(shape, 2 if dataset in SYNTHESIS_DATASETS else 1)
    p = na / 100.0
    target = ta / (na * k) if na > 0 and k > 0 else 0.0
    if target > 1.0:
        notes.append(f"TA/(NA x known-target share) = {target:.3f} > 1: capped at 1, so the model's TA is "
                     f"{100 * p * k:.1f}, below the published {ta:g}")
        target = 1.0
    notes.append("assumed: a deepfake is named at the published NA whether or not its target is known, never as "
                 "the reference person; the other named deepfakes are 'other'")
    notes.append(f"assumed: confidences, similarity, genuine answers, coverage share and other-names pool are "
                 f"{shape_note}")
    deepfake = replace(
        shape.deepfake, dataset=dataset, n=0, answer_rate=Rate(p),
        answer_rate_by_target={"known": Rate(p), "unknown": Rate(p)},
        outcomes={"known": Split({"target": target, "reference": 0.0, "other": 1.0 - target}),
                  "unknown": Split({"target": 0.0, "reference": 0.0, "other": 1.0})},
    )
    genuine = replace(shape.genuine, dataset=dataset, n=0)
    coverage = Coverage(0, Rate(shape.coverage.share.p), {})
    provenance = {
        "deepfake.answer_rate": AGGREGATES, "deepfake.outcomes.known": AGGREGATES,
        "deepfake.answer_rate_by_target.known": ASSUMED, "deepfake.answer_rate_by_target.unknown": ASSUMED,
        "deepfake.outcomes.unknown": ASSUMED, "deepfake.confidence": ASSUMED,
        "genuine.answer_rate": ASSUMED, "genuine.answer_rate_if_known": ASSUMED, "genuine.confidence": ASSUMED,
        "coverage": ASSUMED, "names": ASSUMED, "other_names": ASSUMED,
    }
    provenance.update({f"deepfake.outcome_confidence.{o}": ASSUMED for o in deepfake.outcome_confidence})
    provenance.update({f"deepfake.similarity.{c}": ASSUMED for c in deepfake.similarity})
    return DatasetModel(shape.vendor, dataset, genuine, deepfake, coverage, {}, dict(shape.other_names),
                        provenance, tuple(notes))


def with_published(model: VendorModel, published: Mapping[str, tuple[float, float]] | None = None) -> VendorModel:
    """``model`` plus a dataset model fitted to the published aggregates for each dataset it has no records of."""
    published = PUBLISHED.get(model.vendor, {}) if published is None else published
    added = {d: fit_to_aggregates(model.pooled, d, ta, na,
                                  shape_note=f"the vendor's pooled fit to its records "
                                             f"({', '.join(model.provenance.source_files)})")
             for d, (ta, na) in published.items() if d not in model.datasets}
    if not added:
        return model
    provenance = replace(model.provenance, published=(*model.provenance.published,
                                                      *(f"{d}: {PUBLISHED_NOTE}" for d in added)))
    return replace(model, datasets={**model.datasets, **added}, provenance=provenance)


def nav_shape(azure: VendorModel) -> DatasetModel:
    """The assumed Naver dataset model the published shares are fitted onto (see the module notes)."""
    pooled = azure.pooled

    def stretched(score: ScoreModel | None) -> ScoreModel | None:
        if score is None:
            return None
        return ScoreModel(score.family, score.params, NAV_FLOOR, 100.0, None, 0, {})

    genuine = PopulationModel("nav", POOLED, "genuine", 0, Rate(1.0), stretched(pooled.genuine.confidence),
                              answer_rate_if_known=Rate(1.0))
    deepfake = PopulationModel(
        "nav", POOLED, "deepfake", 0, Rate(1.0), stretched(pooled.deepfake.confidence),
        outcome_confidence={o: s for o, c in pooled.deepfake.outcome_confidence.items()
                            if (s := stretched(c)) is not None},
    )
    return DatasetModel("nav", POOLED, genuine, deepfake, Coverage(0, Rate(1.0), {}))


def nav_model(azure: VendorModel, *, seed: int = 0, fit_date: str | None = None,
              published: Mapping[str, tuple[float, float]] | None = None) -> VendorModel:
    """Naver's model, from its published aggregates only, on the shapes assumed from ``azure``'s pooled fit."""
    published = PUBLISHED["nav"] if published is None else published
    shape = nav_shape(azure)
    note = (f"assumed: Naver always names a real celebrity image (genuine rate and coverage 1), floor 0, no "
            f"similarity call; its confidences have Azure's pooled shape stretched to (0, 100) (Azure fit: "
            f"{', '.join(azure.provenance.source_files)}, half {azure.provenance.half})")
    shape_note = "assumed as in the Naver note"
    datasets = {d: fit_to_aggregates(shape, d, ta, na, shape_note=shape_note) for d, (ta, na) in published.items()}
    datasets = {d: replace(m, notes=(*m.notes, note)) for d, m in datasets.items()}
    ta = sum(v[0] for v in published.values()) / len(published)
    na = sum(v[1] for v in published.values()) / len(published)
    pooled = fit_to_aggregates(shape, POOLED, ta, na, shape_note=shape_note)
    pooled = replace(pooled, notes=(*pooled.notes, "the unweighted mean of the published cells", note))
    provenance = Provenance((), "published", fit_date or _dt.date.today().isoformat(), harness.__version__, int(seed),
                            tuple(f"{d}: {PUBLISHED_NOTE}" for d in published))
    return VendorModel("nav", NAV_FLOOR, None, datasets, pooled, provenance)

"""Fit a :class:`~mockvendors.fitted.model.VendorModel` to a recorded results table by maximum likelihood.

Everything here is deterministic: the only randomness is the celebrity split
(:mod:`harness.vendorfit.split`), fixed by the seed. What each parameter's MLE is:

* answer rates, coverage, the known/unknown-target rates: Bernoulli, ``k / n``;
* the outcome split of named deepfakes (target / reference / other, by whether the target is known):
  multinomial, ``k_i / n``; an outcome is as :func:`harness.study.outcomes.outcome_split` counts
  it (target = TA success; reference = the name the vendor gives the reference person's real
  images, or the reference's label; other = anyone else);
* confidences and similarities: :func:`harness.vendorfit.families.fit_best` on the vendor's
  bounded scale (confidences on ``(floor, 100)``, similarities on ``(similarity floor, 100)``).

Genuine answers are counted once per distinct real image (``real_image``, ``real_person``,
``real_name``, ``real_conf`` from :func:`harness.study.data.load_study`; a table without them
falls back to one real image per target, ``target_name``/``target_conf``). Coverage and the answer
rate on a known celebrity's real image are the MLE of a zero-inflated binomial over the celebrities
(:func:`fit_coverage`); with one real image per celebrity (FCelebDF, VoxCelebTH, CelebBlend) only
their product is identified, and a known celebrity is then one the vendor names. A per-outcome
confidence model is fitted where that outcome has at least :data:`MIN_OUTCOME_SCORES` named
values; a population with fewer than :data:`MIN_SCORES` named values takes the vendor's pooled
confidence model (and says so in ``notes``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import optimize, special

import harness
from harness.errors import DfiError
from harness.metrics.probes import ProbeArrays, nonempty_text, score_values
from harness.study.definitions import StudyDefinitions
from harness.study.outcomes import OUTCOMES, reference_names
from harness.vendorfit import families
from harness.vendorfit.split import select_half
from mockvendors.fitted.model import (
    POOLED,
    RECORDS,
    Coverage,
    DatasetModel,
    PopulationModel,
    Provenance,
    Rate,
    ScoreModel,
    SimilarityModel,
    Split,
    VendorModel,
)

# a named confidence is never below these (DESIGN.md section 2; the study's smallest: 55.0 and 70.0056)
VENDOR_FLOORS: dict[str, float] = {"aws": 55.0, "ms": 70.0, "nav": 0.0}
# Azure's find-similar returns nothing below 0.5 (every recorded score is >= 50.003); AWS's
# CompareFaces ran with SimilarityThreshold=0 and scores 0-100
SIMILARITY_FLOORS: dict[str, float] = {"aws": 0.0, "ms": 50.0}
MIN_SCORES = 5
MIN_OUTCOME_SCORES = 30


def _text(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), "", dtype=object)
    return table[column].fillna("").astype(str).to_numpy(dtype=object)


def genuine_answers(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct real image: ``dataset``, ``image``, ``person``, ``name``, ``conf``."""
    if "real_image" in rows.columns and "real_person" in rows.columns:
        cols = {"image": "real_image", "person": "real_person", "name": "real_name", "conf": "real_conf"}
    else:
        cols = {"image": "target", "person": "target", "name": "target_name", "conf": "target_conf"}
    out = pd.DataFrame({
        "dataset": _text(rows, "dataset"), "image": _text(rows, cols["image"]), "person": _text(rows, cols["person"]),
        "name": _text(rows, cols["name"]), "conf": score_values(rows, cols["conf"]),
    })
    if "replica" in rows.columns:
        out["replica"] = rows["replica"].to_numpy()
    keys = ["dataset", "image"] + (["replica"] if "replica" in out.columns else [])
    return out.drop_duplicates(keys).reset_index(drop=True)


def person_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per person: ``images`` (distinct real images) and ``named`` (how many the vendor named).

    A person seen only as a target or a blend's second reference (their real images are in rows
    outside ``rows``) counts as one image, named when the row's answer for them is.
    """
    g = genuine_answers(rows)
    counts = pd.DataFrame({"person": g["person"], "named": (g["name"] != "").astype(int)})
    counts = counts[counts["person"] != ""].groupby("person")["named"].agg(["size", "sum"])
    counts.columns = ["images", "named"]
    refs = _text(rows, "references")
    second = np.array([r.partition("|")[2] for r in refs], dtype=object)
    blend = second != ""
    seen = pd.concat([
        pd.DataFrame({"person": _text(rows, "target"), "named": nonempty_text(rows, "target_name")}),
        pd.DataFrame({"person": second[blend], "named": nonempty_text(rows, "target2_name")[blend]}),
    ], ignore_index=True)
    seen = seen[(seen["person"] != "") & ~seen["person"].isin(counts.index)].groupby("person")["named"].any()
    extra = pd.DataFrame({"images": 1, "named": seen.astype(int)}, index=seen.index)
    return pd.concat([counts, extra]).sort_index()


def fit_coverage(named: np.ndarray, images: np.ndarray) -> tuple[float, float]:
    """MLE of (coverage c, P(named | known) q) of a zero-inflated binomial: a person is known with
    probability c, and each of their ``images`` real images of a known person is named with probability q.

    With one image per person only ``c x q`` is identified; then q = 1 (a known celebrity is one
    the vendor names) and c is the named share.
    """
    named = np.asarray(named, dtype=np.float64)
    images = np.asarray(images, dtype=np.float64)
    if len(named) == 0:
        return 0.0, 0.0
    if images.max() <= 1 or named.sum() == 0:
        return float((named > 0).mean()), 1.0
    zero = named == 0

    def nll(theta: np.ndarray) -> float:
        c, q = special.expit(np.clip(theta, -30, 30))
        log_known = np.log(c) + named * np.log(q) + (images - named) * np.log1p(-q)   # binomial coefficient cancels
        ll = np.where(zero, np.logaddexp(log_known, np.log1p(-c)), log_known)
        return float(-ll.sum())

    c0 = float((named > 0).mean())
    q0 = float(named.sum() / images[~zero].sum())
    start = special.logit(np.clip([c0, q0], 1e-3, 1 - 1e-3))
    best = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
    c, q = special.expit(np.clip(best.x, -30, 30))
    return float(c), float(q)


def fit_scores(x: np.ndarray, lower: float, upper: float = 100.0, step: float | None = None) -> ScoreModel | None:
    """The best family's MLE for scores ``x``; None with fewer than :data:`MIN_SCORES` values."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < MIN_SCORES:
        return None
    best, logliks = families.fit_best(x, lower, upper, step)
    return ScoreModel(best.family, best.params, lower, upper, step, len(x), logliks)


def _rate(k: int | np.integer, n: int | np.integer) -> Rate:
    return Rate(float(k) / float(n) if n else 0.0, int(n))


def fit_genuine(rows: pd.DataFrame, vendor: str, dataset: str, floor: float,
                step: float | None) -> tuple[PopulationModel, Coverage, dict[str, str]]:
    """The genuine population, the coverage of the dataset's celebrities, and the vendor's names for them."""
    g = genuine_answers(rows)
    named = (g["name"] != "").to_numpy()
    people = person_counts(rows)
    c, q = fit_coverage(people["named"].to_numpy(), people["images"].to_numpy())
    # per person: known when named at all; an unnamed one when its posterior P(known | 0 of m named) >= 1/2
    m = people["images"].to_numpy(dtype=np.float64)
    posterior = c * (1 - q) ** m / np.maximum(c * (1 - q) ** m + (1 - c), 1e-300)
    known = {str(p): bool(k > 0 or post >= 0.5) for p, k, post in zip(people.index, people["named"], posterior)}
    population = PopulationModel(
        vendor, dataset, "genuine", len(g), _rate(named.sum(), len(g)),
        fit_scores(g["conf"].to_numpy()[named], floor, 100.0, step),
        answer_rate_if_known=Rate(q, int(people.loc[people["named"] > 0, "images"].sum())),
    )
    coverage = Coverage(len(people), Rate(c, len(people)), known)
    counts = g[named].groupby(["person", "name"]).size().rename("n").reset_index()
    counts = counts.sort_values(["person", "n", "name"], ascending=[True, False, True]).drop_duplicates("person")
    names = {str(p): str(nm) for p, nm in zip(counts["person"], counts["name"]) if p != nm}
    return population, coverage, names


def deepfake_outcomes(rows: pd.DataFrame, definitions: StudyDefinitions) -> tuple[ProbeArrays, np.ndarray]:
    """The probe arrays of ``rows`` and each row's outcome ("target"/"reference"/"other", "" if not named)."""
    probes = ProbeArrays.from_frame(rows, [])
    ref = reference_names(rows, definitions) if len(rows) else np.zeros(0, dtype=object)
    fake = _text(rows, "fake_name")
    as_ref = probes.named & ~probes.ta & (ref != "") & (fake == ref)
    outcome = np.where(probes.ta, "target", np.where(as_ref, "reference", np.where(probes.named, "other", "")))
    return probes, outcome.astype(object)


def target_known(rows: pd.DataFrame) -> np.ndarray:
    """Whether the vendor named a real image of the deepfake's target (either one, for a blend)."""
    return nonempty_text(rows, "target_name") | nonempty_text(rows, "target2_name")


def fit_deepfake(rows: pd.DataFrame, vendor: str, dataset: str, floor: float, step: float | None,
                 definitions: StudyDefinitions) -> tuple[PopulationModel, dict[str, int]]:
    """The deepfake population and the pool of names given to deepfakes named as someone else."""
    probes, outcome = deepfake_outcomes(rows, definitions)
    valid, named = probes.valid, probes.named
    conf = score_values(rows, "fake_conf")
    known = target_known(rows)
    by_target = {}
    outcomes = {}
    for condition, mask in (("known", known), ("unknown", ~known)):
        here = valid & mask
        if here.sum():
            by_target[condition] = _rate((named & here).sum(), here.sum())
        n_named = int((named & here).sum())
        if n_named:
            outcomes[condition] = Split({o: float((outcome[named & here] == o).sum()) / n_named for o in OUTCOMES},
                                        n_named)
    outcome_conf = {}
    for o in OUTCOMES:
        values = conf[named & (outcome == o)]
        if np.isfinite(values).sum() >= MIN_OUTCOME_SCORES:
            fitted = fit_scores(values, floor, 100.0, step)
            if fitted is not None:
                outcome_conf[o] = fitted
    similarity = {}
    sim = score_values(rows, "similarity")
    if (valid & probes.has_similarity).any():
        lower = SIMILARITY_FLOORS.get(vendor, 0.0)
        for condition, mask in (("named", named), ("unnamed", valid & ~named)):
            if mask.sum():
                has = mask & probes.has_similarity
                similarity[condition] = SimilarityModel(_rate((mask & ~probes.has_similarity).sum(), mask.sum()),
                                                        fit_scores(sim[has], lower, 100.0, None))
    population = PopulationModel(
        vendor, dataset, "deepfake", int(valid.sum()), _rate(named.sum(), valid.sum()),
        fit_scores(conf[named], floor, 100.0, step), None, by_target, outcomes, outcome_conf, similarity,
    )
    fake = _text(rows, "fake_name")
    pool = pd.Series(fake[outcome == "other"]).value_counts()
    return population, {str(k): int(v) for k, v in pool.items()}


def fit_dataset_model(rows: pd.DataFrame, vendor: str, dataset: str, *, floor: float, step: float | None,
                      definitions: StudyDefinitions | None = None,
                      fallback: DatasetModel | None = None) -> DatasetModel:
    """One dataset's (or, with ``dataset=POOLED``, all rows') model from the rows of one vendor."""
    definitions = definitions or StudyDefinitions()
    genuine, coverage, names = fit_genuine(rows, vendor, dataset, floor, step)
    deepfake, other_names = fit_deepfake(rows, vendor, dataset, floor, step, definitions)
    notes: list[str] = []
    for label, population in (("genuine", genuine), ("deepfake", deepfake)):
        if population.confidence is None and fallback is not None:
            pooled = fallback.population(label).confidence
            population = replace(population, confidence=pooled)
            notes.append(f"{label}.confidence: fewer than {MIN_SCORES} named values here; the vendor's pooled "
                         "fit is used")
            if label == "genuine":
                genuine = population
            else:
                deepfake = population
    provenance = {p: RECORDS for p in _parameter_paths(genuine, deepfake)}
    return DatasetModel(vendor, dataset, genuine, deepfake, coverage, names, other_names, provenance, tuple(notes))


def _parameter_paths(genuine: PopulationModel, deepfake: PopulationModel) -> list[str]:
    paths = ["coverage", "names", "other_names",
             "genuine.answer_rate", "genuine.answer_rate_if_known", "genuine.confidence",
             "deepfake.answer_rate", "deepfake.confidence"]
    paths += [f"deepfake.answer_rate_by_target.{k}" for k in deepfake.answer_rate_by_target]
    paths += [f"deepfake.outcomes.{k}" for k in deepfake.outcomes]
    paths += [f"deepfake.outcome_confidence.{k}" for k in deepfake.outcome_confidence]
    paths += [f"deepfake.similarity.{k}" for k in deepfake.similarity]
    return paths


def vendor_step(rows: pd.DataFrame) -> float | None:
    """The reporting resolution of every named confidence the vendor gave (AWS: 1.0; Azure: None)."""
    values = [score_values(rows, c)[nonempty_text(rows, n)] for n, c in
              (("fake_name", "fake_conf"), ("target_name", "target_conf"), ("real_name", "real_conf"))]
    return families.reporting_step(np.concatenate(values))


def vendor_floor(rows: pd.DataFrame, vendor: str) -> float:
    """:data:`VENDOR_FLOORS`, lowered to the smallest named confidence if the rows go below it."""
    floor = VENDOR_FLOORS.get(vendor, 0.0)
    values = [score_values(rows, c)[nonempty_text(rows, n)] for n, c in
              (("fake_name", "fake_conf"), ("real_name", "real_conf"))]
    low = np.concatenate(values)
    low = low[np.isfinite(low)]
    return float(min(floor, low.min())) if len(low) else floor


def fit_vendor_model(table: pd.DataFrame, vendor: str, *, seed: int, half: str = "A",
                     definitions: StudyDefinitions | None = None, fit_date: str | None = None,
                     datasets: Sequence[str] | None = None) -> VendorModel:
    """Fit ``vendor``'s model on ``half`` ("A", "B" or "all") of the study table's celebrity split.

    ``table`` is the whole prepared study table (:func:`harness.study.data.load_study`), so the
    split is the same whichever vendor is fitted. ``datasets`` limits the datasets fitted (default:
    every dataset the vendor has rows for); the pooled model is fitted on all of the vendor's rows
    of the half.
    """
    definitions = definitions or StudyDefinitions()
    rows = select_half(table, half, seed)
    rows = rows[rows["vendor"].astype(str) == vendor]
    if rows.empty:
        raise DfiError(f"no recorded rows for vendor {vendor!r} in half {half}")
    floor = vendor_floor(rows, vendor)
    step = vendor_step(rows)
    pooled = fit_dataset_model(rows, vendor, POOLED, floor=floor, step=step, definitions=definitions)
    names = sorted(set(rows["dataset"].astype(str))) if datasets is None else list(datasets)
    fitted = {}
    for name in names:
        part = rows[rows["dataset"].astype(str) == name]
        if part.empty:
            raise DfiError(f"no recorded rows for vendor {vendor!r} on dataset {name!r} in half {half}")
        fitted[name] = fit_dataset_model(part, vendor, name, floor=floor, step=step, definitions=definitions,
                                         fallback=pooled)
    provenance = Provenance(tuple(sorted(set(rows["source"].astype(str)))), half,
                            fit_date or _dt.date.today().isoformat(), harness.__version__, int(seed))
    return VendorModel(vendor, floor, step, fitted, pooled, provenance)

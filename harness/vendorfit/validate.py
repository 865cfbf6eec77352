"""Held-out validation: the model fitted on half A against the recorded answers of half B.

Per recorded (dataset, vendor) cell and population (genuine, deepfake), :func:`validate` fits the
vendor on half A (:mod:`harness.vendorfit.split`), draws ``replicas`` synthetic answer sets for
half B's own probes (:func:`harness.vendorfit.sample.sample_table` with B's rows as skeleton and
``known="draw"``: B's celebrities are new to the model), and compares, with
:mod:`harness.compare.distributions`:

* ``ks``, ``w1`` -- two-sample Kolmogorov-Smirnov statistic and 1-Wasserstein distance (0-100
  scale) between B's named confidences and the model's;
* ``answer_rate_recorded``, ``answer_rate_model`` (%), and ``answer_rate_diff`` = model - recorded
  (percentage points).

Genuine answers are counted once per distinct real image (:func:`harness.vendorfit.fit.genuine_answers`),
deepfake answers once per probe. The intervals (``*_low``, ``*_high``) are 95% percentile
bootstrap intervals over the celebrities of half B (``resamples`` resamples of B's celebrities with
replacement, seeded; the model's draws are held fixed), so they show how much of a distance is
the held-out half's own sampling noise. ``ks_halves`` is the KS between the recorded halves A and
B, the distance a perfect model of half A would still have. ``goal``: ``ks <= 0.1`` and
``|answer_rate_diff| <= 2`` points. Deepfake rows also carry the similarity scores' KS and W1 and
their missing rates.

:func:`validate` also returns the six metrics (:func:`harness.metrics.compute_metrics`) of half B
as recorded beside the model's prediction for B's probes (mean and 2.5-97.5 percentiles over the
replicas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.compare.distributions import Sample, distance, population_sample
from harness.metrics import compute_metrics
from harness.metrics.probes import ProbeArrays
from harness.study.data import dataset_order
from harness.study.definitions import StudyDefinitions
from harness.vendorfit.dependence import Dependence, vendor_dependence
from harness.vendorfit.fit import fit_vendor_model, genuine_answers
from harness.vendorfit.sample import sample_table
from harness.vendorfit.split import select_half
from mockvendors.fitted.model import VendorModel

KS_GOAL = 0.1
ANSWER_RATE_GOAL = 2.0   # percentage points
CELL_COLUMNS: tuple[str, ...] = (
    "dataset", "vendor", "population", "family", "n_fit", "n_heldout", "n_model",
    "ks", "ks_low", "ks_high", "w1", "w1_low", "w1_high", "ks_halves",
    "answer_rate_fit", "answer_rate_recorded", "answer_rate_recorded_low", "answer_rate_recorded_high",
    "answer_rate_model", "answer_rate_diff", "answer_rate_diff_low", "answer_rate_diff_high",
    "similarity_ks", "similarity_w1", "similarity_missing_recorded", "similarity_missing_model", "goal",
)
METRIC_COLUMNS: tuple[str, ...] = (
    "dataset", "vendor", "metric", "basis", "recorded", "recorded_ci_low", "recorded_ci_high",
    "model", "model_low", "model_high", "difference",
)


@dataclass
class Validation:
    cells: pd.DataFrame              # CELL_COLUMNS, one row per dataset x vendor x population
    metrics: pd.DataFrame            # METRIC_COLUMNS
    models: dict[str, VendorModel]   # vendor -> the model fitted on half A
    # vendor -> dataset -> the rate spread and copula fitted on half A (empty: independent answers)
    dependence: dict[str, dict[str, Dependence]] = field(default_factory=dict)
    draws: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)   # (dataset, vendor) -> model rows
    held_out: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)  # (dataset, vendor) -> half B rows


def genuine_sample(rows: pd.DataFrame) -> Sample:
    """The genuine population's :class:`Sample`: one answer per distinct real image."""
    g = genuine_answers(rows)
    frame = pd.DataFrame({"target_name": g["name"], "target_conf": g["conf"], "target_error": ""})
    return population_sample(frame, "genuine")


def population_of(rows: pd.DataFrame, population: str) -> Sample:
    return genuine_sample(rows) if population == "genuine" else population_sample(rows, "deepfake")


def similarity_scores(rows: pd.DataFrame) -> tuple[np.ndarray, float]:
    """The valid probes' similarity scores, and the share of valid probes without one."""
    probes = ProbeArrays.from_frame(rows, [])
    scored = probes.valid & probes.has_similarity
    n_valid = int(probes.valid.sum())
    return probes.similarity[scored], (1.0 - scored.sum() / n_valid) if n_valid else float("nan")


def _pct(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan"), float("nan")
    low, high = np.percentile(v, [2.5, 97.5])
    return float(low), float(high)


def _bootstrap(held_out: pd.DataFrame, population: str, model_sample: Sample, resamples: int,
               rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Percentile intervals of ks, w1, recorded answer rate and the rate difference over B's celebrities."""
    per_celebrity = [population_of(part, population) for _, part in held_out.groupby("celebrity", sort=True)]
    ks, w1, rate, diff = [], [], [], []
    for _ in range(resamples):
        pick = rng.integers(0, len(per_celebrity), len(per_celebrity))
        chosen = [per_celebrity[i] for i in pick]
        sample = Sample(np.concatenate([s.named_conf for s in chosen]), sum(s.unnamed for s in chosen))
        d = distance(population, sample, model_sample)
        ks.append(d.ks)
        w1.append(d.wasserstein)
        rate.append(100.0 * d.answer_rate_recorded)
        diff.append(100.0 * (d.answer_rate_mock - d.answer_rate_recorded))
    return {"ks": _pct(ks), "w1": _pct(w1), "rate": _pct(rate), "diff": _pct(diff)}


def _w1(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = distance("similarity", Sample(a, 0), Sample(b, 0))
    return d.ks, d.wasserstein


def validate_cell(model: VendorModel, fit_rows: pd.DataFrame, held_out: pd.DataFrame, *, seed: int,
                  resamples: int = 200, replicas: int = 10,
                  dependence: Dependence | None = None) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """The two population rows of one (dataset, vendor) cell, and the model's draws for B's probes."""
    dataset = str(held_out["dataset"].iloc[0])
    draws = pd.concat([sample_table(model, dataset, held_out, seed=[seed, r], known="draw",
                                    dependence=dependence).assign(replica=r)
                       for r in range(replicas)], ignore_index=True)
    rng = np.random.default_rng([seed, 1])
    dm = model.dataset(dataset)
    out = []
    for population in ("genuine", "deepfake"):
        recorded = population_of(held_out, population)
        drawn = population_of(draws, population)
        fitted = population_of(fit_rows, population)
        d = distance(population, recorded, drawn)
        boot = _bootstrap(held_out, population, drawn, resamples, rng)
        confidence = dm.population(population).confidence
        row: dict[str, object] = {
            "dataset": dataset, "vendor": model.vendor, "population": population,
            "family": confidence.family if confidence is not None else "",
            "n_fit": len(fitted.named_conf), "n_heldout": d.n_recorded, "n_model": d.n_mock,
            "ks": d.ks, "ks_low": boot["ks"][0], "ks_high": boot["ks"][1],
            "w1": d.wasserstein, "w1_low": boot["w1"][0], "w1_high": boot["w1"][1],
            "ks_halves": distance(population, recorded, fitted).ks,
            "answer_rate_fit": 100.0 * fitted.answer_rate,
            "answer_rate_recorded": 100.0 * d.answer_rate_recorded,
            "answer_rate_recorded_low": boot["rate"][0], "answer_rate_recorded_high": boot["rate"][1],
            "answer_rate_model": 100.0 * d.answer_rate_mock,
            "answer_rate_diff": 100.0 * (d.answer_rate_mock - d.answer_rate_recorded),
            "answer_rate_diff_low": boot["diff"][0], "answer_rate_diff_high": boot["diff"][1],
            "similarity_ks": np.nan, "similarity_w1": np.nan,
            "similarity_missing_recorded": np.nan, "similarity_missing_model": np.nan,
        }
        if population == "deepfake":
            rec_sim, rec_missing = similarity_scores(held_out)
            mod_sim, mod_missing = similarity_scores(draws)
            if len(rec_sim) and len(mod_sim):
                row["similarity_ks"], row["similarity_w1"] = _w1(rec_sim, mod_sim)
            row["similarity_missing_recorded"] = 100.0 * rec_missing
            row["similarity_missing_model"] = 100.0 * mod_missing
        diff = float(row["answer_rate_diff"])  # type: ignore[arg-type]
        row["goal"] = bool(np.isfinite(d.ks) and d.ks <= KS_GOAL and abs(diff) <= ANSWER_RATE_GOAL)
        out.append(row)
    return out, draws


def metric_predictions(held_out: pd.DataFrame, draws: pd.DataFrame, beta: float, gamma: float) -> pd.DataFrame:
    """The six metrics of the recorded held-out rows beside the model's, per replica summarised."""
    recorded = compute_metrics(held_out, beta, gamma)
    model = compute_metrics(draws, beta, gamma, by=("dataset", "vendor", "replica"))
    summary = model.groupby(["dataset", "vendor", "metric", "basis"], sort=False)["value"].agg(
        model="mean", model_low=lambda v: _pct(v)[0], model_high=lambda v: _pct(v)[1]).reset_index()
    both = recorded.rename(columns={"value": "recorded", "ci_low": "recorded_ci_low", "ci_high": "recorded_ci_high"})
    both = both.merge(summary, on=["dataset", "vendor", "metric", "basis"], how="left")
    both["difference"] = both["model"] - both["recorded"]
    return both[list(METRIC_COLUMNS)]


def validate(table: pd.DataFrame, *, seed: int = 0, resamples: int = 200, replicas: int = 10,
             definitions: StudyDefinitions | None = None, fit_date: str | None = None,
             vendors: Sequence[str] | None = None, dependence: bool = True) -> Validation:
    """Fit each vendor on half A of ``table`` (the prepared study table) and check it on half B.

    ``dependence``: also fit the per-celebrity rate spread and the confidence copula on half A
    (:mod:`harness.vendorfit.dependence`) and draw with them; False draws independent answers.
    """
    definitions = definitions or StudyDefinitions()
    fit_half = select_half(table, "A", seed)
    held = select_half(table, "B", seed)
    vendors = sorted(set(table["vendor"].astype(str))) if vendors is None else list(vendors)
    cells: list[dict[str, object]] = []
    metrics = []
    models = {}
    deps: dict[str, dict[str, Dependence]] = {}
    all_draws, all_held = {}, {}
    for vendor in vendors:
        model = fit_vendor_model(table, vendor, seed=seed, half="A", definitions=definitions, fit_date=fit_date)
        models[vendor] = model
        deps[vendor] = vendor_dependence(table, model, half_rows=fit_half) if dependence else {}
        for dataset in dataset_order(held.loc[held["vendor"] == vendor, "dataset"]):
            b = held[(held["vendor"] == vendor) & (held["dataset"] == dataset)]
            a = fit_half[(fit_half["vendor"] == vendor) & (fit_half["dataset"] == dataset)]
            rows, draws = validate_cell(model, a, b, seed=seed, resamples=resamples, replicas=replicas,
                                        dependence=deps[vendor].get(dataset))
            cells.extend(rows)
            metrics.append(metric_predictions(b, draws, definitions.beta, definitions.gamma))
            all_draws[(dataset, vendor)] = draws
            all_held[(dataset, vendor)] = b
    cell_table = pd.DataFrame(cells, columns=list(CELL_COLUMNS))
    metric_table = pd.concat(metrics, ignore_index=True) if metrics else pd.DataFrame(columns=list(METRIC_COLUMNS))
    return Validation(cell_table, metric_table, models, deps, all_draws, all_held)


def cells_view(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells as display strings (distances 3 decimals, W1 and rates 1-2), one column per shown field."""
    return pd.DataFrame({
        "dataset": cells["dataset"], "vendor": cells["vendor"], "population": cells["population"],
        "family": cells["family"], "n fit/B": [f"{a}/{b}" for a, b in zip(cells["n_fit"], cells["n_heldout"])],
        "KS [95%]": [f"{k:.3f} [{lo:.3f}, {hi:.3f}]" for k, lo, hi in
                     zip(cells["ks"], cells["ks_low"], cells["ks_high"])],
        "KS A-B": cells["ks_halves"].map(lambda v: f"{v:.3f}"),
        "W1 [95%]": [f"{k:.2f} [{lo:.2f}, {hi:.2f}]" for k, lo, hi in
                     zip(cells["w1"], cells["w1_low"], cells["w1_high"])],
        "rate A": cells["answer_rate_fit"].map(lambda v: f"{v:.1f}"),
        "rate B [95%]": [f"{r:.1f} [{lo:.1f}, {hi:.1f}]" for r, lo, hi in
                         zip(cells["answer_rate_recorded"], cells["answer_rate_recorded_low"],
                             cells["answer_rate_recorded_high"])],
        "rate model": cells["answer_rate_model"].map(lambda v: f"{v:.1f}"),
        "diff [95%]": [f"{r:+.1f} [{lo:+.1f}, {hi:+.1f}]" for r, lo, hi in
                       zip(cells["answer_rate_diff"], cells["answer_rate_diff_low"], cells["answer_rate_diff_high"])],
        "sim KS": cells["similarity_ks"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}"),
        "goal": cells["goal"].map(lambda g: "pass" if g else "FAIL"),
    })


def format_cells(cells: pd.DataFrame) -> str:
    """The cells as a fixed-width text table (:func:`cells_view`)."""
    return cells_view(cells).to_string(index=False)

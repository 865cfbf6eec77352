"""``dfi vendorfit`` as library calls: fit the three vendors' behaviour models to the study's recorded
answers (:func:`fit_models`) and check them on the held-out half of the celebrities
(:func:`validate_models`). The fitting and validation themselves are :mod:`harness.vendorfit`'s;
these read the files, write the outputs and return what the CLI prints.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness import __version__
from harness.jobs._common import JobInputError, StatusFn, no_status
from harness.metrics.files import write_metric_csv
from harness.vendorfit.dependence import Dependence
from harness.vendorfit.split import ALL, HALVES
from mockvendors.fitted.model import VendorModel

if TYPE_CHECKING:
    from harness.vendorfit.validate import Validation

VENDORS: tuple[str, ...] = ("aws", "ms", "nav")


@dataclass
class FitResult:
    out_dir: Path
    files: dict[str, Path]                       # vendor -> its YAML
    models: dict[str, VendorModel]
    dependence: dict[str, dict[str, Dependence]]
    summary: pd.DataFrame                        # harness.report.vendorfit.SUMMARY_COLUMNS
    sources: list[str] = field(default_factory=list)


@dataclass
class ValidateResult:
    out_dir: Path
    files: list[Path]
    validation: Validation
    cells: pd.DataFrame                          # harness.vendorfit.validate.CELL_COLUMNS
    predictions: pd.DataFrame                    # harness.vendorfit.validate.METRIC_COLUMNS
    goal_met: int
    cells_total: int


def _table(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, list[str]]:
    from harness.study.data import load_study

    data = load_study(list(paths))
    return data.table, sorted({s.source for s in data.sources})


def _header(vendor: str, half: str, seed: int, fit_date: str) -> str:
    return (f"# {vendor} behaviour model fitted by `dfi vendorfit fit --half {half} --seed {seed}` "
            f"(dfi {__version__}, {fit_date}); provenance below says which parameters come from records,\n"
            f"# published aggregates or assumptions. Read it with harness.vendorfit.build.load_models.\n")


def fit_models(paths: Sequence[str | Path] = (), out_dir: Path = Path("vendorfit"), *, half: str = ALL, seed: int = 0,
               fit_date: str | None = None, status: StatusFn = no_status) -> FitResult:
    """Fit AWS, Azure and Naver on ``half`` of the study's files (default: all eight) and write
    ``out_dir/{aws,ms,nav}.yaml``. Deterministic for a seed and fit date (default: today)."""
    from harness.report.vendorfit import model_summary
    from harness.vendorfit.build import fit_study_dependence, fit_study_models, save_models

    if half not in (*HALVES, ALL):
        raise JobInputError(f"--half must be one of all, A, B, not {half!r}")
    fit_date = fit_date or _dt.date.today().isoformat()
    with status("reading the study's files..."):
        table, sources = _table(paths)
    with status(f"fitting the vendor models on half {half}..."):
        models = fit_study_models(table, seed=seed, half=half, fit_date=fit_date)
        dependence = fit_study_dependence(table, models, seed=seed, half=half)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {v: save_models({v: models[v]}, out_dir / f"{v}.yaml", {v: dependence.get(v, {})},
                            header=_header(v, half, seed, fit_date))
             for v in VENDORS if v in models}
    return FitResult(out_dir, files, models, dependence, model_summary(models, dependence), sources)


def validate_models(paths: Sequence[str | Path] = (), out_dir: Path = Path("vendorfit-validation"), *,
                    seed: int = 0, resamples: int = 200, replicas: int = 10, dependence: bool = True,
                    fit_date: str | None = None, status: StatusFn = no_status) -> ValidateResult:
    """Fit on half A, compare with half B; write distances.csv/.md, predictions.csv/.md and
    plots/ecdf_<dataset>_<vendor>.png under ``out_dir``."""
    from harness.report.vendorfit import distances_md, ecdf_figures, predictions_md
    from harness.vendorfit.validate import ANSWER_RATE_GOAL, KS_GOAL, validate

    if resamples < 1 or replicas < 1:
        raise JobInputError("--resamples and --replicas must be at least 1")
    with status("reading the study's files..."):
        table, _ = _table(paths)
    with status(f"fitting on half A, drawing {replicas} replicas of half B, {resamples} bootstrap resamples..."):
        v = validate(table, seed=seed, resamples=resamples, replicas=replicas, dependence=dependence,
                     fit_date=fit_date)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    path = out_dir / "distances.csv"
    v.cells.to_csv(path, index=False, float_format="%.6g")
    files.append(path)
    goal = (f"goal: KS <= {KS_GOAL:g} and |answer rate difference| <= {ANSWER_RATE_GOAL:g} points; "
            f"{int(v.cells['goal'].sum())} of {len(v.cells)} cells meet it")
    path = out_dir / "distances.md"
    path.write_text(distances_md(v.cells) + "\n\n" + goal + "\n", encoding="utf-8")
    files.append(path)
    path = out_dir / "predictions.csv"
    write_metric_csv(v.metrics, path, float_format="%.6g")
    files.append(path)
    path = out_dir / "predictions.md"
    path.write_text(predictions_md(v.metrics) + "\n", encoding="utf-8")
    files.append(path)
    with status("drawing the ECDF figures..."):
        files += ecdf_figures(v, out_dir / "plots")
    return ValidateResult(out_dir, files, v, v.cells, v.metrics, int(v.cells["goal"].sum()), len(v.cells))


@dataclass
class ProfileSetResult:
    out_dir: Path
    name: str
    files: list[Path]
    fit: FitResult


def write_profile_set(name: str, out_dir: Path, paths: Sequence[str | Path] = (), *, seed: int = 0,
                      fit_date: str | None = None, status: StatusFn = no_status) -> ProfileSetResult:
    """Fit every vendor on all of the study's recorded rows and write the named profile set ``name`` to
    ``out_dir``: per vendor the model (``<vendor>.model.yaml``) and the mock profile derived from it
    (``<vendor>.yaml``; :mod:`harness.vendorfit.profile`). ``mockvendors/profiles/study-2020`` is this
    with ``name="study-2020"``."""
    from harness.vendorfit.profile import write_profile_set as write_set

    fit_date = fit_date or _dt.date.today().isoformat()
    with status("fitting the vendor models on every recorded row..."):
        fit = _fit(paths, seed, ALL, fit_date)
    header = (f"# {name}: written by `dfi vendorfit profile --name {name} --seed {seed} --fit-date {fit_date}` "
              f"(dfi {__version__}); regenerate it, do not edit by hand.\n")
    with status("deriving each vendor's mock profile on the simulated world..."):
        files = write_set(fit.models, Path(out_dir), name, fit.dependence, seed=seed, header=header)
    return ProfileSetResult(Path(out_dir), name, files, fit)


def _fit(paths: Sequence[str | Path], seed: int, half: str, fit_date: str) -> FitResult:
    from harness.report.vendorfit import model_summary
    from harness.vendorfit.build import fit_study_dependence, fit_study_models

    table, sources = _table(paths)
    models = fit_study_models(table, seed=seed, half=half, fit_date=fit_date)
    dependence = fit_study_dependence(table, models, seed=seed, half=half)
    return FitResult(Path("."), {}, models, dependence, model_summary(models, dependence), sources)

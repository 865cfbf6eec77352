"""``dfi simulate`` as a library call: the embedding-space simulation at the study's scale through
the mock vendors' behaviour code (:func:`run_simulation`), and the measurement of its parameters
(:func:`estimate_parameters`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import DfiError
from harness.jobs._common import JobInputError, StatusFn, no_status
from harness.metrics.files import write_metric_csv
from harness.vendors import registry

DEFAULT_SIM_DETECTORS = ("indep:0.9,0.1", "corr:0.9,0.1,0.9")
NOTICE = ("Simulated, not measured: synthetic identities and deepfakes in embedding space, answered by the "
          "mock vendors' behaviour code with parameters estimated from the installed face model "
          "(harness/simulate/params.json). These numbers describe the model of the study, not the real services.")


@dataclass
class EstimateResult:
    params: Any  # harness.simulate.params.SimulationParams
    path: Path


def estimate_parameters(*, to: Path, status: StatusFn = no_status) -> EstimateResult:
    """Measure the simulation parameters with the installed embedding model; write them to ``to``."""
    from harness.paths import shared_data_dir
    from harness.simulate.estimate import estimate_params

    with status("measuring every recognizer's embedding and generator statistics on real photos (a few minutes)..."):
        p = estimate_params(shared_data_dir())
    p.save(to)
    return EstimateResult(p, Path(to))


def fitted_models(profile_set: str, vendors: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """vendor -> its fitted behaviour model in ``profile_set``, and vendor -> its dependence (none for the
    default set)."""
    from harness.vendorfit.simulate import profile_set_models
    from mockvendors.profile import ProfileError

    try:
        return profile_set_models(profile_set, vendors)
    except ProfileError as exc:
        raise JobInputError(str(exc)) from None


@dataclass
class SimulationResult:
    out_dir: Path
    params: Any  # SimulationParams (fitted when fit_study)
    vendors: list[str]
    world: Any
    records: pd.DataFrame  # metrics records
    counts: pd.DataFrame
    defense: pd.DataFrame  # defense.csv
    report: Path  # report.html
    pngs: list[Path] = field(default_factory=list)
    agreement: pd.DataFrame | None = None  # cross-vendor agreement by dataset (agreement.csv)
    beta_gamma: pd.DataFrame | None = None  # sensitivity tables (None with sensitivity=False)
    thresholds: pd.DataFrame | None = None
    study: pd.DataFrame | None = None  # the study's recorded results (fit_study)
    profile_set: str = "default"
    models: dict[str, Any] = field(default_factory=dict)  # vendor -> fitted VendorModel it answered from
    recorded: pd.DataFrame | None = None  # the study's recorded metrics, beside a fitted-model simulation
    fit_table: pd.DataFrame | None = None
    simulate_s: float = 0.0  # the study-scale simulation alone
    elapsed_s: float = 0.0  # simulation, metrics, sweeps, defense, sensitivity


def run_simulation(*, params_path: Path | None = None, scale: float = 1.0, seed: int | None = None,
                   vendors: Sequence[str] | None = None,
                   overrides: Mapping[str, Mapping[str, Any]] | None = None,
                   detectors: Sequence[Any] | None = None, beta: float = 90.0, gamma: float = 80.0,
                   out_dir: Path = Path("runs/simulate"), sensitivity: bool = True, fit_study: bool = False,
                   profile_set: str = "default", status: StatusFn = no_status) -> SimulationResult:
    """Simulate, then write results.parquet, metrics, sweeps, the defense, sensitivity and report.html.

    ``overrides``: vendor -> profile keys (e.g. ``{"report_threshold": 50}``). ``detectors``:
    :class:`harness.simulate.defense.DetectorSetting` objects or their ``NAME:TPR,FPR[,CORRELATION]``
    text (default :data:`DEFAULT_SIM_DETECTORS`). ``fit_study``: first fit each dataset's deepfake
    strength to the study's recorded MS NA (needs ../shared/data/paper-results). ``profile_set``: a named
    profile set (``"study-2020"``): every vendor whose profile there has a fitted behaviour model answers
    from it (:mod:`harness.vendorfit.simulate`), a ``report_threshold`` override then hiding its answers
    below that threshold.
    """
    vendors = registry.names() if vendors is None else vendors
    import time

    with status("loading the simulation..."):  # the figures and the defense take seconds to import
        from harness.defense.plots import defense_bars, estimate_scatter, sensitivity_plot
        from harness.report import error_table
        from harness.report.html import write_html_report
        from harness.report.plots import metric_bars
        from harness.report.plots_sweep import plot_sweep
        from harness.report.tables import write_metrics
        from harness.results.io import write_results
        from harness.simulate.defense import DetectorSetting, defense_study
        from harness.simulate.params import SimulationParams
        from harness.simulate.run import simulate
        from harness.simulate.sensitivity import beta_gamma_table, threshold_table, threshold_table_from_results
        from harness.sweep import sweep

    vendor_list = list(vendors)
    ovr: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (overrides or {}).items()}
    params = SimulationParams.load(params_path)
    if scale != 1.0:
        if scale <= 0:
            raise JobInputError(f"scale must be > 0, not {scale:g}")
        params = params.scaled(scale)
    if seed is not None:
        params = replace(params, seed=seed)
    try:
        settings = [d if isinstance(d, DetectorSetting) else DetectorSetting.parse(d)
                    for d in (detectors or DEFAULT_SIM_DETECTORS)]
    except ValueError as exc:
        raise JobInputError(str(exc)) from None

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    study = fit_table = None
    if fit_study:
        from harness.paths import shared_data_dir
        from harness.results.paper import import_paper
        from harness.simulate.fit import fit_to_study

        sd = shared_data_dir()
        if sd is None or not (sd / "paper-results").is_dir():
            raise DfiError("--fit-study needs the study's recorded results in ../shared/data/paper-results")
        study, _ = import_paper([sd / "paper-results"])
        with status("fitting each dataset's deepfake strength to the study's recorded MS NA..."):
            params, fit_table = fit_to_study(params, study)
        params.save(out_dir / "params-fitted.json")
        write_metric_csv(fit_table, out_dir / "fit.csv")
    models, dependence = fitted_models(profile_set, vendor_list)
    if models and fit_study:
        raise JobInputError("--fit-study fits the default profiles' world; a fitted profile set is already fitted")

    def run(p: SimulationParams, what: str) -> Any:
        with status(f"simulating {what}: {p.total_probes:,} deepfakes x {len(vendor_list)} vendors...") as advance:
            if not models:
                return simulate(p, vendor_list, ovr, progress=advance)
            from harness.vendorfit.simulate import apply_thresholds, simulate_with_models

            s = simulate_with_models(p, models, vendor_list, dependence, progress=advance)
            s.results = apply_thresholds(s.results, ovr)
            return s

    recorded = None
    if models:
        from harness.paths import shared_data_dir

        sd = shared_data_dir()
        if sd is not None and (sd / "paper-results").is_dir():
            from harness.metrics import compute_metrics
            from harness.results.paper import import_paper

            recorded = compute_metrics(import_paper([sd / "paper-results"])[0], beta, gamma)
    t0 = time.perf_counter()
    sim = run(params, "the study-scale world")
    t_sim = time.perf_counter() - t0
    with status("writing the results, metrics and agreement..."):
        write_results(sim.results, out_dir / "results.parquet")
        records, counts = write_metrics(sim.results, out_dir, beta, gamma)
        from harness.compare.agreement import agreement

        agree = agreement(sim.results, by=("dataset",))
        write_metric_csv(agree, out_dir / "agreement.csv")
        pngs = [metric_bars(records, out_dir / "metrics.png", title="simulation at study scale")]
    with status("sweeping the thresholds and drawing the curves..."):
        curves = sweep(sim.results)
        write_metric_csv(curves, out_dir / "sweep.csv")
        pngs += plot_sweep(curves, out_dir)

    train = run(replace(params.scaled(0.25), seed=params.seed + 1), "the detectors' training world")
    with status(f"measuring the defense ({len(settings)} detector settings)..."):
        dtable = defense_study(sim, train, settings, beta=beta, gamma=gamma, seed=params.seed)
        write_metric_csv(dtable, out_dir / "defense.csv")
        pngs += [defense_bars(dtable, out_dir / "defense_NA.png", "NA"),
                 estimate_scatter(dtable, out_dir / "estimate_vs_measured.png", "NA")]
    bg = th = None
    if sensitivity:
        with status("measuring how the conclusions move with beta, gamma and the reporting thresholds..."):
            bg = beta_gamma_table(sim.results)
            th = (threshold_table_from_results(sim.results) if models
                  else threshold_table(sim.world, vendors=vendor_list, overrides=ovr))
            write_metric_csv(pd.concat([bg, th], ignore_index=True), out_dir / "sensitivity.csv")
            pngs.append(sensitivity_plot(bg, th, out_dir / "sensitivity.png"))
    elapsed = time.perf_counter() - t0

    w = sim.world
    with status("writing the report..."):
        from harness.report.parameters import ReportParameters

        packaged = Path(__file__).resolve().parent.parent / "simulate" / "params.json"
        parameters = ReportParameters.collect(beta=beta, gamma=gamma, tau=None, profile=profile_set,
                                              backend="simulation (embedding space)",
                                              inputs=[Path(params_path) if params_path else packaged])
        report = write_html_report(
            out_dir / "report.html", title="dfi simulate: study-scale embedding-space simulation", notice=NOTICE,
            parameters=parameters,
            facts=[("celebrities", str(len(w.celebrities.names))), ("deepfakes", str(params.total_probes)),
                   ("datasets", ", ".join(f"{d.name} ({d.method}, {d.probes})" for d in params.datasets)),
                   ("vendors", ", ".join(vendor_list)), ("beta / gamma", f"{beta:g} / {gamma:g}"),
                   ("seed", str(params.seed)), ("profiles", profile_set + (
                       f" (answering from fitted models: {', '.join(models)})" if models else ""))],
            records=records, counts=counts, errors=error_table(sim.results),
            plots=[(p.stem.replace("_", " "), p) for p in pngs],
            files=["results.parquet", "metrics.csv", "metrics.json", "agreement.csv", "sweep.csv", "defense.csv"]
            + (["sensitivity.csv"] if bg is not None else []) + [p.name for p in pngs])
    return SimulationResult(out_dir=out_dir, params=params, vendors=vendor_list, world=w, records=records,
                            counts=counts, defense=dtable, report=report, pngs=pngs, agreement=agree,
                            beta_gamma=bg, thresholds=th,
                            study=study, fit_table=fit_table, simulate_s=t_sim, elapsed_s=elapsed,
                            profile_set=profile_set, models=models, recorded=recorded)

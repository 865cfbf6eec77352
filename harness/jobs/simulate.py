"""``dfi simulate`` as a library call: the embedding-space simulation at the study's scale through
the mock vendors' behaviour code (:func:`run_simulation`), and the measurement of its parameters
(:func:`estimate_parameters`)."""

from __future__ import annotations

import json
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
                   profile_set: str = "default", chunk: int | None = None, executor: str = "local",
                   status: StatusFn = no_status) -> SimulationResult:
    """Simulate, then write results.parquet, metrics, sweeps, the defense, sensitivity and report.html.

    ``overrides``: vendor -> profile keys (e.g. ``{"report_threshold": 50}``). ``detectors``:
    :class:`harness.simulate.defense.DetectorSetting` objects or their ``NAME:TPR,FPR[,CORRELATION]``
    text (default :data:`DEFAULT_SIM_DETECTORS`). ``fit_study``: first fit each dataset's deepfake
    strength to the study's recorded MS NA (needs ../shared/data/paper-results). ``profile_set``: a named
    profile set (``"study-2020"``): every vendor whose profile there has a fitted behaviour model answers
    from it (:mod:`harness.vendorfit.simulate`), a ``report_threshold`` override then hiding its answers
    below that threshold. ``executor``: ``local``, ``ray`` or ``ray=ADDRESS``: the study-scale world's
    datasets simulated as Ray tasks (:mod:`harness.distributed.simulate`; the same rows).
    """
    vendors = registry.names() if vendors is None else vendors
    import time

    with status("loading the simulation..."):  # the figures and the defense take seconds to import
        from harness.defense.plots import defense_bars, estimate_scatter, sensitivity_plot
        from harness.report import error_table
        from harness.report.plots import metric_bars
        from harness.report.plots_sweep import plot_sweep
        from harness.report.tables import write_metrics
        from harness.results.io import write_results
        from harness.simulate.defense import DetectorSetting, defense_study
        from harness.simulate.params import SimulationParams
        from harness.simulate.run import simulate
        from harness.simulate.sensitivity import beta_gamma_table, threshold_table, threshold_table_from_results
        from harness.simulate.stream import DEFAULT_CHUNK
        from harness.sweep import sweep

    vendor_list = list(vendors)
    from harness.distributed.cluster import parse_executor, require_ray

    try:
        _, ray_settings = parse_executor(executor)
    except DfiError as exc:
        raise JobInputError(str(exc)) from None
    if ray_settings is not None:
        require_ray()
    if chunk is not None and chunk < 1:
        raise JobInputError(f"chunk must be at least 1 probe, not {chunk}")
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
    if models and ray_settings is not None:
        raise JobInputError(f"--executor ray runs the streamed simulation of the default profiles; profile set "
                            f"{profile_set!r} answers from fitted models in this process only (drop --executor)")
    if not models:
        return _streamed(params, vendor_list, ovr, settings, beta=beta, gamma=gamma, out_dir=out_dir,
                         sensitivity=sensitivity, chunk=chunk or DEFAULT_CHUNK, profile_set=profile_set,
                         params_path=params_path, study=study, fit_table=fit_table, status=status,
                         ray_settings=ray_settings)

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
        report = _report(out_dir, params, params_path, vendor_list, w, beta, gamma, profile_set, models,
                         records, counts, error_table(sim.results), pngs, bg is not None)
    return SimulationResult(out_dir=out_dir, params=params, vendors=vendor_list, world=w, records=records,
                            counts=counts, defense=dtable, report=report, pngs=pngs, agreement=agree,
                            beta_gamma=bg, thresholds=th,
                            study=study, fit_table=fit_table, simulate_s=t_sim, elapsed_s=elapsed,
                            profile_set=profile_set, models=models, recorded=recorded)


def _report(out_dir: Path, params: Any, params_path: Path | None, vendor_list: list[str], w: Any, beta: float,
            gamma: float, profile_set: str, models: dict[str, Any], records: pd.DataFrame, counts: pd.DataFrame,
            errors: pd.DataFrame, pngs: list[Path], with_sensitivity: bool) -> Path:
    from harness.report.html import write_html_report
    from harness.report.parameters import ReportParameters

    packaged = Path(__file__).resolve().parent.parent / "simulate" / "params.json"
    parameters = ReportParameters.collect(beta=beta, gamma=gamma, tau=None, profile=profile_set,
                                          backend="simulation (embedding space)",
                                          inputs=[Path(params_path) if params_path else packaged])
    return write_html_report(
        out_dir / "report.html", title="dfi simulate: study-scale embedding-space simulation", notice=NOTICE,
        parameters=parameters,
        facts=[("celebrities", str(len(w.celebrities.names))), ("deepfakes", str(params.total_probes)),
               ("datasets", ", ".join(f"{d.name} ({d.method}, {d.probes})" for d in params.datasets)),
               ("vendors", ", ".join(vendor_list)), ("beta / gamma", f"{beta:g} / {gamma:g}"),
               ("seed", str(params.seed)), ("profiles", profile_set + (
                   f" (answering from fitted models: {', '.join(models)})" if models else ""))],
        records=records, counts=counts, errors=errors,
        plots=[(p.stem.replace("_", " "), p) for p in pngs],
        files=["results.parquet", "metrics.csv", "metrics.json", "agreement.csv", "sweep.csv", "defense.csv"]
        + (["sensitivity.csv"] if with_sensitivity else []) + [p.name for p in pngs])


def _streamed(params: Any, vendor_list: list[str], ovr: dict[str, dict[str, Any]], settings: list[Any], *,
              beta: float, gamma: float, out_dir: Path, sensitivity: bool, chunk: int, profile_set: str,
              params_path: Path | None, study: pd.DataFrame | None, fit_table: pd.DataFrame | None,
              status: StatusFn, ray_settings: Any = None) -> SimulationResult:
    """The default-profile simulation streamed: the rows go to results.parquet chunk by chunk, and every
    table is computed a dataset (or, for the pooled threshold curves, a vendor) at a time from that file,
    so memory follows the largest dataset's rows, not the world's embeddings. The tables are the ones
    the in-memory path computes on the whole table, in the same order. ``ray_settings``
    (:class:`harness.distributed.RaySettings`): the datasets are simulated as Ray tasks, the same rows."""
    import time

    from harness.compare.agreement import agreement
    from harness.defense.plots import defense_bars, estimate_scatter, sensitivity_plot
    from harness.metrics import count_probes
    from harness.paths import write_atomic
    from harness.report import error_table
    from harness.report.plots import metric_bars
    from harness.report.plots_sweep import plot_sweep
    from harness.report.tables import metrics_records
    from harness.simulate.defense import dataset_defense, streamed_combiner
    from harness.simulate.parts import error_counts, interleave, read_part
    from harness.simulate.sensitivity import beta_gamma_table, pooled_beta_gamma, streamed_threshold_table
    from harness.simulate.stream import simulate_to_file
    from harness.sweep import sweep

    t0 = time.perf_counter()
    path = out_dir / "results.parquet"
    with status(f"simulating the study-scale world: {params.total_probes:,} deepfakes x {len(vendor_list)} vendors "
                f"(streamed to {path.name})...") as advance:
        if ray_settings is None:
            sim = simulate_to_file(params, path, vendor_list, ovr, chunk, progress=advance)
        else:
            from harness.distributed.simulate import simulate_to_file_on_ray

            sim = simulate_to_file_on_ray(params, path, vendor_list, ovr, chunk, progress=advance,
                                          settings=ray_settings)
    t_sim = time.perf_counter() - t0
    train_params = replace(params.scaled(0.25), seed=params.seed + 1)
    with status(f"simulating the detectors' training world: {train_params.total_probes:,} deepfakes "
                "(their detector scores only)...") as advance:
        train = simulate_to_file(train_params, None, [], chunk=chunk, progress=advance)
        comb = streamed_combiner(train, settings, seed=params.seed)
        del train
    by_name = {d.name: i for i, d in enumerate(params.datasets)}
    records, counts, agree, curves, errors, defense, bg_parts = ([] for _ in range(7))
    with status(f"metrics, agreement, sweeps and the defense, a dataset at a time ({len(by_name)})...") as advance:
        advance(0, len(by_name))
        for done, name in enumerate(sorted(by_name), start=1):  # sorted: the whole table's group order
            i = by_name[name]
            rows = read_part(path, "dataset", name)
            records.append(metrics_records(rows, beta, gamma))
            counts.append(count_probes(rows, by=("dataset", "vendor")))
            agree.append(agreement(rows, by=("dataset",)))
            curves.append(sweep(rows))
            errors.append(error_table(rows))
            defense.append(dataset_defense(rows, params.datasets[i], sim.probe_keys[i], sim.quality[i], settings,
                                           comb, beta=beta, gamma=gamma, seed=params.seed))
            if sensitivity:
                bg_parts.append(beta_gamma_table(rows))
            del rows
            advance(done, len(by_name))
    rec, cnt = pd.concat(records, ignore_index=True), pd.concat(counts, ignore_index=True)
    ag, sw = pd.concat(agree, ignore_index=True), interleave(curves, ["parameter", "metric", "basis"])
    dtable = interleave(defense, ["policy"])
    with status("writing the metrics, agreement, sweeps and defense..."):
        write_metric_csv(rec, out_dir / "metrics.csv")
        payload = json.loads(rec.to_json(orient="records"))  # NaN -> null, as harness.report.tables writes it
        write_atomic(out_dir / "metrics.json", json.dumps(payload, indent=1) + "\n")
        write_atomic(out_dir / "counts.csv", cnt.to_csv(index=False))
        write_metric_csv(ag, out_dir / "agreement.csv")
        write_metric_csv(sw, out_dir / "sweep.csv")
        write_metric_csv(dtable, out_dir / "defense.csv")
        pngs = [metric_bars(rec, out_dir / "metrics.png", title="simulation at study scale")]
        pngs += plot_sweep(sw, out_dir)
        pngs += [defense_bars(dtable, out_dir / "defense_NA.png", "NA"),
                 estimate_scatter(dtable, out_dir / "estimate_vs_measured.png", "NA")]
    bg = th = None
    if sensitivity:
        with status("measuring how the conclusions move with beta, gamma and the reporting thresholds...") as advance:
            bg = pooled_beta_gamma(bg_parts)
            th = streamed_threshold_table(sim.world, out_dir / ".tau-results.parquet", vendors=vendor_list,
                                          overrides=ovr, chunk=chunk)
            write_metric_csv(pd.concat([bg, th], ignore_index=True), out_dir / "sensitivity.csv")
            pngs.append(sensitivity_plot(bg, th, out_dir / "sensitivity.png"))
    elapsed = time.perf_counter() - t0
    with status("writing the report..."):
        report = _report(out_dir, params, params_path, vendor_list, sim.world, beta, gamma, profile_set, {},
                         rec, cnt, error_counts(errors), pngs, bg is not None)
    return SimulationResult(out_dir=out_dir, params=params, vendors=vendor_list, world=sim.world, records=rec,
                            counts=cnt, defense=dtable, report=report, pngs=pngs, agreement=ag, beta_gamma=bg,
                            thresholds=th, study=study, fit_table=fit_table, simulate_s=t_sim, elapsed_s=elapsed,
                            profile_set=profile_set)

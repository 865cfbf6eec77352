"""``dfi defend`` (the measured DD1/DD2/DD3 defense) and ``dfi simulate`` (study-scale simulation)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.errors import DfiError
from harness.results.schema import VENDOR_TITLES

console = Console()
if not console.is_terminal:  # wide tables stay readable in logs and the README
    console = Console(width=180)

DEFAULT_DETECTORS = ("spectrum_lr", "fr_liveness", "sim:indep:0.9,0.1", "sim:corr:0.9,0.1,0.9")
DEFAULT_SIM_DETECTORS = ("indep:0.9,0.1", "corr:0.9,0.1,0.9")
LIVENESS_NOTE = ("fr_liveness is an anti-spoofing (printed photo / screen replay) model, not a deepfake detector: "
                 "measured at chance on deepfakes.")


def _f(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:.{digits}f}"


def defense_rich_table(table: pd.DataFrame, title: str) -> Table:
    t = Table(title=title, title_style="bold", caption=(
        "% of valid probes. NA/TA: before -> after the defense (measured by running the wrapped vendor); "
        "est: the study's analytic estimate rate x (1 - accuracy); ind: rate x (1 - TPR). TPR/FPR: share of "
        "deepfakes / genuine target images flagged. genuine cost: share of the genuine recognitions the "
        "defense destroyed."), caption_style="dim")
    for c in ("policy", "dataset", "vendor", "n", "TPR", "FPR", "NA before->after", "est", "ind", "gap",
              "TA before->after", "est", "genuine cost"):
        t.add_column(c, justify="left" if c in ("policy", "dataset", "vendor") else "right")
    for r in table.to_dict("records"):
        t.add_row(escape(str(r["policy"])), str(r["dataset"]), VENDOR_TITLES.get(r["vendor"], r["vendor"]), str(r["probes"]),
                  _f(r["tpr"]), _f(r["fpr"]), f"{_f(r['NA_before'])} -> {_f(r['NA_after'])}", _f(r["NA_study_est"]),
                  _f(r["NA_indep_est"]), f"{r['NA_gap']:+.1f}" if r["NA_gap"] == r["NA_gap"] else "-",
                  f"{_f(r['TA_before'])} -> {_f(r['TA_after'])}", _f(r["TA_study_est"]),
                  f"{_f(r['genuine_cost'])} ({r['genuine_destroyed']}/{r['genuine_named_before']})")
    return t


def detector_report_table(report: dict) -> Table:
    t = Table(title="spectrum_lr: the project's trained detector (face spectrum + logistic regression)",
              title_style="bold", caption=(
                  "held-out: person-disjoint 3-fold split of the project's own deepfakes and real photos (pooled); "
                  "paper-samples: the study's real deepfakes vs its real CelebFOM frames, never seen in training. "
                  "accuracy/TPR/FPR at threshold 0.5."), caption_style="dim")
    for c in ("evaluation", "fakes", "reals", "accuracy", "AUC", "EER", "TPR", "FPR"):
        t.add_column(c, justify="left" if c == "evaluation" else "right")
    rows = [("held-out (all families)", report.get("held_out"))]
    rows += [(f"held-out {f}", report.get(f"held_out_{f}")) for f in ("replacement", "reenactment", "synthesis")]
    ps = report.get("paper_samples") or {}
    rows += [("paper-samples: all 26 fakes vs 5 real frames", ps.get("all")),
             ("paper-samples: CelebFOM fakes vs real frames", ps.get("CelebFOM_fakes_vs_real_frames")),
             ("paper-samples: CelebBlend fakes vs real frames", ps.get("CelebBlend_fakes_vs_real_frames"))]
    for name, r in rows:
        if r:
            t.add_row(name, str(r["n_fake"]), str(r["n_real"]), _f(r["accuracy"], 3), _f(r["auc"], 3),
                      _f(r["eer"], 3), _f(r["tpr"], 3), _f(r["fpr"], 3))
    return t


def _markdown_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


REPORT_COLUMNS = ["policy", "dataset", "vendor", "probes", "tpr", "fpr", "accuracy", "NA_before", "NA_after",
                  "NA_study_est", "NA_indep_est", "NA_gap", "TA_before", "TA_after", "TA_study_est",
                  "genuine_named_before", "genuine_destroyed", "genuine_cost"]


# ------------------------------------------------------------------ defend
@click.command("defend")
@click.option("--dataset", "dataset_path", type=click.Path(path_type=Path),
              help="manifest or folder (as `dfi run`). Default: the embedded demo dataset.")
@click.option("--vendors", default="aws,ms,nav", show_default=True)
@click.option("--backend", type=click.Choice(["mock", "mock-http", "real", "cassette"]), default="mock", show_default=True,
              help="the defense wraps the vendor on the client side, so it works on every backend")
@click.option("--gallery", type=click.Path(exists=True, path_type=Path), help="mock backend: gallery folder or file")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", "ports", multiple=True, help="mock-http: VENDOR=PORT")
@click.option("--cassettes", type=click.Path(path_type=Path), help="cassette backend: folder with <vendor>.yaml")
@click.option("--detector", "detectors", multiple=True,
              help="spectrum_lr (trained here), a registry name (fr_liveness, ...), or sim:NAME:TPR,FPR[,CORRELATION] "
                   f"(repeatable). Default: {' '.join(DEFAULT_DETECTORS)}")
@click.option("--ensemble", default=None,
              help="detectors combined by DD2 and DD3 (comma-separated names). Default: the non-simulated "
                   "detectors when there are two or more, else all of them")
@click.option("--beta", default=90.0, show_default=True)
@click.option("--gamma", default=80.0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="output folder (default runs/defend-<dataset>)")
@click.option("--retrain-detector", is_flag=True, help="retrain spectrum_lr instead of using the cached model")
@click.option("--concurrency", default=4, show_default=True)
@click.option("--crop/--no-crop", default=True, show_default=True,
              help="cut out the largest face before upload and detection (as `dfi run`)")
@click.option("--yes", "-y", is_flag=True, help="real backend: do not ask before spending money")
def defend_cmd(dataset_path, vendors, backend, gallery, host, ports, cassettes, detectors, ensemble, beta, gamma,  # noqa: ANN001, PLR0913
               out_dir, retrain_detector, concurrency, crop, yes) -> None:
    """Measure the DD1/DD2/DD3 defense: run the dataset through the vendors without and with each
    detector policy, and compare with the study's analytic estimate rate x (1 - accuracy)."""
    from harness.campaign import CampaignOptions
    from harness.backends.factory import check_servers, make_backend, parse_vendor_list
    from harness.cli.run_cmds import _demo_gallery, _key_values
    from harness.defense.campaign import run_defense
    from harness.defense.plots import defense_bars, estimate_scatter
    from harness.defense.trained_detector import load_or_train
    from harness.results.io import write_results

    t0 = time.perf_counter()
    vendor_list = parse_vendor_list(vendors)
    specs = list(detectors) or list(DEFAULT_DETECTORS)
    if ensemble is not None:
        ens = [e.strip() for e in ensemble.split(",") if e.strip()]
    else:
        real = [s for s in specs if not s.startswith("sim:")]
        ens = real if len(real) >= 2 else [s.split(":")[1] if s.startswith("sim:") else s for s in specs]
    demo = None
    if dataset_path is None:
        from harness.datasets.demo import demo_dataset

        with console.status("building the demo dataset (once; cached)..."):
            demo = demo_dataset()
        probes, name = demo.probes(), "demo"
    else:
        from harness.datasets import load_dataset

        probes, name = load_dataset(dataset_path), dataset_path.stem
    if not probes:
        raise DfiError("the dataset has no probes")
    out = out_dir or Path("runs") / f"defend-{name}"
    port_map = _key_values(ports, "--port", int)
    if backend == "mock-http":
        check_servers(vendor_list, host, port_map)
    if backend == "real" and not yes and not click.confirm(
            "The defense runs the dataset several times against the real services (it costs money). Go on?",
            default=False):
        raise click.Abort()
    gallery_src = gallery if gallery is not None else (_demo_gallery(demo) if backend == "mock" and demo else None)
    be = make_backend(backend, vendor_list, gallery=gallery_src, host=host, ports=port_map, cassettes=cassettes)

    def trained():  # noqa: ANN202
        with console.status("training spectrum_lr on the project's own deepfakes (once; cached)..."):
            return load_or_train(retrain=retrain_detector)

    opts = CampaignOptions(concurrency=concurrency, source=f"{name}-{backend}", fatal_errors=be.fatal_errors,
                           crop=crop)
    run = run_defense(probes, be.vendors, out, specs, ensemble=ens, beta=beta, gamma=gamma, options=opts,
                      trained_loader=trained, log=lambda m: console.print(f"[dim]{escape(m)}[/dim]"))
    table = run.table()
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "defense.csv", index=False)
    write_results(run.baseline, out / "baseline.csv")
    for o in run.outcomes:
        write_results(o.after, out / f"after-{o.policy.name.replace('[', '-').replace(']', '').replace('+', '-')}.csv")
    pngs = [defense_bars(table, out / "defense_NA.png", "NA"), defense_bars(table, out / "defense_TA.png", "TA"),
            estimate_scatter(table, out / "estimate_vs_measured.png", "NA")]

    if "spectrum_lr" in specs:
        console.print(detector_report_table(load_or_train().model.report))
    console.print(defense_rich_table(table, f"Defense measured on {name} ({backend}), {len(probes)} probes"))
    if any(s == "fr_liveness" for s in specs):
        console.print(f"[yellow]note: {LIVENESS_NOTE}[/yellow]")
    if demo is not None:
        console.print("[yellow]note: demonstration dataset (8 people, one photo each; its real target images are "
                      "rotated crops of the photos spectrum_lr was trained on). Its numbers show the "
                      "machinery, not any real service.[/yellow]")
    if run.detector_errors:
        console.print(f"[red]detector failures (images the defense could not score): {run.detector_errors}[/red]")
    _defense_report(out, name, backend, table, specs, run, pngs)
    console.print(f"defense table: {out / 'defense.csv'}\nplots: " + ", ".join(str(p) for p in pngs)
                  + f"\nreport: {out / 'defense.md'}  [dim]({time.perf_counter() - t0:.0f} s)[/dim]")


def _defense_report(out: Path, name: str, backend: str, table: pd.DataFrame, specs, run, pngs) -> None:  # noqa: ANN001
    notes = [f"- {o.policy.name}: {o.policy.describe()}; {o.blocked_images} distinct images blocked"
             + (f"; {o.note}" if o.note else "") for o in run.outcomes]
    text = [f"# Defense measured: {name} ({backend})", "",
            "Attack success before and after each defense policy, measured by running the dataset through the "
            "vendors wrapped by the defense (a flagged image is answered \"no celebrity\"), beside the study's "
            "analytic estimate rate x (1 - detector accuracy) and the independence estimate rate x (1 - TPR).",
            "", "## Policies", *notes, ""]
    if "fr_liveness" in specs:
        text += [f"Note: {LIVENESS_NOTE}", ""]
    text += ["## Per dataset x vendor (% of valid probes)", "", _markdown_table(table[REPORT_COLUMNS]), ""]
    text += [f"![{p.stem}]({p.name})" for p in pngs]
    (out / "defense.md").write_text("\n".join(text) + "\n")


# ------------------------------------------------------------------ simulate
@click.command("simulate")
@click.option("--params", "params_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="simulation parameters JSON (default: the packaged, measured harness/simulate/params.json)")
@click.option("--estimate", "estimate_to", type=click.Path(dir_okay=False, path_type=Path),
              help="measure the parameters with the installed embedding model, write them here, and stop")
@click.option("--scale", default=1.0, show_default=True, help="multiply every dataset's probe count")
@click.option("--seed", type=int, help="world seed (default: the parameters' seed)")
@click.option("--vendors", default="aws,ms,nav", show_default=True)
@click.option("--threshold", "thresholds", multiple=True,
              help="VENDOR=VALUE: override a vendor's reporting threshold (vendor scale: AWS 0-100, MS/NAV 0-1)")
@click.option("--profile", "profiles", multiple=True, help="VENDOR=FILE: a mock-vendor profile override (YAML)")
@click.option("--detector", "detectors", multiple=True,
              help=f"simulated detector NAME:TPR,FPR[,CORRELATION] (repeatable). Default: {' '.join(DEFAULT_SIM_DETECTORS)}")
@click.option("--beta", default=90.0, show_default=True)
@click.option("--gamma", default=80.0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/simulate"), show_default=True)
@click.option("--no-sensitivity", is_flag=True, help="skip the beta/gamma/threshold sensitivity runs")
@click.option("--fit-study", is_flag=True,
              help="first fit each dataset's deepfake strength to the study's recorded MS NA (needs ../shared/data)")
def simulate_cmd(params_path, estimate_to, scale, seed, vendors, thresholds, profiles, detectors, beta, gamma,  # noqa: ANN001, PLR0913
                 out_dir, no_sensitivity, fit_study) -> None:
    """Embedding-space simulation at the study's scale through the mock vendors' behaviour code:
    metrics, sweeps, the defense, and how the conclusions move with beta, gamma and the vendors'
    reporting thresholds. Takes seconds."""
    from dataclasses import replace

    from harness.backends.factory import parse_vendor_list
    from harness.cli.run_cmds import _key_values
    from harness.defense.plots import defense_bars, estimate_scatter, sensitivity_plot
    from harness.report import error_table
    from harness.report.html import write_html_report
    from harness.report.plots import metric_bars
    from harness.report.plots_sweep import plot_sweep
    from harness.report.tables import print_metrics, write_metrics
    from harness.results.io import write_results
    from harness.simulate.defense import DetectorSetting, defense_study
    from harness.simulate.params import SimulationParams
    from harness.simulate.run import simulate
    from harness.simulate.sensitivity import beta_gamma_table, threshold_table
    from harness.sweep import sweep

    if estimate_to is not None:
        from harness.paths import shared_data_dir
        from harness.simulate.estimate import estimate_params

        with console.status("measuring embedding and generator statistics on real photos (about a minute)..."):
            p = estimate_params(shared_data_dir())
        p.save(estimate_to)
        console.print_json(json.dumps(p.to_dict()))
        console.print(f"wrote {estimate_to}")
        return
    t0 = time.perf_counter()
    vendor_list = parse_vendor_list(vendors)
    params = SimulationParams.load(params_path)
    if scale != 1.0:
        if scale <= 0:
            raise click.BadParameter("must be > 0", param_hint="--scale")
        params = params.scaled(scale)
    if seed is not None:
        params = replace(params, seed=seed)
    overrides: dict[str, dict] = {}
    for v, t in _key_values(thresholds, "--threshold", float).items():
        overrides.setdefault(v, {})["report_threshold"] = t
    for item in profiles:
        v, sep, path = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected VENDOR=FILE", param_hint="--profile")
        import yaml

        try:
            overrides.setdefault(v.strip().lower(), {}).update(yaml.safe_load(Path(path).read_text()) or {})
        except OSError as exc:
            raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--profile") from None
    try:
        settings = [DetectorSetting.parse(d) for d in (detectors or DEFAULT_SIM_DETECTORS)]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--detector") from None

    out_dir.mkdir(parents=True, exist_ok=True)
    study = None
    if fit_study:
        from harness.results.paper import import_paper
        from harness.paths import shared_data_dir
        from harness.simulate.fit import fit_to_study

        sd = shared_data_dir()
        if sd is None or not (sd / "paper-results").is_dir():
            raise DfiError("--fit-study needs the study's recorded results in ../shared/data/paper-results")
        study, _ = import_paper([sd / "paper-results"])
        with console.status("fitting each dataset's deepfake strength to the study's recorded MS NA..."):
            params, fit_table = fit_to_study(params, study)
        params.save(out_dir / "params-fitted.json")
        fit_table.to_csv(out_dir / "fit.csv", index=False)
        ft = Table(title="Fitted to the study (MS NA, study basis, %)", title_style="bold", caption=(
            "to_identity: mean cosine of a deepfake to the photo it takes the identity from (measured on our "
            "generators / the study's FOM samples, then fitted per dataset)"), caption_style="dim")
        for c in ("dataset", "method", "study NA", "sim NA (measured params)", "to_identity measured", "fitted",
                  "sim NA (fitted)"):
            ft.add_column(c, justify="left" if c in ("dataset", "method") else "right")
        for r in fit_table.to_dict("records"):
            ft.add_row(r["dataset"], r["method"], _f(r["study_NA"]), _f(r["sim_NA_measured"]),
                       f"{r['measured_to_identity']:.3f}", f"{r['fitted_to_identity']:.3f}", _f(r["sim_NA_fitted"]))
        console.print(ft)
    t0 = time.perf_counter()
    sim = simulate(params, vendor_list, overrides)
    t_sim = time.perf_counter() - t0
    write_results(sim.results, out_dir / "results.parquet")
    records, counts = write_metrics(sim.results, out_dir, beta, gamma)
    pngs = [metric_bars(records, out_dir / "metrics.png", title="simulation at study scale")]
    curves = sweep(sim.results)
    curves.to_csv(out_dir / "sweep.csv", index=False)
    pngs += plot_sweep(curves, out_dir)

    train = simulate(replace(params.scaled(0.25), seed=params.seed + 1), vendor_list, overrides)
    dtable = defense_study(sim, train, settings, beta=beta, gamma=gamma, seed=params.seed)
    dtable.to_csv(out_dir / "defense.csv", index=False)
    pngs += [defense_bars(dtable, out_dir / "defense_NA.png", "NA"),
             estimate_scatter(dtable, out_dir / "estimate_vs_measured.png", "NA")]
    bg = th = None
    if not no_sensitivity:
        bg = beta_gamma_table(sim.results)
        th = threshold_table(sim.world, vendors=vendor_list, overrides=overrides)
        pd.concat([bg, th], ignore_index=True).to_csv(out_dir / "sensitivity.csv", index=False)
        pngs.append(sensitivity_plot(bg, th, out_dir / "sensitivity.png"))
    elapsed = time.perf_counter() - t0

    w = sim.world
    report = write_html_report(
        out_dir / "report.html", title="dfi simulate: study-scale embedding-space simulation",
        notice=("Simulated, not measured: synthetic identities and deepfakes in embedding space, answered by the "
                "mock vendors' behaviour code with parameters estimated from the installed face model "
                "(harness/simulate/params.json). These numbers describe the model of the study, not the real services."),
        facts=[("celebrities", str(len(w.celebrities.names))), ("deepfakes", str(params.total_probes)),
               ("datasets", ", ".join(f"{d.name} ({d.method}, {d.probes})" for d in params.datasets)), ("vendors", ", ".join(vendor_list)),
               ("beta / gamma", f"{beta:g} / {gamma:g}"), ("seed", str(params.seed))],
        records=records, counts=counts, errors=error_table(sim.results),
        plots=[(p.stem.replace("_", " "), p) for p in pngs],
        files=["results.parquet", "metrics.csv", "metrics.json", "sweep.csv", "defense.csv"]
        + (["sensitivity.csv"] if bg is not None else []) + [p.name for p in pngs])
    console.print(f"[bold]simulated world[/bold]: {len(w.celebrities.names)} celebrities "
                  f"({', '.join(f'{r} {w.celebrities.regions.count(r)}' for r in params.regions)}), "
                  f"{params.total_probes} deepfakes over {len(params.datasets)} datasets, vendors {', '.join(vendor_list)}; "
                  f"geometry rho={w.geometry.rho:.3f} k={w.geometry.subspace} photo cos={w.geometry.photo_mean:.3f}"
                  f"+-{w.geometry.photo_sd:.3f}; simulated in {t_sim:.1f} s")
    print_metrics(console, records, counts)
    if study is not None:
        console.print(_study_comparison(records, study, beta, gamma))
    console.print(defense_rich_table(dtable[dtable["policy"].str.startswith("DD1")],
                                     "Simulated detectors: measured vs the study's analytic estimate"))
    summary = (dtable.groupby("policy", sort=False)[["NA_after", "NA_study_est", "NA_indep_est", "NA_gap", "genuine_cost"]]
               .mean().round(2))
    console.print(Table.grid())
    st = Table(title="Mean over dataset x vendor", title_style="bold")
    for c in ("policy", "NA after (measured)", "study estimate", "independence estimate", "gap (pp)", "genuine cost"):
        st.add_column(c, justify="left" if c == "policy" else "right")
    for pol, r in summary.iterrows():
        st.add_row(escape(str(pol)), f"{r.NA_after:.2f}", f"{r.NA_study_est:.2f}", f"{r.NA_indep_est:.2f}", f"{r.NA_gap:+.2f}",
                   f"{r.genuine_cost:.2f}")
    console.print(st)
    if bg is not None and th is not None:
        console.print(_sensitivity_rich(bg, th))
    console.print(f"wrote {out_dir}: results.parquet, metrics.csv/json, sweep.csv, defense.csv"
                  + (", sensitivity.csv" if bg is not None else "") + f", {len(pngs)} plots, report {report.name}  "
                  f"[dim](total {elapsed:.1f} s)[/dim]")


def _study_comparison(records: pd.DataFrame, study: pd.DataFrame, beta: float, gamma: float) -> Table:
    """The fitted simulation beside the study's recorded metrics, for the dataset x vendor pairs it recorded."""
    from harness.metrics import compute_metrics

    rec = compute_metrics(study, beta, gamma)
    rec = rec[rec["basis"] == "study"].set_index(["dataset", "vendor", "metric"])["value"]
    sim = records[records["basis"] == "study"].set_index(["dataset", "vendor", "metric"])["value"]
    metrics = ("TA", "NA", "DHF", "DHC", "DHS", "SIC")
    t = Table(title="Fitted simulation vs the study's recorded results (study basis, %: simulated / recorded)",
              title_style="bold", caption="only NA of MS was fitted; every other cell is a prediction",
              caption_style="dim")
    t.add_column("dataset")
    t.add_column("vendor")
    for m in metrics:
        t.add_column(m, justify="right")
    for (ds, v) in sorted({(d, v) for d, v, _ in rec.index}):
        cells = [f"{_f(sim.get((ds, v, m), float('nan')))} / {_f(rec.get((ds, v, m), float('nan')))}" for m in metrics]
        t.add_row(ds, VENDOR_TITLES.get(v, v), *cells)
    return t


def _sensitivity_rich(bg: pd.DataFrame, th: pd.DataFrame) -> Table:
    t = Table(title="How the conclusions move (all datasets pooled per vendor, study basis, %)", title_style="bold")
    t.add_column("parameter")
    t.add_column("metric")
    t.add_column("value")
    for v in ("aws", "ms", "nav"):
        t.add_column(VENDOR_TITLES[v], justify="right")
    for (param, metric), grp in pd.concat([bg, th]).groupby(["parameter", "metric"], sort=False):
        label = "tau (vendor reporting threshold, 0-100)" if param == "tau" else param
        for thr, g in grp.groupby("threshold"):
            vals = {r["vendor"]: r["value"] for r in g.to_dict("records")}
            t.add_row(label, metric, f"{thr:g}", *(_f(vals.get(v, float("nan"))) for v in ("aws", "ms", "nav")))
    return t


COMMANDS: list[click.Command] = [defend_cmd, simulate_cmd]
__all__ = ["COMMANDS"]

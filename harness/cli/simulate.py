"""``dfi simulate``: study-scale embedding-space simulation (:mod:`harness.jobs.simulate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

from harness.cli.defend import _f, console, defense_rich_table
from harness.cli.feedback import Feedback
from harness.cli.options import Threshold, executor_options, key_values
from harness.jobs.simulate import DEFAULT_SIM_DETECTORS
from harness.vendors import registry
from harness.vendors.registry import display_name


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
@click.option("--profile", "profiles", multiple=True,
              help="VENDOR=FILE: a mock-vendor profile override (YAML); or the name of a profile set for every "
                   "vendor: default, or study-2020 (vendors answer from the behaviour models fitted to the study)")
@click.option("--detector", "detectors", multiple=True,
              help="simulated detector NAME:TPR,FPR[,CORRELATION] (repeatable). "
                   f"Default: {' '.join(DEFAULT_SIM_DETECTORS)}")
@click.option("--beta", default=90.0, show_default=True, type=Threshold(0, 100))
@click.option("--gamma", default=80.0, show_default=True, type=Threshold(0, 100))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/simulate"),
              show_default=True)
@click.option("--no-sensitivity", is_flag=True, help="skip the beta/gamma/threshold sensitivity runs")
@click.option("--chunk", type=click.IntRange(min=1), default=None,
              help="probes built and answered at a time (memory follows it; results do not depend on it). "
                   "Default: 8192")
@click.option("--fit-study", is_flag=True,
              help="first fit each dataset's deepfake strength to the study's recorded MS NA (needs ../shared/data)")
@executor_options("the study-scale world's datasets are simulated (on Ray: one task per dataset; the same rows)")
def simulate_cmd(params_path: Path | None, estimate_to: Path | None, scale: float, seed: int | None, vendors: str,
                 thresholds: tuple[str, ...], profiles: tuple[str, ...], detectors: tuple[str, ...], beta: float,
                 gamma: float, out_dir: Path, no_sensitivity: bool, chunk: int | None, fit_study: bool,
                 executor: str) -> None:
    """Embedding-space simulation at the study's scale through the mock vendors' behaviour code:
    metrics, sweeps, the defense, and how the conclusions move with beta, gamma and the vendors'
    reporting thresholds. Takes seconds."""
    from harness.backends import parse_vendor_list
    from harness.jobs.simulate import estimate_parameters, run_simulation
    from harness.report.tables import print_metrics
    from harness.simulate.defense import DetectorSetting

    out = console()
    if estimate_to is not None:
        est = estimate_parameters(to=estimate_to, status=Feedback(out).step)
        out.print_json(json.dumps(est.params.to_dict()))
        out.print(f"wrote {est.path}")
        return
    vendor_list = parse_vendor_list(vendors)
    if scale != 1.0 and scale <= 0:
        raise click.BadParameter("must be > 0", param_hint="--scale")
    overrides: dict[str, dict[str, Any]] = {}
    for v, t in key_values(thresholds, "--threshold", float, lambda t: t >= 0, "a threshold (0 or more)").items():
        overrides.setdefault(v, {})["report_threshold"] = t
    from mockvendors.profile import DEFAULT_SET, NAMED_SETS

    profile_set = DEFAULT_SET
    for item in profiles:
        v, sep, path = item.partition("=")
        if not sep and item in (DEFAULT_SET, *NAMED_SETS):
            profile_set = item
            continue
        if not sep:
            raise click.BadParameter(f"{item!r}: expected VENDOR=FILE or a profile set "
                                     f"({', '.join([DEFAULT_SET, *NAMED_SETS])})", param_hint="--profile")
        import yaml

        try:
            overrides.setdefault(v.strip().lower(), {}).update(yaml.safe_load(Path(path).read_text()) or {})
        except OSError as exc:
            raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--profile") from None
    try:
        settings = [DetectorSetting.parse(d) for d in (detectors or DEFAULT_SIM_DETECTORS)]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--detector") from None

    r = run_simulation(params_path=params_path, scale=scale, seed=seed, vendors=vendor_list, overrides=overrides,
                       detectors=settings, beta=beta, gamma=gamma, out_dir=out_dir, sensitivity=not no_sensitivity,
                       fit_study=fit_study, profile_set=profile_set, chunk=chunk, executor=executor,
                       status=Feedback(out).step)
    if r.fit_table is not None:
        out.print(_fit_table(r.fit_table))
    params, w = r.params, r.world
    out.print(f"[bold]simulated world[/bold]: {len(w.celebrities.names)} celebrities "
              f"({', '.join(f'{g} {w.celebrities.regions.count(g)}' for g in params.regions)}), "
              f"{params.total_probes} deepfakes over {len(params.datasets)} datasets, "
              f"vendors {', '.join(vendor_list)}; "
              f"geometry rho={w.geometry.rho:.3f} k={w.geometry.subspace} photo cos={w.geometry.photo_mean:.3f}"
              f"+-{w.geometry.photo_sd:.3f}; simulated in {r.simulate_s:.1f} s")
    print_metrics(out, r.records, r.counts)
    if r.agreement is not None:
        out.print(_agreement_table(r.agreement, r.params, vendor_list))
    if r.study is not None:
        out.print(_study_comparison(r.records, r.study, beta, gamma))
    if r.models:
        out.print(_fitted_comparison(r.records, r.models, r.recorded))
    dtable = r.defense
    out.print(defense_rich_table(dtable[dtable["policy"].str.startswith("DD1")],
                                 "Simulated detectors: measured vs the study's analytic estimate"))
    summary = (dtable.groupby("policy", sort=False)[["NA_after", "NA_study_est", "NA_indep_est", "NA_gap",
                                                     "genuine_cost"]].mean().round(2))
    out.print(Table.grid())
    st = Table(title="Mean over dataset x vendor", title_style="bold")
    for c in ("policy", "NA after (measured)", "study estimate", "independence estimate", "gap (pp)", "genuine cost"):
        st.add_column(c, justify="left" if c == "policy" else "right")
    for pol, row in summary.iterrows():
        st.add_row(escape(str(pol)), f"{row.NA_after:.2f}", f"{row.NA_study_est:.2f}", f"{row.NA_indep_est:.2f}",
                   f"{row.NA_gap:+.2f}", f"{row.genuine_cost:.2f}")
    out.print(st)
    if r.beta_gamma is not None and r.thresholds is not None:
        out.print(_sensitivity_rich(r.beta_gamma, r.thresholds))
    out.print(f"wrote {out_dir}: results.parquet, metrics.csv/json, agreement.csv, sweep.csv, defense.csv"
              + (", sensitivity.csv" if r.beta_gamma is not None else "") + f", {len(r.pngs)} plots, report "
              f"{r.report.name}  [dim](total {r.elapsed_s:.1f} s)[/dim]")


def _agreement_table(agree: pd.DataFrame, params: Any, vendors: list[str]) -> Table:
    """Each pair of simulated vendors on the same deepfakes (harness.compare.agreement), by dataset."""
    from mockvendors.profile import load_profile

    seen = ", ".join(f"{v.upper()} {load_profile(v).recognizer}"
                     + ("" if load_profile(v).recognizer in params.recognizer_names else " (reference view)")
                     for v in vendors)
    t = Table(title=f"Cross-vendor agreement on the same simulated deepfakes, % of probes ({seen})",
              title_style="bold")
    for c in ("dataset", "vendors", "both", "only 1st", "only 2nd", "neither", "same name", "kappa"):
        t.add_column(c, justify="left" if c in ("dataset", "vendors") else "right")
    for _, row in agree.iterrows():
        t.add_row(str(row["dataset"]), f"{row['vendor1'].upper()} x {row['vendor2'].upper()}",
                  *(f"{row[f'{c}_pct']:.1f}" for c in ("both", "only1", "only2", "neither")),
                  "-" if pd.isna(row["same_name_pct"]) else f"{row['same_name_pct']:.1f}",
                  "-" if pd.isna(row["kappa"]) else f"{row['kappa']:.2f}")
    return t


def _fit_table(fit_table: pd.DataFrame) -> Table:
    ft = Table(title="Fitted to the study (MS NA, study basis, %)", title_style="bold", caption=(
        "to_identity: mean cosine of a deepfake to the photo it takes the identity from (measured on our "
        "generators / the study's FOM samples, then fitted per dataset)"), caption_style="dim")
    for c in ("dataset", "method", "study NA", "sim NA (measured params)", "to_identity measured", "fitted",
              "sim NA (fitted)"):
        ft.add_column(c, justify="left" if c in ("dataset", "method") else "right")
    for r in fit_table.to_dict("records"):
        ft.add_row(r["dataset"], r["method"], _f(r["study_NA"]), _f(r["sim_NA_measured"]),
                   f"{r['measured_to_identity']:.3f}", f"{r['fitted_to_identity']:.3f}", _f(r["sim_NA_fitted"]))
    return ft


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
        t.add_row(ds, display_name(v), *cells)
    return t


def _fitted_comparison(records: pd.DataFrame, models: dict[str, Any], recorded: pd.DataFrame | None) -> Table:
    """What the fitted vendors were fitted to (TA and NA: the recorded file's rate, or the study's published
    aggregate where nothing is recorded) beside the simulation, and every other metric as a prediction with
    its 95% Wilson interval (with the recorded value where there is one)."""
    from harness.vendorfit.aggregates import PUBLISHED

    sim = records[records["basis"] == "study"].set_index(["dataset", "vendor", "metric"])
    rec = (recorded[recorded["basis"] == "study"].set_index(["dataset", "vendor", "metric"])["value"]
           if recorded is not None else pd.Series(dtype=float))
    t = Table(title="Simulated with the fitted vendor models (study basis, %): TA and NA simulated / what they were "
                    "fitted to; the rest are predictions [95% Wilson] (recorded)", title_style="bold",
              caption="fitted to: the recorded file's rate (rec.) or the study's published aggregate (pub.); "
                      "per-celebrity and frame tables: dfi study", caption_style="dim")
    for c in ("dataset", "vendor", "TA", "NA", "DHF", "DHC", "DHS", "SIC"):
        t.add_column(c, justify="left" if c in ("dataset", "vendor") else "right")
    for (ds, v) in sorted({(d, v) for d, v, _ in sim.index if v in models}):
        published = PUBLISHED.get(v, {}).get(ds)
        cells = []
        for i, m in enumerate(("TA", "NA")):
            value = sim.loc[(ds, v, m), "value"] if (ds, v, m) in sim.index else float("nan")
            if (ds, v, m) in rec.index:
                goal = f"{_f(rec[(ds, v, m)])} rec."
            elif published is not None:
                goal = f"{published[i]:.1f} pub."
            else:
                goal = "-"
            cells.append(f"{_f(value)} / {goal}")
        for m in ("DHF", "DHC", "DHS", "SIC"):
            if (ds, v, m) not in sim.index:
                cells.append("-")
                continue
            row = sim.loc[(ds, v, m)]
            seen = f" ({_f(rec[(ds, v, m)])})" if (ds, v, m) in rec.index else ""
            cells.append(f"{_f(row['value'])} [{_f(row['ci_low'])}, {_f(row['ci_high'])}]{seen}")
        t.add_row(ds, display_name(v), *cells)
    return t


def _sensitivity_rich(bg: pd.DataFrame, th: pd.DataFrame) -> Table:
    t = Table(title="How the conclusions move (all datasets pooled per vendor, study basis, %)", title_style="bold")
    t.add_column("parameter")
    t.add_column("metric")
    t.add_column("value")
    for v in registry.names():
        t.add_column(display_name(v), justify="right")
    for (param, metric), grp in pd.concat([bg, th]).groupby(["parameter", "metric"], sort=False):
        label = "tau (vendor reporting threshold, 0-100)" if param == "tau" else param
        for thr, g in grp.groupby("threshold"):
            vals = {r["vendor"]: r["value"] for r in g.to_dict("records")}
            t.add_row(label, metric, f"{thr:g}", *(_f(vals.get(v, float("nan"))) for v in registry.names()))
    return t


COMMANDS: list[click.Command] = [simulate_cmd]
__all__ = ["COMMANDS", "simulate_cmd"]

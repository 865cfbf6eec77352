"""``dfi defend``: the measured DD1/DD2/DD3 defense (:mod:`harness.jobs.defend`)."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.cli.console import stdout_console
from harness.cli.feedback import Feedback
from harness.cli.options import Threshold, crop_choice, crop_options, executor_options
from harness.cli.options import ports as port_values
from harness.jobs.defend import DEFAULT_DETECTORS, LIVENESS_NOTE
from harness.vendors.registry import display_name

WIDE = 180  # wide tables stay readable in logs and the README


def console() -> Console:
    return stdout_console(pipe_width=WIDE)


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
        t.add_row(escape(str(r["policy"])), str(r["dataset"]), display_name(r["vendor"]),
                  str(r["probes"]),
                  _f(r["tpr"]), _f(r["fpr"]), f"{_f(r['NA_before'])} -> {_f(r['NA_after'])}", _f(r["NA_study_est"]),
                  _f(r["NA_indep_est"]), f"{r['NA_gap']:+.1f}" if r["NA_gap"] == r["NA_gap"] else "-",
                  f"{_f(r['TA_before'])} -> {_f(r['TA_after'])}", _f(r["TA_study_est"]),
                  f"{_f(r['genuine_cost'])} ({r['genuine_destroyed']}/{r['genuine_named_before']})")
    return t


def table2_rich_table(table: pd.DataFrame, title: str, guard: str) -> Table:
    from harness.defense.table2 import CAPTION, cells, headers, vendors_of

    vendors = vendors_of(table)
    t = Table(title=title, title_style="bold", caption=f"Detector input: {guard}. {CAPTION}", caption_style="dim")
    for i, c in enumerate(headers(vendors, {v: display_name(v) for v in vendors})):
        t.add_column(c, justify="left" if i < 2 else "right")
    for r in table.to_dict("records"):
        t.add_row(*[escape(c) for c in cells(r, vendors)])
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



# ------------------------------------------------------------------ defend
@click.command("defend")
@click.option("--dataset", "dataset_path", type=click.Path(path_type=Path),
              help="manifest or folder (as `dfi run`). Default: the embedded demo dataset.")
@click.option("--vendors", default="aws,ms,nav", show_default=True)
@click.option("--backend", type=click.Choice(["mock", "mock-http", "real", "cassette"]), default="mock",
              show_default=True, help="the defense wraps the vendor on the client side, so it works on every backend")
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
@click.option("--beta", default=90.0, show_default=True, type=Threshold(0, 100))
@click.option("--gamma", default=80.0, show_default=True, type=Threshold(0, 100))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="output folder (default runs/defend-<dataset>)")
@click.option("--retrain-detector", is_flag=True, help="retrain spectrum_lr instead of using the cached model")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256))
@crop_options("cut out the largest face before upload and detection (as `dfi run`): default detector or MTCNN")
@click.option("--no-reencode", is_flag=True,
              help="score the images as given (default: each re-encoded as JPEG q90, longer side 256 px, so no "
                   "detector separates fakes by file format or size)")
@click.option("--yes", "-y", is_flag=True, help="real backend: do not ask before spending money")
@executor_options("the detectors score the images (on Ray: a Ray Data stage, one model session per worker; the "
                  "same scores; the campaigns stay in this process)", workers="detector workers")
def defend_cmd(dataset_path: Path | None, vendors: str, backend: str, gallery: Path | None, host: str,
               ports: tuple[str, ...], cassettes: Path | None, detectors: tuple[str, ...], ensemble: str | None,
               beta: float, gamma: float, out_dir: Path | None, retrain_detector: bool, concurrency: int, crop: str,
               no_crop: bool, no_reencode: bool, yes: bool, executor: str, workers: int | None) -> None:
    """Measure the DD1/DD2/DD3 defense: run the dataset through the vendors without and with each
    detector policy, and compare with the study's analytic estimate rate x (1 - accuracy)."""
    from harness.backends import parse_vendor_list
    from harness.jobs.defend import measure_defense

    t0 = time.perf_counter()
    out_console = console()
    vendor_list = parse_vendor_list(vendors)
    ens = [e.strip() for e in ensemble.split(",") if e.strip()] if ensemble is not None else None
    port_map = port_values(ports)

    def confirm_cost() -> bool:
        if not click.confirm("The defense runs the dataset several times against the real services (it costs "
                             "money). Go on?", default=False):
            raise click.Abort()
        return True

    result = measure_defense(dataset=dataset_path, vendors=vendor_list, backend=backend, gallery=gallery, host=host,
                             ports=port_map, cassettes=cassettes, detectors=detectors, ensemble=ens, beta=beta,
                             gamma=gamma, out_dir=out_dir, retrain_detector=retrain_detector,
                             concurrency=concurrency, crop=crop_choice(crop, no_crop), allow_cost=yes,
                             confirm_cost=confirm_cost, reencode=not no_reencode, executor=executor,
                             workers=workers, status=Feedback(out_console).step,
                             log=lambda m: out_console.print(f"[dim]{escape(m)}[/dim]"))
    if result.detector_report is not None:
        out_console.print(detector_report_table(result.detector_report))
    out_console.print(defense_rich_table(result.table, f"Defense measured on {result.name} ({backend}), "
                                                        f"{result.probes} probes"))
    if result.table2 is not None:
        out_console.print(table2_rich_table(result.table2, f"Defense on {result.name} in the layout of the study's "
                                            "Table 2", result.guard))
    if any(s == "fr_liveness" for s in result.specs):
        out_console.print(f"[yellow]note: {LIVENESS_NOTE}[/yellow]")
    if result.demo:
        out_console.print("[yellow]note: demonstration dataset (8 people, one photo each; its real target images "
                          "are rotated crops of the photos spectrum_lr was trained on). Its numbers show the "
                          "machinery, not any real service.[/yellow]")
    if result.detector_errors:
        out_console.print(f"[red]detector failures (images the defense could not score): "
                          f"{result.detector_errors}[/red]")
    out_console.print(f"defense table: {result.defense_csv}\nTable 2 layout: {result.table2_csv}\nplots: "
                      + ", ".join(str(p) for p in result.pngs)
                      + f"\nreport: {result.report}  [dim]({time.perf_counter() - t0:.0f} s)[/dim]")


COMMANDS: list[click.Command] = [defend_cmd]
__all__ = ["COMMANDS", "defend_cmd", "defense_rich_table", "detector_report_table", "table2_rich_table"]

"""``dfi sweep``: the metrics over their thresholds (:mod:`harness.jobs.sweep`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness.cli.console import stdout_console
from harness.cli.options import GROUPINGS
from harness.vendors.registry import display_name

if TYPE_CHECKING:
    import numpy as np

    from harness.jobs.sweep import SweepResult


def _fmt_threshold(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


@click.command("sweep")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/sweep"),
              show_default=True, help="folder for sweep.csv, sweep.json and the plots (PNG and SVG)")
@click.option("--grid", default="0:100:1", show_default=True,
              help="thresholds: start:stop:step (stop included) or a comma-separated list, on 0-100")
@click.option("--by", "by", type=click.Choice(sorted(GROUPINGS)), default="dataset", show_default=True)
@click.option("--basis", type=click.Choice(["study", "all"]), default="study", show_default=True,
              help="which denominators the plots and the summary use (the CSV has both)")
@click.option("--no-plots", is_flag=True, help="write only the CSV and JSON files")
@click.option("--no-svg", is_flag=True, help="plots as PNG only (default: PNG and SVG)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
def sweep_cmd(results: tuple[Path, ...], out_dir: Path, grid: str, by: str, basis: str, no_plots: bool,
              no_svg: bool, no_progress: bool) -> None:
    """DHC over beta, DHS over gamma, and NA/TA/DHF/SIC over a vendor reporting threshold tau."""
    console = stdout_console()
    # said before the slow imports, so the command answers at once
    files = f"{len(results)} results file{'s' if len(results) != 1 else ''}"
    console.print(Text.assemble(("dfi sweep", "bold"), f": {files}, grid {grid} -> {out_dir}"), highlight=False,
                  emoji=False)
    from harness.jobs.sweep import run_sweep
    from harness.sweep import parse_grid

    try:
        thresholds = parse_grid(grid)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grid") from exc
    if thresholds.min() < 0 or thresholds.max() > 100:
        raise click.BadParameter("thresholds must lie on the 0-100 scale", param_hint="--grid")
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=no_progress or not console.is_terminal)
    task = progress.add_task("starting", total=None)
    with progress:
        result = run_sweep(results=results, thresholds=thresholds, out_dir=out_dir, by=by, basis=basis,
                           plots=not no_plots, svg=not no_svg,
                           on_step=lambda what, done, total: progress.update(task, description=what, completed=done,
                                                                             total=total))
    _print_summary(console, result, thresholds, basis, results)


def _print_summary(console: Console, result: SweepResult, thresholds: np.ndarray, basis: str,
                   results: tuple[Path, ...]) -> None:
    from harness.sweep import STUDY_VALUES

    curves, keys, csv_path, pngs = result.curves, result.keys, result.csv_path, result.pngs
    if curves.empty or result.steepest is None:
        console.print(f"no probes in {', '.join(str(p) for p in results)}: wrote an empty {csv_path}")
        return
    steep = result.steepest
    at_study = curves[(curves["basis"] == basis)]
    summary = Table(title=f"Where each metric changes fastest (basis: {basis}; grid "
                          f"{thresholds[0]:g}..{thresholds[-1]:g}, {len(thresholds)} points)", title_style="bold",
                    caption="values in %. as studied: value at beta=90, gamma=80, or tau at the grid start (the "
                            "vendor's own threshold); fastest: grid step with the largest change; halved at: first "
                            "threshold where the value is at most half its value at the grid start",
                    caption_style="dim")
    row_keys = [k for k in keys if k != "vendor"]
    for name in [*row_keys, "vendor", "curve", "as studied", "fastest", "value", "halved at"]:
        summary.add_column(name, justify="left" if name in (*row_keys, "vendor", "curve") else "right")
    for rec in steep.to_dict("records"):
        parameter, metric = rec["parameter"], rec["metric"]
        ref = STUDY_VALUES.get(parameter, float(thresholds[0]))
        sel = (at_study["parameter"] == parameter) & (at_study["metric"] == metric) & (at_study["threshold"] == ref)
        for k in keys:
            sel &= at_study[k] == rec[k]
        ref_val = at_study.loc[sel, "value"]
        ref_txt = f"{ref_val.iloc[0]:.1f}@{ref:g}" if len(ref_val) and not math.isnan(ref_val.iloc[0]) else "-"
        summary.add_row(
            *(str(rec[k]) for k in row_keys), display_name(rec["vendor"]),
            f"{metric}({parameter})", ref_txt,
            f"{_fmt_threshold(rec['from_threshold'])}->{_fmt_threshold(rec['to_threshold'])}",
            f"{rec['from_value']:.1f}->{rec['to_value']:.1f}", _fmt_threshold(rec["half_at"]),
        )
    console.print(summary)
    console.print(f"wrote {csv_path} ({len(curves)} rows), " + ", ".join(p.name for p in result.data_files)
                  + (f" and {len(pngs)} plots" + (" (PNG and SVG)" if pngs and pngs[0].with_suffix(".svg").exists()
                                                  else "") if pngs else ""))
    for p in pngs:
        console.print(f"  {p}")


COMMANDS: list[click.Command] = [sweep_cmd]
__all__ = ["COMMANDS", "sweep_cmd"]

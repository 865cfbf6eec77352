"""``dfi sweep``: the metrics over their thresholds (:mod:`harness.jobs.sweep`)."""

from __future__ import annotations

import math
from pathlib import Path

import click
from rich.table import Table

from harness.cli.console import stdout_console
from harness.cli.options import GROUPINGS
from harness.vendors.registry import display_name


def _fmt_threshold(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


@click.command("sweep")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/sweep"),
              show_default=True, help="folder for sweep.csv and the PNG plots")
@click.option("--grid", default="0:100:1", show_default=True,
              help="thresholds: start:stop:step (stop included) or a comma-separated list, on 0-100")
@click.option("--by", "by", type=click.Choice(sorted(GROUPINGS)), default="dataset", show_default=True)
@click.option("--basis", type=click.Choice(["study", "all"]), default="study", show_default=True,
              help="which denominators the plots and the summary use (the CSV has both)")
@click.option("--no-plots", is_flag=True, help="write only the CSV")
def sweep_cmd(results: tuple[Path, ...], out_dir: Path, grid: str, by: str, basis: str, no_plots: bool) -> None:
    """DHC over beta, DHS over gamma, and NA/TA/DHF/SIC over a vendor reporting threshold tau."""
    from harness.jobs.sweep import run_sweep
    from harness.sweep import STUDY_VALUES, parse_grid

    try:
        thresholds = parse_grid(grid)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grid") from exc
    if thresholds.min() < 0 or thresholds.max() > 100:
        raise click.BadParameter("thresholds must lie on the 0-100 scale", param_hint="--grid")
    result = run_sweep(results=results, thresholds=thresholds, out_dir=out_dir, by=by, basis=basis,
                       plots=not no_plots)
    curves, keys, csv_path, pngs = result.curves, result.keys, result.csv_path, result.pngs

    console = stdout_console()
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
    console.print(f"wrote {csv_path} ({len(curves)} rows)" + (f" and {len(pngs)} plots" if pngs else ""))
    for p in pngs:
        console.print(f"  {p}")


COMMANDS: list[click.Command] = [sweep_cmd]
__all__ = ["COMMANDS", "sweep_cmd"]

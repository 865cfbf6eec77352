"""``dfi import-paper``, ``dfi metrics`` and ``dfi sweep``: the results table and what is computed from it."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.errors import InputFileError
from harness.metrics import DEFAULT_BETA, DEFAULT_GAMMA
from harness.metrics.compute import counts_from_probes, metrics_from_probes
from harness.metrics.probes import ProbeArrays
from harness.results import read_results, write_results
from harness.results.schema import VENDOR_TITLES

GROUPINGS = {"dataset": ("dataset", "vendor"), "source": ("dataset", "vendor", "source")}


class _Threshold(click.FloatRange):
    """A threshold on 0-100. FloatRange alone lets "nan" through (every comparison with NaN is false)."""

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number in 0-100", param, ctx)
        return number


def _by(by: str) -> tuple[str, ...]:
    return GROUPINGS[by]


def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------------ import-paper
@click.command("import-paper")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="results table to write (.csv, .parquet or .jsonl)")
@click.option("--zero-similarity", type=click.Choice(["score", "missing"]), default="score", show_default=True,
              help="Azure find-similar wrote 0 also when no face was found: keep 0 as a score, or treat it as no score")
@click.option("--keep-duplicates", is_flag=True,
              help="keep a probe that two files record (Results_CelebDPR.csv repeats part of ms_CelebDPR.csv) twice")
def import_paper_cmd(paths: tuple[Path, ...], output: Path, zero_similarity: str, keep_duplicates: bool) -> None:
    """Import the study's recorded result files (files or a folder such as ../shared/data/paper-results)."""
    from harness.results.paper import import_paper
    from harness.results.io import file_format

    file_format(output)  # refuse a bad output suffix before reading anything
    table, summary = import_paper(list(paths), zero_similarity=zero_similarity, keep_duplicates=keep_duplicates)
    console = Console()
    t = Table(title="Imported study result files", title_style="bold")
    for name in ("file", "dataset", "vendor", "rows", "empty fake", "empty real", "sim. 0", "derived real"):
        t.add_column(name, justify="left" if name in ("file", "dataset", "vendor") else "right")
    for f in summary.files:
        t.add_row(f.source, f.dataset, VENDOR_TITLES.get(f.vendor, f.vendor), str(f.rows), str(f.empty_fake_answers),
                  str(f.empty_real_answers), str(f.zero_similarity) if f.vendor == "ms" else "-",
                  str(f.derived_real_answers) if f.derived_real_answers else "-")
    console.print(t)
    console.print(Text("empty fake / empty real: empty answers on the deepfake / on the real image; "
                       "sim. 0: Azure similarities of 0; derived real: real-image answers taken from the rows of "
                       "that person (CelebDF targets, second CelebBlend reference)", style="dim"))
    empty_fake = sum(f.empty_fake_answers for f in summary.files)
    empty_real = sum(f.empty_real_answers for f in summary.files)
    console.print(Text(
        f"note: the study wrote 'no celebrity' and 'the call failed' the same way (an empty cell). "
        f"{empty_fake} empty deepfake answers and {empty_real} empty real-image answers are imported as "
        "'no celebrity'; any vendor errors among them cannot be told apart, so these files show 0 errors.",
        style="yellow"))
    zeros = sum(f.zero_similarity for f in summary.files)
    if zeros:
        how = "kept as the score 0" if zero_similarity == "score" else "treated as 'no score' (left out of DHS denominators)"
        console.print(f"note: {zeros} Azure similarities of 0 (no similar face, or no face found) were {how}.")
    for source, (n, kept_in) in summary.duplicates.items():
        console.print(f"note: {n} rows of {source} are probes {kept_in} records too (same deepfake image): "
                      f"kept once, from {kept_in}; --keep-duplicates keeps both.")
    if summary.skipped:
        console.print(f"skipped (not study result files): {', '.join(summary.skipped)}")
    write_results(table, output)
    console.print(f"wrote {len(table)} rows to {output}")


# ------------------------------------------------------------------ metrics
@click.command("metrics")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--beta", type=_Threshold(0, 100), default=DEFAULT_BETA, show_default=True,
              help="DHC: confidence threshold (0-100)")
@click.option("--gamma", type=_Threshold(0, 100), default=DEFAULT_GAMMA, show_default=True,
              help="DHS: similarity threshold (0-100)")
@click.option("--by", "by", type=click.Choice(sorted(GROUPINGS)), default="dataset", show_default=True,
              help="group rows by dataset x vendor, or also by source file / campaign")
@click.option("--basis", type=click.Choice(["study", "all"]), default="study", show_default=True,
              help="terminal table: the study's denominators, or shares of all valid probes")
@click.option("--json", "as_json", is_flag=True, help="print all records (both bases) as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="print all records (both bases) as CSV")
def metrics_cmd(results: tuple[Path, ...], beta: float, gamma: float, by: str, basis: str,
                as_json: bool, as_csv: bool) -> None:
    """The study's six metrics per dataset x vendor, with 95% Wilson intervals and error counts."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    table = read_results(list(results))
    keys = _by(by)
    probes = ProbeArrays.from_frame(table, keys)
    records = metrics_from_probes(probes, beta, gamma)
    if as_json:
        out = [{k: _json_value(v) for k, v in rec.items()} for rec in records.to_dict("records")]
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    if as_csv:
        records.to_csv(sys.stdout, index=False)
        return
    from harness.report.metrics_panels import metrics_view

    if records.empty:
        Console().print("no probes in " + ", ".join(str(p) for p in results) + ": nothing to measure")
        return
    Console().print(metrics_view(records, counts_from_probes(probes), basis, keys))


# ------------------------------------------------------------------ sweep
def _fmt_threshold(x: float) -> str:
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
    from harness.report.plots_sweep import plot_sweep
    from harness.sweep import STUDY_VALUES, parse_grid, steepest_changes, sweep_probes

    try:
        thresholds = parse_grid(grid)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grid") from exc
    if thresholds.min() < 0 or thresholds.max() > 100:
        raise click.BadParameter("thresholds must lie on the 0-100 scale", param_hint="--grid")
    table = read_results(list(results))
    keys = _by(by)
    curves = sweep_probes(ProbeArrays.from_frame(table, keys), thresholds)
    csv_path = out_dir / "sweep.csv"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = csv_path.with_name(".sweep.csv.tmp")
        curves.to_csv(tmp, index=False)
        tmp.replace(csv_path)
        pngs = [] if no_plots else plot_sweep(curves, out_dir, keys, basis)
    except OSError as exc:
        raise InputFileError(str(out_dir), f"cannot write the sweep here ({exc.strerror or exc})") from exc

    console = Console()
    if curves.empty:
        console.print(f"no probes in {', '.join(str(p) for p in results)}: wrote an empty {csv_path}")
        return
    steep = steepest_changes(curves, keys, basis)
    at_study = curves[(curves["basis"] == basis)]
    summary = Table(title=f"Where each metric changes fastest (basis: {basis}; grid {thresholds[0]:g}..{thresholds[-1]:g}, "
                          f"{len(thresholds)} points)", title_style="bold",
                    caption="values in %. as studied: value at beta=90, gamma=80, or tau at the grid start (the vendor's own "
                            "threshold); fastest: grid step with the largest change; halved at: first threshold "
                            "where the value is at most half its value at the grid start", caption_style="dim")
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
            *(str(rec[k]) for k in row_keys), VENDOR_TITLES.get(rec["vendor"], rec["vendor"]),
            f"{metric}({parameter})", ref_txt,
            f"{_fmt_threshold(rec['from_threshold'])}->{_fmt_threshold(rec['to_threshold'])}",
            f"{rec['from_value']:.1f}->{rec['to_value']:.1f}", _fmt_threshold(rec["half_at"]),
        )
    console.print(summary)
    console.print(f"wrote {csv_path} ({len(curves)} rows)" + (f" and {len(pngs)} plots" if pngs else ""))
    for p in pngs:
        console.print(f"  {p}")


COMMANDS: list[click.Command] = [import_paper_cmd, metrics_cmd, sweep_cmd]
__all__ = ["COMMANDS"]

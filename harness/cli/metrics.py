"""``dfi metrics``: the study's six metrics from a results table."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from harness.cli.console import stdout_console
from harness.cli.options import GROUPINGS, Threshold
from harness.metrics import DEFAULT_BETA, DEFAULT_GAMMA
from harness.metrics.compute import counts_from_probes, metrics_from_probes
from harness.metrics.files import write_metric_csv
from harness.metrics.probes import ProbeArrays
from harness.results.sources import read_tables


def _json_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


@click.command("metrics")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--beta", type=Threshold(0, 100), default=DEFAULT_BETA, show_default=True,
              help="DHC: confidence threshold (0-100)")
@click.option("--gamma", type=Threshold(0, 100), default=DEFAULT_GAMMA, show_default=True,
              help="DHS: similarity threshold (0-100)")
@click.option("--by", "by", type=click.Choice(sorted(GROUPINGS)), default="dataset", show_default=True,
              help="group rows by dataset x vendor, or also by source file / campaign")
@click.option("--basis", type=click.Choice(["study", "all"]), default="study", show_default=True,
              help="terminal table: the study's denominators, or shares of all valid probes")
@click.option("--zero-similarity", type=click.Choice(["missing", "score"]), default="missing", show_default=True,
              help="the study's files: an Azure similarity of 0 (no face found) is no score, as the study's DHS "
                   "denominator has it, or the score 0")
@click.option("--json", "as_json", is_flag=True, help="print all records (both bases) as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="print all records (both bases) as CSV")
def metrics_cmd(results: tuple[Path, ...], beta: float, gamma: float, by: str, basis: str,
                zero_similarity: str, as_json: bool, as_csv: bool) -> None:
    """The study's six metrics per dataset x vendor, with 95% Wilson intervals and error counts.

    RESULTS are results tables, or the study's recorded files (or their folder), imported on the fly."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    table = read_tables(list(results), "results", zero_similarity=zero_similarity)
    keys = GROUPINGS[by]
    probes = ProbeArrays.from_frame(table, keys)
    records = metrics_from_probes(probes, beta, gamma)
    if as_json:
        out = [{k: _json_value(v) for k, v in rec.items()} for rec in records.to_dict("records")]
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    if as_csv:
        write_metric_csv(records, sys.stdout)  # metric names as file ids (pandas reads "NA" as missing)
        return
    from harness.report.metrics_panels import metrics_view

    if records.empty:
        stdout_console().print("no probes in " + ", ".join(str(p) for p in results) + ": nothing to measure")
        return
    stdout_console().print(metrics_view(records, counts_from_probes(probes), basis, keys))


COMMANDS: list[click.Command] = [metrics_cmd]
__all__ = ["COMMANDS", "metrics_cmd"]

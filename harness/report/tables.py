"""Metrics tables: terminal (rich), CSV and JSON, laid out like the study's figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from harness.metrics import METRICS, compute_metrics, count_probes
from harness.metrics.files import write_metric_csv
from harness.metrics.meta import BASIS_LABELS, denominator_note
from harness.paths import write_atomic
from harness.plotstyle import vendor_display, vendor_order


def metrics_records(results: pd.DataFrame, beta: float = 90.0, gamma: float = 80.0) -> pd.DataFrame:
    return compute_metrics(results, beta=beta, gamma=gamma, by=("dataset", "vendor"))


def _fmt(value: float, num: int, den: int) -> str:
    if den == 0 or value is None or (isinstance(value, float) and math.isnan(value)):
        return "[dim]n/a[/dim]"
    return f"{value:5.1f}% [dim]({num}/{den})[/dim]"


def metrics_table(records: pd.DataFrame, basis: str = "study", title: str | None = None) -> Table:
    """One row per (dataset, metric), one column per vendor; cells 'value% (num/den)'."""
    recs = records[records["basis"] == basis]
    vendors = vendor_order(recs["vendor"])
    t = Table(title=title or f"metrics (basis: {basis}; beta={recs['beta'].iloc[0] if len(recs) else 90:g}, "
                             f"gamma={recs['gamma'].iloc[0] if len(recs) else 80:g})")
    t.add_column("dataset")
    t.add_column("metric")
    for v in vendors:
        t.add_column(vendor_display(v), justify="right")
    index = {(r.dataset, r.metric, r.vendor): r for r in recs.itertuples(index=False)}
    for dataset in sorted(set(recs["dataset"])):
        for m_i, metric in enumerate(METRICS):
            cells = []
            for v in vendors:
                r = index.get((dataset, metric, v))
                cells.append(_fmt(r.value, r.numerator, r.denominator) if r is not None else "")
            t.add_row(dataset if m_i == 0 else "", metric, *cells, end_section=(m_i == len(METRICS) - 1))
    return t


def counts_table(counts: pd.DataFrame) -> Table:
    t = Table(title="probes per dataset x vendor")
    for c in ("dataset", "vendor", "probes", "valid", "errored", "with_similarity"):
        t.add_column(c, justify="left" if c in ("dataset", "vendor") else "right")
    for r in counts.itertuples(index=False):
        t.add_row(r.dataset, vendor_display(r.vendor), str(r.probes), str(r.valid),
                  f"[red]{r.errored}[/red]" if r.errored else "0", str(r.with_similarity))
    return t


def write_metrics(results: pd.DataFrame, out_dir: Path, beta: float = 90.0, gamma: float = 80.0
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """metrics.csv (metric names as file ids, :mod:`harness.metrics.files`), metrics.json (records as
    ``dfi metrics --json``) and counts.csv."""
    records = metrics_records(results, beta, gamma)
    counts = count_probes(results, by=("dataset", "vendor"))
    write_metric_csv(records, out_dir / "metrics.csv")
    payload = json.loads(records.to_json(orient="records"))  # NaN -> null
    write_atomic(out_dir / "metrics.json", json.dumps(payload, indent=1) + "\n")
    write_atomic(out_dir / "counts.csv", counts.to_csv(index=False))
    return records, counts


def print_metrics(console: Console, records: pd.DataFrame, counts: pd.DataFrame) -> None:
    console.print(counts_table(counts))
    console.print(metrics_table(records, "study"))
    console.print(f"[dim]study basis: {denominator_note('study')}. metrics.csv also has the "
                  f"{BASIS_LABELS['all']} (basis 'all'). Errored probes are excluded and counted.[/dim]")

"""Campaign reports: metrics tables (terminal, CSV, JSON), PNG plots, one self-contained HTML file.

``build_report(out_dir, results, ...)`` writes into ``out_dir``:

* ``metrics.csv`` / ``metrics.json`` -- records as ``dfi metrics --json`` prints them;
* ``counts.csv``, ``errors.csv`` -- probes, valid and errored per dataset x vendor; errors by reason;
* ``plots/metrics.png`` (six panels), ``plots/metric_<M>.png``, ``plots/confidence.png``;
* ``report.html`` -- everything above in one file with the images embedded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.metrics import METRICS
from harness.report.html import write_html_report
from harness.report.plots import confidence_histograms, metric_bars, single_metric_bars
from harness.report.tables import print_metrics, write_metrics

__all__ = ["ReportFiles", "build_report", "error_table", "print_metrics"]


@dataclass
class ReportFiles:
    report: Path
    metrics_png: Path
    confidence_png: Path
    records: pd.DataFrame
    counts: pd.DataFrame
    errors: pd.DataFrame


def error_table(results: pd.DataFrame) -> pd.DataFrame:
    """Rows with an error, counted by vendor, call and reason code."""
    parts = []
    for call in ("target", "target2", "fake", "similarity"):
        col = results[f"{call}_error"].fillna("")
        bad = results[col != ""]
        if len(bad):
            parts.append(pd.DataFrame({"vendor": bad["vendor"], "call": call,
                                       "reason": col[col != ""].str.split(":").str[0].str.strip(),
                                       "example": col[col != ""]}))
    if not parts:
        return pd.DataFrame(columns=["vendor", "call", "reason", "rows", "example"])
    allp = pd.concat(parts)
    g = allp.groupby(["vendor", "call", "reason"], sort=True)
    return g.size().rename("rows").reset_index().merge(
        g["example"].first().reset_index(), on=["vendor", "call", "reason"])


def build_report(out_dir: Path, results: pd.DataFrame, *, title: str, facts: list[tuple[str, str]],
                 notice: str | None = None, beta: float = 90.0, gamma: float = 80.0) -> ReportFiles:
    out_dir = Path(out_dir)
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    records, counts = write_metrics(results, out_dir, beta, gamma)
    errors = error_table(results)
    errors.to_csv(out_dir / "errors.csv", index=False)
    metrics_png = metric_bars(records, plots / "metrics.png")
    for m in METRICS:
        single_metric_bars(records, m, plots / f"metric_{m}.png")
    confidence_png = confidence_histograms(results, plots / "confidence.png")
    files = ["results.csv", "metrics.csv", "metrics.json", "counts.csv", "errors.csv", "journal.jsonl",
             "plots/metrics.png", "plots/confidence.png"] + [f"plots/metric_{m}.png" for m in METRICS]
    report = write_html_report(out_dir / "report.html", title=title, notice=notice, facts=facts,
                               records=records, counts=counts, errors=errors,
                               plots=[("Metrics by dataset x vendor", metrics_png),
                                      ("Confidence: genuine vs deepfake", confidence_png)],
                               files=files)
    return ReportFiles(report, metrics_png, confidence_png, records, counts, errors)

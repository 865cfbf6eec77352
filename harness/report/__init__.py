"""Campaign reports: metrics tables (terminal, CSV, JSON), PNG plots, one self-contained HTML file.

``build_report(out_dir, results, ...)`` writes into ``out_dir``:

* ``metrics.csv`` / ``metrics.json`` -- records as ``dfi metrics --json`` prints them;
* ``counts.csv``, ``errors.csv`` -- probes, valid and errored per dataset x vendor; errors by reason;
* ``parameters.json`` -- beta, gamma, tau, profile, backend, dfi version, the inputs' sha256;
* ``plots/metrics.png`` (six panels), ``plots/metric_<M>.png``, ``plots/confidence.png``,
  ``plots/deception_beta_gamma.png`` (DHC(beta) or DHS(gamma) on beta x gamma), each PNG at 200 dpi
  with an SVG beside it;
* ``report.html`` -- everything above in one file with the images embedded, and example probes
  with thumbnails (the deepfakes that fooled each vendor most confidently, genuine photos it missed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.metrics import METRICS
from harness.paths import write_atomic
from harness.report.examples import examples_html
from harness.report.html import write_html_report
from harness.report.parameters import ReportParameters
from harness.report.plots import confidence_histograms, metric_bars, single_metric_bars
from harness.report.tables import print_metrics, write_metrics

HEATMAP_CAPTION = "High-score deception over beta x gamma: DHC(beta) or DHS(gamma)"
HEATMAP_NOTE = ("The share of valid probes on which one of the vendor's two calls gives the attacker a high score: "
                "recognition names someone with confidence above beta, or it names no one and the similarity to "
                "the real target is above gamma. The two cannot both happen, so this is DHC's numerator at beta "
                "plus DHS's at gamma over the valid probes. Vendors without a similarity call are not shown. "
                "The ring marks the study's beta = 90, gamma = 80.")

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


def _deception_heatmap(results: pd.DataFrame, path: Path) -> Path | None:
    from harness.metrics.probes import ProbeArrays
    from harness.report.plots_heatmap import plot_deception_heatmap
    from harness.sweep import DEFAULT_GRID, deception_grid

    grid = deception_grid(ProbeArrays.from_frame(results), DEFAULT_GRID, DEFAULT_GRID)
    return plot_deception_heatmap(grid, path, svg=True)


def build_report(out_dir: Path, results: pd.DataFrame, *, title: str, facts: list[tuple[str, str]],
                 notice: str | None = None, beta: float = 90.0, gamma: float = 80.0,
                 tau: Mapping[str, float] | None = None, profile: str | None = None, backend: str | None = None,
                 inputs: Sequence[Path] = (), image_root: Path | None = None,
                 genuine_images: Mapping[str, str] | None = None, examples_per_vendor: int = 6) -> ReportFiles:
    """Write the files listed in the module docstring.

    ``tau``: vendor -> reporting threshold the vendors answered with; ``profile``, ``backend``: as
    the campaign ran; ``inputs``: files or folders whose sha256 the page shows (``results.csv`` in
    ``out_dir`` is always hashed when it exists). ``image_root``: the folder relative ``deepfake``
    references are under; ``genuine_images``: probe id -> its real target image (the results table
    has no column for it), for the thumbnails of genuine photos a vendor missed.
    """
    out_dir = Path(out_dir)
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    records, counts = write_metrics(results, out_dir, beta, gamma)
    errors = error_table(results)
    write_atomic(out_dir / "errors.csv", errors.to_csv(index=False))
    own_results = out_dir / "results.csv"
    hashed = [*inputs] + ([own_results] if own_results.is_file() and own_results not in inputs else [])
    parameters = ReportParameters.collect(beta=beta, gamma=gamma, tau=tau, profile=profile, backend=backend,
                                          inputs=hashed)
    parameters.write_json(out_dir / "parameters.json")
    metrics_png = metric_bars(records, plots / "metrics.png", svg=True)
    for m in METRICS:
        single_metric_bars(records, m, plots / f"metric_{m}.png", svg=True)
    confidence_png = confidence_histograms(results, plots / "confidence.png", svg=True)
    heatmap_png = _deception_heatmap(results, plots / "deception_beta_gamma.png")
    figures = ["plots/metrics.png", "plots/confidence.png",
               *(["plots/deception_beta_gamma.png"] if heatmap_png else []),
               *[f"plots/metric_{m}.png" for m in METRICS]]
    files = ["results.csv", "metrics.csv", "metrics.json", "counts.csv", "errors.csv", "parameters.json",
             "journal.jsonl", *[f for png in figures for f in (png, png.removesuffix(".png") + ".svg")]]
    shown = [("Metrics by dataset x vendor", metrics_png), ("Confidence: genuine vs deepfake", confidence_png)]
    if heatmap_png:
        shown.append((HEATMAP_CAPTION, heatmap_png))
    examples = examples_html(results, image_root=image_root, genuine_images=genuine_images,
                             per_vendor=examples_per_vendor)
    report = write_html_report(out_dir / "report.html", title=title, notice=notice, facts=facts,
                               records=records, counts=counts, errors=errors, plots=shown, files=files,
                               parameters=parameters, examples=examples, notes={HEATMAP_CAPTION: HEATMAP_NOTE})
    return ReportFiles(report, metrics_png, confidence_png, records, counts, errors)

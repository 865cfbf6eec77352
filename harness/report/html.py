"""One self-contained HTML report (images embedded as data URIs) that a person can open and read.

Every metric cell gives the value, its 95% Wilson interval and numerator/denominator; the
parameters block (thresholds, profile, backend, dfi version, the inputs' sha256) heads the page;
each figure links its PNG and SVG files, and the file list links the files beside the report.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from harness.metrics.meta import BASIS_LABELS, METRIC_META, METRICS, undefined_without_similarity
from harness.paths import write_atomic
from harness.plotstyle import known_vendors, svg_path, vendor_display, vendor_order
from harness.report.parameters import ReportParameters

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.na{color:#999}.err{color:#b00}
.notice{background:#fff4d6;border:1px solid #e0b030;padding:.8em 1em;border-radius:4px}
img{max-width:100%;border:1px solid #eee}small{color:#666}
.ci{color:#555;font-size:.85em;white-space:nowrap}td.thumb{text-align:center;width:120px}
td.thumb img{max-width:112px;max-height:112px;border:0}table.params td{font-family:ui-monospace,monospace}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _relative(path: Path, folder: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def _figure(caption: str, path: Path, folder: Path, note: str = "") -> str:
    """The embedded PNG, and links to the PNG and the SVG beside it when they lie under ``folder``."""
    links = []
    for file in (path, svg_path(path)):
        rel = _relative(file, folder) if file.is_file() else None
        if rel is not None:
            links.append(f'<a href="{html.escape(rel)}">{file.suffix[1:].upper()}</a>')
    files = f" <small>({' / '.join(links)})</small>" if links else ""
    about = f"<p><small>{html.escape(note)}</small></p>" if note else ""
    return (f"<h2>{html.escape(caption)}</h2>{about}<figure>{_img(path)}"
            f"<figcaption>{html.escape(path.name)}{files}</figcaption></figure>")


def _cell(value: float, num: int, den: int, low: float, high: float) -> str:
    if den == 0 or value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="na">n/a</td>'
    return (f'<td>{value:.1f}% <span class="ci">[{low:.1f}&ndash;{high:.1f}]</span>'
            f"<br><small>{num}/{den}</small></td>")


def _metrics_html(records: pd.DataFrame, basis: str) -> str:
    recs = records[records["basis"] == basis]
    vendors = [v for v in vendor_order(recs["vendor"]) if v in known_vendors()]
    index = {(r.dataset, r.metric, r.vendor): r for r in recs.itertuples(index=False)}
    out = ['<table><tr><th class="l">dataset</th><th class="l">metric</th>'
           + "".join(f"<th>{html.escape(vendor_display(v))}</th>" for v in vendors) + "</tr>"]
    for dataset in sorted(set(recs["dataset"])):
        for i, m in enumerate(METRICS):
            cells = "".join(_cell(r.value, r.numerator, r.denominator, r.ci_low, r.ci_high)
                            if (r := index.get((dataset, m, v)))
                            else "<td></td>" for v in vendors)
            label = html.escape(METRIC_META[m].label)
            out.append(f'<tr><td class="l">{html.escape(dataset) if i == 0 else ""}</td>'
                       f'<td class="l"><abbr title="{label}">{m}</abbr></td>{cells}</tr>')
    out.append("</table>")
    return "\n".join(out)


def _frame_html(df: pd.DataFrame) -> str:
    head = "".join(f'<th class="l">{html.escape(str(c))}</th>' for c in df.columns)
    rows = "".join("<tr>" + "".join(f'<td class="l">{html.escape(str(v))}</td>' for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return f"<table><tr>{head}</tr>{rows}</table>"


def _pairs(rows: Sequence[tuple[str, str]], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return (f"<table{cls}>" + "".join(f'<tr><th class="l">{html.escape(k)}</th><td class="l">{html.escape(v)}</td></tr>'
                                      for k, v in rows) + "</table>")


def _parameters_html(parameters: ReportParameters) -> str:
    inputs = "".join(f'<tr><td class="l">{html.escape(i.path)}</td><td class="l">{i.sha256}</td><td>{i.size}</td></tr>'
                     for i in parameters.inputs)
    table = (f'<table class="params"><tr><th class="l">input</th><th class="l">sha256</th><th>bytes</th></tr>{inputs}'
             "</table>") if inputs else "<p>No input files were given to the report.</p>"
    return f"<h2>Parameters</h2>{_pairs(parameters.rows(), 'params')}{table}"


def _files_html(files: Sequence[str], folder: Path) -> str:
    items = []
    for name in files:
        target = folder / name
        if target.is_file():
            items.append(f'<li><a href="{html.escape(name)}"><code>{html.escape(name)}</code></a> '
                         f"<small>({target.stat().st_size:,} bytes)</small></li>")
        else:
            items.append(f"<li><code>{html.escape(name)}</code></li>")
    return "<h2>Files</h2><p><small>beside this report, in its folder</small></p><ul>" + "".join(items) + "</ul>"


def write_html_report(path: Path, *, title: str, notice: str | None, facts: list[tuple[str, str]],
                      records: pd.DataFrame, counts: pd.DataFrame, errors: pd.DataFrame,
                      plots: list[tuple[str, Path]], files: list[str], parameters: ReportParameters | None = None,
                      examples: str = "", notes: Mapping[str, str] | None = None) -> Path:
    """``parameters`` default: beta and gamma of the records, nothing else known; ``examples``: the
    body of the "Example probes" section (:func:`harness.report.examples.examples_html`), none when
    empty; ``notes``: figure caption -> a sentence shown above that figure."""
    folder = Path(path).parent
    if parameters is None:
        beta = float(records["beta"].iloc[0]) if len(records) else 90.0
        gamma = float(records["gamma"].iloc[0]) if len(records) else 80.0
        parameters = ReportParameters(beta=beta, gamma=gamma)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if notice:
        parts.append(f'<p class="notice">{notice}</p>')
    parts.append(_pairs(facts))
    parts.append(_parameters_html(parameters))
    parts.append(f"<h2>Metrics ({BASIS_LABELS['study']})</h2>")
    shares = "; ".join(f"{m.key} ({html.escape(m.label)}): share of {html.escape(m.study_denominator)}"
                       for m in METRIC_META.values())
    undefined = ", ".join(undefined_without_similarity())
    parts.append(f"<p><small>{shares}. In percent, [95% Wilson interval], numerator/denominator. "
                 f"n/a = undefined (e.g. {undefined} "
                 "for a vendor without a similarity call). Errored probes are excluded from every denominator and "
                 "listed below.</small></p>")
    parts.append(_metrics_html(records, "study"))
    parts.append(f"<h2>Metrics ({BASIS_LABELS['all']})</h2>")
    parts.append(_metrics_html(records, "all"))
    for caption, p in plots:
        parts.append(_figure(caption, p, folder, (notes or {}).get(caption, "")))
    if examples:
        parts.append(f"<h2>Example probes</h2>{examples}")
    parts.append("<h2>Probes and errors</h2>")
    parts.append(_frame_html(counts))
    if len(errors):
        parts.append("<p>Errors by vendor, call and reason (an error is never counted as “no celebrity”):</p>")
        parts.append(_frame_html(errors))
    else:
        parts.append("<p>No errors.</p>")
    parts.append(_files_html(files, folder))
    parts.append(f"<p><small>written by dfi {html.escape(parameters.version)}, {parameters.written}</small></p>"
                 "</body></html>")
    write_atomic(path, "\n".join(parts))  # a full disk leaves no truncated page
    return path

"""One self-contained HTML report (images embedded as data URIs) that a person can open and read."""

from __future__ import annotations

import base64
import html
import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from harness.metrics.meta import BASIS_LABELS, METRIC_META, METRICS, undefined_without_similarity
from harness.plotstyle import known_vendors, vendor_display, vendor_order

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.na{color:#999}.err{color:#b00}
.notice{background:#fff4d6;border:1px solid #e0b030;padding:.8em 1em;border-radius:4px}
img{max-width:100%;border:1px solid #eee}small{color:#666}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _cell(value: float, num: int, den: int) -> str:
    if den == 0 or value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="na">n/a</td>'
    return f"<td>{value:.1f}% <small>({num}/{den})</small></td>"


def _metrics_html(records: pd.DataFrame, basis: str) -> str:
    recs = records[records["basis"] == basis]
    vendors = [v for v in vendor_order(recs["vendor"]) if v in known_vendors()]
    index = {(r.dataset, r.metric, r.vendor): r for r in recs.itertuples(index=False)}
    out = ['<table><tr><th class="l">dataset</th><th class="l">metric</th>'
           + "".join(f"<th>{html.escape(vendor_display(v))}</th>" for v in vendors) + "</tr>"]
    for dataset in sorted(set(recs["dataset"])):
        for i, m in enumerate(METRICS):
            cells = "".join(_cell(r.value, r.numerator, r.denominator) if (r := index.get((dataset, m, v)))
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


def write_html_report(path: Path, *, title: str, notice: str | None, facts: list[tuple[str, str]],
                      records: pd.DataFrame, counts: pd.DataFrame, errors: pd.DataFrame,
                      plots: list[tuple[str, Path]], files: list[str]) -> Path:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if notice:
        parts.append(f'<p class="notice">{notice}</p>')
    parts.append("<table>" + "".join(f'<tr><th class="l">{html.escape(k)}</th><td class="l">{html.escape(v)}</td></tr>'
                                     for k, v in facts) + "</table>")
    parts.append(f"<h2>Metrics ({BASIS_LABELS['study']})</h2>")
    shares = "; ".join(f"{m.key} ({html.escape(m.label)}): share of {html.escape(m.study_denominator)}"
                       for m in METRIC_META.values())
    undefined = ", ".join(undefined_without_similarity())
    parts.append(f"<p><small>{shares}. In percent, with numerator/denominator. n/a = undefined (e.g. {undefined} "
                 "for a vendor without a similarity call). Errored probes are excluded from every denominator and "
                 "listed below.</small></p>")
    parts.append(_metrics_html(records, "study"))
    parts.append(f"<h2>Metrics ({BASIS_LABELS['all']})</h2>")
    parts.append(_metrics_html(records, "all"))
    for caption, p in plots:
        parts.append(f"<h2>{html.escape(caption)}</h2>{_img(p)}")
    parts.append("<h2>Probes and errors</h2>")
    parts.append(_frame_html(counts))
    if len(errors):
        parts.append("<p>Errors by vendor, call and reason (an error is never counted as “no celebrity”):</p>")
        parts.append(_frame_html(errors))
    else:
        parts.append("<p>No errors.</p>")
    parts.append("<h2>Files</h2><ul>" + "".join(f"<li><code>{html.escape(f)}</code></li>" for f in files) + "</ul>")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<p><small>written by dfi, {stamp}</small></p></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

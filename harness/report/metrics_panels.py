"""Terminal rendering (rich) of metric records laid out like the study's figure.

One panel per metric; in each panel the rows are datasets (or dataset / source), the columns
vendors, and a cell shows ``value% [95% CI]`` and ``numerator/denominator``. A last panel gives
the probe counts and errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from rich.columns import Columns
from rich.console import Group
from rich.table import Table
from rich.text import Text

from harness.metrics.meta import METRICS, metric_meta
from harness.plotstyle import vendor_display, vendor_order


def _vendors(frame: pd.DataFrame) -> list[str]:
    return vendor_order(frame["vendor"])


def _row_label(keys: dict[str, object]) -> str:
    return " / ".join(str(v) for k, v in keys.items() if k != "vendor")


def _cell(rec: dict | None) -> Text:
    if rec is None:
        return Text("")
    if rec["denominator"] == 0 or rec["value"] is None or math.isnan(rec["value"]):
        return Text("undefined", style="dim") + Text("\n0 in denominator", style="dim")
    text = Text(f"{rec['value']:5.1f}%", style="bold")
    text.append(f" [{rec['ci_low']:.1f}-{rec['ci_high']:.1f}]", style="dim")
    text.append(f"\n{rec['numerator']}/{rec['denominator']}", style="dim")
    return text


def metric_panel(records: pd.DataFrame, metric: str, basis: str = "study",
                 by: Sequence[str] = ("dataset", "vendor")) -> Table:
    recs = records[(records["metric"] == metric) & (records["basis"] == basis)]
    row_keys = [k for k in by if k != "vendor"]
    meta = metric_meta(metric)
    table = Table(title=meta.title, caption=meta.unit(basis),
                  title_style="bold", caption_style="dim", show_lines=True)
    table.add_column(" / ".join(row_keys) or "all")
    vendors = _vendors(recs) if len(recs) else []
    for v in vendors:
        table.add_column(vendor_display(v), justify="right")
    cells: dict[tuple, dict[str, dict]] = {}
    for rec in recs.to_dict("records"):
        cells.setdefault(tuple(rec[k] for k in row_keys), {})[rec["vendor"]] = rec
    for key, by_vendor in cells.items():
        table.add_row(_row_label(dict(zip(row_keys, key))), *(_cell(by_vendor.get(v)) for v in vendors))
    return table


def counts_panel(counts: pd.DataFrame, by: Sequence[str] = ("dataset", "vendor")) -> Table:
    row_keys = [k for k in by if k != "vendor"]
    table = Table(title="Probes and errors", title_style="bold", show_lines=False,
                  caption="errored probes (a failed deepfake or real-image call) are left out of every denominator",
                  caption_style="dim")
    for name in [*row_keys, "vendor", "probes", "valid", "errored", "similarity errors", "with similarity"]:
        table.add_column(name, justify="left" if name in (*row_keys, "vendor") else "right")
    for rec in counts.to_dict("records"):
        table.add_row(
            *(str(rec[k]) for k in row_keys), vendor_display(rec["vendor"]),
            str(rec["probes"]), str(rec["valid"]),
            Text(str(rec["errored"]), style="red" if rec["errored"] else ""),
            str(rec["similarity_errors"]), str(rec["with_similarity"]),
        )
    return table


def metrics_view(records: pd.DataFrame, counts: pd.DataFrame, basis: str = "study",
                 by: Sequence[str] = ("dataset", "vendor")) -> Group:
    """All six metric panels (side by side where the terminal is wide enough) and the counts."""
    panels = [metric_panel(records, m, basis, by) for m in METRICS]
    beta = records["beta"].iloc[0] if len(records) else 90.0
    gamma = records["gamma"].iloc[0] if len(records) else 80.0
    header = Text(f"basis: {basis}  beta = {beta:g}  gamma = {gamma:g}  "
                  "cells: value [95% Wilson CI], numerator/denominator", style="bold")
    return Group(header, Columns(panels, equal=False, expand=False), counts_panel(counts, by))

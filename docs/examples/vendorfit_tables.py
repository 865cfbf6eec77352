"""Tables for docs/vendor-model.md from what `dfi vendorfit fit` and `dfi vendorfit validate` wrote.

    python docs/examples/vendorfit_tables.py provenance MODELS_DIR
        which parameters each fitted model takes from records, published aggregates or assumptions
    python docs/examples/vendorfit_tables.py before-after BEFORE_DIR AFTER_DIR
        goal counts and the SIC/DHF/TA predictions of two validation runs (independent vs dependent draws)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from harness.metrics.files import read_metric_csv
from harness.report.study import md_table, num
from harness.report.vendorfit import provenance_md
from harness.vendorfit.build import load_models


def provenance(models_dir: Path) -> str:
    models = {}
    for vendor in ("aws", "ms", "nav"):
        models.update(load_models(models_dir / f"{vendor}.yaml"))
    return provenance_md(models)


def before_after(before: Path, after: Path) -> str:
    cells = {k: pd.read_csv(d / "distances.csv") for k, d in (("before", before), ("after", after))}
    lines = [f"cells meeting the goal: {int(cells['before']['goal'].sum())} of {len(cells['before'])} with "
             f"independent draws, {int(cells['after']['goal'].sum())} of {len(cells['after'])} with the spread "
             "and the copula", ""]
    pred = {k: read_metric_csv(d / "predictions.csv").query("basis == 'study'") for k, d in
            (("before", before), ("after", after))}
    merged = pred["before"].merge(pred["after"], on=["dataset", "vendor", "metric"], suffixes=("_b", "_a"))
    merged = merged[merged["metric"].isin(["TA", "DHF", "SIC"])]
    rows = [(r.dataset, r.vendor.upper(), r.metric, num(r.recorded_b), num(r.model_b), num(r.model_a),
             f"{abs(r.model_b - r.recorded_b):.1f} -> {abs(r.model_a - r.recorded_b):.1f}")
            for r in merged.itertuples()]
    lines.append(md_table(["dataset", "vendor", "metric", "recorded B", "model, independent", "model, dependent",
                           "|model - recorded|"], rows, right=[False, False, False, True, True, True, True]))
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "provenance":
        print(provenance(Path(sys.argv[2])))
    else:
        print(before_after(Path(sys.argv[2]), Path(sys.argv[3])))

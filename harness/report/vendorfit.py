"""Tables and figures of the fitted vendor model (:mod:`harness.vendorfit`): the fit's summary, the
held-out distances and predicted metrics as Markdown, and one ECDF figure per recorded cell.

The figures are :func:`harness.compare.plots.ecdf_overlay` (the project's one recorded-vs-mock ECDF
figure): "recorded" is half B's answers, "mock" the model's draws for half B's probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from harness.compare.distributions import GroupComparison, distance
from harness.compare.plots import ecdf_overlay
from harness.metrics.meta import METRICS
from harness.plotstyle import vendor_display, vendor_order
from harness.report.study import md_table, num
from harness.study.data import dataset_order
from harness.vendorfit.dependence import Dependence
from harness.vendorfit.validate import Validation, cells_view, population_of
from mockvendors.fitted.model import AGGREGATES, ASSUMED, POOLED, RECORDS, VendorModel

SUMMARY_COLUMNS: tuple[str, ...] = (
    "vendor", "dataset", "genuine_rate", "deepfake_rate", "target", "reference", "other", "coverage",
    "rate_spread", "copula_rho", "from_records", "from_aggregates", "assumed",
)
ORIGIN_COLUMNS = {RECORDS: "from_records", AGGREGATES: "from_aggregates", ASSUMED: "assumed"}


def model_summary(models: Mapping[str, VendorModel],
                  dependence: Mapping[str, Mapping[str, Dependence]] | None = None) -> pd.DataFrame:
    """Per vendor x dataset: answer rates (%), the named deepfakes' outcome split where the target is
    known (%), coverage share (%), rate spread (rho, known targets) and copula correlation (where
    used), and how many parameters come from records, published aggregates or assumptions."""
    rows = []
    for vendor in vendor_order(models):
        model = models[vendor]
        for name in dataset_order(model.datasets):
            dm = model.datasets[name]
            split = dm.deepfake.split_for("known")
            dep = (dependence or {}).get(vendor, {}).get(name)
            spread = dep.spread.get("known") if dep is not None else None
            copula = dep.copula if dep is not None else None
            origins = {c: 0 for c in ORIGIN_COLUMNS.values()}
            for origin in dm.provenance.values():
                origins[ORIGIN_COLUMNS[origin]] += 1
            if dep is not None:   # the two dependence parameters
                origins[ORIGIN_COLUMNS.get(dep.origin, "assumed")] += int(spread is not None) + int(copula is not None)
            rows.append({
                "vendor": vendor, "dataset": name, "genuine_rate": 100 * dm.genuine.answer_rate.p,
                "deepfake_rate": 100 * dm.deepfake.answer_rate.p, "target": 100 * split.share("target"),
                "reference": 100 * split.share("reference"), "other": 100 * split.share("other"),
                "coverage": 100 * dm.coverage.share.p,
                "rate_spread": float("nan") if spread is None else spread.rho,
                "copula_rho": float("nan") if copula is None else copula.used_rho, **origins,
            })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`model_summary` as display strings."""
    return pd.DataFrame({
        "vendor": summary["vendor"].map(vendor_display), "dataset": summary["dataset"],
        "genuine %": summary["genuine_rate"].map(lambda v: num(v)),
        "deepfake %": summary["deepfake_rate"].map(lambda v: num(v)),
        "target/ref/other %": [f"{num(t, 0)}/{num(r, 0)}/{num(o, 0)}" for t, r, o in
                               zip(summary["target"], summary["reference"], summary["other"])],
        "coverage %": summary["coverage"].map(lambda v: num(v)),
        "spread rho": summary["rate_spread"].map(lambda v: num(v, 2)),
        "copula rho": summary["copula_rho"].map(lambda v: num(v, 2)),
        "records/aggregates/assumed": [f"{a}/{b}/{c}" for a, b, c in
                                       zip(summary["from_records"], summary["from_aggregates"], summary["assumed"])],
    })


def provenance_md(models: Mapping[str, VendorModel]) -> str:
    """Per vendor x dataset, the parameters fitted to published aggregates and those assumed (by path)."""
    rows = []
    for vendor in vendor_order(models):
        model = models[vendor]
        for name in [*dataset_order(model.datasets), POOLED]:
            dm = model.dataset(name)
            by = {o: sorted(p for p, v in dm.provenance.items() if v == o) for o in (AGGREGATES, ASSUMED)}
            records = sum(v == RECORDS for v in dm.provenance.values())
            rows.append((vendor_display(vendor), name, str(records), ", ".join(by[AGGREGATES]) or "–",
                         ", ".join(by[ASSUMED]) or "–"))
    return md_table(["vendor", "dataset", "from records", "from published aggregates", "assumed"], rows,
                    right=[False, False, True, False, False])


def distances_md(cells: pd.DataFrame) -> str:
    """The held-out distance table (:func:`harness.vendorfit.validate.cells_view`) as a pipe table."""
    view = cells_view(cells)
    view["vendor"] = view["vendor"].map(vendor_display)
    return md_table(list(view.columns), view.itertuples(index=False),
                    right=[c not in ("dataset", "vendor", "population", "family", "goal") for c in view.columns])


def predictions_md(metrics: pd.DataFrame, basis: str = "study") -> str:
    """The six metrics of half B as recorded (95% Wilson interval) beside the model's prediction
    (mean and 2.5-97.5 percentiles over the replicas), in %."""
    m = metrics[metrics["basis"] == basis]
    rows = []
    for (dataset, vendor), g in m.groupby(["dataset", "vendor"], sort=False):
        by = g.set_index("metric")
        for metric in METRICS:
            if metric not in by.index:
                continue
            r = by.loc[metric]
            rows.append((dataset, vendor_display(str(vendor)), metric,
                         f"{num(r['recorded'])} [{num(r['recorded_ci_low'])}, {num(r['recorded_ci_high'])}]",
                         f"{num(r['model'])} [{num(r['model_low'])}, {num(r['model_high'])}]",
                         "–" if pd.isna(r["difference"]) else f"{float(r['difference']):+.1f}"))
    return md_table(["dataset", "vendor", "metric", "recorded B [95%]", "model [2.5-97.5%]", "model - recorded"],
                    rows, right=[False, False, False, True, True, True])


def ecdf_figures(validation: Validation, plots_dir: Path) -> list[Path]:
    """``plots_dir/ecdf_<dataset>_<vendor>.png`` per recorded cell: half B against the model's draws."""
    out = []
    for (dataset, vendor), held in validation.held_out.items():
        draws = validation.draws[(dataset, vendor)]
        samples = {p: (population_of(held, p), population_of(draws, p)) for p in ("genuine", "deepfake")}
        group = GroupComparison(dataset, vendor, [distance(p, *samples[p]) for p in samples], samples)
        out.append(ecdf_overlay(group, Path(plots_dir) / f"ecdf_{dataset}_{vendor}.png"))
    return out

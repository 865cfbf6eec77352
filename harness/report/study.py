"""Markdown for the study reproduction: one function per table family, and the page that holds them all.

Every table is a plain GitHub-flavoured Markdown pipe table (a ``|`` inside a name is escaped);
every section repeats the definitions it depends on, so a table copied out of the page still says
how it was computed. Numbers: rates as ``value [ci_low, ci_high] numerator/denominator`` with one
decimal; the per-celebrity table rounded to integers, as the study printed it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.metrics.meta import BASIS_LABELS, METRICS, metric_meta
from harness.plotstyle import vendor_display, vendor_order
from harness.study.data import ALL_DATASETS, SourceFile, dataset_order
from harness.study.definitions import StudyDefinitions
from harness.study.grid import study_order

DASH = "–"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[bool] | None = None) -> str:
    """A pipe table; ``right[i]`` right-aligns column i (default: every column but the first)."""
    right = list(right) if right is not None else [i > 0 for i in range(len(headers))]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if r else ":---" for r in right) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def num(value: Any, digits: int = 1) -> str:
    return DASH if _missing(value) else f"{float(value):.{digits}f}"


def rate(value: Any, low: Any, high: Any, numerator: Any, denominator: Any) -> str:
    if _missing(value):
        return f"{DASH} ({int(numerator)}/{int(denominator)})"
    return f"{float(value):.1f} [{float(low):.1f}, {float(high):.1f}] {int(numerator)}/{int(denominator)}"


def group_label(dataset: str, subset: str = "") -> str:
    return f"{dataset} ({subset})" if subset else dataset


def definitions_md(definitions: StudyDefinitions) -> str:
    rows = [(f"`{name}`", value, meaning) for name, value, meaning in definitions.described()]
    return md_table(["definition", "value", "meaning"], rows, right=[False, False, False])


def sources_md(sources: Sequence[SourceFile], duplicates: dict[str, tuple[int, str]]) -> str:
    rows = []
    for s in sources:
        dropped = duplicates.get(s.source)
        note = f"{dropped[0]} rows also in {dropped[1]}: counted once, from there" if dropped else ""
        rows.append((s.source, s.dataset, vendor_display(s.vendor), s.rows, s.kept, note))
    return md_table(["file", "dataset", "vendor", "rows", "counted", "note"], rows,
                    right=[False, False, False, True, True, False])


def per_celebrity_md(table: pd.DataFrame, dataset: str) -> str:
    """The study's appendix layout for one dataset: a row per celebrity, Reference / Target / Similarity
    per vendor, integers."""
    rows = table[table["dataset"] == dataset]
    vendors = vendor_order(rows["vendor"])
    names = [c for c in dict.fromkeys(rows["celebrity"]) if c != "Average"] + ["Average"]
    by_key = {(r.vendor, r.celebrity): r for r in rows.itertuples(index=False)}
    headers = ["Celebrity"]
    for v in vendors:
        headers += [f"{vendor_display(v)} Reference", f"{vendor_display(v)} Target", f"{vendor_display(v)} Similarity",
                    f"{vendor_display(v)} n"]
    out = []
    for name in names:
        row: list[Any] = [f"**{name}**" if name == "Average" else name]
        for v in vendors:
            r = by_key.get((v, name))
            if r is None:
                row += [DASH] * 4
            else:
                row += [num(r.reference_conf, 0), num(r.target_conf, 0), num(r.similarity, 0), int(r.n_probes)]
        out.append(row)
    return md_table(headers, out)


def grid_md(grid: pd.DataFrame, basis: str) -> str:
    recs = grid[grid["basis"] == basis]
    out = []
    for (dataset, subset, vendor), g in recs.groupby(["dataset", "subset", "vendor"], sort=False):
        cells = {r.metric: rate(r.value, r.ci_low, r.ci_high, r.numerator, r.denominator)
                 for r in g.itertuples(index=False)}
        first = g.iloc[0]
        out.append([group_label(str(dataset), str(subset)), vendor_display(str(vendor)),
                    *[cells.get(m, DASH) for m in METRICS], int(first["probes"]), int(first["errored"])])
    return md_table(["dataset", "vendor", *METRICS, "probes", "errored"], out,
                    right=[False, False, *[True] * len(METRICS), True, True])


def metric_legend(basis: str) -> str:
    lines = [f"- **{m.key}** ({m.label}): {m.description}; % of {m.denominator(basis)}."
             for m in (metric_meta(k) for k in METRICS)]
    return "\n".join(lines)


def outcomes_md(split: pd.DataFrame) -> str:
    out = []
    for r in split.itertuples(index=False):
        na = int(r.na)
        ref = (rate(r.reference_share, r.reference_ci_low, r.reference_ci_high, r.reference, na)
               if r.reference_recorded else "not recorded")
        out.append([str(r.dataset), vendor_display(str(r.vendor)), na,
                    rate(r.target_share, r.target_ci_low, r.target_ci_high, r.target, na), ref,
                    rate(r.other_share, r.other_ci_low, r.other_ci_high, r.other, na)])
    return md_table(["dataset", "vendor", "NA", "as the target", "as the reference", "as someone else"], out,
                    right=[False, False, True, True, True, True])


def identities_md(names: pd.DataFrame, top: int) -> str:
    """Per dataset x vendor: the ``top`` names given to deepfakes and to real images."""
    parts = []
    for (dataset, vendor), g in _groups(names):
        rows = []
        for images in ("deepfake", "real"):
            sub = g[(g["images"] == images) & (g["rank"] <= top)].sort_values("rank")
            for r in sub.itertuples(index=False):
                rows.append([images, int(r.rank), r.name, int(r.count), num(r.share),
                             "yes" if r.in_dataset else "**no**"])
        if rows:
            parts.append(f"#### {dataset}, {vendor_display(vendor)}\n\n"
                         + md_table(["images", "rank", "name", "count", "% of named", "in dataset"], rows,
                                    right=[False, True, False, True, True, False]))
    return "\n\n".join(parts)


def _groups(frame: pd.DataFrame) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """(dataset, vendor) groups in the study's order (rows inside each group keep theirs)."""
    ordered = study_order(frame, ["dataset", "vendor"])
    return [((str(d), str(v)), g) for (d, v), g in ordered.groupby(["dataset", "vendor"], sort=False)]


def confidence_md(stats: pd.DataFrame) -> str:
    out = []
    for (dataset, vendor), g in _groups(stats):
        for r in g.itertuples(index=False):
            out.append([dataset, vendor_display(vendor), r.images, int(r.n), num(r.mean), num(r.median), num(r.q1),
                        num(r.q3), num(r.min), num(r.max)])
    return md_table(["dataset", "vendor", "images", "named", "mean", "median", "q1", "q3", "min", "max"], out,
                    right=[False, False, False, *[True] * 7])


def attributes_md(records: pd.DataFrame, basis: str = "study") -> str:
    recs = records[records["basis"] == basis]
    parts = []
    for attribute, a in recs.groupby("attribute", sort=True):
        rows = []
        for (group, dataset, vendor), g in a.groupby(["group", "dataset", "vendor"], sort=False):
            cells = {r.metric: rate(r.value, r.ci_low, r.ci_high, r.numerator, r.denominator)
                     for r in g.itertuples(index=False)}
            rows.append([group, dataset, vendor_display(str(vendor)), int(g["celebrities"].iloc[0]),
                         *[cells.get(m, DASH) for m in METRICS]])
        parts.append(f"#### by {attribute}\n\n" + md_table(
            [str(attribute), "dataset", "vendor", "celebrities", *METRICS], rows,
            right=[False, False, False, True, *[True] * len(METRICS)]))
    return "\n\n".join(parts)


def frames_md(records: pd.DataFrame, metrics: Sequence[str] = METRICS, basis: str = "study") -> str:
    """Rows by dataset, vendor, file (pooled first) and k, so k can be read down a column. A file's own rows
    are shown only where its dataset x vendor pools several files; a group without any window at some k is
    listed under the table instead of as a row of dashes."""
    recs = records[records["basis"] == basis]
    files = recs[recs["source"] != ""].groupby(["dataset", "vendor"])["source"].nunique()
    several = np.array([files.get((d, v), 0) > 1 for d, v in zip(recs["dataset"], recs["vendor"])], dtype=bool)
    keep = recs["source"].eq("").to_numpy() | several
    recs = recs[keep]
    datasets = {d: i for i, d in enumerate(dataset_order(recs["dataset"]))}
    vendors = {v: i for i, v in enumerate(vendor_order(recs["vendor"]))}
    keys = sorted({(str(d), str(v), str(s), int(k)) for d, v, s, k in
                   zip(recs["dataset"], recs["vendor"], recs["source"], recs["k"])},
                  key=lambda t: (datasets[t[0]], vendors[t[1]], t[2] != "", t[2], t[3]))
    out, empty = [], []
    for dataset, vendor, source, k in keys:
        g = recs[(recs["dataset"] == dataset) & (recs["vendor"] == vendor) & (recs["source"] == source)
                 & (recs["k"] == k)]
        first = g.iloc[0]
        label = group_label(dataset, source)
        if int(first["windows"]) == 0:
            empty.append(f"{label} {vendor_display(vendor)} k={k}")
            continue
        cells = {r.metric: rate(r.value, r.ci_low, r.ci_high, r.numerator, r.denominator)
                 for r in g.itertuples(index=False)}
        out.append([label, vendor_display(vendor), k, int(first["windows"]), int(first["videos"]),
                    int(first["frames_dropped"]), *[cells.get(m, DASH) for m in metrics]])
    table = md_table(["dataset", "vendor", "k", "windows", "videos", "frames left over", *metrics], out,
                     right=[False, False, True, True, True, True, *[True] * len(metrics)])
    if empty:
        table += "\n\nNo window of k frames (no video has that many frames): " + "; ".join(empty) + "."
    return table


def coverage_md(coverage: pd.DataFrame) -> str:
    out = []
    for r in coverage.itertuples(index=False):
        out.append([r.source, r.dataset, vendor_display(str(r.vendor)), "yes" if r.identifies_frames else "no",
                    int(r.videos) if r.identifies_frames else DASH, r.note])
    return md_table(["file", "dataset", "vendor", "video and frame", "videos", "how"], out,
                    right=[False, False, False, False, True, False])


def basis_title(basis: str) -> str:
    return BASIS_LABELS[basis]


__all__ = [
    "ALL_DATASETS", "attributes_md", "basis_title", "confidence_md", "coverage_md", "definitions_md", "frames_md",
    "grid_md", "group_label", "identities_md", "md_table", "metric_legend", "num", "outcomes_md", "per_celebrity_md",
    "rate", "sources_md",
]

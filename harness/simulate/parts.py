"""A streamed simulation's results file read a part (a dataset, a vendor) at a time, and the part-wise
tables put back together in the order the whole table's would have."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from harness.metrics.compute import rate_table
from harness.results.io import validate_results


def read_part(path: Path, column: str, value: str) -> pd.DataFrame:
    """The rows of ``path`` (a streamed results file) whose ``column`` is ``value``, validated."""
    table = pq.read_table(path, filters=[(column, "==", value)])
    return validate_results(table.to_pandas(), f"{path} ({column} {value})")


def interleave(parts: Sequence[pd.DataFrame], block: Sequence[str]) -> pd.DataFrame:
    """Tables of the same layout, each ordered block by block (e.g. one block per policy, or per
    sweep curve), stacked block-major: every part's first block, then every part's second, and so on."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return parts[0] if parts else pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    keys = pd.MultiIndex.from_frame(out[list(block)].astype(object))
    first_seen = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    rank = np.fromiter((first_seen[k] for k in keys), dtype=np.int64, count=len(keys))
    part = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    order = np.lexsort((np.arange(len(out)), part, rank))
    return out.iloc[order].reset_index(drop=True)


def pooled(parts: Sequence[pd.DataFrame], keys: Sequence[str]) -> pd.DataFrame:
    """Rate tables (``numerator``, ``denominator``, ``value``, ``ci_low``, ``ci_high``) of disjoint
    parts summed per ``keys`` and their rates recomputed: what the pooled rows would have given
    (for rates whose numerator and denominator are counts of rows)."""
    out = pd.concat(parts, ignore_index=True)
    sums = out.groupby(list(keys), sort=False, dropna=False)[["numerator", "denominator"]].transform("sum")
    first = ~out.duplicated(list(keys))
    out = out[first].reset_index(drop=True)
    out["numerator"] = sums.loc[first.to_numpy(), "numerator"].to_numpy()
    out["denominator"] = sums.loc[first.to_numpy(), "denominator"].to_numpy()
    rates = rate_table(out["numerator"].to_numpy(), out["denominator"].to_numpy())
    for name, values in rates.items():
        out[name] = values
    return out


def error_counts(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """:func:`harness.report.error_table` tables of disjoint parts, as the whole table's."""
    rows = [p for p in parts if len(p)]
    if not rows:
        return parts[0] if parts else pd.DataFrame(columns=["vendor", "call", "reason", "rows", "example"])
    allp = pd.concat(rows, ignore_index=True)
    g = allp.groupby(["vendor", "call", "reason"], sort=True)
    return g["rows"].sum().reset_index().merge(g["example"].first().reset_index(), on=["vendor", "call", "reason"])

"""Metric names in the CSV files dfi writes (``metrics.csv``, ``sweep.csv``, the study's and the jobs' tables).

The study's acronyms are TA, NA, DHF, DHC, DHS and SIC, and "NA" is on the list of texts that
``pandas.read_csv`` (like R's ``read.csv``) reads as a missing value by default, quoted or not: a
metrics file with the acronyms loses every NA row's name to NaN. So every CSV column named
``metric`` holds the metric's *file id* instead: its acronym in lower case (``ta``, ``na``, ``dhf``,
``dhc``, ``dhs``, ``sic``), which no common reader's default missing-value list contains (pandas,
R, polars, DuckDB, Excel), which still reads as the acronym, and which is the same rule for every
metric, so a script maps it back with ``.str.upper()``. Displays, JSON (``metrics.json``,
``dfi metrics --json``) and frames in memory keep the acronyms; :func:`read_metric_csv` gives them
back, and still reads files written before the change (acronyms, with "NA" kept as text).
Other values of a metric column (a model's own measure in the vendor-fit tables) pass unchanged.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

import pandas as pd

from harness.metrics.meta import METRICS
from harness.paths import atomic_output

METRIC_COLUMN = "metric"
METRIC_FILE_IDS: dict[str, str] = {m: m.lower() for m in METRICS}
FILE_ID_METRICS: dict[str, str] = {v: k for k, v in METRIC_FILE_IDS.items()}

# pandas' default na_values (pandas._libs.parsers.STR_NA_VALUES; tests check they agree): what the
# other columns of a metrics file read as missing, as ``pandas.read_csv`` reads them by default.
PANDAS_DEFAULT_NA: frozenset[str] = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
})

assert not set(FILE_ID_METRICS) & PANDAS_DEFAULT_NA


def metric_ids_for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``metric`` column (if any) as file ids; the frame itself is not changed."""
    if METRIC_COLUMN not in frame.columns:
        return frame
    col = frame[METRIC_COLUMN]
    return frame.assign(**{METRIC_COLUMN: col.map(lambda m: METRIC_FILE_IDS.get(m, m) if isinstance(m, str) else m)})


def metric_names_from_file(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``metric`` column (file ids, or an older file's acronyms) as the acronyms."""
    if METRIC_COLUMN not in frame.columns:
        return frame
    col = frame[METRIC_COLUMN]
    return frame.assign(**{METRIC_COLUMN: col.map(lambda m: FILE_ID_METRICS.get(m, m) if isinstance(m, str) else m)})


def write_metric_csv(frame: pd.DataFrame, path_or_buf: str | os.PathLike[str] | IO[str], **to_csv: Any) -> None:
    """``frame.to_csv(path_or_buf, index=False, **to_csv)`` with the metric column as file ids."""
    to_csv.setdefault("index", False)
    table = metric_ids_for_file(frame)
    if hasattr(path_or_buf, "write"):
        table.to_csv(path_or_buf, **to_csv)
        return
    with atomic_output(path_or_buf) as tmp:  # whole or not at all (a full disk leaves the old file)
        table.to_csv(tmp, **to_csv)


def read_metric_csv(source: str | os.PathLike[str] | IO[str], **read_csv: Any) -> pd.DataFrame:
    """A CSV written by :func:`write_metric_csv` (or an older one with the acronyms), metric column as
    the acronyms; the other columns read as ``pandas.read_csv`` reads them by default."""
    if hasattr(source, "read"):  # a stream is read twice below
        source = io.StringIO(source.read())
    header = pd.read_csv(source, nrows=0).columns
    if isinstance(source, io.StringIO):
        source.seek(0)
    if METRIC_COLUMN not in header:
        return pd.read_csv(source, **read_csv)
    na = {c: sorted(PANDAS_DEFAULT_NA) for c in header if c != METRIC_COLUMN}
    read_csv.setdefault("dtype", {METRIC_COLUMN: str})
    table = pd.read_csv(source, keep_default_na=False, na_values=na, **read_csv)
    return metric_names_from_file(table)


__all__ = [
    "FILE_ID_METRICS", "METRIC_COLUMN", "METRIC_FILE_IDS", "PANDAS_DEFAULT_NA", "metric_ids_for_file",
    "metric_names_from_file", "read_metric_csv", "write_metric_csv",
]

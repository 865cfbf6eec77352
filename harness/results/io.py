"""Reading, validating and writing the results table.

Formats, chosen by the file suffix:

* ``.csv``  -- comma-separated, header row, empty cell = missing value;
* ``.parquet`` -- Apache Parquet (pyarrow);
* ``.jsonl`` / ``.ndjson`` -- JSON Lines, one object per row, ``null`` = missing value.

Every file carries the ``schema_version`` column (see :mod:`harness.results.schema`). A file
without that column is read as the current version; a file with another version is refused.

In memory the table is a :class:`pandas.DataFrame` with exactly the schema's columns first (plus
any extra columns a file had, kept as text): text columns hold ``str`` with ``""`` for "empty",
score columns hold ``float64`` on the 0-100 scale with ``NaN`` for "empty", ``schema_version`` is
``int64``. Row numbers in error messages count data rows from 1 (the CSV header is not a row).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import InputFileError
from harness.paths import atomic_output
from harness.results.schema import COLUMN_NAMES, COLUMNS, METHODS, REQUIRED_COLUMNS, SCHEMA_VERSION
from harness.vendors import registry

SCORE_COLUMNS: tuple[str, ...] = tuple(name for name, (kind, _) in COLUMNS.items() if kind == "float")
TEXT_COLUMNS: tuple[str, ...] = tuple(name for name, (kind, _) in COLUMNS.items() if kind == "str")
NONEMPTY_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "probe_id", "target")
SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MISSING_TEXT = frozenset({"", "nan", "NaN", "null", "None", "<NA>"})

PathLike = str | os.PathLike[str]


def file_format(path: PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise InputFileError(
            str(path), f"unknown results-file type {suffix or '(no suffix)'!r}; use .csv, .parquet or .jsonl"
        )
    return SUFFIX_FORMATS[suffix]


def empty_results() -> pd.DataFrame:
    """A results table with no rows and the schema's columns and dtypes."""
    return _validated(pd.DataFrame({name: pd.Series([], dtype=object) for name in COLUMN_NAMES}), "<empty>")


def results_from_rows(rows: Iterable[Mapping[str, object]], origin: str = "<rows>") -> pd.DataFrame:
    """Build a validated results table from dicts (missing keys get their defaults).

    ``None`` means empty. Scores must already be on the 0-100 scale. ``schema_version`` is set to
    the current version when absent. Raises :class:`InputFileError` (path = ``origin``) on bad rows.
    """
    rows = list(rows)
    if not rows:
        return empty_results()
    frame = pd.DataFrame.from_records(rows)
    for name in REQUIRED_COLUMNS:
        if name not in frame.columns:
            raise InputFileError(origin, "missing required field", row=1, column=name)
    return _validated(frame, origin)


def validate_results(frame: pd.DataFrame, origin: str = "<table>") -> pd.DataFrame:
    """Check a results-like frame and return it normalised (defaults filled, schema dtypes and order).

    Raises :class:`InputFileError` naming ``origin``, the 1-based row and the column of the first
    bad value. The input frame is not modified.
    """
    for name in REQUIRED_COLUMNS:
        if name not in frame.columns:
            raise InputFileError(origin, "missing required column", column=name)
    return _validated(frame, origin)


def read_results(paths: PathLike | Sequence[PathLike]) -> pd.DataFrame:
    """Read and validate one or more results files (CSV / Parquet / JSON Lines, by suffix)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames = [_read_one(Path(p)) for p in paths]
    if not frames:
        return empty_results()
    if len(frames) == 1:
        return frames[0]
    table = _ordered(pd.concat(frames, ignore_index=True))
    _check_unique(table, " + ".join(str(p) for p in paths))
    return table


def write_results(df: pd.DataFrame, path: PathLike) -> Path:
    """Validate ``df`` and write it atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    fmt = file_format(path)
    table = _validated(df.copy(), f"<table for {path.name}>")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(str(path), f"cannot write here ({exc.strerror or exc})") from exc
    # an OSError while writing (a full disk) goes up as it is: the CLI prints it as one line, and the
    # file at ``path``, if any, is left whole
    with atomic_output(path) as tmp:
        if fmt == "csv":
            table.to_csv(tmp, index=False)
        elif fmt == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_json(tmp, orient="records", lines=True, force_ascii=False)
    return path


# --------------------------------------------------------------------------------------------
def _read_one(path: Path) -> pd.DataFrame:
    fmt = file_format(path)
    if not path.is_file():
        raise InputFileError(str(path), "no such file")
    try:
        if fmt == "csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        elif fmt == "parquet":
            raw = pd.read_parquet(path)
        else:
            raw = _read_jsonl(path)
    except InputFileError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputFileError(str(path), f"cannot be read as {fmt}: {exc}") from exc
    for name in REQUIRED_COLUMNS:
        if name not in raw.columns:
            raise InputFileError(str(path), "missing required column", column=name)
    return _validated(raw, str(path))


def _read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines: every non-blank line one JSON object (a row); anything else names its line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), f"not UTF-8 text (byte {exc.start}): JSON Lines must be UTF-8") from None
    rows: list[dict[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(str(path), f"line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputFileError(str(path), f"line {number} is a JSON {type(row).__name__}, not an object "
                                            "(one row per line, as {\"column\": value, ...})")
        rows.append(row)
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _check_unique(table: pd.DataFrame, origin: str) -> None:
    """One row per (source, dataset, vendor, probe): a repeated row would count its probe twice."""
    key = ["source", "dataset", "vendor", "probe_id"]
    repeated = table.duplicated(key, keep="first").to_numpy()
    if repeated.any():
        row = _first_bad(repeated)
        first = row - 1
        values = table.iloc[first][key]
        earlier = int(np.flatnonzero((table[key] == values).all(axis=1).to_numpy())[0]) + 1
        raise InputFileError(origin, f"repeats row {earlier} (same source, dataset, vendor and probe_id "
                                     f"{values['probe_id']!r}): each probe x vendor must appear once", row=row)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _text(series: pd.Series) -> pd.Series:
    """Text column: missing/None/NaN -> "", everything else its string form."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.fillna("").astype("str")
    values = series.astype(object)
    missing = pd.isna(values).to_numpy()
    out = values.astype(str).to_numpy(dtype=object)
    out[missing] = ""
    return pd.Series(out, index=series.index, dtype="str")


def _validated(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Fill defaults, coerce dtypes and check every value; raise on the first bad cell."""
    frame = frame.reset_index(drop=True)
    n = len(frame)
    out: dict[str, pd.Series] = {}

    version = frame["schema_version"] if "schema_version" in frame.columns else pd.Series([SCHEMA_VERSION] * n)
    version_num = pd.to_numeric(version.astype(object).where(~_text(version).isin(_MISSING_TEXT), SCHEMA_VERSION),
                                errors="coerce").to_numpy(dtype=float)
    bad = ~(version_num == SCHEMA_VERSION)
    if bad.any():
        row = _first_bad(bad)
        raise InputFileError(
            origin,
            f"schema version {version.iloc[row - 1]!r} is not supported (this dfi reads version {SCHEMA_VERSION})",
            row=row, column="schema_version",
        )
    out["schema_version"] = pd.Series(np.full(n, SCHEMA_VERSION, dtype=np.int64))

    for name in TEXT_COLUMNS:
        col = _text(frame[name]) if name in frame.columns else pd.Series([""] * n, dtype="str")
        out[name] = col.str.strip() if name in ("dataset", "vendor", "method") else col
    for name in NONEMPTY_COLUMNS:
        empty = (out[name] == "").to_numpy()
        if empty.any():
            raise InputFileError(origin, "must not be empty", row=_first_bad(empty), column=name)

    aliases = {a: spec.name for spec in registry.specs() for a in (spec.name, *spec.aliases)}
    vendor = out["vendor"].str.lower().map(aliases)
    unknown = vendor.isna().to_numpy()
    if unknown.any():
        row = _first_bad(unknown)
        raise InputFileError(
            origin, f"unknown vendor {out['vendor'].iloc[row - 1]!r} (expected one of {', '.join(registry.names())})",
            row=row, column="vendor",
        )
    out["vendor"] = vendor.astype("str")

    method = out["method"].str.lower().replace("", "unknown")
    unknown = ~method.isin(METHODS).to_numpy()
    if unknown.any():
        row = _first_bad(unknown)
        raise InputFileError(
            origin, f"unknown generation method {out['method'].iloc[row - 1]!r} (expected one of {', '.join(METHODS)})",
            row=row, column="method",
        )
    out["method"] = method.astype("str")

    for name in SCORE_COLUMNS:
        out[name] = _score(frame[name] if name in frame.columns else None, n, name, origin)

    table = pd.DataFrame({name: out[name] for name in COLUMN_NAMES})
    extras = [c for c in frame.columns if c not in COLUMNS]
    for name in extras:
        table[name] = _text(frame[name])
    _check_unique(table, origin)
    return table


def _score(column: pd.Series | None, n: int, name: str, origin: str) -> pd.Series:
    if column is None:
        return pd.Series(np.full(n, np.nan))
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        not_a_number = np.zeros(n, dtype=bool)
    else:
        is_bool = np.zeros(n, dtype=bool)
        if pd.api.types.is_bool_dtype(column.dtype):  # a column of only true/false (JSON Lines, Parquet)
            is_bool = column.notna().to_numpy(dtype=bool)
        elif column.dtype == object:  # e.g. JSON Lines with mixed values: true/false is no score
            is_bool = column.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        obj = column.astype(object)
        missing = pd.isna(obj).to_numpy() | _text(column).str.strip().isin(_MISSING_TEXT).to_numpy()
        values = pd.to_numeric(obj.where(~missing, np.nan), errors="coerce").to_numpy(dtype=float)
        not_a_number = (np.isnan(values) & ~missing) | is_bool
    if not_a_number.any():
        row = _first_bad(not_a_number)
        value = column.iloc[row - 1]
        value = value.item() if isinstance(value, np.generic) else value  # True, not np.True_
        raise InputFileError(origin, f"score {value!r} is not a number", row=row, column=name)
    outside = ~np.isnan(values) & ~((values >= 0.0) & (values <= 100.0))
    if outside.any():
        row = _first_bad(outside)
        raise InputFileError(
            origin, f"score {float(values[row - 1])!r} is outside the 0-100 scale", row=row, column=name
        )
    return pd.Series(values, dtype=np.float64)


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in table.columns if c not in COLUMNS]
    for name in extras:
        table[name] = _text(table[name])
    return table[list(COLUMN_NAMES) + extras]

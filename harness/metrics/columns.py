"""Whole-column readers of a results table: non-empty text, scores, name equality, validity.

Arrow-backed text is read from its buffers (string offsets, validity bitmaps) or compared in
Arrow kernels, which release the GIL; other text goes through pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_strings(series: pd.Series) -> list[pa.Array] | None:
    """The Arrow chunks behind a pyarrow-backed text column (zero copy), else None."""
    if not (isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(series.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    if not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in chunks):
        return None
    return chunks


def nonempty_text(df: pd.DataFrame, column: str) -> np.ndarray:
    """Rows whose text is not empty (and not missing).

    For Arrow-backed text this reads the string offsets directly: a value is non-empty iff its end
    offset exceeds its start offset, a single numpy pass instead of a string comparison.
    """
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    col = df[column]
    chunks = arrow_strings(col)
    if chunks is None:
        return (col.notna() & (col != "")).to_numpy(dtype=bool)
    parts = []
    for chunk in chunks:
        buffer = chunk.buffers()[1]
        offsets: np.ndarray[Any, np.dtype[np.signedinteger[Any]]]
        if pa.types.is_large_string(chunk.type):
            offsets = np.frombuffer(buffer, dtype=np.int64)
        else:
            offsets = np.frombuffer(buffer, dtype=np.int32)
        offsets = offsets[chunk.offset: chunk.offset + len(chunk) + 1]
        part = offsets[1:] > offsets[:-1]
        if chunk.null_count:
            part &= ~chunk.is_null().to_numpy(zero_copy_only=False)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def score_values(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return df[column].to_numpy(dtype=np.float64, na_value=np.nan)


def zero_if_missing(values: np.ndarray) -> np.ndarray:
    return np.fmax(values, 0.0)  # scores are >= 0, so this only turns NaN into 0


def same_name(df: pd.DataFrame, a: str, b: str) -> np.ndarray:
    if a not in df.columns or b not in df.columns:
        return np.zeros(len(df), dtype=bool)
    left, right = arrow_strings(df[a]), arrow_strings(df[b])
    if left is not None and right is not None:
        equal = pc.equal(pa.chunked_array(left), pa.chunked_array(right))
        return pc.fill_null(equal, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    return (df[a] == df[b]).fillna(False).to_numpy(dtype=bool)


def validity(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fake_error, target_error (either reference call), valid."""
    fake_error = nonempty_text(df, "fake_error")
    target_error = nonempty_text(df, "target_error") | nonempty_text(df, "target2_error")
    return fake_error, target_error, ~(fake_error | target_error)


def score_where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.where(mask, values, 0.0)`` with NaN as 0, as one multiplication (np.where with an irregular
    mask branches on every row; it is 2-3x slower)."""
    out = zero_if_missing(values)
    if np.isinf(out).any():  # inf * 0 would be NaN
        return np.where(mask, out, 0.0)
    out *= mask
    return out


def fake_confidence(df: pd.DataFrame, named: np.ndarray) -> np.ndarray:
    return score_where(named, score_values(df, "fake_conf"))

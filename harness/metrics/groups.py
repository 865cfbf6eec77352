"""Group numbers per row (one hash pass per key column) and per-group counts of boolean masks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.metrics.columns import arrow_strings


def factorize_sorted(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (int64, uniques sorted, a missing value is a value of its own) and the uniques.

    The same as ``pd.factorize(series, sort=True, use_na_sentinel=False)``. Arrow-backed text is
    dictionary-encoded in Arrow (GIL released) and only its few distinct values are sorted, by
    pandas, so the order is pandas' own; the codes are then one lookup in that small table.
    """
    encoded = _dictionary_encode(series)
    if encoded is None:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=False)
        return codes.astype(np.int64, copy=False), pd.Index(uniques)
    indices, dictionary = encoded
    rank, uniques = pd.factorize(dictionary, sort=True, use_na_sentinel=False)
    return rank.astype(np.int64, copy=False)[indices], pd.Index(uniques)


SAMPLE_ROWS = 65_536
FEW_VALUES = 64


def _dictionary_encode(series: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Per-row index into a dictionary of the distinct values (a missing value is a value), and the
    dictionary as ``series``'s dtype; None for text that is not Arrow-backed.

    A column with few distinct values in its first rows (dataset, vendor) is looked up in those
    values with ``index_in``, which costs about half of ``dictionary_encode`` there; a value that
    the first rows lack sends it to ``dictionary_encode`` after all.
    """
    chunks = arrow_strings(series)
    if chunks is None or not chunks:
        return None
    column = pa.chunked_array(chunks)
    first = pc.unique(column.slice(0, SAMPLE_ROWS))
    found = pc.index_in(column, value_set=first, skip_nulls=False) if len(first) <= FEW_VALUES else None
    if found is not None and found.null_count == 0:
        indices, dictionary = found.to_numpy(), first
    else:
        encoded = pc.dictionary_encode(column, null_encoding="encode").combine_chunks()
        indices, dictionary = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary
    values = series.dtype.construct_array_type()._from_sequence(dictionary, dtype=series.dtype)
    return indices, pd.Series(values, dtype=series.dtype)


def combine_codes(
    df: pd.DataFrame, by: Sequence[str], factorized: Sequence[tuple[np.ndarray, pd.Index]],
) -> tuple[np.ndarray, pd.DataFrame]:
    """Dense group numbers (groups sorted by key) and the key table from each column's codes."""
    by = list(by)
    n = len(df)
    if not by:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1 if n else 0))
    codes = factorized[0][0]
    size = max(len(factorized[0][1]), 1)
    for c, u in factorized[1:]:
        codes = codes * len(u)
        codes += c
        size *= max(len(u), 1)
    if size <= 4 * n + 1024:
        present = np.bincount(codes, minlength=size) > 0
        combined = np.flatnonzero(present)
        if len(combined) == size:  # every key combination occurs: the codes are already dense
            codes_dense = codes
        else:
            remap = np.cumsum(present) - 1
            codes_dense = remap[codes]
    else:  # very many key combinations: fall back to a sort
        combined, codes_dense = np.unique(codes, return_inverse=True)
    keys = {}
    rest = combined.copy()
    for column, (_, u) in reversed(list(zip(by, factorized))):
        keys[column] = np.asarray(u)[rest % len(u)] if len(u) else np.array([], dtype=object)
        rest = rest // max(len(u), 1)
    key_table = pd.DataFrame({column: keys[column] for column in by})
    for column in by:
        key_table[column] = key_table[column].astype(df[column].dtype) if len(key_table) else key_table[column]
    return codes_dense.astype(np.int64, copy=False), key_table


def group_codes(df: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Dense group number per row (groups sorted by key) and the key table, one row per group."""
    return combine_codes(df, by, [factorize_sorted(df[column]) for column in by])


class GroupCodes:
    """:func:`group_codes` with one task per key column on ``pool`` (each one hash pass).

    When every key column is Arrow-backed text, each row gets a mixed-radix number of its columns'
    dictionary indices (``raw``, in dictionary order, with gaps); the few key combinations present
    are then sorted once, on a table with one row per combination, and ``raw`` is mapped to the
    dense sorted group numbers with one lookup (or, in :meth:`count`, never: the per-combination
    histogram is reordered instead).
    """

    def __init__(self, pool: Executor, df: pd.DataFrame, by: Sequence[str]) -> None:
        self._df, self._by = df, list(by)
        self._arrow = len(df) > 0 and bool(self._by) and all(arrow_strings(df[c]) is not None for c in self._by)
        encode: Callable[[pd.Series], Any] = _dictionary_encode if self._arrow else factorize_sorted
        self._parts: list[Future[Any]] = [pool.submit(encode, df[column]) for column in self._by]

    def result(self) -> tuple[np.ndarray, pd.DataFrame]:
        if not self._arrow:
            return combine_codes(self._df, self._by, [part.result() for part in self._parts])
        raw, size, dictionaries = self._raw()
        if size > 4 * len(raw) + 1024:
            combos, inverse = np.unique(raw, return_inverse=True)
            order, keys = self._order(combos, dictionaries)
            return order[inverse], keys
        combos = np.flatnonzero(np.bincount(raw, minlength=size))
        order, keys = self._order(combos, dictionaries)
        lookup = np.zeros(size, dtype=np.int64)
        lookup[combos] = order
        return lookup[raw], keys

    def count(self, masks: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """The key table and :func:`count_by_group` of ``masks`` (at most 8), groups in key order."""
        if not self._arrow or not masks:
            group, keys = self.result()
            return keys, count_by_group(group, len(keys), masks)
        parts = [part.result() for part in self._parts]
        size = int(np.prod([len(dictionary) for _, dictionary in parts]))
        if size * 256 > 4 * len(self._df) + 1024:
            group, keys = self.result()
            return keys, count_by_group(group, len(keys), masks)
        key = self._mixed(parts, shift=8)
        key |= state_bits(list(masks.values()))
        hist = np.bincount(key, minlength=size * 256).reshape(size, 256)
        dictionaries = [dictionary for _, dictionary in parts]
        combos = np.flatnonzero(hist.any(axis=1))
        order, keys = self._order(combos, dictionaries)
        rows = np.empty(len(combos), dtype=np.int64)
        rows[order] = combos  # group g's combination
        hist = hist[rows]
        return keys, {name: with_bit(hist, bit) for bit, name in enumerate(masks)}

    def _raw(self) -> tuple[np.ndarray, int, list[pd.Series]]:
        parts = [part.result() for part in self._parts]
        size = int(np.prod([len(dictionary) for _, dictionary in parts]))
        return self._mixed(parts), size, [dictionary for _, dictionary in parts]

    @staticmethod
    def _mixed(parts: list[tuple[np.ndarray, pd.Series]], shift: int = 0) -> np.ndarray:
        """sum of index_j * stride_j << shift, in int32 when it fits (half the memory traffic)."""
        strides = np.cumprod([1] + [len(dictionary) for _, dictionary in parts[:0:-1]])[::-1] << shift
        dtype = np.int32 if int(strides[0]) * len(parts[0][1]) < 2**31 else np.int64
        key = np.multiply(parts[0][0], strides[0], dtype=dtype)
        scratch = np.empty_like(key)
        for (indices, _), stride in zip(parts[1:], strides[1:]):
            np.multiply(indices, stride, out=scratch, dtype=dtype)
            key += scratch
        return key

    def _order(self, combos: np.ndarray, dictionaries: list[pd.Series]) -> tuple[np.ndarray, pd.DataFrame]:
        """Sorted group number of each key combination present, and the key table (one row per group)."""
        columns = {}
        rest = combos
        for column, dictionary in reversed(list(zip(self._by, dictionaries))):
            columns[column] = dictionary.take(rest % len(dictionary)).reset_index(drop=True)
            rest = rest // len(dictionary)
        table = pd.DataFrame({column: columns[column] for column in self._by})
        return group_codes(table, self._by)


def distinct_codes(series: pd.Series) -> np.ndarray:
    """One int64 code per distinct value (a missing value is a value of its own), in no set order."""
    encoded = _dictionary_encode(series)
    if encoded is not None:
        return encoded[0].astype(np.int64)
    codes, _ = pd.factorize(series, use_na_sentinel=False)
    return codes.astype(np.int64)


PARALLEL_ROWS = 200_000


class _Inline:
    """Stand-in for an executor that runs each task at once (small tables: threads cost more)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn, *args):  # noqa: ANN001, ANN201
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # handed to .result(), as a real executor would
            done.set_exception(exc)
        return done


def executor_for(rows: int) -> Any:
    """Two threads for big tables (the Arrow hashing and string comparisons release the GIL)."""
    return ThreadPoolExecutor(max_workers=2) if rows >= PARALLEL_ROWS else _Inline()


def state_bits(masks: Sequence[np.ndarray]) -> np.ndarray:
    """One byte per row, bit k set iff ``masks[k]`` holds there (at most 8 masks)."""
    if not masks:
        raise ValueError("state_bits needs at least one mask")
    state = np.asarray(masks[0], dtype=bool).view(np.uint8).copy()
    shifted = np.empty_like(state)
    for bit, mask in enumerate(masks[1:], start=1):
        np.left_shift(np.asarray(mask, dtype=bool).view(np.uint8), np.uint8(bit), out=shifted)
        state |= shifted
    return state


def with_bit(hist: np.ndarray, bit: int) -> np.ndarray:
    """Row sums of ``hist`` (one column per state) over the states that have ``bit`` set."""
    states = np.arange(hist.shape[1])
    return hist[:, (states >> bit) & 1 == 1].sum(axis=1).astype(np.int64)


def count_by_group(group: np.ndarray, n_groups: int, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-group counts of up to 8 masks with a single ``np.bincount``.

    Each row gets a state byte (bit k set iff mask k holds); one histogram of (group, state)
    then gives every mask's count as a sum over the states that have its bit.
    """
    names = list(masks)
    if len(names) > 8:
        raise ValueError("count_many takes at most 8 masks")
    if not names:
        return {}
    key = group << np.int64(8)
    key |= state_bits([masks[name] for name in names])
    hist = np.bincount(key, minlength=n_groups * 256).reshape(n_groups, 256)
    return {name: with_bit(hist, bit) for bit, name in enumerate(names)}

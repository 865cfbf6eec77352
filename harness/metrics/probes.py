"""Per-row outcome arrays of a results table, computed once with whole-column numpy operations.

Everything the metrics and the sweeps need is turned into flat numpy arrays here (group codes,
validity, the per-probe outcomes, the scores), so that the metrics are ``np.bincount`` sums and
the sweeps are one ``np.searchsorted`` pass, with no Python loop over rows.

Per-probe definitions (DESIGN.md section 2), for one row of the results table:

* errored   = any non-empty ``fake_error``, ``target_error`` or ``target2_error``; an errored
              probe is left out of every denominator and counted separately;
* NA        = the deepfake's answer names a celebrity;
* TA        = NA and that name equals the name the vendor gave the real target image
              (``target_name``) or, for synthesis probes, the second reference image
              (``target2_name``); an empty reference answer never matches;
* DHF       = NA and the deepfake's confidence exceeds every confidence the vendor gave a named
              real reference image (0 when it named none). With one reference this is exactly
              ``P_D.conf > P_T.conf``;
* DHC(beta) = NA and fake confidence > beta;
* DHS(gamma)= not NA and similarity > gamma, over probes that have a similarity score (a score is
              present and ``similarity_error`` is empty); a similarity error only removes the
              probe from the DHS denominators.

A named answer without a recorded confidence is taken as confidence 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow_strings(series: pd.Series) -> list[pa.Array] | None:
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
    chunks = _arrow_strings(col)
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
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def score_values(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return df[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _zero_if_missing(values: np.ndarray) -> np.ndarray:
    return np.fmax(values, 0.0)  # scores are >= 0, so this only turns NaN into 0


def _same_name(df: pd.DataFrame, a: str, b: str) -> np.ndarray:
    if a not in df.columns or b not in df.columns:
        return np.zeros(len(df), dtype=bool)
    left, right = _arrow_strings(df[a]), _arrow_strings(df[b])
    if left is not None and right is not None:
        equal = pc.equal(pa.chunked_array(left), pa.chunked_array(right))
        return pc.fill_null(equal, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    return (df[a] == df[b]).fillna(False).to_numpy(dtype=bool)


def group_codes(df: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Dense group number per row (groups sorted by key) and the key table, one row per group."""
    by = list(by)
    n = len(df)
    if not by:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1 if n else 0))
    codes = np.zeros(n, dtype=np.int64)
    uniques: list[pd.Index] = []
    size = 1
    for column in by:
        c, u = pd.factorize(df[column], sort=True, use_na_sentinel=False)
        codes = codes * len(u) + c
        uniques.append(pd.Index(u))
        size *= max(len(u), 1)
    if size <= 4 * n + 1024:
        present = np.bincount(codes, minlength=size) > 0
        remap = np.cumsum(present) - 1
        codes_dense = remap[codes]
        combined = np.flatnonzero(present)
    else:  # very many key combinations: fall back to a sort
        combined, codes_dense = np.unique(codes, return_inverse=True)
    keys = {}
    rest = combined.copy()
    for column, u in reversed(list(zip(by, uniques))):
        keys[column] = np.asarray(u)[rest % len(u)] if len(u) else np.array([], dtype=object)
        rest = rest // max(len(u), 1)
    key_table = pd.DataFrame({column: keys[column] for column in by})
    for column in by:
        key_table[column] = key_table[column].astype(df[column].dtype) if len(key_table) else key_table[column]
    return codes_dense.astype(np.int64), key_table


def distinct_codes(series: pd.Series) -> np.ndarray:
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


@dataclass(frozen=True)
class ProbeArrays:
    """Row-aligned arrays describing every probe of a results table, plus its grouping."""

    group: np.ndarray          # int64 group number per row
    keys: pd.DataFrame         # one row per group: the ``by`` columns
    valid: np.ndarray          # no error on the deepfake or the real-reference calls
    errored: np.ndarray
    fake_error: np.ndarray
    target_error: np.ndarray   # error on either real-reference call
    named: np.ndarray          # valid, and the vendor named a celebrity on the deepfake (NA)
    fake_conf: np.ndarray      # 0-100, 0 where no name or no confidence
    match1: np.ndarray         # named, and the name equals the (non-empty) answer on reference 1
    match2: np.ndarray         # ... on reference 2 (synthesis)
    t1_conf: np.ndarray        # confidence of the named answer on reference 1, 0 if none
    t2_conf: np.ndarray
    similarity: np.ndarray     # 0-100, NaN where no score
    has_similarity: np.ndarray # a similarity score is present and its call did not fail
    similarity_error: np.ndarray
    target: np.ndarray         # int64 code of the target celebrity label

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    @cached_property
    def ta(self) -> np.ndarray:
        """Targeted success: NA and the name matches a reference answer."""
        return self.match1 | self.match2

    @cached_property
    def ref_conf(self) -> np.ndarray:
        """Highest confidence among named real-reference answers, 0 if none."""
        return np.maximum(self.t1_conf, self.t2_conf)

    @cached_property
    def dhf(self) -> np.ndarray:
        return self.named & (self.fake_conf > self.ref_conf)

    @cached_property
    def match_conf(self) -> np.ndarray:
        """Largest reporting threshold tau at which the probe is still a TA success (-inf if never).

        Under a vendor threshold tau, an answer with confidence below tau counts as "no celebrity",
        on the deepfake and on the real reference images alike. The deepfake matches reference k
        at tau iff fake_conf >= tau and conf_k >= tau, i.e. tau <= min(fake_conf, conf_k).
        """
        return np.maximum(
            np.where(self.match1, np.minimum(self.fake_conf, self.t1_conf), -np.inf),
            np.where(self.match2, np.minimum(self.fake_conf, self.t2_conf), -np.inf),
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame, by: Sequence[str] = ("dataset", "vendor")) -> ProbeArrays:
        # The hash encodings and string comparisons run in Arrow, which releases the GIL: on big
        # tables do them on a second thread while this one does the rest.
        workers = 2 if len(df) >= PARALLEL_ROWS else 1
        with ThreadPoolExecutor(max_workers=workers) if workers > 1 else _Inline() as pool:
            grouping = pool.submit(group_codes, df, by)
            targets = pool.submit(distinct_codes, df["target"]) if "target" in df.columns else None
            same1 = pool.submit(_same_name, df, "fake_name", "target_name")
            same2 = pool.submit(_same_name, df, "fake_name", "target2_name")
            arrays = cls._outcomes(df)
            group, keys = grouping.result()
            target = targets.result() if targets is not None else np.zeros(len(df), np.int64)
            match1 = arrays.pop("named_t1") & same1.result()
            match2 = arrays.pop("named_t2") & same2.result()
        return cls(group=group, keys=keys, match1=match1, match2=match2, target=target, **arrays)

    @staticmethod
    def _outcomes(df: pd.DataFrame) -> dict[str, np.ndarray]:
        fake_error = nonempty_text(df, "fake_error")
        target_error = nonempty_text(df, "target_error") | nonempty_text(df, "target2_error")
        errored = fake_error | target_error
        valid = ~errored

        named = valid & nonempty_text(df, "fake_name")
        fake_conf = np.where(named, _zero_if_missing(score_values(df, "fake_conf")), 0.0)
        t1_named = nonempty_text(df, "target_name")
        t2_named = nonempty_text(df, "target2_name")
        t1_conf = np.where(t1_named, _zero_if_missing(score_values(df, "target_conf")), 0.0)
        t2_conf = np.where(t2_named, _zero_if_missing(score_values(df, "target2_conf")), 0.0)
        similarity = score_values(df, "similarity")
        similarity_error = nonempty_text(df, "similarity_error")
        has_similarity = ~np.isnan(similarity) & ~similarity_error
        return dict(
            valid=valid, errored=errored, fake_error=fake_error, target_error=target_error, named=named,
            fake_conf=fake_conf, t1_conf=t1_conf, t2_conf=t2_conf, similarity=similarity,
            has_similarity=has_similarity, similarity_error=similarity_error,
            named_t1=named & t1_named, named_t2=named & t2_named,
        )

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Number of rows in each group where ``mask`` holds."""
        return np.bincount(self.group[mask], minlength=self.n_groups).astype(np.int64)

    def count_many(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-group counts of up to 8 masks with a single ``np.bincount``.

        Each row gets a state byte (bit k set iff mask k holds); one histogram of (group, state)
        then gives every mask's count as a sum over the states that have its bit.
        """
        names = list(masks)
        if len(names) > 8:
            raise ValueError("count_many takes at most 8 masks")
        state = np.zeros(len(self.group), dtype=np.uint8)
        for bit, name in enumerate(names):
            state |= masks[name].view(np.uint8) << np.uint8(bit)
        hist = np.bincount(self.group * 256 + state, minlength=self.n_groups * 256).reshape(self.n_groups, 256)
        states = np.arange(256)
        return {name: hist[:, (states >> bit) & 1 == 1].sum(axis=1).astype(np.int64) for bit, name in enumerate(names)}

    @cached_property
    def n_targets(self) -> int:
        return int(self.target.max()) + 1 if len(self.target) else 0

    @cached_property
    def group_target(self) -> np.ndarray:
        """One code per (group, target) pair: group * n_targets + target."""
        return self.group * self.n_targets + self.target

    def distinct_targets(self, mask: np.ndarray) -> np.ndarray:
        """Number of distinct target labels per group among the rows where ``mask`` holds."""
        n_targets = self.n_targets
        if self.n_groups == 0 or n_targets == 0:
            return np.zeros(self.n_groups, dtype=np.int64)
        pair = self.group_target[mask]
        size = self.n_groups * n_targets
        if size <= 4 * len(self.target) + 1024:
            present = np.bincount(pair, minlength=size) > 0
            return present.reshape(self.n_groups, n_targets).sum(axis=1).astype(np.int64)
        pairs = np.unique(pair)
        return np.bincount(pairs // n_targets, minlength=self.n_groups).astype(np.int64)

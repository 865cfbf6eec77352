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
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _nonempty(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    col = df[column]
    return (col.notna() & (col != "")).to_numpy(dtype=bool)


def _scores(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return df[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _same_name(df: pd.DataFrame, a: str, b: str) -> np.ndarray:
    if a not in df.columns or b not in df.columns:
        return np.zeros(len(df), dtype=bool)
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


@dataclass(frozen=True)
class ProbeArrays:
    """Row-aligned arrays describing every probe of a results table, plus its grouping."""

    group: np.ndarray          # int64 group number per row
    keys: pd.DataFrame         # one row per group: the ``by`` columns
    valid: np.ndarray          # no error on the deepfake or the real-reference calls
    errored: np.ndarray
    fake_error: np.ndarray
    target_error: np.ndarray   # error on either real-reference call
    named: np.ndarray          # the vendor named a celebrity on the deepfake (NA before tau)
    fake_conf: np.ndarray      # 0-100, 0 where no name or no confidence
    match_conf: np.ndarray     # for TA under a reporting threshold: see ``ta_margin``
    ta: np.ndarray             # targeted success (NA and name matches a reference answer)
    ref_conf: np.ndarray       # highest confidence among named real-reference answers, 0 if none
    similarity: np.ndarray     # 0-100, NaN where no score
    has_similarity: np.ndarray # a similarity score is present and its call did not fail
    similarity_error: np.ndarray
    target: np.ndarray         # int64 code of the target celebrity label

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    @property
    def dhf(self) -> np.ndarray:
        return self.valid & self.named & (self.fake_conf > self.ref_conf)

    @property
    def ta_margin(self) -> np.ndarray:
        """Largest reporting threshold tau at which the probe is still a TA success (-inf if never).

        Under a vendor threshold tau, an answer with confidence below tau counts as "no celebrity",
        on the deepfake and on the real reference images alike. The deepfake matches reference k
        at tau iff fake_conf >= tau and conf_k >= tau, i.e. tau <= min(fake_conf, conf_k).
        """
        return np.where(self.ta, self.match_conf, -np.inf)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, by: Sequence[str] = ("dataset", "vendor")) -> "ProbeArrays":
        group, keys = group_codes(df, by)
        fake_error = _nonempty(df, "fake_error")
        target_error = _nonempty(df, "target_error") | _nonempty(df, "target2_error")
        errored = fake_error | target_error
        valid = ~errored

        named = valid & _nonempty(df, "fake_name")
        fake_conf = np.nan_to_num(_scores(df, "fake_conf"), nan=0.0)
        fake_conf = np.where(named, fake_conf, 0.0)

        t1_named = _nonempty(df, "target_name")
        t2_named = _nonempty(df, "target2_name")
        t1_conf = np.where(t1_named, np.nan_to_num(_scores(df, "target_conf"), nan=0.0), 0.0)
        t2_conf = np.where(t2_named, np.nan_to_num(_scores(df, "target2_conf"), nan=0.0), 0.0)
        match1 = named & t1_named & _same_name(df, "fake_name", "target_name")
        match2 = named & t2_named & _same_name(df, "fake_name", "target2_name")
        ta = match1 | match2
        match_conf = np.maximum(
            np.where(match1, np.minimum(fake_conf, t1_conf), -np.inf),
            np.where(match2, np.minimum(fake_conf, t2_conf), -np.inf),
        )
        ref_conf = np.maximum(t1_conf, t2_conf)

        similarity = _scores(df, "similarity")
        similarity_error = _nonempty(df, "similarity_error")
        has_similarity = ~np.isnan(similarity) & ~similarity_error
        target = distinct_codes(df["target"]) if "target" in df.columns else np.zeros(len(df), np.int64)
        return cls(
            group=group, keys=keys, valid=valid, errored=errored, fake_error=fake_error,
            target_error=target_error, named=named, fake_conf=fake_conf, match_conf=match_conf,
            ta=ta, ref_conf=ref_conf, similarity=similarity, has_similarity=has_similarity,
            similarity_error=similarity_error, target=target,
        )

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Number of rows in each group where ``mask`` holds."""
        return np.bincount(self.group[mask], minlength=self.n_groups).astype(np.int64)

    def distinct_targets(self, mask: np.ndarray) -> np.ndarray:
        """Number of distinct target labels per group among the rows where ``mask`` holds."""
        n_targets = int(self.target.max()) + 1 if len(self.target) else 0
        if self.n_groups == 0 or n_targets == 0:
            return np.zeros(self.n_groups, dtype=np.int64)
        pair = self.group[mask] * n_targets + self.target[mask]
        size = self.n_groups * n_targets
        if size <= 4 * len(self.target) + 1024:
            present = np.bincount(pair, minlength=size) > 0
            return present.reshape(self.n_groups, n_targets).sum(axis=1).astype(np.int64)
        pairs = np.unique(pair)
        return np.bincount(pairs // n_targets, minlength=self.n_groups).astype(np.int64)

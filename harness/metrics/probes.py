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
from functools import cached_property

import numpy as np
import pandas as pd

from harness.metrics.columns import (
    fake_confidence,
    nonempty_text,
    same_name,
    score_values,
    score_where,
    validity,
)
from harness.metrics.groups import (
    PARALLEL_ROWS,
    GroupCodes,
    count_by_group,
    distinct_codes,
    executor_for,
    group_codes,
    state_bits,
    with_bit,
)

__all__ = [
    "PARALLEL_ROWS", "ProbeArrays", "distinct_codes", "group_codes", "nonempty_text", "score_values",
]


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
        # tables they run on two threads while this one does the rest.
        with executor_for(len(df)) as pool:
            grouping = GroupCodes(pool, df, by)
            targets = pool.submit(distinct_codes, df["target"]) if "target" in df.columns else None
            same1 = pool.submit(same_name, df, "fake_name", "target_name")
            same2 = pool.submit(same_name, df, "fake_name", "target2_name")
            arrays = cls._outcomes(df)
            group, keys = grouping.result()
            target = targets.result() if targets is not None else np.zeros(len(df), np.int64)
            match1 = arrays.pop("named_t1") & same1.result()
            match2 = arrays.pop("named_t2") & same2.result()
        return cls(group=group, keys=keys, match1=match1, match2=match2, target=target, **arrays)

    @staticmethod
    def _outcomes(df: pd.DataFrame) -> dict[str, np.ndarray]:
        fake_error, target_error, valid = validity(df)
        errored = ~valid

        named = valid & nonempty_text(df, "fake_name")
        fake_conf = fake_confidence(df, named)
        t1_named = nonempty_text(df, "target_name")
        t2_named = nonempty_text(df, "target2_name")
        t1_conf = score_where(t1_named, score_values(df, "target_conf"))
        t2_conf = score_where(t2_named, score_values(df, "target2_conf"))
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
        """Per-group counts of up to 8 masks with a single ``np.bincount`` (:func:`count_by_group`)."""
        return count_by_group(self.group, self.n_groups, masks)

    @cached_property
    def n_targets(self) -> int:
        return int(self.target.max()) + 1 if len(self.target) else 0

    @cached_property
    def group_target(self) -> np.ndarray:
        """One code per (group, target) pair: group * n_targets + target."""
        return self.group * self.n_targets + self.target

    def distinct_targets(self, mask: np.ndarray) -> np.ndarray:
        """Number of distinct target labels per group among the rows where ``mask`` holds."""
        return self.distinct_targets_many({"mask": mask})["mask"]

    def distinct_targets_many(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """:meth:`distinct_targets` of a few masks, with one histogram of (group, target, state)."""
        names = list(masks)
        n_targets = self.n_targets
        if self.n_groups == 0 or n_targets == 0 or not names:
            return {name: np.zeros(self.n_groups, dtype=np.int64) for name in names}
        bits = len(names)
        size = self.n_groups * n_targets << bits
        if bits <= 4 and size <= 4 * len(self.target) + 1024:
            key = self.group_target << np.int64(bits)
            key |= state_bits([masks[name] for name in names])
            hist = np.bincount(key, minlength=size).reshape(self.n_groups * n_targets, 1 << bits)
            return {
                name: (with_bit(hist, bit) > 0).reshape(self.n_groups, n_targets).sum(axis=1).astype(np.int64)
                for bit, name in enumerate(names)
            }
        out = {}
        for name in names:  # very many (group, target) pairs: sort the pairs present
            pairs = np.unique(self.group_target[masks[name]])
            out[name] = np.bincount(pairs // n_targets, minlength=self.n_groups).astype(np.int64)
        return out

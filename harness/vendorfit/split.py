"""Split the recorded rows into two halves by celebrity: half A to fit, half B to validate.

Within each dataset its distinct ``celebrity`` values (the key of the study's per-celebrity
tables) are sorted, shuffled by a generator seeded with ``(seed, crc32(dataset))``, and the first
``ceil(k / 2)`` go to half A. So every file's rows are split by celebrity, no celebrity is in both
halves of a file, and a celebrity falls in the same half in every file and for every vendor of the
dataset (VoxCelebTH's two files, FCelebDF's AWS and Azure files), so nothing about a held-out
celebrity leaks into the fit through another file. The split depends only on the seed and the set
of celebrities, not on row order.

Where one real image serves probes of several celebrities (CelebDF: a source video's real frame,
CelebFOM: keyed by the driving celebrity, the target's real frame) that real image can be in both
halves; only the deepfake probes are disjoint.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

HALVES: tuple[str, ...] = ("A", "B")
ALL = "all"


def celebrity_halves(table: pd.DataFrame, seed: int) -> dict[tuple[str, str], str]:
    """(dataset, celebrity) -> "A" or "B"."""
    out: dict[tuple[str, str], str] = {}
    for dataset in sorted(set(table["dataset"].astype(str))):
        people = np.array(sorted(set(table.loc[table["dataset"] == dataset, "celebrity"].astype(str))), dtype=object)
        rng = np.random.default_rng([int(seed), zlib.crc32(dataset.encode())])
        order = rng.permutation(len(people))
        cut = (len(people) + 1) // 2
        for rank, i in enumerate(order):
            out[(dataset, str(people[i]))] = "A" if rank < cut else "B"
    return out


def half_labels(table: pd.DataFrame, seed: int) -> np.ndarray:
    """Per row, the half ("A"/"B") its celebrity is in."""
    halves = celebrity_halves(table, seed)
    keys = zip(table["dataset"].astype(str), table["celebrity"].astype(str))
    return np.array([halves[k] for k in keys], dtype=object)


def select_half(table: pd.DataFrame, half: str, seed: int) -> pd.DataFrame:
    """The rows of ``half`` ("A", "B", or "all" for every row)."""
    if half == ALL:
        return table
    if half not in HALVES:
        raise ValueError(f"half must be one of {(*HALVES, ALL)}, not {half!r}")
    return table[half_labels(table, seed) == half]

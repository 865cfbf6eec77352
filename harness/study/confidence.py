"""Confidence statistics of named answers per dataset x vendor, on deepfakes and on real images.

The answers are those of :func:`harness.study.identities.answers`: each deepfake answer (rows
whose deepfake call failed left out) and each distinct real image's answer once per (dataset,
vendor, ``real_image``), plus every vendor pooled under :data:`~harness.study.data.ALL_DATASETS`.
Only named answers with a recorded confidence count; confidences are on the 0-100 scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.study.identities import KEY, answer_groups, answers

CONFIDENCE_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "images", "n", "mean", "median", "q1", "q3", "min", "max")
STATISTICS: tuple[str, ...] = ("mean", "median", "q1", "q3", "min", "max")


def _statistics(values: np.ndarray) -> dict[str, float]:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"mean": float(np.mean(values)), "median": float(median), "q1": float(q1), "q3": float(q3),
            "min": float(np.min(values)), "max": float(np.max(values))}


def confidence_stats(table: pd.DataFrame) -> pd.DataFrame:
    """n, mean, median, quartiles, min and max of the named answers' confidences per group.

    One row per (dataset, vendor, images) the table has rows for (:func:`answer_groups`), images
    "deepfake" then "real". ``n`` = named answers with a confidence; a group with none has
    ``n = 0`` and NaN statistics. Quartiles and median are numpy's default ``np.quantile``
    (method "linear": interpolated between the two nearest values, as pandas' default too).
    """
    a = answers(table)
    named = a[(a["name"] != "") & a["conf"].notna()]
    rows = []
    for key, group in named.groupby(KEY, sort=False):
        values = group["conf"].to_numpy(dtype=np.float64)
        rows.append({**dict(zip(KEY, key)), "n": len(values), **_statistics(values)})
    stats = pd.DataFrame(rows, columns=list(CONFIDENCE_COLUMNS))
    out = answer_groups(table).merge(stats, on=KEY, how="left")
    out["n"] = out["n"].fillna(0).astype(np.int64)
    for column in STATISTICS:
        out[column] = out[column].astype(np.float64)
    return out[list(CONFIDENCE_COLUMNS)]

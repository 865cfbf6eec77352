"""Measured defense vs the study's analytic estimate, per dataset x vendor.

Inputs: the results table without the defense (``before``), the table of the same probes through
the defended vendor (``after``, measured), and per row whether the defense flagged the deepfake and
the genuine target image(s).

Columns of :func:`defense_table` (rates in %, shares of all valid probes unless said otherwise):

- ``tpr``: share of the deepfakes the defense flagged; ``fpr``: share of the genuine target images
  it flagged; ``accuracy``: (flagged deepfakes + passed genuine images) / all of them (the probes'
  deepfakes and genuine images count equally, so this is the balanced accuracy).
- ``NA_before`` / ``NA_after`` (and TA): the metric without and with the defense, measured.
- ``NA_study_est``: the study's analytic estimate, rate x (1 - detector accuracy).
- ``NA_indep_est``: the estimate if detector misses were independent of the vendor being fooled,
  rate x (1 - TPR) (for TA also x (1 - FPR)^k for the k genuine reference calls it needs).
- ``NA_gap``: measured minus the study's estimate, in percentage points.
- ``genuine_named_before``: genuine target images the vendor named without the defense;
  ``genuine_cost``: share of those recognitions the defense destroyed (% of genuine_named_before).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.errors import DfiError
from harness.metrics import DEFAULT_BETA, DEFAULT_GAMMA, compute_metrics
from harness.metrics.probes import ProbeArrays

ROW_KEY = ("dataset", "source", "probe_id", "vendor")


class DefenseEvaluationError(DfiError):
    """The before/after tables or the flags do not describe the same probes."""


def align_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """``after`` reordered to ``before``'s rows (matched on dataset, source, probe_id, vendor)."""
    if len(before) != len(after):
        raise DefenseEvaluationError(f"before has {len(before)} rows, after {len(after)}: not the same probes")
    if before.duplicated(list(ROW_KEY)).any():
        raise DefenseEvaluationError("duplicate (dataset, source, probe_id, vendor) rows in the results")
    idx = pd.MultiIndex.from_frame(after[list(ROW_KEY)])
    pos = idx.get_indexer(pd.MultiIndex.from_frame(before[list(ROW_KEY)]))
    if (pos < 0).any():
        raise DefenseEvaluationError("after lacks some probes of before")
    return after.iloc[pos].reset_index(drop=True)


def _metric(df: pd.DataFrame, metric: str, by: Sequence[str], beta: float, gamma: float) -> pd.Series:
    m = compute_metrics(df, beta, gamma, by)
    m = m[(m["metric"] == metric) & (m["basis"] == "all")]
    return m.set_index(list(by))["value"]


def defense_table(
    before: pd.DataFrame,
    after: pd.DataFrame,
    fake_flagged: np.ndarray,
    target_flagged: np.ndarray,
    *,
    by: Sequence[str] = ("dataset", "vendor"),
    beta: float = DEFAULT_BETA,
    gamma: float = DEFAULT_GAMMA,
    policy: str = "",
) -> pd.DataFrame:
    """One row per group: detector rates, NA/TA before/after/estimates, the cost on genuine images."""
    before = before.reset_index(drop=True)
    after = align_after(before, after)
    fake_flagged = np.asarray(fake_flagged, dtype=bool)
    target_flagged = np.asarray(target_flagged, dtype=bool)
    if fake_flagged.shape != (len(before),) or target_flagged.shape != (len(before),):
        raise DefenseEvaluationError("need one fake flag and one target flag per results row")

    pb = ProbeArrays.from_frame(before, by)
    pa = ProbeArrays.from_frame(after, by)
    valid = pb.valid & pa.valid
    n_valid = pb.count(valid).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = pb.count(valid & fake_flagged) / n_valid
        fpr = pb.count(valid & target_flagged) / n_valid
    accuracy = (tpr + (1.0 - fpr)) / 2.0
    n_refs = np.where(before["target2_name"].astype(str).ne("") | before["target2_error"].astype(str).ne(""), 2, 1)
    mean_refs = pb.count(valid & (n_refs == 2)) / np.maximum(n_valid, 1) + 1.0

    genuine_before = valid & _named(before, "target_name")
    genuine_lost = genuine_before & ~_named(after, "target_name")
    g_before = pb.count(genuine_before)
    g_lost = pb.count(genuine_lost)

    out = pb.keys.reset_index(drop=True).copy()
    out.insert(0, "policy", policy)
    out["probes"] = n_valid.astype(int)
    out["tpr"] = 100 * tpr
    out["fpr"] = 100 * fpr
    out["accuracy"] = 100 * accuracy
    for metric in ("NA", "TA"):
        b = _metric(before[valid].reset_index(drop=True), metric, by, beta, gamma)
        a = _metric(after[valid].reset_index(drop=True), metric, by, beta, gamma)
        keys = pd.MultiIndex.from_frame(out[list(by)]) if len(by) > 1 else pd.Index(out[by[0]])
        bv = b.reindex(keys).to_numpy()
        av = a.reindex(keys).to_numpy()
        out[f"{metric}_before"] = bv
        out[f"{metric}_after"] = av
        out[f"{metric}_study_est"] = bv * (1.0 - accuracy)
        indep = bv * (1.0 - tpr)
        if metric == "TA":
            indep = indep * (1.0 - fpr) ** mean_refs
        out[f"{metric}_indep_est"] = indep
        out[f"{metric}_gap"] = av - bv * (1.0 - accuracy)
    out["genuine_named_before"] = g_before
    out["genuine_destroyed"] = g_lost
    with np.errstate(divide="ignore", invalid="ignore"):
        out["genuine_cost"] = np.where(g_before > 0, 100.0 * g_lost / np.maximum(g_before, 1), np.nan)
    return out


def _named(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].astype(str).str.len().to_numpy() > 0


def blank_flagged(results: pd.DataFrame, fake_flagged: np.ndarray, target_flagged: np.ndarray,
                  target2_flagged: np.ndarray | None = None) -> pd.DataFrame:
    """The answers a defended vendor gives, for simulations that skip images: a flagged image's
    recognition becomes "no celebrity" (name and confidence empty). Similarity is not guarded."""
    out = results.copy()
    for flags, name, conf in ((fake_flagged, "fake_name", "fake_conf"), (target_flagged, "target_name", "target_conf"),
                              (target2_flagged, "target2_name", "target2_conf")):
        if flags is None:
            continue
        f = np.asarray(flags, dtype=bool)
        ok = out[name.replace("_name", "_error")].astype(str).eq("").to_numpy()
        out.loc[f & ok, name] = ""
        out.loc[f & ok, conf] = np.nan
    return out

"""The defense in the layout of the study's Table 2: per dataset and "All datasets combined".

For every policy (DD1 per detector, DD2, DD3 logistic, DD3-deep) and dataset, one row:

- the detector's quality on the dataset's images (its probes' deepfakes against their genuine
  target images, each distinct image once): accuracy at the policy's decision, ROC AUC, equal error
  rate and F1 (fake = positive), each with a 95% bootstrap interval (images resampled within each
  class, 1,000 times, percentiles), the AUC also on the images as given when the evaluation guard
  re-encoded them (:mod:`harness.detectors.guard`), and the video-level AUC where several images
  are frames of one video (the mean of its frame scores, as DeepfakeBench's video AUC);
- per vendor, TA and NA before -> after the defense (measured: the dataset run again through the
  defended vendor), the study's estimate rate x (1 - accuracy) with this row's accuracy, beside;
- genuine images blocked (of the genuine target images), and the genuine recognitions lost per vendor.

:func:`table2` builds it from a :class:`harness.defense.campaign.DefenseRun`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from harness.datasets.images import parse_ref
from harness.datasets.probe import Probe
from harness.defense.campaign import DefenseRun, PolicyOutcome
from harness.defense.policy import Policy

ALL = "All datasets combined"
METRICS = ("accuracy", "auc", "eer", "f1")
N_BOOT = 1000


def detection_metrics(y: np.ndarray, score: np.ndarray, flag: np.ndarray) -> dict[str, float]:
    """Accuracy and F1 of the decisions, ROC AUC and EER of the scores (NaN where a class is absent)."""
    y, score, flag = np.asarray(y, bool), np.asarray(score, float), np.asarray(flag, bool)
    out = {"accuracy": float((flag == y).mean()) if len(y) else float("nan")}
    tp, fp, fn = int((flag & y).sum()), int((flag & ~y).sum()), int((~flag & y).sum())
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos and n_neg:
        # AUC as the Mann-Whitney statistic (ties count half), computed here rather than by sklearn
        # because the bootstrap calls this thousands of times
        ranks = rankdata(score)
        out["auc"] = float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
        # EER: the smallest achievable max(FPR, miss rate) over every threshold (roc_curve's points)
        order = np.argsort(-score, kind="mergesort")
        s_sorted, y_sorted = score[order], y[order]
        last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
        tpr = np.r_[0.0, np.cumsum(y_sorted)[last] / n_pos]
        fpr = np.r_[0.0, np.cumsum(~y_sorted)[last] / n_neg]
        out["eer"] = float(np.min(np.maximum(fpr, 1 - tpr)))
    else:
        out["auc"] = out["eer"] = float("nan")
    return out


def batch_metrics(y: np.ndarray, score: np.ndarray, flag: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`detection_metrics` for many resamples at once: rows of (B, n) arrays, each row with
    the same class counts (as stratified resampling gives)."""
    y, score, flag = np.asarray(y, bool), np.asarray(score, float), np.asarray(flag, bool)
    tp, fp, fn = (flag & y).sum(1), (flag & ~y).sum(1), (~flag & y).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"accuracy": (flag == y).mean(1), "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn),
                                                                np.nan)}
    n_pos, n_neg = int(y[0].sum()), int((~y[0]).sum())
    if not (n_pos and n_neg):
        out["auc"] = out["eer"] = np.full(len(y), np.nan)
        return out
    ranks = rankdata(score, axis=1)
    out["auc"] = ((ranks * y).sum(1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    order = np.argsort(-score, axis=1, kind="stable")
    s_sorted, y_sorted = np.take_along_axis(score, order, 1), np.take_along_axis(y, order, 1)
    last = np.concatenate([s_sorted[:, 1:] != s_sorted[:, :-1], np.ones((len(y), 1), bool)], axis=1)
    worst = np.maximum(np.cumsum(~y_sorted, 1) / n_neg, 1 - np.cumsum(y_sorted, 1) / n_pos)
    out["eer"] = np.minimum(np.where(last, worst, np.inf).min(1), 1.0)  # 1.0: the (0, 0) point
    return out


def bootstrap_indices(y: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n) resample indices, drawn within each class (so both stay present)."""
    y = np.asarray(y, bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    rng = np.random.default_rng(seed)
    parts = [rng.choice(c, (n_boot, len(c))) for c in (pos, neg) if len(c)]
    return np.concatenate(parts, axis=1) if parts else np.zeros((n_boot, 0), int)


def bootstrap_intervals(y: np.ndarray, score: np.ndarray, flag: np.ndarray, *, n_boot: int = N_BOOT,
                        seed: int = 0) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of :func:`detection_metrics`, resampling within each class."""
    y, score, flag = np.asarray(y, bool), np.asarray(score, float), np.asarray(flag, bool)
    if len(y) < 2:
        return {m: (float("nan"), float("nan")) for m in METRICS}
    idx = bootstrap_indices(y, n_boot, seed)
    draws: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    for start in range(0, n_boot, 200):  # bounded memory for large image sets
        part = idx[start:start + 200]
        for m, v in batch_metrics(y[part], score[part], flag[part]).items():
            draws[m].append(v)
    out = {}
    for m, vals in draws.items():
        a = np.concatenate(vals)
        a = a[np.isfinite(a)]
        out[m] = (float(np.percentile(a, 2.5)), float(np.percentile(a, 97.5))) if len(a) else (np.nan, np.nan)
    return out


def video_key(ref: str) -> str:
    """The video an image reference is a frame of (``clip.mp4#frame=N`` -> ``clip.mp4``); a still
    image is its own video."""
    parsed = parse_ref(ref)
    return str(parsed.path) if parsed.frame is not None else ref


def video_scores(videos: Sequence[str], y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per video: its label and the mean of its frames' scores; also the largest frame count."""
    frame = pd.DataFrame({"video": list(videos), "y": np.asarray(y, bool), "s": np.asarray(score, float)})
    g = frame.groupby(["video", "y"], sort=True)["s"]
    means = g.mean()
    return (means.index.get_level_values("y").to_numpy(bool), means.to_numpy(float),
            int(g.size().max()) if len(frame) else 0)


@dataclass(frozen=True)
class Images:
    keys: list[str]
    is_fake: np.ndarray
    videos: list[str]


def dataset_images(probes: Sequence[Probe], run: DefenseRun) -> Images:
    """Each distinct prepared image of these probes once: the deepfakes and the genuine targets."""
    seen: dict[str, tuple[bool, str]] = {}
    for p in probes:
        k = run.keys.get(p.probe_id)
        if k is None:
            continue
        refs = list(k.refs) or [p.deepfake, *p.target_images[:2]]
        for key, ref, fake in zip((k.fake, *k.targets), refs, (True, *([False] * len(k.targets))), strict=False):
            if key is not None and key not in seen:
                seen[key] = (fake, video_key(ref))
    keys = sorted(seen)
    return Images(keys, np.array([seen[k][0] for k in keys], bool), [seen[k][1] for k in keys])


def _matrix(policy: Policy, keys: Sequence[str], scores: Mapping[str, Mapping[str, float]]
            ) -> tuple[np.ndarray, np.ndarray]:
    names = [d.name for d in policy.detectors]
    ok = np.array([all(k in scores.get(n, {}) for n in names) for k in keys], bool)
    X = np.array([[scores[n][k] for n in names] for k, good in zip(keys, ok, strict=True) if good], float)
    return X.reshape(int(ok.sum()), len(names)), ok


def quality_row(policy: Policy, images: Images, run: DefenseRun, *, n_boot: int = N_BOOT) -> dict[str, float]:
    X, ok = _matrix(policy, images.keys, run.scores)
    y = images.is_fake[ok]
    score, flag = policy.score(X), policy.flags(X)
    row: dict[str, float] = {"n_fake": int(y.sum()), "n_real": int((~y).sum()), "unscored": int((~ok).sum())}
    m = detection_metrics(y, score, flag)
    ci = bootstrap_intervals(y, score, flag, n_boot=n_boot)
    for name in METRICS:
        row[name], (row[f"{name}_lo"], row[f"{name}_hi"]) = m[name], ci[name]
    row["genuine_blocked"] = int((flag & ~y).sum())
    # the same policy on the images as given (no re-encoding), where the guard was on
    raw = {n: run.raw_scores.get(n, run.scores.get(n, {})) for n in (d.name for d in policy.detectors)}
    if run.guard is not None and run.raw_scores:
        Xr, okr = _matrix(policy, images.keys, raw)
        yr = images.is_fake[okr]
        row["auc_as_given"] = detection_metrics(yr, policy.score(Xr), policy.flags(Xr))["auc"]
    else:
        row["auc_as_given"] = float("nan")
    vy, vs, longest = video_scores([v for v, good in zip(images.videos, ok, strict=True) if good], y, score)
    row["videos"] = len(vy)
    row["video_auc"] = detection_metrics(vy, vs, vs >= 0.5)["auc"] if longest > 1 else float("nan")
    return row


VENDOR_FIELDS = ("NA_before", "NA_after", "TA_before", "TA_after", "genuine_named_before", "genuine_destroyed")


def _vendor_columns(table: pd.DataFrame, accuracy: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in table.to_dict("records"):
        v = str(r["vendor"])
        for f in VENDOR_FIELDS:
            out[f"{v}:{f}"] = r[f]
        for metric in ("NA", "TA"):  # the study's estimate with this row's detector accuracy
            out[f"{v}:{metric}_study_est"] = r[f"{metric}_before"] * (1.0 - accuracy)
    return out


def table2(run: DefenseRun, probes: Sequence[Probe], *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """One row per policy x (each dataset, then all datasets combined); see the module docstring."""
    by_id = {p.probe_id: p for p in probes}
    rows = []
    for outcome in run.outcomes:
        subset = [by_id[i] for i in sorted(outcome.probe_ids) if i in by_id]
        groups = sorted({p.dataset for p in subset})
        for dataset in [*groups, ALL]:
            members = subset if dataset == ALL else [p for p in subset if p.dataset == dataset]
            q = quality_row(outcome.policy, dataset_images(members, run), run, n_boot=n_boot)
            row = {"policy": outcome.policy.name, "dataset": dataset, "probes": len(members), **q}
            row.update(_vendor_columns(_vendor_table(outcome, dataset), q["accuracy"]))
            rows.append(row)
    return pd.DataFrame(rows)


def _vendor_table(outcome: PolicyOutcome, dataset: str) -> pd.DataFrame:
    if dataset == ALL:
        return outcome.combined if outcome.combined is not None else outcome.table.iloc[0:0]
    return outcome.table[outcome.table["dataset"] == dataset]


def vendors_of(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(c.split(":")[0] for c in table.columns if ":" in c))


def _f(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:.{digits}f}"


def cells(row: Mapping[str, object], vendors: Sequence[str]) -> list[str]:
    """One Table 2 row as display cells (shared by the Markdown report and the terminal table):
    policy, dataset, images, accuracy/AUC/EER/F1 with intervals, AUC as given, video AUC, genuine
    blocked, then per vendor NA and TA "before -> after (study estimate)"."""
    r = {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v) for k, v in row.items()}

    def ci(m: str) -> str:
        return f"{_f(100 * r[m])} [{_f(100 * r[f'{m}_lo'])}, {_f(100 * r[f'{m}_hi'])}]"  # type: ignore[operator]

    def auc(x: object) -> str:
        return _f(float(x), 3)  # type: ignore[arg-type]

    out = [str(r["policy"]), str(r["dataset"]), f"{int(r['n_fake'])}/{int(r['n_real'])}",  # type: ignore[call-overload]
           ci("accuracy"), f"{auc(r['auc'])} [{auc(r['auc_lo'])}, {auc(r['auc_hi'])}]", auc(r["auc_as_given"]),
           ci("eer"), ci("f1"), auc(r["video_auc"]), f"{int(r['genuine_blocked'])}/{int(r['n_real'])}"]  # type: ignore[call-overload]
    for v in vendors:
        for metric in ("NA", "TA"):
            b, a, e = (r.get(f"{v}:{metric}_{s}", float("nan")) for s in ("before", "after", "study_est"))
            out.append(f"{_f(b)} -> {_f(a)} ({_f(e)})")  # type: ignore[arg-type]
    return out


def headers(vendors: Sequence[str], display: Mapping[str, str] | None = None) -> list[str]:
    names = display or {}
    out = ["policy", "dataset", "fakes/reals", "accuracy % [95% CI]", "AUC [95% CI]", "AUC as given", "EER %",
           "F1 %", "video AUC", "genuine blocked"]
    for v in vendors:
        out += [f"{names.get(v, v)} NA", f"{names.get(v, v)} TA"]
    return out


CAPTION = ("Detector quality on each dataset's images (its deepfakes vs their genuine target images, each once; "
           "fake = positive; 95% bootstrap intervals, 1,000 resamples within each class). Vendor columns: "
           "% of valid probes, before -> after the defense (measured), in brackets the study's estimate "
           "rate x (1 - accuracy). video AUC: frames of one video averaged (DeepfakeBench's video AUC), where "
           "a dataset has several frames of a video. genuine blocked: genuine target images flagged.")


def to_markdown(table: pd.DataFrame, display: Mapping[str, str] | None = None) -> str:
    vendors = vendors_of(table)
    head = headers(vendors, display)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells(r, vendors)) + " |" for r in table.to_dict("records")]
    return "\n".join(lines)

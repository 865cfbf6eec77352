"""Multi-frame aggregation: the metrics when a vendor's answers over k consecutive frames are averaged.

Where the rows of a table are frames of one video (non-empty ``video`` and ``frame``), a *window* is
k consecutive frames of one video, and each window is scored as one probe. The rule, exactly:

1. **Videos.** Rows are grouped by (dataset, source, vendor, video) and sorted by frame number
   (``frame`` is a digit string, compared as a number). Rows without a video or frame take no part.
2. **Windows.** Each video's frames are cut, from its first frame on, into consecutive
   non-overlapping windows of exactly k frames. A last window with fewer than k frames is dropped
   (its frames are counted as ``frames_dropped``); a video with fewer than k frames gives no window.
   "Consecutive" means consecutive among the recorded frames of the video, whatever their numbers.
3. **Name.** For every name the vendor gave on at least one frame of the window, its mean confidence
   over all k frames, a frame that did not give that name counting 0 (a name recorded without a
   confidence counts 0 too). The window's candidate is the name with the highest mean, ties going
   to the alphabetically first name. The window names it, with that mean as its confidence, when the
   mean is >= the vendor's reporting threshold; otherwise the window names no one (no name, no
   confidence). The threshold is :attr:`StudyDefinitions.frame_threshold
   <harness.study.definitions.StudyDefinitions.frame_threshold>`, or by default per vendor the
   smallest confidence of any named answer the vendor gave in the table (:func:`vendor_thresholds`:
   its own reporting floor, 55 for AWS and 70.0056 for Azure in the study's files).
4. **Real image.** The window's answer on the real target image (``target_*``, ``target2_*``) is its
   first frame's; it is the same for every frame of a video in the study's files.
5. **Errors.** A window with any errored frame (non-empty ``fake_error``, ``target_error`` or
   ``target2_error``) carries the first such error in frame order, so it is an errored probe and
   leaves every denominator, like an errored frame.
6. **Similarity.** The mean of the similarity scores the window's frames have (a frame whose
   similarity call failed, or that has no score, has none); no score when no frame has one.

The windows then go through :func:`harness.metrics.compute.compute_metrics` like any other probes.
With k = 1 each frame is its own window and keeps its own answer (its confidence is at least the
vendor's floor), so k = 1 gives exactly the per-frame metrics of the rows that identify a frame.

:func:`frame_metrics` reports, for each k, every (dataset, source file, vendor) with frame rows (the two
VoxCelebTH files apart) and each (dataset, vendor) pooled over its files (``source`` empty), with the
windows, the frames in them and left over, and the videos that gave a window; where no video has k
frames (FCelebDF: one frame per clip) the rates are undefined. Its ``coverage`` says which files
identify video and frame and which do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.errors import DfiError
from harness.metrics.compute import RECORD_COLUMNS, compute_metrics
from harness.metrics.meta import BASES, METRICS
from harness.metrics.probes import nonempty_text, score_values
from harness.results.paper import PAPER_FILES
from harness.results.schema import COLUMN_NAMES
from harness.study.data import dataset_order
from harness.study.definitions import StudyDefinitions

VIDEO_KEY: tuple[str, ...] = ("dataset", "source", "vendor", "video")
GROUP_KEY: tuple[str, ...] = ("dataset", "source", "vendor")
# per (dataset, source, vendor): videos that gave at least one window, frame rows, windows, frames in a
# window, frames in no window
COUNT_COLUMNS: tuple[str, ...] = ("videos", "frames", "windows", "frames_used", "frames_dropped")
RECORDS_COLUMNS: tuple[str, ...] = (
    "dataset", "source", "vendor", "k", "windows", "frames_used", "frames_dropped", "videos", *RECORD_COLUMNS,
)
COVERAGE_COLUMNS: tuple[str, ...] = (
    "source", "dataset", "vendor", "rows", "identifies_frames", "videos",
    "frames_min", "frames_median", "frames_max", "note",
)
ERROR_COLUMNS: tuple[str, ...] = ("fake_error", "target_error", "target2_error")
# taken from a window's first frame
FIRST_COLUMNS: tuple[str, ...] = (
    "dataset", "source", "method", "vendor", "target", "references", "celebrity", "video",
    "target_name", "target_conf", "target2_name", "target2_conf",
)
# read per frame
WINDOW_COLUMNS: tuple[str, ...] = (
    "probe_id", "frame", "fake_name", "fake_conf", *ERROR_COLUMNS, "similarity", "similarity_error",
)
# (name, confidence) columns whose named answers set a vendor's observed reporting floor
ANSWER_COLUMNS: tuple[tuple[str, str], ...] = (("fake_name", "fake_conf"), ("real_name", "real_conf"))
REFERENCE_ANSWER_COLUMNS: tuple[tuple[str, str], ...] = (("target_name", "target_conf"),
                                                         ("target2_name", "target2_conf"))


@dataclass
class FrameAggregation:
    records: pd.DataFrame            # RECORDS_COLUMNS, one block per k
    thresholds: dict[str, float]     # vendor -> reporting threshold a window's mean must reach
    coverage: pd.DataFrame           # COVERAGE_COLUMNS, one row per source file


def _text(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series("", index=table.index, dtype=object)
    return table[column].fillna("").astype(str)


def vendor_thresholds(table: pd.DataFrame, override: float | None = None) -> dict[str, float]:
    """Per vendor in ``table``: ``override``, or else the smallest confidence of a named answer it gave.

    The named answers are the deepfakes' (``fake_*``) and the real images' (``real_*``; where a table
    has no ``real_name`` column, ``target_*`` and ``target2_*``). A vendor that named no one gets 0.
    """
    vendors = sorted(set(_text(table, "vendor")))
    if override is not None:
        return {v: float(override) for v in vendors}
    pairs = ANSWER_COLUMNS if "real_name" in table.columns else (ANSWER_COLUMNS[0], *REFERENCE_ANSWER_COLUMNS)
    vendor = _text(table, "vendor").to_numpy()
    lows: list[pd.Series] = []
    for name, conf in pairs:
        scores = score_values(table, conf)
        named = nonempty_text(table, name) & ~np.isnan(scores)
        lows.append(pd.Series(scores[named]).groupby(vendor[named]).min())
    floor = pd.concat(lows).groupby(level=0).min() if lows else pd.Series(dtype=float)
    return {v: float(floor.get(v, 0.0)) for v in vendors}


def _frame_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that identify a video and a frame (only the columns windows need), sorted by video
    key then frame number."""
    table = table.assign(**{c: "" for c in ("video", "frame") if c not in table.columns})
    needed = [c for c in (*FIRST_COLUMNS, *WINDOW_COLUMNS) if c in table.columns]
    rows = table.loc[nonempty_text(table, "video") & nonempty_text(table, "frame"), needed]
    text = rows["frame"].astype(str)
    bad = ~text.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if bad.any():
        row = rows.iloc[int(np.flatnonzero(bad)[0])]
        raise DfiError(f"{row['source']}: frame {row['frame']!r} of {row['probe_id']!r} is not a frame number")
    rows = rows.assign(_frame=text.astype(np.int64).to_numpy())
    return rows.sort_values([*VIDEO_KEY, "_frame"], kind="stable").reset_index(drop=True)


def _first_per_window(window: np.ndarray, mask: np.ndarray, values: pd.Series, n: int) -> np.ndarray:
    """Per window, the first value (in frame order) among the rows where ``mask`` holds; "" if none."""
    out = np.full(n, "", dtype=object)
    hits = pd.Series(values.to_numpy()[mask], index=window[mask])
    first = hits[~hits.index.duplicated()]
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def frame_windows(table: pd.DataFrame, k: int, thresholds: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The windows of ``k`` consecutive frames (module rule) as a results-like table, and their counts.

    Returns ``(windows, counts)``: ``windows`` has one row per window, with ``probe_id`` =
    ``"<video>#<first frame>-<last frame>"`` and the results table's columns (plus ``celebrity``,
    ``video``, ``frame_first``, ``frame_last``), ready for :func:`compute_metrics`; ``counts`` has one
    row per (dataset, source, vendor) with frame rows, and :data:`COUNT_COLUMNS` (``videos``: those
    that gave at least one window).
    """
    return _windows(_frame_rows(table), k, thresholds)


def _windows(rows: pd.DataFrame, k: int, thresholds: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`frame_windows` on the rows :func:`_frame_rows` picked and sorted."""
    if int(k) != k or k < 1:
        raise DfiError(f"a window is a whole number >= 1 of frames, not {k!r}")
    k = int(k)
    missing = sorted(set(_text(rows, "vendor")) - set(thresholds))
    if missing:
        raise DfiError(f"no reporting threshold for vendor(s) {', '.join(missing)}")

    # rows are sorted by video, so each video's frames are one run of rows
    video = rows.groupby(list(VIDEO_KEY), sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.diff(video, prepend=-1))
    sizes = np.diff(np.append(starts, len(rows)))
    position = np.arange(len(rows)) - starts[video]
    used = position < (sizes // k * k)[video]
    kept = rows[used]
    n = len(kept) // k
    window = np.arange(len(kept)) // k   # and so each k kept rows in a row are one window

    counts = _counts(rows, starts, sizes, used, k)
    first = kept.iloc[::k]
    out = pd.DataFrame({c: first[c].to_numpy() for c in FIRST_COLUMNS if c in first.columns})
    out["frame_first"] = first["frame"].astype(str).to_numpy()
    out["frame_last"] = kept["frame"].iloc[k - 1::k].astype(str).to_numpy()
    out["probe_id"] = out["video"].astype(str) + "#" + out["frame_first"] + "-" + out["frame_last"]

    name, conf = _window_names(kept, window, n, k)
    threshold = out["vendor"].map(dict(thresholds)).to_numpy(dtype=np.float64) if n else np.zeros(0)
    named = ~np.isnan(conf) & (conf >= threshold)
    out["fake_name"] = np.where(named, name, "")
    out["fake_conf"] = np.where(named, conf, np.nan)

    for column in ERROR_COLUMNS:
        out[column] = _first_per_window(window, nonempty_text(kept, column), _text(kept, column), n)
    out["similarity"], out["similarity_error"] = _window_similarity(kept, window, n)
    order = [c for c in COLUMN_NAMES if c in out.columns] + [c for c in out.columns if c not in COLUMN_NAMES]
    return out[order], counts


def _window_names(kept: pd.DataFrame, window: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window, the name with the highest mean confidence over its k frames, and that mean (NaN: none)."""
    names = np.full(n, "", dtype=object)
    means = np.full(n, np.nan)
    named = nonempty_text(kept, "fake_name")
    if not named.any():
        return names, means
    answers = pd.DataFrame({
        "window": window[named],
        "name": _text(kept, "fake_name").to_numpy()[named],
        "conf": np.fmax(score_values(kept, "fake_conf")[named], 0.0),  # a name without a confidence counts 0
    })
    per_name = answers.groupby(["window", "name"], sort=False)["conf"].sum().div(k).reset_index()
    best = per_name.sort_values(["window", "conf", "name"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("window")
    at = best["window"].to_numpy()
    names[at] = best["name"].to_numpy()
    means[at] = best["conf"].to_numpy()
    return names, means


def _window_similarity(kept: pd.DataFrame, window: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the frames' similarity scores (NaN when none), and the first similarity error of a window
    left without any score."""
    scores = score_values(kept, "similarity")
    failed = nonempty_text(kept, "similarity_error")
    present = ~np.isnan(scores) & ~failed
    total = np.bincount(window[present], weights=scores[present], minlength=n)
    count = np.bincount(window[present], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    errors = _first_per_window(window, failed, _text(kept, "similarity_error"), n)
    return mean, np.where(count > 0, "", errors)


def _counts(rows: pd.DataFrame, starts: np.ndarray, sizes: np.ndarray, used: np.ndarray, k: int) -> pd.DataFrame:
    """:data:`COUNT_COLUMNS` per (dataset, source, vendor), from the videos' first rows and sizes."""
    key = list(GROUP_KEY)
    firsts = rows[key].iloc[starts]
    # rows are sorted by (dataset, source, vendor) first: a group starts where a video's key changes
    changed = (firsts != firsts.shift()).any(axis=1).to_numpy()
    video_group = np.cumsum(changed) - 1
    n_groups = int(changed.sum())
    group = np.repeat(video_group, sizes)
    out = firsts[changed].reset_index(drop=True)
    out["frames"] = np.bincount(group, minlength=n_groups)
    out["frames_used"] = np.bincount(group[used], minlength=n_groups)
    out["videos"] = np.bincount(video_group[sizes >= k], minlength=n_groups)
    out["windows"] = out["frames_used"] // k
    out["frames_dropped"] = out["frames"] - out["frames_used"]
    return out[[*key, *COUNT_COLUMNS]]


def frame_metrics(table: pd.DataFrame, definitions: StudyDefinitions) -> FrameAggregation:
    """The six metrics over windows of each k in ``definitions.frames``, per file and per dataset."""
    thresholds = vendor_thresholds(table, definitions.frame_threshold)
    rows = _frame_rows(table)
    blocks = []
    for k in definitions.frames:
        windows, counts = _windows(rows, k, thresholds)
        pooled = counts.groupby(["dataset", "vendor"], as_index=False)[list(COUNT_COLUMNS)].sum()
        for by, block_counts in ((list(GROUP_KEY), counts), (["dataset", "vendor"], pooled.assign(source=""))):
            blocks.append(_metric_block(windows, block_counts, by, definitions).assign(k=int(k)))
    records = (pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=list(RECORDS_COLUMNS)))
    return FrameAggregation(_ordered(records[list(RECORDS_COLUMNS)]), thresholds, frame_coverage(table))


def _metric_block(windows: pd.DataFrame, counts: pd.DataFrame, by: list[str],
                  definitions: StudyDefinitions) -> pd.DataFrame:
    """Every (metric, basis) of every group in ``counts``; a group without windows gets undefined rates."""
    grid = pd.DataFrame([(m, b) for m in METRICS for b in BASES], columns=["metric", "basis"])
    base = counts.merge(grid, how="cross")
    if windows.empty:
        out = base.assign(value=np.nan, numerator=0, denominator=0, ci_low=np.nan, ci_high=np.nan)
    else:
        metrics = compute_metrics(windows, definitions.beta, definitions.gamma, by).drop(columns=["beta", "gamma"])
        for column in by:
            metrics[column] = metrics[column].astype(str)
            base[column] = base[column].astype(str)
        out = base.merge(metrics, on=[*by, "metric", "basis"], how="left")
        for column in ("numerator", "denominator"):
            out[column] = out[column].fillna(0).astype(np.int64)
    out["beta"] = float(definitions.beta)
    out["gamma"] = float(definitions.gamma)
    return out


def _ordered(records: pd.DataFrame) -> pd.DataFrame:
    """k, then datasets in the study's order, vendor, the files then the pooled row; metrics in order."""
    ranks = {d: i for i, d in enumerate(dataset_order(records["dataset"]))}
    metric_rank = {m: i for i, m in enumerate(METRICS)}
    basis_rank = {b: i for i, b in enumerate(BASES)}
    keys = pd.DataFrame({
        "k": records["k"], "dataset": records["dataset"].map(ranks), "vendor": records["vendor"].astype(str),
        "pooled": records["source"] == "", "source": records["source"].astype(str),
        "metric": records["metric"].map(metric_rank), "basis": records["basis"].map(basis_rank),
    })
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return records.loc[order].reset_index(drop=True)


def frame_coverage(table: pd.DataFrame) -> pd.DataFrame:
    """One row per source file: whether its rows identify video and frame, and frames per video."""
    rows = []
    for (source, dataset, vendor), group in table.groupby(["source", "dataset", "vendor"], sort=True):
        identified = nonempty_text(group, "video") & nonempty_text(group, "frame")
        per_video = _text(group, "video")[identified].value_counts()
        spec = PAPER_FILES.get(str(source))
        if spec is not None:
            identifies, note = spec.frames is not None, spec.frames_note
        else:
            identifies = bool(len(per_video))
            note = "video and frame as given in the table" if identifies else "no video or frame in the table"
        stats = (float(per_video.min()), float(per_video.median()), float(per_video.max())) if len(per_video) \
            else (np.nan, np.nan, np.nan)
        rows.append((source, dataset, vendor, len(group), identifies, len(per_video), *stats, note))
    coverage = pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
    ranks = {d: i for i, d in enumerate(dataset_order(coverage["dataset"]))}
    return coverage.sort_values(["dataset", "source"], key=lambda c: c.map(ranks) if c.name == "dataset" else c,
                                kind="stable").reset_index(drop=True)

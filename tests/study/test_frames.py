"""Multi-frame aggregation (harness.study.frames): hand-computed windows, a loop-by-loop reference
implementation of the rule, k = 1 against the per-frame metrics, and the study's VoxCelebTH files."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import DfiError
from harness.metrics import compute_metrics
from harness.results.io import validate_results
from harness.study.data import load_study
from harness.study.definitions import StudyDefinitions
from harness.study.frames import (
    COVERAGE_COLUMNS,
    RECORDS_COLUMNS,
    frame_coverage,
    frame_metrics,
    frame_windows,
    vendor_thresholds,
)

from support.study_tables import study_table

MS = {"ms": 70.0}
METRIC_VALUES = ["value", "numerator", "denominator", "ci_low", "ci_high"]


def frame(video: str, number: str, name: str = "", conf: float | None = None, **extra: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        dataset="VoxCelebTH", source="clips.csv", method="reenactment", vendor="ms", target="Ann",
        target_name="Ann", target_conf=99.0, probe_id=f"{video}/{number}.jpg", video=video, frame=number,
        fake_name=name, fake_conf=conf,
    )
    row.update(extra)
    return row


def one(windows: pd.DataFrame, probe_id: str) -> pd.Series:
    hit = windows[windows["probe_id"] == probe_id]
    assert len(hit) == 1, f"{probe_id} not found once in {list(windows['probe_id'])}"
    return hit.iloc[0]


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    rows = [
        # v1: 5 frames recorded out of order; numeric order is 2, 9, 10, 11, 30 (text order would be 10, 11, 2, ..)
        frame("v1", "10", "Bob", 95.0, similarity=80.0),
        frame("v1", "2", "Ann", 80.0, similarity=60.0),
        frame("v1", "30", "Bob", 99.0, similarity=99.0),   # the 5th frame: dropped at k = 4
        frame("v1", "9", "Ann", 90.0, similarity_error="InvalidParameterException", similarity=99.0),
        frame("v1", "11"),
        # v2: 8 frames, two windows at k = 4
        frame("v2", "1", "Ann", 100.0, similarity=50.0),
        frame("v2", "2", "Ann", 90.0),
        frame("v2", "3", "Ann", 90.0),
        frame("v2", "4"),
        frame("v2", "5", "Zed", 90.0),
        frame("v2", "6", "Abe", 90.0),
        frame("v2", "7"),
        frame("v2", "8", "Ann", 95.0),
        # v3: one errored frame
        frame("v3", "1", "Ann", 99.0), frame("v3", "2", "Ann", 99.0),
        frame("v3", "3", "Ann", 99.0, fake_error="ThrottlingException"), frame("v3", "4", "Ann", 99.0),
        # v4: 3 frames, shorter than a window at k = 4
        frame("v4", "1", "Ann", 99.0), frame("v4", "2", "Ann", 99.0), frame("v4", "3", "Ann", 99.0),
        # a still image: no video, no frame
        frame("", "", "Ann", 99.0, probe_id="still.jpg"),
    ]
    return study_table(rows)


def test_window_of_four_with_a_dropped_frame(clips):
    windows, counts = frame_windows(clips, 4, MS)
    w = one(windows, "v1#2-11")
    # Ann (80 + 90 + 0 + 0) / 4 = 42.5, Bob 95 / 4 = 23.75: the best mean is below 70, so no name
    assert w["fake_name"] == "" and math.isnan(w["fake_conf"])
    # frame 9's similarity call failed, frame 11 has no score: (60 + 80) / 2
    assert w["similarity"] == pytest.approx(70.0)
    assert w["similarity_error"] == ""
    assert not windows["probe_id"].str.startswith("v1#30").any()
    c = counts.iloc[0]
    assert (c["frames"], c["windows"], c["frames_used"], c["frames_dropped"]) == (20, 4, 16, 4)
    assert c["videos"] == 3   # v4 has 3 frames: no window


def test_mean_reaching_the_threshold_names_the_celebrity(clips):
    windows, _ = frame_windows(clips, 4, MS)
    w = one(windows, "v2#1-4")
    assert (w["fake_name"], w["fake_conf"]) == ("Ann", pytest.approx(70.0))   # (100 + 90 + 90 + 0) / 4 = 70 >= 70
    assert w["similarity"] == pytest.approx(50.0)
    assert w["target_name"] == "Ann" and w["target_conf"] == 99.0
    below, _ = frame_windows(clips, 4, {"ms": 70.01})
    assert one(below, "v2#1-4")["fake_name"] == ""


def test_ties_go_to_the_alphabetically_first_name(clips):
    windows, _ = frame_windows(clips, 4, {"ms": 20.0})
    w = one(windows, "v2#5-8")
    # Zed 22.5, Abe 22.5, Ann 23.75: the highest mean wins, not the first-seen or alphabetically first name
    assert (w["fake_name"], w["fake_conf"]) == ("Ann", pytest.approx(23.75))
    pairs, _ = frame_windows(clips, 2, {"ms": 40.0})
    w = one(pairs, "v2#5-6")   # Zed (first frame) 45, Abe 45: a tie
    assert (w["fake_name"], w["fake_conf"]) == ("Abe", pytest.approx(45.0))
    assert math.isnan(w["similarity"])


def test_a_window_with_an_errored_frame_is_an_errored_probe(clips):
    windows, _ = frame_windows(clips, 4, MS)
    assert one(windows, "v3#1-4")["fake_error"] == "ThrottlingException"
    assert (windows.loc[windows["probe_id"] != "v3#1-4", "fake_error"] == "").all()
    records = compute_metrics(windows, by=["dataset"])
    na = records[(records["metric"] == "NA") & (records["basis"] == "study")].iloc[0]
    # v1 (unnamed), v2#1-4 (named), v2#5-8 (unnamed) are valid; v3 is left out
    assert (na["numerator"], na["denominator"]) == (1, 3)
    pairs, _ = frame_windows(clips, 2, MS)
    assert one(pairs, "v3#1-2")["fake_error"] == "" and one(pairs, "v3#3-4")["fake_error"] == "ThrottlingException"


def test_windows_are_a_valid_results_table(clips):
    windows, _ = frame_windows(clips, 4, MS)
    assert list(windows["probe_id"]) == ["v1#2-11", "v2#1-4", "v2#5-8", "v3#1-4"]
    checked = validate_results(windows)
    assert list(checked["fake_name"]) == list(windows["fake_name"])
    assert set(windows["celebrity"]) == {"Ann"} and set(windows["video"]) == {"v1", "v2", "v3"}


def test_bad_input():
    with pytest.raises(DfiError, match="frame number"):
        frame_windows(study_table([frame("v", "x1", "Ann", 90.0)]), 1, MS)
    with pytest.raises(DfiError, match="threshold"):
        frame_windows(study_table([frame("v", "1", "Ann", 90.0)]), 1, {"aws": 55.0})
    with pytest.raises(DfiError, match="whole number"):
        frame_windows(study_table([frame("v", "1", "Ann", 90.0)]), 0, MS)


def test_vendor_thresholds():
    table = study_table([
        frame("v", "1", "Ann", 70.5, real_name="Ann", real_conf=80.0),
        frame("v", "2", "", None, real_name="Ann", real_conf=72.0),
        frame("w", "1", "Ann", 60.0, vendor="aws", real_name="Ann", real_conf=55.5),
        frame("w", "2", "", 1.0, vendor="aws"),   # a confidence without a name sets no floor
    ])
    assert vendor_thresholds(table) == {"aws": 55.5, "ms": 70.5}
    assert vendor_thresholds(table, 42.0) == {"aws": 42.0, "ms": 42.0}


def test_frame_metrics_blocks(clips):
    other = clips.assign(source="other.csv", probe_id="o" + clips["probe_id"])
    table = pd.concat([clips, other], ignore_index=True)
    assert frame_metrics(table, StudyDefinitions(frames=(4,))).thresholds == {"ms": 80.0}   # v1's frame 2
    result = frame_metrics(table, StudyDefinitions(frames=(1, 4, 8), frame_threshold=70.0))
    records = result.records
    assert list(records.columns) == list(RECORDS_COLUMNS)
    assert result.thresholds == {"ms": 70.0}
    blocks = records.groupby(["k", "source"]).size()
    assert set(blocks.index) == {(k, s) for k in (1, 4, 8) for s in ("", "clips.csv", "other.csv")}
    assert (blocks == 12).all()   # six metrics x two bases
    at4 = records[records["k"] == 4].set_index(["source", "metric", "basis"])
    assert at4.loc[("clips.csv", "NA", "study"), ["numerator", "denominator"]].tolist() == [1, 3]
    assert at4.loc[("", "NA", "study"), ["numerator", "denominator"]].tolist() == [2, 6]
    assert at4.loc[("", "TA", "study"), "windows"] == 8 and at4.loc[("", "TA", "study"), "frames_dropped"] == 8
    at8 = records[records["k"] == 8]
    assert (at8["windows"] == at8["source"].map({"": 2, "clips.csv": 1, "other.csv": 1})).all()
    assert (at8["frames_dropped"] == at8["source"].map({"": 24, "clips.csv": 12, "other.csv": 12})).all()
    assert (at8["videos"] == at8["source"].map({"": 2, "clips.csv": 1, "other.csv": 1})).all()


def test_a_k_longer_than_every_video_gives_undefined_rates(clips):
    records = frame_metrics(clips, StudyDefinitions(frames=(9,))).records
    assert len(records) == 24 and (records["windows"] == 0).all() and (records["frames_dropped"] == 20).all()
    assert records["value"].isna().all() and (records["denominator"] == 0).all()


def test_coverage_of_a_table_that_is_not_the_studys(clips):
    stills = study_table([dict(dataset="CelebDF", source="stills.csv", vendor="ms", probe_id="a.jpg", target="Ann",
                               fake_name="Ann", fake_conf=90.0)])
    coverage = frame_coverage(pd.concat([clips, stills], ignore_index=True))
    assert list(coverage.columns) == list(COVERAGE_COLUMNS)
    rows = coverage.set_index("source")
    assert rows.loc["clips.csv", ["rows", "identifies_frames", "videos"]].tolist() == [21, True, 4]
    assert rows.loc["clips.csv", ["frames_min", "frames_median", "frames_max"]].tolist() == [3.0, 4.5, 8.0]
    assert rows.loc["stills.csv", ["identifies_frames", "videos"]].tolist() == [False, 0]
    assert math.isnan(rows.loc["stills.csv", "frames_median"])
    assert list(coverage["source"]) == ["stills.csv", "clips.csv"]   # CelebDF before VoxCelebTH


# ------------------------------------------------------------------------------ reference implementation
def reference_windows(table: pd.DataFrame, k: int, thresholds: dict[str, float]) -> dict[str, tuple]:
    """The module docstring's rule with plain loops: probe_id -> (name, conf, similarity, fake_error)."""
    videos: dict[tuple, list[dict]] = defaultdict(list)
    for row in table.to_dict("records"):
        if row["video"] and row["frame"]:
            videos[(row["dataset"], row["source"], row["vendor"], row["video"])].append(row)
    out = {}
    for (_, _, vendor, video), rows in videos.items():
        rows.sort(key=lambda r: int(r["frame"]))
        for start in range(0, len(rows) - k + 1, k):
            chunk = rows[start:start + k]
            totals: dict[str, float] = defaultdict(float)
            for r in chunk:
                if r["fake_name"]:
                    conf = r["fake_conf"]
                    totals[r["fake_name"]] += 0.0 if conf is None or math.isnan(conf) else conf
            best = min(totals, key=lambda name: (-totals[name] / k, name)) if totals else ""
            mean = totals[best] / k if best else math.nan
            named = bool(best) and mean >= thresholds[vendor]
            scores = [r["similarity"] for r in chunk if not math.isnan(r["similarity"]) and not r["similarity_error"]]
            errors = [r["fake_error"] for r in chunk if r["fake_error"]]
            pid = f"{video}#{chunk[0]['frame']}-{chunk[-1]['frame']}"
            out[pid] = (best if named else "", mean if named else math.nan,
                        sum(scores) / len(scores) if scores else math.nan, errors[0] if errors else "")
    return out


def assert_matches_reference(table: pd.DataFrame, k: int,
                             thresholds: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    windows, counts = frame_windows(table, k, thresholds)
    expected = reference_windows(table, k, thresholds)
    assert sorted(windows["probe_id"]) == sorted(expected)
    for pid, name, conf, sim, err in windows[["probe_id", "fake_name", "fake_conf", "similarity",
                                              "fake_error"]].itertuples(index=False):
        e_name, e_conf, e_sim, e_err = expected[pid]
        assert (name, err) == (e_name, e_err), pid
        assert conf == pytest.approx(e_conf, nan_ok=True, rel=1e-12), pid
        assert sim == pytest.approx(e_sim, nan_ok=True, rel=1e-12), pid
    return windows, counts


def test_fixture_matches_reference(clips):
    for k in (1, 2, 3, 4, 8):
        assert_matches_reference(clips, k, MS)


@st.composite
def frame_tables(draw):
    rows = []
    for v in range(draw(st.integers(1, 5))):
        numbers = draw(st.lists(st.integers(0, 200), min_size=1, max_size=12, unique=True))
        vendor = draw(st.sampled_from(["aws", "ms"]))
        for number in numbers:
            name = draw(st.sampled_from(["", "", "Ann", "Bob", "Cid"]))
            rows.append(frame(
                f"v{v}", str(number), name, draw(st.sampled_from([55.0, 70.0, 80.0, 99.5])) if name else None,
                vendor=vendor, source=draw(st.sampled_from(["a.csv", "b.csv"])),
                similarity=draw(st.one_of(st.none(), st.floats(0, 100))),
                fake_error=draw(st.sampled_from(["", "", "", "", "", "ThrottlingException"])),
                similarity_error=draw(st.sampled_from(["", "", "", "bad image"])),
            ))
    return study_table(rows)


@settings(max_examples=40, deadline=None)
@given(table=frame_tables(), k=st.integers(1, 6), threshold=st.sampled_from([None, 0.0, 40.0, 75.0]))
def test_random_tables_match_reference(table, k, threshold):
    thresholds = vendor_thresholds(table, threshold)
    windows, counts = assert_matches_reference(table, k, thresholds)
    frames = table[table["video"] != ""].groupby(["dataset", "source", "vendor"]).size()
    indexed = counts.set_index(["dataset", "source", "vendor"])
    assert (indexed["windows"] * k + indexed["frames_dropped"] == frames.reindex(indexed.index)).all()
    assert len(windows) == indexed["windows"].sum()
    # NA at k never exceeds the windows with a named frame (at threshold 0 exactly those are named)
    if len(windows):
        with_a_name = (frame_windows(table, k, {v: 0.0 for v in thresholds})[0]["fake_name"] != "").sum()
        na = compute_metrics(windows, by=[]).set_index(["metric", "basis"]).loc[("NA", "study"), "numerator"]
        assert na <= with_a_name


def assert_k1_is_per_frame(records: pd.DataFrame, table: pd.DataFrame, definitions: StudyDefinitions) -> None:
    """k = 1 records (per file and pooled) equal compute_metrics on the rows that identify a frame."""
    frames = table[(table["video"] != "") & (table["frame"] != "")]
    at1 = records[records["k"] == 1]
    for by, block in ((["dataset", "source", "vendor"], at1[at1["source"] != ""]),
                      (["dataset", "vendor"], at1[at1["source"] == ""])):
        expected = compute_metrics(frames, definitions.beta, definitions.gamma, by)
        keys = [*by, "metric", "basis"]
        merged = block.astype({c: object for c in by}).merge(
            expected.astype({c: object for c in by}), on=keys, suffixes=("", "_frames"))
        assert len(merged) == len(block) == len(expected) > 0
        for column in METRIC_VALUES:
            np.testing.assert_array_equal(merged[column].to_numpy(), merged[f"{column}_frames"].to_numpy())


@settings(max_examples=40, deadline=None)
@given(table=frame_tables())
def test_k1_is_the_per_frame_metrics_on_random_tables(table):
    windows, _ = frame_windows(table, 1, vendor_thresholds(table))
    frames = table[table["video"] != ""]
    by = ["dataset", "source", "vendor"]
    pd.testing.assert_frame_equal(compute_metrics(windows, by=by), compute_metrics(frames, by=by))


# ------------------------------------------------------------------------------------------- the study data
@pytest.fixture(scope="module")
def study(shared_data):
    return load_study([shared_data / "paper-results"])


@pytest.fixture(scope="module")
def aggregation(study):
    return frame_metrics(study.table, study.definitions)


def raw_videos(path: Path) -> dict[str, int]:
    """Frames per video straight from a VoxCelebTH file: the image's folder is the video."""
    with path.open(newline="") as f:
        sizes: dict[str, int] = defaultdict(int)
        for row in csv.DictReader(f):
            sizes[row["Filename"].rsplit("/", 1)[0]] += 1
    return sizes


def test_thresholds_are_the_vendors_floors(aggregation):
    # the smallest confidences in the files: AWS 55.0; Azure 0.7000555992126465 (ms_CelebDPR.csv)
    assert aggregation.thresholds == {"aws": 55.0, "ms": pytest.approx(70.00555992126465, abs=1e-9)}


def test_coverage_says_which_files_identify_frames(aggregation):
    rows = aggregation.coverage.set_index("source")
    assert set(rows.index) == {"AWS_Results_CelebDPR.csv", "ms_CelebDPR.csv", "Results_celebDF.csv",
                               "Results_FOM.csv", "Results_vox1.csv", "Results_vox2.csv", "Results_FaceApp.csv"}
    identifies = rows["identifies_frames"]
    assert set(identifies[identifies].index) == {"AWS_Results_CelebDPR.csv", "ms_CelebDPR.csv",
                                                 "Results_vox1.csv", "Results_vox2.csv"}
    assert (rows.loc[~identifies, "videos"] == 0).all()
    assert rows.loc["Results_vox1.csv", ["videos", "frames_min", "frames_max"]].tolist() == [50, 32, 32]
    assert rows.loc["Results_vox2.csv", ["videos", "frames_min", "frames_median", "frames_max"]].tolist() == \
        [245, 1, 5, 32]
    assert rows.loc["ms_CelebDPR.csv", ["videos", "frames_max"]].tolist() == [4902, 1]
    assert "one frame per clip" in rows.loc["ms_CelebDPR.csv", "note"]
    assert "still images" in rows.loc["Results_FaceApp.csv", "note"]


@pytest.mark.parametrize("source", ["Results_vox1.csv", "Results_vox2.csv"])
def test_window_counts_from_the_raw_files(aggregation, shared_data, source):
    sizes = raw_videos(shared_data / "paper-results" / source)
    records = aggregation.records
    for k in (1, 4, 8):
        row = records[(records["source"] == source) & (records["k"] == k)].iloc[0]
        assert row["windows"] == sum(n // k for n in sizes.values())
        assert row["frames_dropped"] == sum(n % k for n in sizes.values())
        assert row["videos"] == sum(1 for n in sizes.values() if n >= k)
    if source == "Results_vox1.csv":   # 50 videos x 32 frames
        assert [records[(records["source"] == source) & (records["k"] == k)]["windows"].iloc[0]
                for k in (1, 4, 8)] == [1600, 400, 200]


def test_single_frame_clips_give_windows_only_at_k1(aggregation):
    records = aggregation.records
    fcelebdf = records[records["dataset"] == "FCelebDF"]
    assert set(fcelebdf.loc[fcelebdf["k"] == 1, "windows"]) == {4902}
    later = fcelebdf[fcelebdf["k"] > 1]
    assert (later["windows"] == 0).all() and later["value"].isna().all()
    assert set(records["dataset"]) == {"FCelebDF", "VoxCelebTH"}


def test_k1_reproduces_the_per_frame_metrics(aggregation, study):
    assert_k1_is_per_frame(aggregation.records, study.table, study.definitions)


@pytest.mark.parametrize("k", [4, 8])
def test_vox_windows_match_reference(study, aggregation, k):
    vox = study.table[study.table["dataset"] == "VoxCelebTH"]
    windows, _ = assert_matches_reference(vox, k, aggregation.thresholds)
    assert len(windows) == {4: 717, 8: 277}[k]

"""Datasets: manifests, video frame sampling, the Celeb-DF v2 layout (built here with
cv2.VideoWriter) and the study's sample layout in ../shared/data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.datasets import (
    ImageRefError,
    Probe,
    load_dataset,
    load_ref_array,
    load_ref_bytes,
    read_celebdf,
    read_manifest,
    sample_frame_indices,
    write_manifest,
)
from harness.errors import InputFileError


# ----- frame sampling -----------------------------------------------------------------------------
@given(n=st.integers(0, 2000), samples=st.integers(1, 20), run=st.integers(1, 8))
def test_sampled_frames_are_runs_inside_the_video(n: int, samples: int, run: int):
    frames = sample_frame_indices(n, samples, run)
    assert frames == sorted(set(frames))  # increasing, no frame twice
    assert all(0 <= f < n for f in frames)
    if n >= samples * run:
        assert len(frames) == samples * run
        runs = [frames[i:i + run] for i in range(0, len(frames), run)]
        assert all(r == list(range(r[0], r[0] + run)) for r in runs)
    else:
        assert len(frames) <= n


def test_study_default_is_16_runs_of_5():
    frames = sample_frame_indices(300)
    assert len(frames) == 80 and frames[:5] == [0, 1, 2, 3, 4] and frames[-1] == 299


# ----- manifests ----------------------------------------------------------------------------------
def _img(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((16, 16, 3), value, np.uint8))
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_manifest_round_trip_with_relative_paths(tmp_path: Path, suffix: str):
    _img(tmp_path / "imgs" / "fake.png")
    _img(tmp_path / "imgs" / "t.png")
    probes = [Probe("a", "D", "replacement", str(tmp_path / "imgs" / "fake.png"), "T",
                    (str(tmp_path / "imgs" / "t.png"),), ("R",)),
              Probe("b", "D", "synthesis", str(tmp_path / "imgs" / "fake.png"), "T",
                    (str(tmp_path / "imgs" / "t.png"), str(tmp_path / "imgs" / "t.png")), ("T", "U"))]
    path = write_manifest(probes, tmp_path / f"m{suffix}")
    text = path.read_text()
    assert str(tmp_path) not in text  # relative to the manifest
    back = read_manifest(path)
    assert [(p.probe_id, p.method, p.target, p.references, p.error) for p in back] == \
           [("a", "replacement", "T", ("R",), ""), ("b", "synthesis", "T", ("T", "U"), "")]
    assert Path(back[1].target_images[1]).read_bytes() == (tmp_path / "imgs" / "t.png").read_bytes()


def test_manifest_missing_files_become_probe_errors(tmp_path: Path):
    _img(tmp_path / "fake.png")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"probe_id": "x", "method": "reenactment", "deepfake": "fake.png", "target": "T",
                    "target_images": ["gone.png"]}) + "\n")
    (p,) = read_manifest(tmp_path / "m.jsonl")
    assert p.error.startswith("missing_file") and "gone.png" in p.error and p.dataset == "m"


@pytest.mark.parametrize("rows, column, row", [
    ([{"probe_id": "x", "method": "warp", "deepfake": "a.png", "target": "T"}], "method", 2),
    ([{"probe_id": "x", "method": "synthesis", "deepfake": "a.png", "target": ""}], "target", 2),
    ([{"probe_id": "x", "method": "synthesis", "deepfake": "a.png", "target": "T"},
      {"probe_id": "x", "method": "synthesis", "deepfake": "a.png", "target": "T"}], "probe_id", 3),
])
def test_bad_manifest_rows_name_row_and_column(tmp_path: Path, rows, column, row):
    path = tmp_path / "m.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["probe_id", "method", "deepfake", "target"])
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(InputFileError) as exc:
        read_manifest(path)
    assert exc.value.row == row and exc.value.column == column


def test_bad_manifest_json_and_header(tmp_path: Path):
    (tmp_path / "m.jsonl").write_text('{"probe_id": "x"\n')
    with pytest.raises(InputFileError, match="row 1"):
        read_manifest(tmp_path / "m.jsonl")
    (tmp_path / "m.csv").write_text("probe_id,deepfake\nx,y\n")
    with pytest.raises(InputFileError, match="column 'method'"):
        read_manifest(tmp_path / "m.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="unknown dataset layout"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(InputFileError, match="not found"):
        load_dataset(tmp_path / "absent")


# ----- Celeb-DF v2 ------------------------------------------------------------------------------
def _video(path: Path, n_frames: int, base: int) -> None:
    """Frame i has a white stripe at x = 4i + base (so a decoded frame says which it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 48))
    assert w.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(n_frames):
        frame = np.zeros((48, 320, 3), np.uint8)
        frame[:, base + 4 * i: base + 4 * i + 4] = 255
        w.write(frame)
    w.release()


def _frame_number(img: np.ndarray, base: int) -> int:
    return int(round((int(np.argmax(img.mean(axis=(0, 2)))) - base - 1.5) / 4))


@pytest.fixture()
def celebdf(tmp_path: Path) -> Path:
    root = tmp_path / "Celeb-DF-v2"
    _video(root / "Celeb-real" / "id0_0000.mp4", 40, 10)
    _video(root / "Celeb-real" / "id1_0000.mp4", 40, 10)
    _video(root / "Celeb-synthesis" / "id0_id1_0000.mp4", 60, 20)
    _video(root / "Celeb-synthesis" / "id1_id0_0003.mp4", 30, 20)
    (root / "Celeb-synthesis" / "id0_id1_0001.mp4").write_bytes(b"\x00not a video" * 50)
    _video(root / "YouTube-real" / "00000.mp4", 10, 10)
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n0 Celeb-synthesis/id0_id1_0001.mp4\n"
        "1 Celeb-real/id0_0000.mp4\n")
    return root


def test_celebdf_layout_probes_and_frames(celebdf: Path):
    probes = read_celebdf(celebdf, samples=4, run=3, labels={"id1": "Celebrity One"})
    good = [p for p in probes if not p.error]
    bad = [p for p in probes if p.error]
    assert len(good) == 12  # the one listed, decodable synthesized video: 4 runs x 3 frames
    assert {p.target for p in good} == {"Celebrity One"} and {p.references for p in good} == {("id0",)}
    assert all(p.method == "replacement" and p.dataset == "CelebDF" for p in good)
    assert [p.probe_id for p in bad] == ["id0_id1_0001"] and bad[0].error.startswith("undecodable_video")
    frames = [int(p.deepfake.rsplit("=", 1)[1]) for p in good]
    assert frames == sample_frame_indices(60, 4, 3)
    for p, n in zip(good, frames):  # the decoded frame is the right one
        assert _frame_number(load_ref_array(p.deepfake), 20) == n
    target = load_ref_array(good[0].target_images[0])  # middle frame of id1's real video
    assert _frame_number(target, 10) == 20
    assert load_ref_bytes(good[0].deepfake)[:8] == b"\x89PNG\r\n\x1a\n"


def test_celebdf_all_split_and_auto_detection(celebdf: Path):
    probes = load_dataset(celebdf, split="all", samples=2, run=2)
    assert {p.probe_id.split("#")[0] for p in probes} == {"id0_id1_0000", "id0_id1_0001", "id1_id0_0003"}
    assert {p.target for p in probes if p.probe_id.startswith("id1_id0")} == {"id0"}


def test_undecodable_frame_reference_raises_a_clear_error(tmp_path: Path):
    _video(tmp_path / "v.mp4", 5, 10)
    with pytest.raises(ImageRefError, match="undecodable_video"):
        load_ref_array(f"{tmp_path / 'v.mp4'}#frame=50")
    with pytest.raises(ImageRefError, match="missing_file"):
        load_ref_bytes(str(tmp_path / "none.png"))


# ----- the study's samples (../shared/data) -----------------------------------------------------
@pytest.mark.models
def test_celebfom_pairing_by_embedding_matches_the_study(shared_data: Path):
    from harness.datasets import read_paper_samples

    probes = [p for p in read_paper_samples(shared_data / "paper-samples") if p.dataset == "CelebFOM"]
    assert len(probes) == 5 and all(not p.error for p in probes)
    # every (target shown, driver) pairing found by the embedding is a pair the study recorded
    recorded = set()
    with open(shared_data / "paper-results" / "Results_FOM.csv", newline="") as f:
        for row in csv.DictReader(f):
            recorded.add((row["Src"], Path(row["Filename"]).name.removesuffix("_fake.png")))
    for p in probes:
        assert (p.target, p.references[0]) in recorded, p
        assert float(p.meta["pairing"].split()[-1]) > 0.7


@pytest.mark.models
def test_celebblend_sources_are_the_corner_thumbnails(shared_data: Path):
    from harness.datasets import read_paper_samples
    from harness.faces import default_pipeline

    probes = [p for p in read_paper_samples(shared_data / "paper-samples") if p.dataset == "CelebBlend"]
    assert len(probes) == 21 and all(p.method == "synthesis" for p in probes)
    pipe = default_pipeline()
    for p in probes[:4]:
        for ref in p.target_images:
            assert pipe.detect(load_ref_array(ref)), f"no face in thumbnail {ref}"
    # FaceApp exports come in sessions that keep the left source: one label for each session's files
    assert len({p.references[0] for p in probes[:3]}) == 1
    assert len({p.references[1] for p in probes[:3]}) == 3


def test_celebfom_given_pairs(shared_data: Path):
    from harness.datasets import read_paper_samples

    pairs = {"Emma Stone_fake.png": "Miley Cyrus_real.png"}
    probes = {p.probe_id: p for p in read_paper_samples(shared_data / "paper-samples", pairs=pairs)
              if p.dataset == "CelebFOM"}
    assert probes["Emma Stone_fake"].target == "Miley Cyrus" and probes["Emma Stone_fake"].meta["pairing"] == "given"
    assert probes["Megan Fox_fake"].error.startswith("unpaired")

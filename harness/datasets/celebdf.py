"""The Celeb-DF v2 release layout.

::

    Celeb-real/idA_NNNN.mp4            real videos of celebrity idA
    Celeb-synthesis/idA_idB_NNNN.mp4   target idB's face swapped into idA's video NNNN
    YouTube-real/NNNNN.mp4             real videos of other people (not used as probes)
    List_of_testing_videos.txt         "<label> <folder>/<file>.mp4", label 1 = real, 0 = synthesized

Every synthesized video gives ``samples`` runs of ``run`` consecutive frames (the study: 16 x 5),
each frame one replacement probe of target idB with reference idA. The real target image is a frame
from the middle of idB's first real video (sorted by name). Celeb-DF labels identities only by id;
``labels`` (an optional id -> name mapping) renames them.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.datasets.images import ImageRefError, make_ref, video_frame_count
from harness.datasets.probe import Probe
from harness.datasets.video import DEFAULT_RUN, DEFAULT_SAMPLES, sample_frame_indices
from harness.errors import InputFileError

SYNTH_RE = re.compile(r"^(id\d+)_(id\d+)_(\d+)$")
REAL_RE = re.compile(r"^(id\d+)_(\d+)$")
TEST_LIST = "List_of_testing_videos.txt"


def is_celebdf_layout(root: Path) -> bool:
    return (root / "Celeb-synthesis").is_dir() and (root / "Celeb-real").is_dir()


def read_test_list(root: Path) -> set[str]:
    """Names (``folder/file.mp4``) of the synthesized videos in the official test split."""
    path = root / TEST_LIST
    if not path.is_file():
        raise InputFileError(str(path), "the test split list is absent (use split='all')")
    names = set()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise InputFileError(str(path), "expected '<0|1> <folder>/<file>.mp4'", row=i)
        if parts[0] == "0":
            names.add(parts[1])
    return names


def read_celebdf(root: str | Path, *, split: str = "test", samples: int = DEFAULT_SAMPLES,
                 run: int = DEFAULT_RUN, labels: dict[str, str] | None = None,
                 dataset: str = "CelebDF") -> list[Probe]:
    root = Path(root)
    if not is_celebdf_layout(root):
        raise InputFileError(str(root), "not a Celeb-DF v2 folder (needs Celeb-real/ and Celeb-synthesis/)")
    if split not in ("test", "all"):
        raise ValueError("split is 'test' or 'all'")
    labels = labels or {}

    def name(ident: str) -> str:
        return labels.get(ident, ident)

    synth = sorted((root / "Celeb-synthesis").glob("*.mp4"))
    if split == "test":
        listed = read_test_list(root)
        synth = [p for p in synth if f"Celeb-synthesis/{p.name}" in listed]
    real_by_id: dict[str, list[Path]] = {}
    for p in sorted((root / "Celeb-real").glob("*.mp4")):
        m = REAL_RE.match(p.stem)
        if m:
            real_by_id.setdefault(m.group(1), []).append(p)
    target_frames: dict[str, tuple[str, ...] | str] = {}

    def target_images(ident: str) -> tuple[str, ...] | str:
        if ident not in target_frames:
            videos = real_by_id.get(ident, [])
            if not videos:
                target_frames[ident] = f"missing_file: no real video of {ident} in Celeb-real/"
            else:
                try:
                    n = video_frame_count(videos[0])
                    target_frames[ident] = (make_ref(videos[0], frame=max(n // 2, 0)),)
                except ImageRefError as exc:
                    target_frames[ident] = str(exc)
        return target_frames[ident]

    probes: list[Probe] = []
    for video in synth:
        m = SYNTH_RE.match(video.stem)
        if not m:
            continue
        ref_id, target_id, _ = m.groups()
        timgs = target_images(target_id)
        target, references = name(target_id), (name(ref_id),)
        try:
            frames = sample_frame_indices(video_frame_count(video), samples, run)
            if not frames:
                raise ImageRefError(str(video), "undecodable_video", "the video reports no frames")
        except ImageRefError as exc:
            probes.append(Probe(probe_id=video.stem, dataset=dataset, method="replacement", deepfake=str(video),
                                target=target, references=references, error=str(exc)))
            continue
        for n in frames:
            probes.append(Probe(
                probe_id=f"{video.stem}#f{n:05d}",
                dataset=dataset,
                method="replacement",
                deepfake=make_ref(video, frame=n),
                target=target,
                target_images=timgs if isinstance(timgs, tuple) else (),
                references=references,
                error="" if isinstance(timgs, tuple) else timgs,
                meta={"video": video.name},
            ))
    return probes

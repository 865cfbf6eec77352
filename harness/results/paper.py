"""Import the study's recorded per-image result files (``../shared/data/paper-results``).

Each file has the columns ``Filename,Src,Tar,Src Pred.,Src Conf.,Tar Pred.,Tar Conf.,Similarity``
(the Azure files add two caption columns, which are ignored). ``Src Pred./Src Conf.`` is the
vendor's answer on the real image of ``Src``, ``Tar Pred./Tar Conf.`` its answer on the deepfake.
What each file is (DESIGN.md section 4, checked against the data):

===========================  ==========  ======  ==========================================
file                         dataset     vendor  target / references
===========================  ==========  ======  ==========================================
AWS_Results_CelebDPR.csv     FCelebDF    aws     target ``Src``
Results_CelebDPR.csv         FCelebDF    ms      target ``Src`` (``Tar`` = frame number)
ms_CelebDPR.csv              FCelebDF    ms      target ``Src`` (``Tar`` = frame number)
Results_celebDF.csv          CelebDF     ms      target ``Tar``, reference ``Src``
Results_FOM.csv              CelebFOM    ms      target ``Src``, reference ``Tar`` (driver)
Results_vox1.csv, _vox2.csv  VoxCelebTH  ms      target ``Src`` (``Tar`` = frame number)
Results_FaceApp.csv          CelebBlend  ms      references ``Src`` and ``Tar`` (target ``Src``)
===========================  ==========  ======  ==========================================

Scales. AWS confidences are MatchConfidence (0-100, stored as is); AWS ``Similarity`` comes from
CompareFaces, whose ``Similarity`` is a percentage too: in the file 4,432 of 4,902 values exceed 1
(max 99.99) and the small ones are a continuous tail of genuinely dissimilar pairs (the study ran
CompareFaces with SimilarityThreshold=0, so every pair got a score). So AWS similarity is stored
as is. Azure confidences and find-similar scores are 0-1 and are multiplied by 100. A value off
its file's scale is an error naming file, row and column.

Azure similarity 0. Azure's find-similar wrote 0 both when no similar face came back and when no
face was found (a 0 in the Azure files means the similarity call had no face to compare). By
default (``zero_similarity="missing"``) a 0 in an Azure file is "no score", as the study counted it:
the probe leaves the DHS denominators (NA failures with a similarity score). ``zero_similarity=
"score"`` keeps 0 as the recorded score 0 instead; it can never exceed any gamma >= 0, so DHS
successes are the same and only the denominators grow. AWS's CompareFaces gave every pair a score
(one AWS pair scores 0, a real score), so AWS values are always kept.

Real-image answers that are not in the row. In the CelebDF file ``Src Pred.`` is the vendor's
answer on the *reference* person's real frame, not on the target's; in the CelebBlend file only
the first reference's answer is in the row. The missing answer on a real image of person X is
taken from the same file's rows whose ``Src`` is X: the name the vendor gave most often (empty if
it never named X), with the median of that name's confidences. If X never appears as ``Src`` the
probe gets ``target_error`` (or ``target2_error``) "no real-image answer recorded" and counts as
errored rather than as a guess.

Study columns. ``import_paper(..., study_columns=True)`` adds what the study's own tables need
and the results table does not hold, per row: ``real_person`` (``Src``), ``real_name`` /
``real_conf`` (the vendor's answer on that person's real image, 0-100), ``real_image`` (which real
image that was: the real video's folder in CelebDF and CelebFOM, where each clip has its own real
frame, else the person, who has one real image per file), ``video`` and ``frame`` (where the file
names identify them, see :attr:`PaperFile.frames`; empty otherwise).

Empty predictions. The study wrote "no celebrity" and "the call failed" the same way (an empty
cell); they are imported as "no celebrity" because nothing else can be told from the files.
:class:`ImportSummary` counts them so the command can say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import DfiError, InputFileError
from harness.results.io import validate_results

PAPER_COLUMNS = ("Filename", "Src", "Tar", "Src Pred.", "Src Conf.", "Tar Pred.", "Tar Conf.", "Similarity")
NO_ANSWER_ERROR = "no real-image answer recorded for this person in the file"
ZERO_SIMILARITY_MODES = ("score", "missing")


@dataclass(frozen=True)
class PaperFile:
    """How one of the study's files maps onto the results table."""

    dataset: str
    vendor: str
    method: str
    layout: str          # "target_src" | "target_tar" | "blend"
    conf_scale: float    # multiply recorded confidences by this to get 0-100
    similarity_scale: float
    reference_column: str | None = None  # column naming the other identity (driver / source video)
    real_image: str = "person"  # "person": one real image per person; "folder": one per real-video folder
    # regex over probe_id with groups "video" and "frame" where the file names identify them
    frames: str | None = None
    frames_note: str = "file names do not identify a video and a frame"


# <dataset folder>/fake/<person>/<clip>_<frame>_<face>.jpg: one frame of each clip
_FCELEBDF_FRAMES = r"^(?P<video>[^/]+/fake/[^/]+/[^_/]+)_(?P<frame>\d+)_[^/]*$"
# <dataset folder>/fake/<person>/<youtube id>/<segment>/<frame>.jpg
_VOX_FRAMES = r"^(?P<video>[^/]+/fake/[^/]+/[^/]+/[^/]+)/(?P<frame>\d+)\.jpg$"
_FCELEBDF_NOTE = "clip and frame from <clip>_<frame>_<n>.jpg; one frame per clip"
_VOX_NOTE = "video = <person>/<youtube id>/<segment> folder, frame = file number"


PAPER_FILES: dict[str, PaperFile] = {
    "AWS_Results_CelebDPR.csv": PaperFile("FCelebDF", "aws", "replacement", "target_src", 1.0, 1.0,
                                          frames=_FCELEBDF_FRAMES, frames_note=_FCELEBDF_NOTE),
    "Results_CelebDPR.csv": PaperFile("FCelebDF", "ms", "replacement", "target_src", 100.0, 100.0,
                                      frames=_FCELEBDF_FRAMES, frames_note=_FCELEBDF_NOTE),
    "ms_CelebDPR.csv": PaperFile("FCelebDF", "ms", "replacement", "target_src", 100.0, 100.0,
                                 frames=_FCELEBDF_FRAMES, frames_note=_FCELEBDF_NOTE),
    "Results_celebDF.csv": PaperFile("CelebDF", "ms", "replacement", "target_tar", 100.0, 100.0, "Src",
                                     real_image="folder",
                                     frames_note="one swapped image per (real clip, source video) pair"),
    "Results_FOM.csv": PaperFile("CelebFOM", "ms", "reenactment", "target_src", 100.0, 100.0, "Tar",
                                 real_image="folder", frames_note="one reenacted image per (real clip, driver) pair"),
    "Results_vox1.csv": PaperFile("VoxCelebTH", "ms", "reenactment", "target_src", 100.0, 100.0,
                                  frames=_VOX_FRAMES, frames_note=_VOX_NOTE),
    "Results_vox2.csv": PaperFile("VoxCelebTH", "ms", "reenactment", "target_src", 100.0, 100.0,
                                  frames=_VOX_FRAMES, frames_note=_VOX_NOTE),
    "Results_FaceApp.csv": PaperFile("CelebBlend", "ms", "synthesis", "blend", 100.0, 100.0,
                                     frames_note="still images (blends of two photos)"),
}
STUDY_COLUMNS: tuple[str, ...] = ("real_person", "real_name", "real_conf", "real_image", "video", "frame")


@dataclass
class FileSummary:
    source: str
    dataset: str
    vendor: str
    rows: int
    empty_fake_answers: int       # deepfake answers that are empty: no celebrity OR failed call
    empty_real_answers: int       # same for the real-image answers in the rows
    zero_similarity: int          # Azure find-similar 0 (kept as 0 or made missing, see mode)
    derived_real_answers: int     # real-image answers taken from other rows (CelebDF, CelebBlend)


@dataclass
class ImportSummary:
    files: list[FileSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # source -> (rows dropped as repeats of another file's probes, the file they repeat)
    duplicates: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def paper_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into their known result files; returns (files, skipped names)."""
    files: list[Path] = []
    skipped: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name in PAPER_FILES:
                    files.append(child)
                elif child.is_file():
                    skipped.append(child.name)
        elif path.is_file():
            if path.name not in PAPER_FILES:
                raise InputFileError(
                    str(path), f"not one of the study's result files ({', '.join(sorted(PAPER_FILES))})"
                )
            files.append(path)
        else:
            raise InputFileError(str(path), "no such file or folder")
    if not files:
        raise DfiError(f"no study result files found in {', '.join(str(p) for p in paths)}")
    return files, skipped


def import_paper(
    paths: Sequence[str | Path], zero_similarity: str = "missing", keep_duplicates: bool = False,
    study_columns: bool = False,
) -> tuple[pd.DataFrame, ImportSummary]:
    """Read the study's files (or folders holding them) into one validated results table.

    ``Results_CelebDPR.csv`` holds 2,922 of the 4,902 FCelebDF deepfakes of ``ms_CelebDPR.csv`` with the
    same Azure answers on the deepfakes: pooled, they would count those probes twice. Unless
    ``keep_duplicates``, a probe (dataset, vendor, probe id) found in several files is kept once, from
    the file with the most rows; the summary says how many rows were dropped from which file.
    ``study_columns`` adds :data:`STUDY_COLUMNS` (see the module notes).
    """
    if zero_similarity not in ZERO_SIMILARITY_MODES:
        raise DfiError(f"zero_similarity must be one of {ZERO_SIMILARITY_MODES}, not {zero_similarity!r}")
    files, skipped = paper_files(paths)
    summary = ImportSummary(skipped=skipped)
    frames = []
    for path in files:
        table, file_summary = import_paper_file(path, zero_similarity, study_columns)
        frames.append(table)
        summary.files.append(file_summary)
    table = pd.concat(frames, ignore_index=True)
    if not keep_duplicates:
        table, summary.duplicates = drop_cross_file_duplicates(table)
    return table, summary


def drop_cross_file_duplicates(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[int, str]]]:
    """Keep each (dataset, vendor, probe_id) once, from the largest file holding it.

    Repeats inside one file are left alone (they are the study's own rows); only a probe that a second
    file records again is dropped from that second file.
    """
    key = ["dataset", "vendor", "probe_id"]
    file_rows = table.groupby("source")["source"].transform("size")
    order = table.assign(_rows=file_rows).sort_values(["_rows", "source"], ascending=[False, True], kind="stable")
    kept_from = order.groupby(key, sort=False)["source"].transform("first")
    drop = order["source"] != kept_from
    dropped = order[drop]
    report = {src: (len(rows), str(rows["_kept"].iloc[0]))
              for src, rows in dropped.assign(_kept=kept_from[drop]).groupby("source")}
    kept = order[~drop].drop(columns="_rows").sort_index().reset_index(drop=True)
    return kept, report


def _read_raw(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputFileError(str(path), f"cannot be read as CSV: {exc}") from exc
    for column in PAPER_COLUMNS:
        if column not in raw.columns:
            raise InputFileError(str(path), "missing column of the study's format", column=column)
    return raw


def _scaled(raw: pd.DataFrame, column: str, scale: float, path: Path) -> np.ndarray:
    text = raw[column].str.strip()
    missing = (text == "").to_numpy()
    values = pd.to_numeric(text.where(~missing, None), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise InputFileError(str(path), f"{raw[column].iloc[row - 1]!r} is not a number", row=row, column=column)
    top = 100.0 / scale
    outside = ~np.isnan(values) & ((values < 0) | (values > top))
    if outside.any():
        row = int(np.flatnonzero(outside)[0]) + 1
        raise InputFileError(
            str(path), f"{float(values[row - 1])!r} is outside this file's 0-{top:g} scale", row=row, column=column
        )
    return values * scale


def _probe_id(filenames: pd.Series) -> pd.Series:
    """The study's image path from its dataset folder on (drops the authors' machine prefix)."""
    tail = filenames.str.replace("\\", "/", regex=False).str.extract(r"(?:^|/)Similarity/(.+)$")[0]
    return tail.fillna(filenames.str.replace("\\", "/", regex=False).str.lstrip("/"))


def _real_answers(raw: pd.DataFrame, conf: np.ndarray) -> pd.DataFrame:
    """Per person in ``Src``: the name the vendor gave their real images most often, median conf."""
    answers = pd.DataFrame({"person": raw["Src"].to_numpy(), "name": raw["Src Pred."].to_numpy(), "conf": conf})
    named = answers[answers["name"] != ""]
    best = (
        named.groupby(["person", "name"], sort=True)["conf"].agg(["size", "median"]).reset_index()
        .sort_values(["person", "size", "name"], ascending=[True, False, True])
        .drop_duplicates("person")
        .set_index("person")
    )
    people = pd.Index(answers["person"].unique())
    out = pd.DataFrame(index=people)
    out["name"] = best["name"].reindex(people).fillna("")
    out["conf"] = best["median"].reindex(people)
    return out


def _study_columns(raw: pd.DataFrame, spec: PaperFile, probe_id: pd.Series, src_conf: np.ndarray) -> pd.DataFrame:
    if spec.real_image == "folder":
        real_image = probe_id.str.rsplit("/", n=1).str[0]
    else:
        real_image = raw["Src"]
    if spec.frames:
        parts = probe_id.str.extract(spec.frames)
        video, frame = parts["video"].fillna(""), parts["frame"].fillna("")
    else:
        video = frame = pd.Series("", index=raw.index)
    return pd.DataFrame({
        "real_person": raw["Src"].to_numpy(), "real_name": raw["Src Pred."].to_numpy(),
        "real_conf": np.where(raw["Src Pred."].to_numpy() != "", src_conf, np.nan),
        "real_image": real_image.to_numpy(), "video": video.to_numpy(), "frame": frame.to_numpy(),
    })


def import_paper_file(
    path: Path, zero_similarity: str = "missing", study_columns: bool = False,
) -> tuple[pd.DataFrame, FileSummary]:
    spec = PAPER_FILES[path.name]
    raw = _read_raw(path)
    src_conf = _scaled(raw, "Src Conf.", spec.conf_scale, path)
    fake_conf = _scaled(raw, "Tar Conf.", spec.conf_scale, path)
    similarity = _scaled(raw, "Similarity", spec.similarity_scale, path)
    zero_sim = (similarity == 0) & (spec.vendor == "ms")
    if zero_similarity == "missing":
        similarity = np.where(zero_sim, np.nan, similarity)

    n = len(raw)
    probe_id = _probe_id(raw["Filename"])
    table = {
        "dataset": spec.dataset,
        "source": path.name,
        "method": spec.method,
        "probe_id": probe_id.to_numpy(),
        "vendor": spec.vendor,
        "deepfake": probe_id.to_numpy(),
        "fake_name": raw["Tar Pred."].to_numpy(),
        "fake_conf": fake_conf,
        "similarity": similarity,
    }
    derived = 0
    if spec.layout == "target_src":
        table["target"] = raw["Src"].to_numpy()
        table["references"] = raw[spec.reference_column].to_numpy() if spec.reference_column else ""
        table["target_name"] = raw["Src Pred."].to_numpy()
        table["target_conf"] = src_conf
    else:
        lookup = _real_answers(raw, src_conf)
        other = raw["Tar"]
        known = other.isin(lookup.index).to_numpy()
        other_name = lookup["name"].reindex(other).fillna("").to_numpy()
        other_conf = lookup["conf"].reindex(other).to_numpy(dtype=float)
        other_error = np.where(known, "", NO_ANSWER_ERROR)
        derived = int(known.sum())
        if spec.layout == "target_tar":
            table["target"] = other.to_numpy()
            table["references"] = raw["Src"].to_numpy()
            table["target_name"], table["target_conf"], table["target_error"] = other_name, other_conf, other_error
        else:  # blend: both blended people are references; Src is the target label
            table["target"] = raw["Src"].to_numpy()
            table["references"] = (raw["Src"] + "|" + raw["Tar"]).to_numpy()
            table["target_name"] = raw["Src Pred."].to_numpy()
            table["target_conf"] = src_conf
            table["target2_name"], table["target2_conf"], table["target2_error"] = other_name, other_conf, other_error
    frame = pd.DataFrame({k: (v if not np.isscalar(v) else np.full(n, v, dtype=object)) for k, v in table.items()})
    results = validate_results(frame, str(path))
    if study_columns:
        extra = _study_columns(raw, spec, probe_id, src_conf)
        for column in STUDY_COLUMNS:
            results[column] = extra[column].to_numpy()
    summary = FileSummary(
        source=path.name,
        dataset=spec.dataset,
        vendor=spec.vendor,
        rows=n,
        empty_fake_answers=int((raw["Tar Pred."] == "").sum()),
        empty_real_answers=int((raw["Src Pred."] == "").sum()),
        zero_similarity=int(zero_sim.sum()),
        derived_real_answers=derived,
    )
    return results, summary

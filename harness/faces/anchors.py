"""Where a recognizer's cosines lie for the same and for different people: its *anchors*.

Each recognizer has its own cosine scale (dlib's different people score about 0.8, faceplugin's
about 0.0). Two anchors, measured on the same real photos for every recognizer, place a scale:

* ``impostor``: the 90th percentile of the cosines between photos of different people;
* ``genuine``: the median cosine between photos of the same person.

:func:`to_scale` maps a cosine from one recognizer's scale to another's linearly through the two
anchors. That is how the mock profiles' calibrations were carried from the reference recognizer
(faceplugin, on which they were first chosen) to the recognizers the other vendors use, and how the
embedding-space simulation reads a vendor's calibration when its parameters have no view of that
vendor's recognizer (:mod:`harness.simulate.world`).

The photo set (:func:`photo_set`): the three Obama photos and Biden of ``../shared/data/faces``,
the Tom Hanks crop and the six people of ``t1.jpg`` from the installed demo photos, and the five
real frames of ``../shared/data/paper-samples/CelebFOM`` (five more people): 3 genuine pairs and
the different-person pairs among 15 people.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from harness.faces.pipeline import FacePipeline

IMPOSTOR_QUANTILE = 0.9


@dataclass(frozen=True)
class Anchors:
    impostor: float   # 90th percentile of different-person cosines
    genuine: float    # median same-person cosine
    impostor_max: float = float("nan")
    genuine_min: float = float("nan")
    pairs_genuine: int = 0
    pairs_impostor: int = 0


def to_scale(cosine: np.ndarray | float, source: Anchors, target: Anchors) -> np.ndarray:
    """Cosines on ``source``'s scale -> ``target``'s, linear through the two anchors."""
    slope = (target.genuine - target.impostor) / (source.genuine - source.impostor)
    return target.impostor + (np.asarray(cosine, dtype=np.float64) - source.impostor) * slope


def scale_slope(source: Anchors, target: Anchors) -> float:
    return (target.genuine - target.impostor) / (source.genuine - source.impostor)


def photo_set(shared_data: Path, demo: dict[str, Path]) -> list[tuple[str, str, int | None]]:
    """(person label, image path, face index or None for the largest face) of the anchor photos."""
    faces = shared_data / "faces"
    out: list[tuple[str, str, int | None]] = [("obama", str(faces / f), None)
                                               for f in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    out.append(("biden", str(faces / "biden.jpg"), None))
    out.append(("hanks", str(demo["Tom_Hanks_54745.png"]), None))
    out += [(f"t1-person{k}", str(demo["t1.jpg"]), k) for k in range(6)]
    for real in sorted((shared_data / "paper-samples" / "CelebFOM").glob("*_real.png")):
        out.append((real.stem.removesuffix("_real"), str(real), None))
    return out


def measure_anchors(pipeline: FacePipeline, photos: list[tuple[str, str, int | None]]) -> Anchors:
    """The anchors of ``pipeline``'s recognizer on ``photos`` (see :func:`photo_set`)."""
    paths = list(dict.fromkeys(p for _, p, _ in photos))
    results = dict(zip(paths, pipeline.analyze_many(paths), strict=True))
    labels, rows = [], []
    for label, path, index in photos:
        faces = results[path]
        if not isinstance(faces, list):
            raise faces
        if index is None:
            face = faces[0]
        else:  # a group photo: faces left to right
            face = sorted(faces, key=lambda f: f.box[0])[index]
        if face.embedding is None:
            raise ValueError(f"{path}: the pipeline gave no embedding")
        labels.append(label)
        rows.append(face.embedding)
    emb = np.stack(rows)
    sims = emb @ emb.T
    same: list[float] = []
    different: list[float] = []
    for i, j in itertools.combinations(range(len(labels)), 2):
        (same if labels[i] == labels[j] else different).append(float(sims[i, j]))
    return Anchors(float(np.quantile(different, IMPOSTOR_QUANTILE)), float(np.median(same)),
                   float(max(different)), float(min(same)), len(same), len(different))

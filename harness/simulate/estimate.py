"""Estimate the simulation's parameters from real images with the installed embedding model.

What is measured (each number's provenance is written into the parameters file):

- same-person cosine: pairs of different photos of one person (the face_recognition package's
  three Obama photos in ../shared/data/faces);
- different-person cosine: pairs of distinct people among every real photo available offline
  (shared faces, the insightface wheel's t1.jpg group and Tom Hanks photo, the Azure recording's
  images, the study's real CelebFOM frames); exact duplicates (cosine > 0.995) are dropped;
- generators: cosine of each deepfake to the photo it takes its identity from and to the other
  person's photo, for the project's own generators (``harness.generate``) run on the demo photos,
  and for the study's real FOM reenactments (paired with their source frame by embedding).

Every registered recognizer (:data:`harness.faces.registry.RECOGNIZERS`) is measured on the same
images: the reference recognizer's numbers are the world's, each other one gets a view with its own
numbers (:class:`~harness.simulate.params.RecognizerStats`) and a coupling to the reference
(:mod:`harness.simulate.coupling`), fitted so that the simulated views disagree as much as the real
recognizers do on those images: the correlation between the two recognizers' cosines over the
different-person pairs, and between their deepfake-to-identity cosines (centred per generator).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harness.faces.types import Face, FaceError
from harness.simulate.params import (
    STUDY_DATASETS,
    EmbeddingStats,
    GeneratorStats,
    RecognizerStats,
    SimulationParams,
    Spread,
)

Embedder = Callable[[np.ndarray], np.ndarray]  # BGR image -> embedding of its largest face


def default_embedder() -> Embedder:
    from harness.faces import default_pipeline

    pipe = default_pipeline()
    return lambda img: _embedding(pipe.analyze(img)[0])


def recognizer_embedder(name: str) -> Embedder:
    """The largest face's embedding under recognizer ``name`` (behind the default detector)."""
    from harness.faces.registry import pipeline_for

    pipe = pipeline_for(name)
    return lambda img: _embedding(pipe.analyze(img)[0])


def all_embedders() -> dict[str, Embedder]:
    """Every registered recognizer, the reference (default) first."""
    from harness.faces.registry import DEFAULT_RECOGNIZER, RECOGNIZERS

    names = [DEFAULT_RECOGNIZER, *(n for n in RECOGNIZERS if n != DEFAULT_RECOGNIZER)]
    return {n: recognizer_embedder(n) for n in names}


def _embedding(face: Face) -> np.ndarray:
    if face.embedding is None:  # FacePipeline.analyze embeds every face it returns
        raise FaceError("the face has no embedding")
    return face.embedding


def _spread(values: Iterable[float]) -> Spread:
    v = np.asarray(list(values), dtype=float)
    return Spread(round(float(v.mean()), 4), round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 4))


def real_photos(shared: Path | None) -> list[tuple[str, np.ndarray]]:
    """(person label, BGR image) for every real face photo available offline (the group photo's faces:
    :func:`group_photo_crops`)."""
    from harness.faces import load_image
    from harness.models import demo_image_paths

    out: list[tuple[str, np.ndarray]] = []
    demo = demo_image_paths()
    if "Tom_Hanks_54745.png" in demo:
        out.append(("Tom Hanks", load_image(demo["Tom_Hanks_54745.png"])))
    if shared is not None:
        faces = shared / "faces"
        for f in sorted(faces.glob("*.jpg")):
            out.append(("Barack Obama" if f.stem.startswith("obama") else f.stem, load_image(f)))
        for f in sorted((shared / "vendor-recordings" / "azure" / "decoded-images").glob("*.jpg")):
            out.append((f.name, load_image(f)))
        for f in sorted((shared / "paper-samples" / "CelebFOM").glob("*_real.png")):
            out.append((f.stem.removesuffix("_real"), load_image(f)))
    return out


def group_photo_crops() -> list[tuple[str, np.ndarray]]:
    """Each face of the demo group photo ``t1.jpg`` cropped with room around it, left to right, so that
    every recognizer embeds the same person for each label."""
    from harness.faces import default_pipeline, load_image
    from harness.models import demo_image_paths

    demo = demo_image_paths()
    if "t1.jpg" not in demo:
        return []
    group = load_image(demo["t1.jpg"])
    out = []
    for k, f in enumerate(sorted(default_pipeline().detect(group), key=lambda f: f.box[0])):
        x1, y1, x2, y2 = (int(v) for v in f.box)
        fw, fh = x2 - x1, y2 - y1
        out.append((f"t1.jpg#{k}", group[max(0, y1 - fh):y2 + fh // 2, max(0, x1 - fw):x2 + fw].copy()))
    return out


@dataclass
class PhotoEmbeddings:
    """Labelled real photos embedded by every recognizer: row ``i`` of each array is photo ``i``."""

    labels: list[str]
    by_recognizer: dict[str, np.ndarray]  # recognizer -> (photos, dim)

    @property
    def reference(self) -> str:
        return next(iter(self.by_recognizer))

    def pair_cosines(self, recognizer: str) -> tuple[np.ndarray, np.ndarray]:
        """Same-person and different-person cosines, in the same pair order for every recognizer."""
        e = self.by_recognizer[recognizer]
        same: list[float] = []
        diff: list[float] = []
        for i, j in itertools.combinations(range(len(self.labels)), 2):
            (same if self.labels[i] == self.labels[j] else diff).append(float(e[i] @ e[j]))
        return np.asarray(same), np.asarray(diff)


def embed_photos(photos: list[tuple[str, np.ndarray]], embedders: Mapping[str, Embedder]) -> PhotoEmbeddings:
    """Embed every photo with every recognizer; a photo where one of them finds no face is left out for
    all, and exact duplicates (reference cosine > 0.995: the Azure recordings hold one image twice) once."""
    labels: list[str] = []
    rows: dict[str, list[np.ndarray]] = {n: [] for n in embedders}
    ref = next(iter(embedders))
    for label, img in photos:
        try:
            embs = {n: embed(img) for n, embed in embedders.items()}
        except FaceError:
            continue
        if any(float(embs[ref] @ k) >= 0.995 for k in rows[ref]):
            continue
        labels.append(label)
        for n, e in embs.items():
            rows[n].append(e)
    if not labels:
        raise FaceError("no real photo had a face for every recognizer")
    return PhotoEmbeddings(labels, {n: np.stack(v) for n, v in rows.items()})


def embedding_stats(photos: PhotoEmbeddings, recognizer: str) -> EmbeddingStats:
    same, diff = photos.pair_cosines(recognizer)
    if not len(same) or not len(diff):
        raise FaceError("too few real photos to measure same- and different-person cosines")
    people = len(set(photos.labels))
    return EmbeddingStats(
        _spread(same), _spread(diff), int(photos.by_recognizer[recognizer].shape[1]),
        f"measured with {recognizer}: {len(same)} same-person pairs (three Obama photos), {len(diff)} "
        f"different-person pairs over {people} people / {len(photos.labels)} photos (shared faces, t1.jpg, "
        f"Tom Hanks, Azure recording, CelebFOM real frames)",
    )


def measure_embedding_stats(shared: Path | None, embed: Embedder | None = None) -> tuple[EmbeddingStats, dict]:
    """The reference statistics with one embedder (the default pipeline's unless given)."""
    photos = embed_photos(real_photos(shared) + group_photo_crops(), {"reference": embed or default_embedder()})
    same, diff = photos.pair_cosines("reference")
    return (embedding_stats(photos, "reference"),
            {"same_person": same.tolist(), "different_person": diff.tolist(), "photos": len(photos.labels),
             "people": len(set(photos.labels))})


def measure_fom_reenactment(shared: Path | None, embedders: Mapping[str, Embedder]) -> dict[str, list[float]]:
    """Per recognizer: the cosine of each of the study's CelebFOM deepfakes to its source frame (the real
    frame it is most similar to, as the pairing is not given)."""
    out: dict[str, list[float]] = {n: [] for n in embedders}
    if shared is None:
        return out
    from harness.faces import load_image

    folder = shared / "paper-samples" / "CelebFOM"
    reals = embed_photos([(f.name, load_image(f)) for f in sorted(folder.glob("*_real.png"))], embedders)
    for f in sorted(folder.glob("*_fake.png")):
        try:
            embs = {n: embed(load_image(f)) for n, embed in embedders.items()}
        except FaceError:
            continue
        for n, e in embs.items():
            out[n].append(float(np.max(reals.by_recognizer[n] @ e)))
    return out


def estimate_params(shared: Path | None, *, embedders: Mapping[str, Embedder] | None = None) -> SimulationParams:
    """Every parameter from real measurements (a few minutes on 2 cores), for every recognizer:

    - embedding statistics: :func:`embedding_stats` on the real photos;
    - replacement and synthesis: the project's generators (:func:`measure_generators`);
    - reenactment: ``to_identity`` from the study's real FOM reenactments (the deepfakes the study
      measured, not our classical warp), ``to_other`` from the project's reenactment generator
      (the study's samples do not include the driving person's photo);
    - each non-reference recognizer's coupling to the reference (:func:`harness.simulate.coupling.fit_coupling`).
    """
    from harness.defense.trained_detector import training_photos
    from harness.faces.registry import DEFAULT_RECOGNIZER
    from harness.simulate.coupling import centred_correlation, fit_coupling, pearson

    embedders = dict(embedders or all_embedders())
    names = list(embedders)
    photos = embed_photos(real_photos(shared) + group_photo_crops(), embedders)
    gen = measure_generators(training_photos(shared), embedders)
    fom = measure_fom_reenactment(shared, embedders)

    def stats_for(name: str) -> tuple[EmbeddingStats, dict[str, GeneratorStats]]:
        gens = {fam: GeneratorStats(_spread(m["to_identity"][name]), _spread(m["to_other"][name]), m["provenance"])
                for fam, m in gen.items()}
        if fom[name] and "reenactment" in gens:
            own = gens["reenactment"]
            gens["reenactment"] = GeneratorStats(
                _spread(fom[name]), own.to_other,
                f"to_identity measured on the study's {len(fom[name])} real CelebFOM reenactments against their "
                f"source frames (the project's classical warp gives {own.to_identity.mean:.2f} +- "
                f"{own.to_identity.sd:.2f}); to_other: {own.provenance}")
        return embedding_stats(photos, name), gens

    ref = names[0]
    emb, gens = stats_for(ref)
    base = SimulationParams(emb, gens, STUDY_DATASETS, recognizer=ref if ref != "reference" else DEFAULT_RECOGNIZER,
                            notes=(
        "Estimated by `dfi simulate --estimate` with the installed face models (harness.simulate.estimate). "
        "Dataset sizes and target counts: the study's recorded result files."))
    views: dict[str, RecognizerStats] = {}
    _, ref_diff = photos.pair_cosines(ref)
    for name in names[1:]:
        v_emb, v_gens = stats_for(name)
        _, diff = photos.pair_cosines(name)
        identity_r = pearson(ref_diff, diff)
        groups = [(np.asarray(m["to_identity"][ref]), np.asarray(m["to_identity"][name])) for m in gen.values()]
        if fom[ref]:
            groups.append((np.asarray(fom[ref]), np.asarray(fom[name])))
        deepfake_r = centred_correlation(groups)
        coupling = fit_coupling(base, name, v_emb, v_gens, identity_r, deepfake_r)
        views[name] = RecognizerStats(v_emb, v_gens, coupling)
    return replace(base, recognizers=views)


def measure_generators(photos: list[tuple[str, np.ndarray]], embedders: Mapping[str, Embedder] | None = None,
                       max_pairs: int | None = None) -> dict[str, dict]:
    """Run the project's generators (``harness.generate``) between ordered pairs of photos of
    different people and measure, per recognizer, each deepfake's cosine to its identity source (first
    argument: the target for replacement/reenactment, the first source for synthesis) and to the other
    photo. A deepfake where one recognizer finds no face is left out for all of them."""
    from harness.generate import GENERATORS

    embedders = dict(embedders or {"reference": default_embedder()})
    embs: dict[int, dict[str, np.ndarray]] = {}
    for k, (_, img) in enumerate(photos):
        try:
            embs[k] = {n: embed(img) for n, embed in embedders.items()}
        except FaceError:
            continue
    pairs = [(a, b) for a, b in itertools.permutations(sorted(embs), 2) if photos[a][0] != photos[b][0]]
    if max_pairs is not None:
        pairs = pairs[:max_pairs]
    out: dict[str, dict] = {}
    for fam, gen in GENERATORS.items():
        to_id: dict[str, list[float]] = {n: [] for n in embedders}
        to_other: dict[str, list[float]] = {n: [] for n in embedders}
        kept = 0
        for seed, (a, b) in enumerate(pairs):
            try:
                fake = gen(photos[a][1], photos[b][1], seed)
                e = {n: embed(fake) for n, embed in embedders.items()}
            except (FaceError, ValueError):
                continue
            kept += 1
            for n in embedders:
                to_id[n].append(float(e[n] @ embs[a][n]))
                to_other[n].append(float(e[n] @ embs[b][n]))
        out[fam] = {"to_identity": to_id, "to_other": to_other,
                    "provenance": f"measured: harness.generate {fam} on {kept} ordered pairs of "
                                  f"{len(embs)} real photos (insightface demo photos, shared faces, Azure recording)"}
    return out

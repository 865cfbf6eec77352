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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from harness.faces.types import Face, FaceError
from harness.simulate.params import STUDY_DATASETS, EmbeddingStats, GeneratorStats, SimulationParams, Spread

Embedder = Callable[[np.ndarray], np.ndarray]  # BGR image -> (512,) embedding of its largest face


def default_embedder() -> Embedder:
    from harness.faces import default_pipeline

    pipe = default_pipeline()
    return lambda img: _embedding(pipe.analyze(img)[0])


def _embedding(face: Face) -> np.ndarray:
    if face.embedding is None:  # FacePipeline.analyze embeds every face it returns
        raise FaceError("the face has no embedding")
    return face.embedding


def _spread(values: Iterable[float]) -> Spread:
    v = np.asarray(list(values), dtype=float)
    return Spread(round(float(v.mean()), 4), round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 4))


def real_photos(shared: Path | None) -> list[tuple[str, np.ndarray]]:
    """(person label, BGR image) for every real face photo available offline; a group photo gives
    one entry per face (label ``t1.jpg#k``)."""
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


def group_photo_embeddings() -> list[tuple[str, np.ndarray]]:
    from harness.faces import default_pipeline, load_image
    from harness.models import demo_image_paths

    demo = demo_image_paths()
    if "t1.jpg" not in demo:
        return []
    faces = default_pipeline().analyze(load_image(demo["t1.jpg"]))
    return [(f"t1.jpg#{k}", _embedding(f)) for k, f in enumerate(faces)]


def measure_embedding_stats(shared: Path | None, embed: Embedder | None = None) -> tuple[EmbeddingStats, dict]:
    embed = embed or default_embedder()
    labelled: list[tuple[str, np.ndarray]] = []
    for label, img in real_photos(shared):
        try:
            labelled.append((label, embed(img)))
        except FaceError:
            continue
    labelled += group_photo_embeddings()
    # drop exact duplicates (the Azure recordings hold the same image twice)
    kept: list[tuple[str, np.ndarray]] = []
    for label, e in labelled:
        if all(float(e @ k) < 0.995 for _, k in kept):
            kept.append((label, e))
    same: list[float] = []
    diff: list[float] = []
    for (la, ea), (lb, eb) in itertools.combinations(kept, 2):
        (same if la == lb else diff).append(float(ea @ eb))
    if not same or not diff:
        raise FaceError("too few real photos to measure same- and different-person cosines")
    people = len({label for label, _ in kept})
    stats = EmbeddingStats(
        _spread(same), _spread(diff), int(kept[0][1].shape[0]),
        f"measured: {len(same)} same-person pairs (three Obama photos), {len(diff)} different-person "
        f"pairs over {people} people / {len(kept)} photos (shared faces, t1.jpg, Tom Hanks, Azure recording, "
        f"CelebFOM real frames)",
    )
    return stats, {"same_person": same, "different_person": diff, "photos": len(kept), "people": people}


def measure_fom_reenactment(shared: Path | None, embed: Embedder | None = None) -> list[float]:
    """Cosine of each of the study's CelebFOM deepfakes to its source frame (the real frame it is
    most similar to, as the pairing is not given)."""
    if shared is None:
        return []
    from harness.faces import load_image

    embed = embed or default_embedder()
    folder = shared / "paper-samples" / "CelebFOM"
    reals = [embed(load_image(f)) for f in sorted(folder.glob("*_real.png"))]
    fakes = [embed(load_image(f)) for f in sorted(folder.glob("*_fake.png"))]
    if not reals or not fakes:
        return []
    R = np.stack(reals)
    return [float(np.max(R @ f)) for f in fakes]


def estimate_params(shared: Path | None, *, embed: Embedder | None = None) -> SimulationParams:
    """Every parameter from real measurements (about a minute on 2 cores):

    - embedding statistics: :func:`measure_embedding_stats`;
    - replacement and synthesis: the project's generators (:func:`measure_generators`);
    - reenactment: ``to_identity`` from the study's real FOM reenactments (the deepfakes the study
      measured, not our classical warp), ``to_other`` from the project's reenactment generator
      (the study's samples do not include the driving person's photo).
    """
    from harness.defense.trained_detector import training_photos

    embed = embed or default_embedder()
    emb, _ = measure_embedding_stats(shared, embed)
    gen = measure_generators(training_photos(shared), embed)
    gens = {fam: GeneratorStats(_spread(m["to_identity"]), _spread(m["to_other"]), m["provenance"])
            for fam, m in gen.items()}
    fom = measure_fom_reenactment(shared, embed)
    if fom and "reenactment" in gens:
        own = gens["reenactment"]
        gens["reenactment"] = GeneratorStats(
            _spread(fom), own.to_other,
            f"to_identity measured on the study's {len(fom)} real CelebFOM reenactments against their source "
            f"frames (the project's classical warp gives {own.to_identity.mean:.2f} +- {own.to_identity.sd:.2f}); "
            f"to_other: {own.provenance}")
    return SimulationParams(emb, gens, STUDY_DATASETS, notes=(
        "Estimated by `dfi simulate --estimate` with the installed embedding model (harness.simulate.estimate). "
        "Dataset sizes and target counts: the study's recorded result files."))


def measure_generators(photos: list[tuple[str, np.ndarray]], embed: Embedder | None = None,
                       max_pairs: int | None = None) -> dict[str, dict]:
    """Run the project's generators (``harness.generate``) between ordered pairs of photos of
    different people and measure each deepfake's cosine to its identity source (first argument:
    the target for replacement/reenactment, the first source for synthesis) and to the other photo."""
    from harness.generate import GENERATORS

    embed = embed or default_embedder()
    embs = {}
    for k, (_, img) in enumerate(photos):
        try:
            embs[k] = embed(img)
        except FaceError:
            continue
    pairs = [(a, b) for a, b in itertools.permutations(sorted(embs), 2) if photos[a][0] != photos[b][0]]
    if max_pairs is not None:
        pairs = pairs[:max_pairs]
    out: dict[str, dict] = {}
    for fam, gen in GENERATORS.items():
        to_id, to_other = [], []
        for seed, (a, b) in enumerate(pairs):
            try:
                e = embed(gen(photos[a][1], photos[b][1], seed))
            except (FaceError, ValueError):
                continue
            to_id.append(float(e @ embs[a]))
            to_other.append(float(e @ embs[b]))
        out[fam] = {"to_identity": to_id, "to_other": to_other,
                    "provenance": f"measured: harness.generate {fam} on {len(to_id)} ordered pairs of "
                                  f"{len(embs)} real photos (insightface demo photos, shared faces, Azure recording)"}
    return out

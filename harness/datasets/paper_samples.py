"""The study's sample layout (``paper-samples/``): CelebFOM and CelebBlend.

CelebFOM (facial reenactment, First Order Motion model): ``NAME_real.png`` is a real video frame of
NAME; ``NAME_fake.png`` is a deepfake *driven by* NAME's clip, animating one of the real frames --
so the person shown (the target) is the person of some ``*_real.png``, and NAME is the reference.
This matches the study's ``Results_FOM.csv``, where a fake's path is ``<target>/<clip>/<driver>_fake.png``.
File names do not say which real frame a fake animates: the pairing is given (``pairs``: fake file
-> real file) or found by the face embedding (nearest real frame by cosine similarity).

CelebBlend (facial synthesis, FaceApp "morph"): ``FaceApp_<unix-ms>.jpg`` are FaceApp exports.
The names are export timestamps and carry no identity; the two blended sources are shown as
thumbnails in the bottom-left and bottom-right corners of each image. We use those thumbnails as
the real reference images (they are the photos FaceApp blended), the image above them as the
deepfake, and label the sources by clustering the thumbnails with the face embedding
(``blend-src-01``, ...): the same label means the same source photo/person, but the celebrities'
*names* are not recoverable from the files. (The study's Results_FaceApp.csv names sources by the
folder path ``fake/<R1>/<R2>.jpg``, which these exports do not carry.) Synthesis TA does not need
names: it compares the vendor's answer on the blend with its answers on the two sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.datasets.images import ImageRefError, load_ref_array, make_ref
from harness.datasets.probe import Probe
from harness.errors import DfiError, InputFileError

Embedder = Callable[[np.ndarray], "np.ndarray | None"]  # BGR image -> L2-normalised embedding or None

# Thumbnail rectangles of FaceApp morph exports, as fractions of the (square) image.
BLEND_LEFT = (0.03, 0.735, 0.27, 0.97)
BLEND_RIGHT = (0.73, 0.735, 0.97, 0.97)
BLEND_MAIN = (0.0, 0.0, 1.0, 0.72)
SAME_SOURCE_COSINE = 0.6
FOM_RE = re.compile(r"^(?P<name>.+)_(?P<kind>real|fake)$")


def default_embedder() -> Embedder:
    from harness.faces import default_pipeline

    pipe = default_pipeline()

    def embed(img: np.ndarray) -> np.ndarray | None:
        try:
            faces = pipe.analyze(img)
        except DfiError:
            return None
        return faces[0].embedding if faces else None

    return embed


def is_paper_samples_layout(root: Path) -> bool:
    return (root / "CelebFOM").is_dir() or (root / "CelebBlend").is_dir()


def read_paper_samples(root: str | Path, *, pairs: dict[str, str] | None = None,
                       embedder: Embedder | None = None) -> list[Probe]:
    root = Path(root)
    if not is_paper_samples_layout(root):
        raise InputFileError(str(root), "expected CelebFOM/ and/or CelebBlend/ folders")
    probes: list[Probe] = []
    if (root / "CelebFOM").is_dir():
        probes += read_celebfom(root / "CelebFOM", pairs=pairs, embedder=embedder)
    if (root / "CelebBlend").is_dir():
        probes += read_celebblend(root / "CelebBlend", embedder=embedder)
    return probes


def read_celebfom(folder: Path, *, pairs: dict[str, str] | None = None,
                  embedder: Embedder | None = None) -> list[Probe]:
    reals: dict[str, Path] = {}
    fakes: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        m = FOM_RE.match(p.stem)
        if m and p.suffix.lower() in (".png", ".jpg", ".jpeg"):
            (reals if m["kind"] == "real" else fakes)[m["name"]] = p
    if not fakes:
        raise InputFileError(str(folder), "no NAME_fake.png files")
    if pairs is None:
        pairing = _pair_by_embedding(fakes, reals, embedder or default_embedder())
    else:
        pairing = {}
        for fake_name, fake in fakes.items():
            real_file = pairs.get(fake.name)
            real_name = next((n for n, r in reals.items() if r.name == real_file), None)
            pairing[fake_name] = (real_name, "given" if real_name else f"no pairing given for {fake.name}")
    probes = []
    for fake_name, fake in fakes.items():
        real_name, how = pairing[fake_name]
        probes.append(Probe(
            probe_id=fake.stem, dataset="CelebFOM", method="reenactment", deepfake=str(fake),
            target=real_name or "unknown", target_images=(str(reals[real_name]),) if real_name else (),
            references=(fake_name,), error="" if real_name else f"unpaired: {how}",
            meta={"pairing": how},
        ))
    return probes


def _pair_by_embedding(fakes: dict[str, Path], reals: dict[str, Path], embed: Embedder
                       ) -> dict[str, tuple[str | None, str]]:
    embedded = {n: embed(load_ref_array(str(p))) for n, p in reals.items()}
    real_emb = {n: e for n, e in embedded.items() if e is not None}
    out: dict[str, tuple[str | None, str]] = {}
    for name, fake in fakes.items():
        e = embed(load_ref_array(str(fake)))
        if e is None or not real_emb:
            out[name] = (None, "no face found to pair by embedding")
            continue
        sims = {n: float(np.dot(e, r)) for n, r in real_emb.items()}
        best = max(sims, key=sims.__getitem__)
        out[name] = (best, f"embedding cosine {sims[best]:.3f}")
    return out


def read_celebblend(folder: Path, *, embedder: Embedder | None = None) -> list[Probe]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise InputFileError(str(folder), "no images")
    embed = embedder or default_embedder()
    clusters: list[tuple[str, np.ndarray]] = []

    def label(ref: str, fallback: str) -> str:
        try:
            e = embed(load_ref_array(ref))
        except ImageRefError:
            e = None
        if e is None:
            return fallback
        for name, centre in clusters:
            if float(np.dot(e, centre)) >= SAME_SOURCE_COSINE:
                return name
        name = f"blend-src-{len(clusters) + 1:02d}"
        clusters.append((name, e))
        return name

    probes = []
    for f in files:
        left = make_ref(f, crop=BLEND_LEFT)
        right = make_ref(f, crop=BLEND_RIGHT)
        l_name = label(left, f"{f.stem}:left")
        r_name = label(right, f"{f.stem}:right")
        probes.append(Probe(
            probe_id=f.stem, dataset="CelebBlend", method="synthesis", deepfake=make_ref(f, crop=BLEND_MAIN),
            target=l_name, target_images=(left, right), references=(l_name, r_name),
            meta={"sources": "corner thumbnails of the FaceApp export"},
        ))
    return probes

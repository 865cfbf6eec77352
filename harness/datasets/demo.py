"""The embedded default dataset: a small demonstration built from photos that install offline.

Sources (nothing is downloaded here; ``dfi models fetch`` put the first two in the user cache):

* ``t1.jpg`` from the insightface 2.1 wheel: six people, unnamed; labelled "Demo Person 1".."6"
  from left to right (the same labels as ``dfi serve``'s demo gallery);
* ``Tom_Hanks_54745.png`` from the same wheel: "Tom Hanks" (a tight 112 x 112 crop);
* ``grace_hopper.jpg`` shipped in matplotlib's sample data: "Grace Hopper".

One photo per person, so the gallery and the probes are different *augmentations* of it: the
gallery gets mirrored, rotated, rescaled and re-lit crops; the probes' real target images are an
unmirrored crop with another margin and a small rotation the other way, and every deepfake is
generated from those probe-side images, never from the gallery's. Deepfakes come from the three
classical generators (:mod:`harness.generate`): for every person 3 replacements and 3 reenactments
(references chosen with a fixed seed) and a synthesis for every pair of people.

It is a demonstration of the pipeline, not a measurement of any real service: 8 people, one source
photo each, and classical (not neural) deepfakes. Built once, then reused from the user cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from harness.datasets.manifest import read_manifest, write_manifest
from harness.datasets.probe import Probe
from harness.errors import DfiError
from harness.paths import cache_dir

DEMO_VERSION = "3"  # bump when the recipe changes: a new cache folder is built
SEED = 2024
REFERENCES_PER_TARGET = 3
Progress = Callable[[int, int], None]  # (probes done, probes in all)
NOTICE = ("Demonstration dataset: {people} people from {photos} offline photos (one photo per person), "
          "{probes} classical deepfakes (replacement, reenactment, synthesis), answered by the in-process "
          "mock vendors over a demo gallery. It shows the pipeline end to end; its numbers say nothing "
          "about the real AWS, Azure or Naver services.")


class DemoDataError(DfiError):
    """The demo photos are not installed."""


@dataclass(frozen=True)
class DemoDataset:
    root: Path
    manifest: Path
    gallery_dir: Path
    people: tuple[str, ...]
    photos: int

    def probes(self) -> list[Probe]:
        return read_manifest(self.manifest)

    def gallery_photos(self) -> dict[str, list[Path]]:
        return {p: sorted((self.gallery_dir / p.replace(" ", "_")).glob("*.png")) for p in self.people}

    def notice(self, n_probes: int) -> str:
        return NOTICE.format(people=len(self.people), photos=self.photos, probes=n_probes)


def grace_hopper_path() -> Path | None:
    import matplotlib

    p = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return p if p.is_file() else None


def source_photos() -> dict[str, Path]:
    from harness.models import demo_image_paths

    try:
        paths = {k: Path(v) for k, v in demo_image_paths().items()}
    except DfiError as exc:
        raise DemoDataError(f"the demo photos are not installed ({exc}); run `dfi models fetch`") from None
    gh = grace_hopper_path()
    if gh is not None:
        paths["grace_hopper.jpg"] = gh
    return paths


def _crop(img: np.ndarray, box: tuple[float, float, float, float], margin: float, angle: float = 0.0,
          min_side: int = 224) -> np.ndarray:
    """A square crop around ``box`` (side = box side x (1 + 2 margin)), rotated by ``angle`` degrees."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    out = max(min_side, int(round(side)))
    scale = out / side
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += np.array([out / 2 - cx, out / 2 - cy])
    return cv2.warpAffine(img, m, (out, out), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def _relight(img: np.ndarray, gain: float, bias: float) -> np.ndarray:
    return np.clip(img.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)


def _imread(path: Path) -> np.ndarray:
    img = cv2.imread(str(path))
    if img is None:
        raise DemoDataError(f"{path}: the demo photo cannot be decoded")
    return img


def _people(photos: dict[str, Path]) -> dict[str, tuple[np.ndarray, tuple[float, float, float, float]]]:
    """name -> (source image, face box)."""
    from harness.faces import default_pipeline

    pipe = default_pipeline()
    people: dict[str, tuple[np.ndarray, tuple[float, float, float, float]]] = {}
    if "t1.jpg" in photos:
        img = _imread(photos["t1.jpg"])
        for n, f in enumerate(sorted(pipe.detect(img), key=lambda f: f.box[0]), start=1):
            people[f"Demo Person {n}"] = (img, f.box)
    hanks = next((p for k, p in photos.items() if "hanks" in k.lower()), None)
    if hanks is not None:
        img = cv2.copyMakeBorder(_imread(hanks), 56, 56, 56, 56, cv2.BORDER_REPLICATE)  # room for margins
        faces = pipe.detect(img)
        if faces:
            people["Tom Hanks"] = (img, max(faces, key=lambda f: f.width).box)
    if "grace_hopper.jpg" in photos:
        img = _imread(photos["grace_hopper.jpg"])
        faces = pipe.detect(img)
        if faces:
            people["Grace Hopper"] = (img, max(faces, key=lambda f: f.width).box)
    if len(people) < 3:
        raise DemoDataError("fewer than three faces found in the demo photos")
    return people


def _key(photos: dict[str, Path]) -> str:
    h = hashlib.sha256(DEMO_VERSION.encode())
    for k in sorted(photos):
        h.update(k.encode() + hashlib.sha256(photos[k].read_bytes()).digest())
    return h.hexdigest()[:12]


def demo_dataset(rebuild: bool = False, progress: Progress | None = None) -> DemoDataset:
    """The demo dataset in the user cache, built on first use (about half a minute on 2 cores)."""
    photos = source_photos()
    root = cache_dir() / "demo-dataset" / _key(photos)
    done = root / "DONE.json"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two first runs at once build it once
        if rebuild and root.exists():
            shutil.rmtree(root)
        if not done.is_file():
            _build(root, photos, progress)
            done.write_text(json.dumps({"version": DEMO_VERSION, "photos": sorted(photos)}))
    info = json.loads(done.read_text())
    people = tuple(sorted(p.name.replace("_", " ") for p in (root / "gallery").iterdir() if p.is_dir()))
    return DemoDataset(root, root / "manifest.jsonl", root / "gallery", people, len(info["photos"]))


def _slug(name: str) -> str:
    return name.replace(" ", "_")


def _build(root: Path, photos: dict[str, Path], progress: Progress | None = None) -> None:
    from harness.generate import GENERATORS

    if root.exists():
        shutil.rmtree(root)
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "real").mkdir(parents=True)
    (tmp / "fake").mkdir()
    people = _people(photos)
    names = sorted(people)
    real: dict[str, np.ndarray] = {}
    for name in names:
        img, box = people[name]
        slug = name.replace(" ", "_")
        gdir = tmp / "gallery" / slug
        gdir.mkdir(parents=True)
        # gallery: mirrored, differently framed, rotated and lit crops (never the probes' pixels)
        for i, (margin, angle, gain, bias) in enumerate([(0.35, 6.0, 1.0, 0.0), (0.5, -3.0, 1.1, 8.0),
                                                         (0.25, 0.0, 0.9, -6.0)]):
            g = _relight(_crop(img, box, margin, angle), gain, bias)[:, ::-1]
            cv2.imwrite(str(gdir / f"gallery{i}.png"), np.ascontiguousarray(g))
        real[name] = _crop(img, box, 0.6, -4.0)
        cv2.imwrite(str(tmp / "real" / f"{slug}.png"), real[name])
    rng = np.random.default_rng(SEED)
    jobs: list[tuple[str, str, tuple[str, ...]]] = []
    for t in names:
        others = [n for n in names if n != t]
        chosen = rng.choice(others, size=min(REFERENCES_PER_TARGET, len(others)), replace=False)
        for method in ("replacement", "reenactment"):
            jobs += [(method, t, (str(r),)) for r in chosen]
    jobs += [("synthesis", a, (a, b)) for a, b in itertools.combinations(names, 2)]
    probes: list[Probe] = []
    for i, (method, target, refs) in enumerate(jobs):
        targets: tuple[str, ...]
        if method == "synthesis":
            a, b = refs
            out = GENERATORS[method](real[a], real[b], SEED + i)
            pid = f"syn-{_slug(a)}+{_slug(b)}"
            targets = (str(tmp / "real" / f"{_slug(a)}.png"), str(tmp / "real" / f"{_slug(b)}.png"))
        else:
            r = refs[0]
            out = GENERATORS[method](real[target], real[r], SEED + i)
            pid = f"{method[:3]}-{_slug(target)}-by-{_slug(r)}"
            targets = (str(tmp / "real" / f"{_slug(target)}.png"),)
        fake = tmp / "fake" / f"{pid}.png"
        cv2.imwrite(str(fake), out)
        probes.append(Probe(pid, f"demo-{method}", method, str(fake), target, targets, refs))
        if progress is not None:
            progress(i + 1, len(jobs))
    write_manifest(probes, tmp / "manifest.jsonl")
    os.replace(tmp, root)

"""A deepfake detector trained in the project: face-patch power spectrum + logistic regression.

Features (after Durall et al. 2020, "Watch your up-convolution"): the azimuthally averaged log power
spectrum of the face interior (resized, and a central patch at the photo's own resolution: the
generators' warps and blends resample the face, which changes its high-frequency fall-off), plus
self-normalised sharpness and noise features (the face interior against a ring around the face
from the same photo, which a face swap leaves at the original sharpness). See
:func:`spectrum_features`.
Classifier: scikit-learn ``StandardScaler`` + ``LogisticRegression`` (balanced classes).

Training data: the project's own deepfakes (``harness.generate``: replacement, reenactment,
synthesis, made between every ordered pair of real photos available offline) and those real
photos; reals and fakes pass through the same random rescale + JPEG re-encode, so the classifier
cannot learn "was re-encoded". Held-out evaluation splits by *person* (3 folds, scores pooled): no
photo of a test person (as real image or as either side of a fake) is in that fold's training split.
The study's 31 images in ../shared/data/paper-samples are never used for training;
:func:`evaluate_paper_samples` scores them.

The fitted model is a JSON file of a few hundred numbers cached under ``cache_dir()/detectors``.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.preprocessing import StandardScaler

from harness.detectors import UnscorableImageError, largest_face_box, register_detector_factory
from harness.errors import DfiError, InputFileError
from harness.faces.types import FaceError
from harness.paths import cache_dir

NAME = "spectrum_lr"
FEATURE_VERSION = 2
PATCH = 64
BINS = 24
FAMILIES = ("replacement", "reenactment", "synthesis")




def _radial_profile(grey: np.ndarray, bins: int) -> np.ndarray:
    """Azimuthally averaged log power spectrum, ``bins - 1`` rings (DC ring dropped), level-normalised."""
    spec = np.fft.fftshift(np.fft.fft2(grey - grey.mean()))
    power = np.log(np.abs(spec) ** 2 + 1e-8)
    n = grey.shape[0]
    yy, xx = np.indices(power.shape)
    ring = np.minimum((np.hypot(yy - n // 2, xx - n // 2) * (bins / (n / 2))).astype(int), bins)
    sums = np.bincount(ring.ravel(), power.ravel(), minlength=bins + 1)
    counts = np.maximum(np.bincount(ring.ravel(), minlength=bins + 1), 1)
    prof = (sums / counts)[1:bins]
    return prof - prof[:3].mean()


def _laplacian_var(grey: np.ndarray) -> float:
    return float(cv2.Laplacian(grey, cv2.CV_32F).var()) + 1e-6


def spectrum_features(image_bgr: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The feature vector of the face in ``box`` (x1, y1, x2, y2 pixels):

    - log power spectrum rings of the face interior resized to 64x64 (23 values) and of its central
      32x32 pixels at the photo's own resolution (15 values);
    - log Laplacian variance of the interior and its ratio to a ring around the face, per grey and
      per colour channel (a swapped or warped face is resampled, its surroundings are not);
    - the same ratio and level for the 3x3 median-filter noise residual.
    """
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = grey.shape
    x1, y1, x2, y2 = box
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)

    def square(scale: float, img: np.ndarray = grey) -> np.ndarray:
        r = side * scale / 2
        a, b, c, d = (int(round(v)) for v in (cx - r, cy - r, cx + r, cy + r))
        crop = img[max(0, b):min(h, d), max(0, a):min(w, c)]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            raise UnscorableImageError(f"{NAME}: face too small to analyse")
        return crop

    inner = square(0.5)
    interp = cv2.INTER_AREA if inner.shape[0] > PATCH else cv2.INTER_CUBIC
    patch = cv2.resize(inner, (PATCH, PATCH), interpolation=interp)
    cy0, cx0 = inner.shape[0] // 2, inner.shape[1] // 2
    native = inner[max(0, cy0 - 16):cy0 + 16, max(0, cx0 - 16):cx0 + 16]
    if native.shape != (32, 32):
        native = cv2.resize(native, (32, 32), interpolation=cv2.INTER_CUBIC)
    v_in, v_ring = _laplacian_var(inner), _laplacian_var(square(1.6))
    colour = [np.log(_laplacian_var(square(0.5, c)) / _laplacian_var(square(1.6, c)))
              for c in np.moveaxis(image_bgr.astype(np.float32), 2, 0)]
    residual = grey - cv2.medianBlur(np.clip(grey, 0, 255).astype(np.uint8), 3).astype(np.float32)
    r_in, r_ring = square(0.5, residual).std() + 1e-3, square(1.6, residual).std() + 1e-3
    return np.r_[_radial_profile(patch, BINS), _radial_profile(native, 16), np.log(v_in / v_ring), np.log(v_in),
                 colour, np.log(r_in / r_ring), np.log(r_in)].astype(np.float64)


@dataclass
class SpectrumModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    report: dict = field(default_factory=dict)

    def proba(self, features: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(features) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        return json.dumps({"kind": f"dfi-{NAME}", "feature_version": FEATURE_VERSION, "mean": self.mean.tolist(),
                           "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
                           "report": self.report}, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> SpectrumModel:
        try:
            d = json.loads(text)
            if d.get("kind") != f"dfi-{NAME}" or d.get("feature_version") != FEATURE_VERSION:
                raise ValueError(f"not a {NAME} v{FEATURE_VERSION} model")
            m = cls(np.asarray(d["mean"], float), np.asarray(d["scale"], float), np.asarray(d["coef"], float),
                    float(d["intercept"]), dict(d.get("report", {})))
            if not (m.mean.shape == m.scale.shape == m.coef.shape):
                raise ValueError("mean/scale/coef lengths differ")
            return m
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(source, f"bad {NAME} model: {exc}") from exc


def fit_model(X: np.ndarray, y: np.ndarray, C: float = 0.1) -> SpectrumModel:
    scaler = StandardScaler().fit(X)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(scaler.transform(X), y)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return SpectrumModel(scaler.mean_.copy(), scale, lr.coef_[0].copy(), float(lr.intercept_[0]))


class SpectrumDetector:
    """The trained detector behind the :class:`harness.detectors.Detector` protocol."""

    name = NAME

    def __init__(self, model: SpectrumModel):
        self.model = model

    def score_array(self, image_bgr: np.ndarray) -> float:
        return float(self.model.proba(spectrum_features(image_bgr, largest_face_box(image_bgr, NAME)))[0])

    def score(self, image: bytes) -> float:
        from harness.faces import load_image

        try:
            img = load_image(image)
        except FaceError as exc:
            raise UnscorableImageError(f"{NAME}: {exc}") from exc
        return self.score_array(img)


# --- training data ----------------------------------------------------------------------------

def training_photos(shared: Path | None) -> list[tuple[str, np.ndarray]]:
    """(person, BGR photo) for every real photo available offline EXCEPT the study's paper-samples:
    the insightface wheel's Tom Hanks photo and the six faces of its t1.jpg (cropped one per face),
    matplotlib's Grace Hopper sample photo, the face_recognition test photos and the Azure
    recordings' photos in ../shared/data."""
    from harness.faces import default_pipeline, load_image
    from harness.models import demo_image_paths

    out: list[tuple[str, np.ndarray]] = []
    demo = demo_image_paths()
    if "Tom_Hanks_54745.png" in demo:
        out.append(("tom_hanks", load_image(demo["Tom_Hanks_54745.png"])))
    if "t1.jpg" in demo:
        group = load_image(demo["t1.jpg"])
        for k, f in enumerate(sorted(default_pipeline().detect(group), key=lambda f: f.box[0])):
            x1, y1, x2, y2 = (int(v) for v in f.box)
            fw, fh = x2 - x1, y2 - y1
            out.append((f"t1_person{k}", group[max(0, y1 - fh):y2 + fh // 2, max(0, x1 - fw):x2 + fw].copy()))
    from harness.datasets.demo import grace_hopper_path

    gh = grace_hopper_path()  # shipped in matplotlib's sample data
    if gh is not None:
        out.append(("grace_hopper", load_image(gh)))
    if shared is not None:
        for photo in sorted((shared / "faces").glob("*.jpg")):
            out.append(("obama" if photo.stem.startswith("obama") else photo.stem, load_image(photo)))
        seen: set[str] = set()
        for photo in sorted((shared / "vendor-recordings" / "azure" / "decoded-images").glob("*.jpg")):
            digest = hashlib.sha256(load_image(photo).tobytes()).hexdigest()
            if digest not in seen:  # two recordings carry the same photo
                seen.add(digest)
                out.append((photo.stem.split(".")[0], load_image(photo)))
    return out


def _augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random downscale (0.5-1) and JPEG re-encode (quality 75-95): applied alike to reals and fakes."""
    s = rng.uniform(0.5, 1.0)
    if min(image.shape[:2]) * s > 80:
        image = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(75, 96))])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise DfiError("augmentation: the JPEG re-encode failed")
    return decoded


@dataclass
class Samples:
    X: np.ndarray
    y: np.ndarray  # True = deepfake
    people: list[frozenset[str]]  # persons whose photos went into each sample
    family: list[str]  # "real" or the generation family
    skipped: int = 0


def build_samples(photos: Sequence[tuple[str, np.ndarray]], *, real_copies: int = 12, seed: int = 0,
                  families: Sequence[str] = FAMILIES,
                  progress: Callable[[int, int], None] | None = None) -> Samples:
    """Features of ``real_copies`` augmented copies of every photo and of one augmented deepfake per
    (family, ordered pair of photos of different people)."""
    from harness.generate import GENERATORS

    rng = np.random.default_rng(seed)
    X, y, people, family = [], [], [], []
    skipped = 0
    pairs = [(a, b) for a, b in itertools.permutations(range(len(photos)), 2) if photos[a][0] != photos[b][0]]
    total = len(photos) * real_copies + len(pairs) * len(families)
    done = 0

    def add(img: np.ndarray, label: bool, who: frozenset[str], fam: str) -> None:
        nonlocal skipped
        try:
            aug = _augment(img, rng)
            X.append(spectrum_features(aug, largest_face_box(aug, NAME)))
        except (DfiError, cv2.error):
            skipped += 1
            return
        y.append(label)
        people.append(who)
        family.append(fam)

    for _ in range(real_copies):
        for person, img in photos:
            add(img, False, frozenset([person]), "real")
            done += 1
            if progress:
                progress(done, total)
    for fam in families:
        gen = GENERATORS[fam]
        for k, (a, b) in enumerate(pairs):
            try:
                fake = gen(photos[a][1], photos[b][1], seed + k)
            except (DfiError, ValueError, cv2.error):
                skipped += 1
            else:
                add(fake, True, frozenset([photos[a][0], photos[b][0]]), fam)
            done += 1
            if progress:
                progress(done, total)
    return Samples(np.asarray(X), np.asarray(y, bool), people, family, skipped)


def scores_report(scores: np.ndarray, is_fake: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy at ``threshold``, ROC AUC and equal error rate (EER) of fake-probabilities."""
    s, y = np.asarray(scores, float), np.asarray(is_fake, bool)
    out = {"n_fake": int(y.sum()), "n_real": int((~y).sum()), "threshold": threshold}
    pred = s >= threshold
    out["accuracy"] = float((pred == y).mean()) if len(y) else float("nan")
    out["tpr"] = float(pred[y].mean()) if y.any() else float("nan")
    out["fpr"] = float(pred[~y].mean()) if (~y).any() else float("nan")
    if y.any() and (~y).any():
        out["auc"] = float(roc_auc_score(y, s))
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        # equal error rate: the smallest achievable max(false positive rate, miss rate)
        out["eer"] = float(np.min(np.maximum(fpr, 1 - tpr)))
    else:
        out["auc"] = out["eer"] = float("nan")
    return out


def held_out_split(samples: Samples, test_people: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Train: samples with no test person; test: samples made only from test persons."""
    train = np.array([not (p & test_people) for p in samples.people])
    test = np.array([p <= test_people for p in samples.people])
    return train, test


def person_folds(persons: Sequence[str], k: int = 3) -> list[set[str]]:
    """Persons (sorted by name) dealt round-robin into ``k`` held-out folds."""
    people = sorted(set(persons))
    return [set(people[i::k]) for i in range(k)]


def train_and_evaluate(photos: Sequence[tuple[str, np.ndarray]], *, seed: int = 0, C: float = 0.1,
                       real_copies: int = 12, folds: int = 3,
                       progress: Callable[[int, int], None] | None = None) -> SpectrumModel:
    """Held-out evaluation by person (``folds``-fold: each fold's model never saw a photo of the
    fold's people, as a real image or on either side of a fake; the folds' test scores are pooled),
    then the final model fitted on every sample."""
    samples = build_samples(photos, real_copies=real_copies, seed=seed, progress=progress)
    scores, labels, fams, used = [], [], [], []
    fam = np.asarray(samples.family)
    for test_people in person_folds([p for p, _ in photos], folds):
        train, test = held_out_split(samples, test_people)
        if samples.y[train].all() or not samples.y[train].any() or not test.any():
            continue
        model = fit_model(samples.X[train], samples.y[train], C)
        scores.append(model.proba(samples.X[test]))
        labels.append(samples.y[test])
        fams.append(fam[test])
        used.append(sorted(test_people))
    if not scores:
        raise DfiError(f"{NAME}: too few photos to make training and held-out splits")
    s, y, f = np.concatenate(scores), np.concatenate(labels), np.concatenate(fams)
    report = {"held_out": scores_report(s, y), "held_out_folds": used}
    for family in FAMILIES:
        keep = (f == family) | (f == "real")
        report[f"held_out_{family}"] = scores_report(s[keep], y[keep])
    final = fit_model(samples.X, samples.y, C)
    final.report = report | {
        "trained_on": {"photos": len(photos), "people": len({p for p, _ in photos}), "samples": int(len(samples.y)),
                       "fakes": int(samples.y.sum()), "reals": int((~samples.y).sum()), "skipped": samples.skipped,
                       "real_copies": real_copies, "seed": seed, "C": C},
    }
    return final


def evaluate_paper_samples(detector: SpectrumDetector, shared: Path) -> dict:
    """Scores on the study's real deepfakes (CelebFOM ``*_fake.png``, CelebBlend FaceApp blends)
    against its real CelebFOM frames (``*_real.png``). None of them was used in training."""
    from harness.faces import load_image

    root = shared / "paper-samples"
    items = [(f, True, "CelebFOM") for f in sorted((root / "CelebFOM").glob("*_fake.png"))]
    items += [(f, True, "CelebBlend") for f in sorted((root / "CelebBlend").glob("*.jpg"))]
    items += [(f, False, "CelebFOM") for f in sorted((root / "CelebFOM").glob("*_real.png"))]
    scores, labels, sets, failed = [], [], [], []
    for f, fake, ds in items:
        try:
            scores.append(detector.score_array(load_image(f)))
        except DfiError as exc:
            failed.append(f"{f.name}: {exc}")
            continue
        labels.append(fake)
        sets.append(ds)
    s, y, d = np.asarray(scores), np.asarray(labels, bool), np.asarray(sets)
    report = {"all": scores_report(s, y), "failed": failed}
    for ds in ("CelebFOM", "CelebBlend"):
        keep = (d == ds) | ~y
        report[f"{ds}_fakes_vs_real_frames"] = scores_report(s[keep], y[keep])
    return report


def model_path() -> Path:
    return cache_dir() / "detectors" / f"{NAME}-v{FEATURE_VERSION}.json"


def load_or_train(*, retrain: bool = False, shared: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> SpectrumDetector:
    """The cached model, or train one (about a minute on 2 cores) and cache it. Processes that need it
    at once train it once: the others wait on a lock beside the cache file, then load what it wrote."""
    path = model_path()
    if path.exists() and not retrain:
        return SpectrumDetector(SpectrumModel.from_json(path.read_text(), str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if path.exists() and not retrain:
            return SpectrumDetector(SpectrumModel.from_json(path.read_text(), str(path)))
        return _train_and_store(path, shared, progress)


def _train_and_store(path: Path, shared: Path | None, progress: Callable[[int, int], None] | None
                     ) -> SpectrumDetector:
    from harness.paths import shared_data_dir

    photos = training_photos(shared if shared is not None else shared_data_dir())
    model = train_and_evaluate(photos, progress=progress)
    det = SpectrumDetector(model)
    sd = shared if shared is not None else shared_data_dir()
    if sd is not None and (sd / "paper-samples").is_dir():
        model.report["paper_samples"] = evaluate_paper_samples(det, sd)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(model.to_json())
    tmp.replace(path)
    return det


# ``spectrum_lr`` in every detector spec string (harness.detectors.resolve_detector)
register_detector_factory(NAME, load_or_train)

"""The measured defense on images: run a dataset through the vendors without and with each policy.

1. Baseline campaign (``<out>/baseline``) with the plain vendors (resumable like any campaign).
2. Every probe image is prepared exactly as the campaign sends it (face crop), so the detectors
   see the bytes the vendor would see; detector keys are the sha256 of those bytes.
3. For each policy (DD1 per detector, DD2 and DD3 over the ensemble), the vendors are wrapped in
   :class:`harness.defense.wrapper.DefendedVendor` and the campaign is run again
   (``<out>/<policy>``, redone on every run): attack success after the defense is *measured* by the
   wrapped vendor.
   DD3's combiner is trained on the probes of half of the target celebrities and evaluated on the
   other half (its table covers that half only).
   DD3 comes twice over the same halves: the logistic combiner and the study's "deep stacking"
   (a small neural network, ``DD3-deep``).
4. :func:`harness.defense.evaluate.defense_table` compares before/after with the study's analytic
   estimate and counts the genuine recognitions the defense destroyed, per dataset x vendor and
   over all datasets combined; :mod:`harness.defense.table2` lays it out as the study's Table 2.

The evaluation guard (:mod:`harness.detectors.guard`, on by default): every image is re-encoded to
one format and size before a detector scores it, so no detector separates fakes by file format;
the scores of the images as given are kept beside (``DefenseRun.raw_scores``) for the report.

Simulated detectors need the truth about each image: deepfake or genuine (from the probes) and,
for correlated ones, how convincing each deepfake is, taken as the mean confidence the vendors gave
it in the baseline run (0 where a vendor named no one).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from harness.campaign import CampaignOptions, CampaignRunner
from harness.campaign.prepare import ImagePreparer
from harness.datasets.probe import Probe
from harness.defense.evaluate import defense_table
from harness.defense.policy import DD1, DD2, DD3, DeepStackingCombiner, Policy, StackingCombiner
from harness.defense.wrapper import DefendedVendor
from harness.detectors import (
    Detector,
    ImageTruth,
    UnscorableImageError,
    detector_scores,
    image_key,
    resolve_detector,
)
from harness.detectors.guard import ReencodeGuard, guarded
from harness.errors import DfiError
from harness.results.io import results_from_rows
from harness.vendors.base import Vendor

DEFAULT_GUARD = ReencodeGuard()


class DefenseSetupError(DfiError):
    """The defense cannot be set up (bad detector spec, too few probes to split for DD3)."""


@dataclass(frozen=True)
class ProbeImages:
    fake: str | None  # sha256 of the prepared deepfake bytes (None: could not be prepared)
    targets: tuple[str | None, ...]
    refs: tuple[str, ...] = ()  # the image references of fake and targets, in that order


def probe_image_keys(probes: Sequence[Probe], preparer: ImagePreparer
                     ) -> tuple[dict[str, ProbeImages], dict[str, bytes]]:
    """Per probe the keys of its prepared images, and the prepared bytes by key."""
    keys: dict[str, ProbeImages] = {}
    data: dict[str, bytes] = {}

    def prep(ref: str, role: str) -> str | None:
        img = preparer.prepare(ref, role)
        if img.error or img.data is None:
            return None
        data[img.sha256] = img.data
        return img.sha256

    for p in probes:
        if p.error:
            keys[p.probe_id] = ProbeImages(None, ())
            continue
        keys[p.probe_id] = ProbeImages(prep(p.deepfake, "deepfake"),
                                       tuple(prep(t, "real target image") for t in p.target_images[:2]),
                                       (p.deepfake, *p.target_images[:2]))
    return keys, data


def image_truth(probes: Sequence[Probe], keys: Mapping[str, ProbeImages],
                baseline: pd.DataFrame) -> dict[str, ImageTruth]:
    """Deepfake/genuine for every prepared image; a deepfake's quality is the vendors' mean confidence on it."""
    conf = baseline.assign(c=baseline["fake_conf"].fillna(0.0).where(baseline["fake_error"].eq(""), np.nan))
    quality = conf.groupby("probe_id")["c"].mean().to_dict()
    truth: dict[str, ImageTruth] = {}
    for p in probes:
        k = keys[p.probe_id]
        for t in k.targets:
            if t is not None:
                truth[t] = ImageTruth(False)
        if k.fake is not None:
            q = quality.get(p.probe_id, 0.0)
            truth[k.fake] = ImageTruth(True, 0.0 if q != q else float(q), p.dataset)
    return truth


def build_detectors(specs: Sequence[str], truth: Mapping[str, ImageTruth], *,
                    trained_loader: Callable[[], Detector] | None = None) -> list[Detector]:
    """The detectors named by ``specs``, through the one resolver
    (:func:`harness.detectors.resolve_detector`): ``spectrum_lr`` (the project's trained detector;
    ``trained_loader`` replaces its loader), a registry name (e.g. ``fr_liveness``), or
    ``sim:NAME:TPR,FPR[,CORRELATION]`` (told ``truth``)."""
    from harness.defense import trained_detector

    factories = {trained_detector.NAME: trained_loader} if trained_loader is not None else None
    out = [resolve_detector(spec, truth=truth, factories=factories) for spec in specs]
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise DefenseSetupError(f"detector names must be distinct, got {names}")
    return out


@dataclass(frozen=True)
class Unscorable:
    """A detector could not score an image: the :class:`UnscorableImageError`'s message."""

    message: str


Outcome: TypeAlias = float | Unscorable  # one detector on one image


@dataclass(frozen=True)
class BuiltDetectors:
    as_given: list[Detector]
    guarded: list[Detector]  # what the policies use: behind the evaluation guard (simulated ones unwrapped)

    @property
    def reencoded(self) -> list[Detector]:
        """The detectors the guard changes, as given (the report's "both ways")."""
        return [d for d, g in zip(self.as_given, self.guarded, strict=True) if d is not g]


@dataclass(frozen=True)
class DetectorRecipe:
    """What any process needs to build the defense's detectors exactly as :func:`run_defense` does
    (:func:`build_detectors`, then :func:`harness.detectors.guard.guarded`); picklable when
    ``trained_loader`` is (see :meth:`for_workers`)."""

    specs: tuple[str, ...]
    truth: Mapping[str, ImageTruth]
    guard: ReencodeGuard | None = DEFAULT_GUARD
    trained_loader: Callable[[], Detector] | None = None

    def build(self) -> BuiltDetectors:
        as_given = build_detectors(self.specs, self.truth, trained_loader=self.trained_loader)
        return BuiltDetectors(as_given, [guarded(d, self.guard) for d in as_given])

    def for_workers(self, built: BuiltDetectors) -> DetectorRecipe:
        """This recipe with the trained detector already built here shipped in it: other processes
        score with the same model, without training or reading a cache of their own."""
        from harness.defense import trained_detector

        for spec, d in zip(self.specs, built.as_given, strict=True):
            if spec.strip() == trained_detector.NAME:
                return replace(self, trained_loader=Prebuilt(d))
        return replace(self, trained_loader=None)


@dataclass(frozen=True)
class Prebuilt:
    """A loader that returns a detector already built (picklable when the detector is)."""

    detector: Detector

    def __call__(self) -> Detector:
        return self.detector


def detector_outcome(detector: Detector, image: bytes) -> Outcome:
    """One detector on one image, as :func:`run_defense` scores it in-process."""
    try:
        return float(detector_scores([detector], image)[0])
    except UnscorableImageError as exc:
        return Unscorable(str(exc))


@dataclass
class ImageScores:
    """Every detector's outcome on every image, computed elsewhere (``score_images`` of
    :func:`run_defense`; e.g. a Ray Data stage). ``guarded``: detector name -> image key -> outcome,
    every detector behind the guard; ``as_given``: the same for :attr:`BuiltDetectors.reencoded`."""

    guarded: dict[str, dict[str, Outcome]] = field(default_factory=dict)
    as_given: dict[str, dict[str, Outcome]] = field(default_factory=dict)


# (recipe, image keys, prepared bytes by key) -> every detector's outcome on every one of those images
ScoreImages = Callable[[DetectorRecipe, Sequence[str], Mapping[str, bytes]], ImageScores]


@dataclass
class PolicyOutcome:
    policy: Policy
    after: pd.DataFrame
    table: pd.DataFrame  # per dataset x vendor
    blocked_images: int
    note: str = ""
    combined: pd.DataFrame | None = None  # per vendor, all datasets combined
    probe_ids: frozenset[str] = frozenset()  # the probes it was evaluated on


@dataclass
class DefenseRun:
    baseline: pd.DataFrame
    outcomes: list[PolicyOutcome] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # detector -> key -> score
    detector_errors: dict[str, int] = field(default_factory=dict)
    raw_scores: dict[str, dict[str, float]] = field(default_factory=dict)  # as given, without the guard
    keys: dict[str, ProbeImages] = field(default_factory=dict)
    truth: dict[str, ImageTruth] = field(default_factory=dict)
    guard: ReencodeGuard | None = None

    def table(self) -> pd.DataFrame:
        return pd.concat([o.table.assign(note=o.note) for o in self.outcomes], ignore_index=True)


def _run(probes: Sequence[Probe], vendors: Mapping[str, Vendor], out: Path, options: CampaignOptions,
         preparer: ImagePreparer) -> pd.DataFrame:
    runner = CampaignRunner(probes, vendors, out, options, preparer=preparer)
    runner.open_journal()
    runner.run()
    return results_from_rows(runner.ordered_rows(), str(out))


def row_flags(results: pd.DataFrame, keys: Mapping[str, ProbeImages],
              decisions: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Per results row: did the defense flag the deepfake / a genuine target image it was shown?"""
    def flagged(k: str | None) -> bool:
        d = decisions.get(k) if k is not None else None
        return bool(getattr(d, "flagged", False))

    fake, target = [], []
    for pid in results["probe_id"].astype(str):
        k = keys.get(pid, ProbeImages(None, ()))
        fake.append(flagged(k.fake))
        target.append(any(flagged(t) for t in k.targets))
    return np.array(fake, bool), np.array(target, bool)


def split_by_target(probes: Sequence[Probe]) -> tuple[list[Probe], list[Probe]]:
    """Two halves with disjoint target celebrities (a stable hash decides): DD3 trains on the first."""
    targets = sorted({p.target for p in probes}, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    train_targets = set(targets[: len(targets) // 2])
    return [p for p in probes if p.target in train_targets], [p for p in probes if p.target not in train_targets]


class _Remembered:
    """A detector whose scores of the images already scored are looked up (by sha256), so each
    policy's campaign does not run the networks again on the same images; same name and scores."""

    def __init__(self, detector: Detector, memo: dict[str, float], known: Mapping[str, Outcome] | None = None):
        """``known``: outcomes computed elsewhere (``score_images``), read instead of scoring."""
        self.detector = detector
        self.memo = memo
        self.known = known or {}

    @property
    def name(self) -> str:
        return self.detector.name

    def score(self, image: bytes) -> float:
        key = image_key(image)
        if key not in self.memo:
            known = self.known.get(key)
            if isinstance(known, Unscorable):
                raise UnscorableImageError(known.message)
            self.memo[key] = float(self.detector.score(image)) if known is None else known
        return self.memo[key]


def _score(d: Detector, k: str, data: Mapping[str, bytes], known: Mapping[str, Mapping[str, Outcome]] | None
           ) -> float:
    o = known.get(d.name, {}).get(k) if known is not None else None
    if o is None:
        return float(detector_scores([d], data[k])[0])
    if isinstance(o, Unscorable):
        raise UnscorableImageError(o.message)
    return o


def _scores_for(detectors: Sequence[Detector], keys: Sequence[str], data: Mapping[str, bytes],
                cache: dict[str, dict[str, float]], errors: dict[str, int],
                known: Mapping[str, Mapping[str, Outcome]] | None = None) -> tuple[np.ndarray, list[str]]:
    rows, kept = [], []
    for k in keys:
        try:
            row = []
            for d in detectors:
                memo = cache.setdefault(d.name, {})
                if k not in memo:
                    memo[k] = _score(d, k, data, known)
                row.append(memo[k])
        except UnscorableImageError:
            errors[d.name] = errors.get(d.name, 0) + 1
            continue
        rows.append(row)
        kept.append(k)
    return np.array(rows, dtype=float).reshape(len(rows), len(detectors)), kept


def run_defense(probes: Sequence[Probe], vendors: Mapping[str, Vendor], out_dir: Path, detector_specs: Sequence[str],
                *, ensemble: Sequence[str] | None = None, beta: float = 90.0, gamma: float = 80.0,
                options: CampaignOptions | None = None, trained_loader: Callable[[], Detector] | None = None,
                guard: ReencodeGuard | None = DEFAULT_GUARD, score_images: ScoreImages | None = None,
                log: Callable[[str], None] = lambda _m: None) -> DefenseRun:
    """``score_images``: scores every prepared image with every detector elsewhere (e.g.
    :class:`harness.distributed.detect.RayDetectorScorer`) instead of in this process; its outcomes
    are read wherever a detector would score, so nothing is scored again here and the scores, error
    counts and tables are the in-process ones. The campaigns run in this process either way."""
    out_dir = Path(out_dir)
    opts = options or CampaignOptions()
    preparer = ImagePreparer(crop=opts.crop, cache_dir=out_dir / "crops")
    log("baseline campaign (no defense)")
    baseline = _run(probes, vendors, out_dir / "baseline", opts, preparer)
    keys, data = probe_image_keys(probes, preparer)
    truth = image_truth(probes, keys, baseline)
    recipe = DetectorRecipe(tuple(detector_specs), truth, guard, trained_loader)
    built = recipe.build()
    detectors = built.guarded
    run = DefenseRun(baseline, keys=keys, truth=truth, guard=guard)
    # every detector scores every image once, shared by all policies
    all_keys = sorted(data)
    log(f"scoring {len(all_keys)} images with {len(detectors)} detector(s)"
        + (f" ({guard.describe()})" if guard is not None else " (as given, no re-encoding)"))
    known = score_images(recipe.for_workers(built), all_keys, data) if score_images is not None else None
    known_guarded = known.guarded if known is not None else None
    _scores_for(detectors, all_keys, data, run.scores, run.detector_errors, known_guarded)
    unguarded = built.reencoded
    if unguarded:  # the same detectors on the images as given, for the report's "both ways"
        _scores_for(unguarded, all_keys, data, run.raw_scores, {}, known.as_given if known is not None else None)
    detectors = [_Remembered(d, run.scores.setdefault(d.name, {}), (known_guarded or {}).get(d.name))
                 for d in detectors]
    by_name = {d.name: d for d in detectors}

    policies: list[tuple[Policy, Sequence[Probe], str]] = [
        (DD1(d, name=f"DD1[{d.name}]"), probes, "") for d in detectors]
    members = [by_name[n] for n in (ensemble if ensemble is not None else [d.name for d in detectors])
               if n in by_name]
    if ensemble is not None and len(members) != len(ensemble):
        raise DefenseSetupError(f"--ensemble names {list(ensemble)} must be among the detectors {list(by_name)}")
    if len(members) >= 2:
        tag = "+".join(d.name for d in members)
        policies.append((DD2(members, name=f"DD2[{tag}]"), probes, ""))
        train, held = split_by_target(probes)
        if train and held:
            tkeys = [k for p in train for k in (keys[p.probe_id].fake, *keys[p.probe_id].targets) if k is not None]
            X, kept = _scores_for(members, sorted(set(tkeys)), data, run.scores, run.detector_errors)
            y = np.array([truth[k].is_fake for k in kept], bool)
            if y.any() and not y.all():
                names = tuple(d.name for d in members)
                note = (f"trained on {len(train)} probes of {len({p.target for p in train})} targets, "
                        f"evaluated on the other {len(held)}")
                policies.append((DD3(members, StackingCombiner(names).fit(X, y), name=f"DD3[{tag}]"), held, note))
                policies.append((DD3(members, DeepStackingCombiner(names).fit(X, y), name=f"DD3-deep[{tag}]"),
                                 held, note))
            else:
                log("DD3 skipped: its training half has only one class of images")
    for policy, subset, note in policies:
        log(f"campaign through {policy.name}")
        shared: dict = {}
        defended = {v: DefendedVendor(vendor, policy, decisions=shared) for v, vendor in vendors.items()}
        policy_dir = out_dir / _slug(policy.name)
        # never resumed: its answers depend on the detectors (a retrained model, other rates), and the
        # wrapper's decisions are what the flags below are read from
        shutil.rmtree(policy_dir, ignore_errors=True)
        after = _run(subset, defended, policy_dir, opts, preparer)
        ids = {p.probe_id for p in subset}
        before = baseline[baseline["probe_id"].isin(ids)].reset_index(drop=True)
        f, t = row_flags(before, keys, shared)
        table = defense_table(before, after, f, t, beta=beta, gamma=gamma, policy=policy.name)
        combined = defense_table(before, after, f, t, by=("vendor",), beta=beta, gamma=gamma, policy=policy.name)
        run.outcomes.append(PolicyOutcome(policy, after, table, sum(d.flagged for d in shared.values()), note,
                                          combined, frozenset(ids)))
    return run


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_")

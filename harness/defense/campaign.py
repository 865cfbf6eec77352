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
from dataclasses import dataclass, field
from pathlib import Path

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

    def __init__(self, detector: Detector, memo: dict[str, float]):
        self.detector = detector
        self.memo = memo

    @property
    def name(self) -> str:
        return self.detector.name

    def score(self, image: bytes) -> float:
        key = image_key(image)
        if key not in self.memo:
            self.memo[key] = float(self.detector.score(image))
        return self.memo[key]


def _scores_for(detectors: Sequence[Detector], keys: Sequence[str], data: Mapping[str, bytes],
                cache: dict[str, dict[str, float]], errors: dict[str, int]) -> tuple[np.ndarray, list[str]]:
    rows, kept = [], []
    for k in keys:
        try:
            row = []
            for d in detectors:
                memo = cache.setdefault(d.name, {})
                if k not in memo:
                    memo[k] = float(detector_scores([d], data[k])[0])
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
                guard: ReencodeGuard | None = DEFAULT_GUARD,
                log: Callable[[str], None] = lambda _m: None) -> DefenseRun:
    out_dir = Path(out_dir)
    opts = options or CampaignOptions()
    preparer = ImagePreparer(crop=opts.crop, cache_dir=out_dir / "crops")
    log("baseline campaign (no defense)")
    baseline = _run(probes, vendors, out_dir / "baseline", opts, preparer)
    keys, data = probe_image_keys(probes, preparer)
    truth = image_truth(probes, keys, baseline)
    as_given = build_detectors(detector_specs, truth, trained_loader=trained_loader)
    detectors = [guarded(d, guard) for d in as_given]
    run = DefenseRun(baseline, keys=keys, truth=truth, guard=guard)
    # every detector scores every image once, shared by all policies
    all_keys = sorted(data)
    log(f"scoring {len(all_keys)} images with {len(detectors)} detector(s)"
        + (f" ({guard.describe()})" if guard is not None else " (as given, no re-encoding)"))
    _scores_for(detectors, all_keys, data, run.scores, run.detector_errors)
    unguarded = [d for d, g in zip(as_given, detectors, strict=True) if d is not g]
    if unguarded:  # the same detectors on the images as given, for the report's "both ways"
        _scores_for(unguarded, all_keys, data, run.raw_scores, {})
    detectors = [_Remembered(d, run.scores.setdefault(d.name, {})) for d in detectors]
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

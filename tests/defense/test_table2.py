"""The Table 2 layout's pieces against independent references: detection metrics, bootstrap
intervals, video-level scores, the deep-stacking combiner, and the evaluation guard."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from harness.datasets.probe import Probe
from harness.defense.campaign import DefenseRun, ProbeImages
from harness.defense.policy import DD1, DeepStackingCombiner, StackingCombiner, _logit
from harness.defense.table2 import (
    batch_metrics,
    bootstrap_indices,
    bootstrap_intervals,
    dataset_images,
    detection_metrics,
    quality_row,
    video_key,
    video_scores,
)
from harness.detectors import ImageTruth, SimulatedDetector, image_key
from harness.detectors.guard import GuardedDetector, ReencodeGuard, guarded


def _pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    """P(score of a random fake > score of a random real), ties half: the AUC's definition."""
    pos, neg = s[y], s[~y]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def test_detection_metrics_match_their_definitions():
    rng = np.random.default_rng(0)
    y = rng.random(60) < 0.4
    s = np.clip(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, 60), 0, 1)
    flag = s >= 0.5
    m = detection_metrics(y, s, flag)
    tp, fp, fn = (flag & y).sum(), (flag & ~y).sum(), (~flag & y).sum()
    assert m["accuracy"] == pytest.approx(np.mean(flag == y))
    assert m["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["auc"] == pytest.approx(_pairwise_auc(y, s)) == pytest.approx(roc_auc_score(y, s))
    # EER: the best threshold's max(FPR, miss rate), by brute force over every threshold
    eer = min(max(np.mean(s[~y] >= t), np.mean(s[y] < t)) for t in [*np.unique(s), np.inf])
    assert m["eer"] == pytest.approx(eer)
    ties = np.round(s, 1)  # tied scores: AUC counts them half, EER takes each tie group's point
    mt = detection_metrics(y, ties, ties >= 0.5)
    assert mt["auc"] == pytest.approx(_pairwise_auc(y, ties))
    assert mt["eer"] == pytest.approx(min(max(np.mean(ties[~y] >= t), np.mean(ties[y] < t))
                                          for t in [*np.unique(ties), np.inf]))
    one_class = detection_metrics(np.ones(3, bool), np.array([0.2, 0.6, 0.9]), np.array([0, 1, 1], bool))
    assert np.isnan(one_class["auc"]) and one_class["accuracy"] == pytest.approx(2 / 3)


def test_bootstrap_intervals_bracket_the_estimate_and_are_reproducible():
    rng = np.random.default_rng(1)
    y = rng.random(80) < 0.5
    s = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 80), 0, 1)
    ci = bootstrap_intervals(y, s, s >= 0.5, n_boot=300, seed=3)
    m = detection_metrics(y, s, s >= 0.5)
    for name in ("accuracy", "auc", "eer", "f1"):
        lo, hi = ci[name]
        assert lo <= m[name] <= hi and hi - lo > 0
    assert ci == bootstrap_intervals(y, s, s >= 0.5, n_boot=300, seed=3)
    # the vectorised resamples are detection_metrics on each resample
    idx = bootstrap_indices(y, 20, seed=5)
    ties = np.round(s, 1)
    batch = batch_metrics(y[idx], ties[idx], (ties >= 0.5)[idx])
    for b in range(20):
        one = detection_metrics(y[idx[b]], ties[idx[b]], ties[idx[b]] >= 0.5)
        for name in ("accuracy", "auc", "eer", "f1"):
            assert batch[name][b] == pytest.approx(one[name]), (name, b)
    perfect = bootstrap_intervals(y, y.astype(float), y, n_boot=100)
    assert perfect["auc"] == (1.0, 1.0) and perfect["accuracy"] == (1.0, 1.0)


def test_video_level_scores_average_the_frames():
    assert video_key("clips/a.mp4#frame=12") == video_key("clips/a.mp4#frame=40") != video_key("clips/b.mp4#frame=1")
    assert video_key("still.png") == "still.png"
    videos = ["f1.mp4", "f1.mp4", "f2.mp4", "f2.mp4", "r1.mp4", "r1.mp4"]
    y = np.array([1, 1, 1, 1, 0, 0], bool)
    s = np.array([0.9, 0.3, 0.8, 0.4, 0.5, 0.5])  # frame AUC < 1 (0.3, 0.4 below a real's 0.5)
    vy, vs, longest = video_scores(videos, y, s)
    assert longest == 2 and list(vy) == [True, True, False]
    assert vs == pytest.approx([0.6, 0.6, 0.5])
    assert detection_metrics(y, s, s >= 0.5)["auc"] < 1 == detection_metrics(vy, vs, vs >= 0.5)["auc"]


def test_deep_stacking_is_sklearns_mlp_and_learns_what_logistic_cannot():
    rng = np.random.default_rng(2)
    X = rng.random((400, 2))
    y = (X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)  # fake when exactly one detector is high: no linear rule does it
    deep = DeepStackingCombiner(("a", "b")).fit(X, y)
    ref = MLPClassifier(hidden_layer_sizes=(8,), activation="relu", solver="lbfgs", alpha=1e-2, max_iter=2000,
                        random_state=0).fit(_logit(X), y)  # balanced already (reps = 1)
    assert deep.predict_proba(X) == pytest.approx(ref.predict_proba(_logit(X))[:, 1], abs=1e-9)
    logistic = StackingCombiner(("a", "b")).fit(X, y)
    auc_deep = detection_metrics(y, deep.predict_proba(X), deep.predict_proba(X) >= 0.5)["auc"]
    auc_lr = detection_metrics(y, logistic.predict_proba(X), logistic.predict_proba(X) >= 0.5)["auc"]
    assert auc_deep > 0.9 > 0.65 > auc_lr
    again = DeepStackingCombiner.from_json(deep.to_json())
    assert again.predict_proba(X) == pytest.approx(deep.predict_proba(X))


class FormatDetector:
    """Says "fake" for any JPEG: separates the study's samples by file format alone."""

    name = "format"

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def score(self, image: bytes) -> float:
        self.seen.append(image)
        return 1.0 if image[:2] == b"\xff\xd8" else 0.0


def _picture(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)


def test_guard_gives_detectors_one_format_and_size_and_the_format_detector_falls_to_chance():
    guard = ReencodeGuard()
    fakes = [cv2.imencode(".jpg", _picture(i, 900))[1].tobytes() for i in range(4)]  # large JPEGs, as FaceApp's
    reals = [cv2.imencode(".png", _picture(10 + i, 256))[1].tobytes() for i in range(3)]  # 256-px PNG frames
    inner = FormatDetector()
    det = guarded(inner, guard)
    assert isinstance(det, GuardedDetector) and det.name == "format"
    for img in fakes + reals:
        det.score(img)
    shapes = {cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR).shape for b in inner.seen}
    assert shapes == {(256, 256, 3)} and all(b[:2] == b"\xff\xd8" for b in inner.seen)
    sim = SimulatedDetector("s", 0.9, 0.1, {})
    assert guarded(sim, guard) is sim and guarded(inner, None) is inner

    # the report's two AUCs on such a set: 1.0 as given, 0.5 behind the guard
    probes, keys, scores, raw = [], {}, {"format": {}}, {"format": {}}
    for i, fake in enumerate(fakes):
        real = reals[i % len(reals)]
        p = Probe(f"p{i}", "study", "synthesis", f"fake{i}.jpg", f"t{i}", (f"real{i % 3}.png",))
        probes.append(p)
        keys[p.probe_id] = ProbeImages(image_key(fake), (image_key(real),), (p.deepfake, *p.target_images))
        for img in (fake, real):
            scores["format"][image_key(img)] = det.score(img)
            raw["format"][image_key(img)] = inner.score(img)
    truth = {image_key(f): ImageTruth(True) for f in fakes} | {image_key(r): ImageTruth(False) for r in reals}
    run = DefenseRun(pd.DataFrame(), scores=scores, raw_scores=raw, keys=keys, truth=truth, guard=guard)
    images = dataset_images(probes, run)
    assert (int(images.is_fake.sum()), int((~images.is_fake).sum())) == (4, 3)  # each distinct image once
    row = quality_row(DD1(inner, name="DD1[format]"), images, run, n_boot=50)
    assert row["auc_as_given"] == 1.0 and row["auc"] == 0.5
    assert row["genuine_blocked"] == 3 and np.isnan(row["video_auc"])  # still images: no video AUC

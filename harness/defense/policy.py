"""The study's three defenses as decision rules over detector scores.

- DD1: one detector at a threshold.
- DD2: several detectors; an image passes only if every detector says real.
- DD3: stacking: a combiner learned on the detectors' scores (trained on one split of labelled
  images, evaluated on another): logistic regression (:class:`StackingCombiner`) or a small neural
  network (:class:`DeepStackingCombiner`, the study's "deep stacking").

A policy works on a score matrix (n images x k detectors), so the same rule serves images (the
vendor wrapper scores each image once) and embedding-space simulations (scores per probe key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from harness.detectors import Detector
from harness.errors import DfiError, InputFileError


class PolicyError(DfiError):
    """A defense policy is misconfigured (no detectors, bad threshold, untrained combiner)."""


def _check_threshold(t: float) -> float:
    if not 0.0 <= t <= 1.0:
        raise PolicyError(f"a detector threshold must be in [0, 1], got {t}")
    return float(t)


def _as_matrix(scores: np.ndarray, k: int) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] != k:
        raise PolicyError(f"expected scores of shape (n, {k}), got {s.shape}")
    return s


@dataclass
class DD1:
    """One detector: flag when its fake-probability >= threshold."""

    detector: Detector
    threshold: float = 0.5
    name: str = "DD1"

    def __post_init__(self) -> None:
        self.threshold = _check_threshold(self.threshold)

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return (self.detector,)

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return _as_matrix(scores, 1)[:, 0] >= self.threshold

    def score(self, scores: np.ndarray) -> np.ndarray:
        """The policy's continuous fake-score (for AUC/EER): the detector's own."""
        return _as_matrix(scores, 1)[:, 0]

    def describe(self) -> str:
        return f"DD1: {self.detector.name} >= {self.threshold:g}"


@dataclass
class DD2:
    """Every detector must say real: flag when any member's score >= its threshold."""

    members: Sequence[Detector]
    thresholds: Sequence[float] | None = None
    name: str = "DD2"

    def __post_init__(self) -> None:
        if not self.members:
            raise PolicyError("DD2 needs at least one detector")
        th = self.thresholds if self.thresholds is not None else [0.5] * len(self.members)
        if len(th) != len(self.members):
            raise PolicyError(f"DD2: {len(self.members)} detectors but {len(th)} thresholds")
        self.thresholds = [_check_threshold(t) for t in th]

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return tuple(self.members)

    def member_flags(self, scores: np.ndarray) -> np.ndarray:
        """(n, k) boolean: which member flags which image."""
        s = _as_matrix(scores, len(self.members))
        return s >= np.asarray(self.thresholds)[None, :]

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(self.member_flags(scores).any(axis=1), dtype=bool)

    def score(self, scores: np.ndarray) -> np.ndarray:
        """Continuous fake-score: the largest member margin over its threshold, shifted so that
        score >= 0.5 exactly when the image is flagged."""
        s = _as_matrix(scores, len(self.members))
        return np.max(s - np.asarray(self.thresholds)[None, :], axis=1) + 0.5

    def describe(self) -> str:
        parts = [f"{d.name} >= {t:g}" for d, t in zip(self.members, self.thresholds or [], strict=True)]
        return "DD2: flag if any of " + ", ".join(parts)


_EPS = 1e-4


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(scores, _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


@dataclass
class StackingCombiner:
    """Logistic regression on the detectors' logit scores (sklearn), with a JSON form (a few hundred bytes)."""

    detector_names: tuple[str, ...]
    coef: np.ndarray | None = None
    intercept: float = 0.0
    train_info: dict = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return self.coef is not None

    def fit(self, scores: np.ndarray, is_fake: np.ndarray, *, C: float = 1.0) -> StackingCombiner:
        X = _logit(_as_matrix(scores, len(self.detector_names)))
        y = np.asarray(is_fake, dtype=bool)
        if y.shape[0] != X.shape[0]:
            raise PolicyError(f"DD3 training: {X.shape[0]} score rows but {y.shape[0]} labels")
        if y.all() or not y.any():
            raise PolicyError("DD3 training needs both deepfakes and genuine images in its training split")
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
        model.fit(X, y)
        self.coef = model.coef_[0].astype(float)
        self.intercept = float(model.intercept_[0])
        self.train_info = {"n_train": int(len(y)), "n_fake": int(y.sum()), "n_real": int((~y).sum()), "C": C}
        return self

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        if self.coef is None:
            raise PolicyError("DD3 combiner is not trained: fit it on a labelled split first")
        X = _logit(_as_matrix(scores, len(self.detector_names)))
        z = X @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        if self.coef is None:
            raise PolicyError("cannot save an untrained DD3 combiner")
        return json.dumps(
            {
                "kind": "dfi-dd3-stacking",
                "detectors": list(self.detector_names),
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
                "train": self.train_info,
            }
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "<string>") -> StackingCombiner:
        try:
            d = json.loads(text)
            if d.get("kind") != "dfi-dd3-stacking":
                raise ValueError("not a DD3 combiner file")
            names = tuple(str(n) for n in d["detectors"])
            coef = np.asarray(d["coef"], dtype=float)
            if coef.shape != (len(names),):
                raise ValueError("coef length does not match the detectors")
            return cls(names, coef, float(d["intercept"]), dict(d.get("train", {})))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(source, f"bad DD3 combiner: {exc}") from exc

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> StackingCombiner:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InputFileError(str(path), f"cannot read: {exc.strerror}") from exc
        return cls.from_json(text, source=str(path))


@dataclass
class DeepStackingCombiner:
    """The study's "deep stacking": a small neural network (sklearn ``MLPClassifier``, one hidden
    ReLU layer) on the detectors' logit scores, classes balanced by repeating the rarer one. Its
    weights are kept as arrays, so it has a JSON form like the logistic combiner."""

    detector_names: tuple[str, ...]
    hidden: int = 8
    weights: list[np.ndarray] = field(default_factory=list)
    biases: list[np.ndarray] = field(default_factory=list)
    train_info: dict = field(default_factory=dict)

    kind = "mlp"

    @property
    def fitted(self) -> bool:
        return bool(self.weights)

    def fit(self, scores: np.ndarray, is_fake: np.ndarray, *, alpha: float = 1e-2, seed: int = 0
            ) -> DeepStackingCombiner:
        X = _logit(_as_matrix(scores, len(self.detector_names)))
        y = np.asarray(is_fake, dtype=bool)
        if y.shape[0] != X.shape[0]:
            raise PolicyError(f"DD3 training: {X.shape[0]} score rows but {y.shape[0]} labels")
        if y.all() or not y.any():
            raise PolicyError("DD3 training needs both deepfakes and genuine images in its training split")
        rare = y if y.sum() < (~y).sum() else ~y
        reps = int(round((~rare).sum() / rare.sum()))
        Xb = np.concatenate([X, *[X[rare]] * (reps - 1)]) if reps > 1 else X
        yb = np.concatenate([y, *[y[rare]] * (reps - 1)]) if reps > 1 else y
        model = MLPClassifier(hidden_layer_sizes=(self.hidden,), activation="relu", solver="lbfgs", alpha=alpha,
                              max_iter=2000, random_state=seed)
        model.fit(Xb, yb)
        self.weights = [np.asarray(w, float) for w in model.coefs_]
        self.biases = [np.asarray(b, float) for b in model.intercepts_]
        self.train_info = {"n_train": int(len(y)), "n_fake": int(y.sum()), "n_real": int((~y).sum()),
                           "hidden": self.hidden, "alpha": alpha, "balanced_by_repeating": reps}
        return self

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        if not self.weights:
            raise PolicyError("DD3 combiner is not trained: fit it on a labelled split first")
        h = _logit(_as_matrix(scores, len(self.detector_names)))
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)
        z = (h @ self.weights[-1] + self.biases[-1])[:, 0]
        return 1.0 / (1.0 + np.exp(-z))

    def describe(self) -> str:
        return f"deep stacking MLP ({len(self.detector_names)}-{self.hidden}-1, ReLU) over logit scores"

    def to_json(self) -> str:
        if not self.weights:
            raise PolicyError("cannot save an untrained DD3 combiner")
        return json.dumps({"kind": "dfi-dd3-deep-stacking", "detectors": list(self.detector_names),
                           "hidden": self.hidden, "weights": [w.tolist() for w in self.weights],
                           "biases": [b.tolist() for b in self.biases], "train": self.train_info})

    @classmethod
    def from_json(cls, text: str, *, source: str = "<string>") -> DeepStackingCombiner:
        try:
            d = json.loads(text)
            if d.get("kind") != "dfi-dd3-deep-stacking":
                raise ValueError("not a deep-stacking DD3 combiner file")
            names = tuple(str(n) for n in d["detectors"])
            weights = [np.asarray(w, float) for w in d["weights"]]
            biases = [np.asarray(b, float) for b in d["biases"]]
            if not weights or weights[0].shape[0] != len(names) or len(weights) != len(biases):
                raise ValueError("weights do not match the detectors")
            return cls(names, int(d["hidden"]), weights, biases, dict(d.get("train", {})))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(source, f"bad DD3 combiner: {exc}") from exc


Combiner = StackingCombiner | DeepStackingCombiner


@dataclass
class DD3:
    """Stacking: flag when the combiner's fake-probability >= threshold."""

    members: Sequence[Detector]
    combiner: Combiner
    threshold: float = 0.5
    name: str = "DD3"

    def __post_init__(self) -> None:
        self.threshold = _check_threshold(self.threshold)
        names = tuple(d.name for d in self.members)
        if names != self.combiner.detector_names:
            raise PolicyError(f"DD3 combiner was trained on {self.combiner.detector_names}, not {names}")

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return tuple(self.members)

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return self.combiner.predict_proba(scores) >= self.threshold

    def score(self, scores: np.ndarray) -> np.ndarray:
        """Continuous fake-score: the combiner's probability."""
        return self.combiner.predict_proba(scores)

    def describe(self) -> str:
        if isinstance(self.combiner, DeepStackingCombiner):
            return f"DD3: {self.combiner.describe()} >= {self.threshold:g}"
        coef = self.combiner.coef if self.combiner.coef is not None else np.zeros(len(self.combiner.detector_names))
        w = ", ".join(f"{n}:{c:+.2f}" for n, c in zip(self.combiner.detector_names, coef, strict=True))
        return f"DD3: stacking LR over logit scores ({w}; b={self.combiner.intercept:+.2f}) >= {self.threshold:g}"


def train_dd3(
    members: Sequence[Detector], train_scores: np.ndarray, train_is_fake: np.ndarray, *, threshold: float = 0.5
) -> DD3:
    """Fit the stacking combiner on a training split's scores and labels and return the DD3 policy."""
    if not members:
        raise PolicyError("DD3 needs at least one detector")
    comb = StackingCombiner(tuple(d.name for d in members)).fit(train_scores, train_is_fake)
    return DD3(members, comb, threshold)


Policy = DD1 | DD2 | DD3

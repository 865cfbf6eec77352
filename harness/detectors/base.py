"""The one detector abstraction of the harness.

A detector maps an image (the bytes a vendor would receive) to a fake-probability in [0, 1]
(higher = more likely a deepfake). Every detector satisfies :class:`Detector`: the ONNX models of
the registry (:class:`harness.detectors.runtime.OnnxDetector`), the simulated ones
(:class:`harness.detectors.simulated.SimulatedDetector`) and the project's trained detector
(``harness.defense.trained_detector.SpectrumDetector``).

A detector that cannot score an image (no face in it, undecodable bytes, an image a simulated
detector was told nothing about) raises :class:`UnscorableImageError`, never returns a made-up
score. What the defense does with that is decided in one place:
:func:`harness.defense.rule.decide` (an explicit error, on the client and the server side alike;
see docs/defense-unscorable.md).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from harness.errors import DfiError


class DetectorError(DfiError):
    """Any deliberate detector failure: a bad spec or name (:class:`harness.detectors.spec.DetectorSpecError`)
    or an image it cannot score (:class:`UnscorableImageError`)."""


class UnscorableImageError(DetectorError):
    """This detector cannot score this image (no face found, bad bytes, an image it knows nothing about).

    The defense answers it with an explicit error, never with "no celebrity" and never by letting
    the image through unscreened (:func:`harness.defense.rule.decide`).
    """


@runtime_checkable
class Detector(Protocol):
    """``name`` and ``score(image) -> fake-probability``; unscorable images raise :class:`UnscorableImageError`."""

    @property
    def name(self) -> str:
        """Distinct among the detectors of one policy; names the detector in errors and tables."""
        ...

    def score(self, image: bytes) -> float:
        """Fake-probability of the image, 0 (real) .. 1 (fake)."""
        ...


def image_key(image: bytes) -> str:
    """The identity of an image everywhere in the defense: sha256 of its bytes."""
    return hashlib.sha256(image).hexdigest()


def score_image(detector: Detector, image: bytes) -> float:
    """``detector.score(image)``, checked: any deliberate failure and any score outside [0, 1]
    becomes an :class:`UnscorableImageError` naming the detector."""
    try:
        s = float(detector.score(image))
    except UnscorableImageError:
        raise
    except DfiError as exc:  # e.g. a face error from an ONNX detector's crop step
        raise UnscorableImageError(f"detector {detector.name!r}: {exc}") from exc
    if math.isnan(s) or not 0.0 <= s <= 1.0:
        raise UnscorableImageError(f"detector {detector.name!r} returned {s}, not a probability in [0, 1]")
    return s


def detector_scores(detectors: Sequence[Detector], image: bytes) -> np.ndarray:
    """Scores of one image under each detector, as a (k,) array; see :func:`score_image`."""
    return np.array([score_image(d, image) for d in detectors], dtype=float).reshape(len(detectors))


def largest_face_box(image_bgr: np.ndarray, who: str) -> tuple[float, float, float, float]:
    """Box of the largest face the default pipeline finds; an :class:`UnscorableImageError` naming
    ``who`` otherwise."""
    from harness.faces import default_pipeline

    try:
        faces = default_pipeline().detect(image_bgr)
    except DfiError as exc:
        raise UnscorableImageError(f"{who}: {exc}") from exc
    if not faces:
        raise UnscorableImageError(f"{who}: no face found in the image")
    return max(faces, key=lambda f: f.width * f.height).box

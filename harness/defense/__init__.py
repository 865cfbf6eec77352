"""The deepfake-detector defense (DD1/DD2/DD3) in front of any vendor, measured rather than assumed.

Detectors themselves (the one :class:`~harness.detectors.Detector` protocol, the resolver, the
simulated ones) live in :mod:`harness.detectors`; the rule applied to each image, on the client and
the server side alike, in :mod:`harness.defense.rule`.
"""

from harness.defense import trained_detector as _trained_detector  # noqa: F401 - registers spectrum_lr
from harness.defense.policy import DD1, DD2, DD3, Policy, PolicyError, StackingCombiner, train_dd3
from harness.defense.rule import Decision, DefenseError, Screen, decide
from harness.defense.wrapper import DefendedVendor
from harness.detectors import (
    Detector,
    DetectorError,
    ImageTruth,
    SimulatedDetector,
    UnscorableImageError,
    image_key,
)

__all__ = [
    "DD1", "DD2", "DD3", "Decision", "DefendedVendor", "DefenseError", "Detector", "DetectorError",
    "ImageTruth", "Policy", "PolicyError", "Screen", "SimulatedDetector", "StackingCombiner", "UnscorableImageError",
    "decide", "image_key", "train_dd3",
]

"""The deepfake-detector defense (DD1/DD2/DD3) in front of any vendor, measured rather than assumed."""

from harness.defense.detectors import Detector, DetectorError, ImageTruth, SimulatedDetector, image_key
from harness.defense.policy import DD1, DD2, DD3, Policy, PolicyError, StackingCombiner, train_dd3
from harness.defense.wrapper import Decision, DefendedVendor, DefenseError

__all__ = [
    "DD1", "DD2", "DD3", "Decision", "DefendedVendor", "DefenseError", "Detector", "DetectorError",
    "ImageTruth", "Policy", "PolicyError", "SimulatedDetector", "StackingCombiner", "image_key", "train_dd3",
]

"""Response shaping for Amazon Rekognition (service model rekognition 2016-06-27).

Field names and nesting follow ``service-2.json``: ``ComparedFace`` = BoundingBox (ratios of the
image size), Confidence (detector, 0-100), Landmarks (the five basic types, ratios), Pose (degrees),
Quality (Brightness, Sharpness 0-100). ``Emotions`` and ``Smile`` are defined by the model but
left out: no model here estimates them, and inventing values would be a fake answer.
"""

from __future__ import annotations

from typing import Any

from mockvendors.analysis import FaceAnalysis, ImageAnalysis
from mockvendors.behaviour import FaceMatch
from mockvendors.gallery import Identity

LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


def _clip(v: float, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, v)))


def bounding_box(face: FaceAnalysis, image: ImageAnalysis) -> dict[str, float]:
    x1, y1, x2, y2 = face.box
    w, h = float(image.width), float(image.height)
    return {"Width": (x2 - x1) / w, "Height": (y2 - y1) / h, "Left": x1 / w, "Top": y1 / h}


def compared_face(face: FaceAnalysis, image: ImageAnalysis) -> dict[str, Any]:
    w, h = float(image.width), float(image.height)
    roll, yaw, pitch = face.pose
    return {
        "BoundingBox": bounding_box(face, image),
        "Confidence": _clip(face.score * 100.0, 0.0, 100.0),
        "Landmarks": [{"Type": t, "X": x / w, "Y": y / h} for t, (x, y) in zip(LANDMARK_TYPES, face.landmarks5)],
        "Pose": {"Roll": _clip(roll, -180, 180), "Yaw": _clip(yaw, -180, 180), "Pitch": _clip(pitch, -180, 180)},
        "Quality": {"Brightness": _clip(face.brightness, 0, 100), "Sharpness": _clip(face.sharpness, 0, 100)},
    }


def known_gender(identity: Identity) -> dict[str, str]:
    return {"Type": identity.gender or "Unlisted"}


def celebrity(match: FaceMatch, image: ImageAnalysis) -> dict[str, Any]:
    ident = match.identity
    assert ident is not None
    return {
        "Urls": list(ident.urls),
        "Name": ident.name,
        "Id": ident.id,
        "Face": compared_face(match.face, image),
        "MatchConfidence": _clip(match.confidence, 0.0, 100.0),
        "KnownGender": known_gender(ident),
    }

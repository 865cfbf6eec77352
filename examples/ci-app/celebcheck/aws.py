"""AWS Rekognition through boto3.

Configuration is boto3's own: credentials from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
(or any other boto3 source), the region from ``AWS_DEFAULT_REGION`` (us-east-1 when unset), and
the endpoint from ``AWS_ENDPOINT_URL_REKOGNITION`` when set (boto3 reads it itself; unset means
the real service).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from celebcheck import Match


def client() -> Any:
    """A Rekognition client configured from the environment."""
    return boto3.client("rekognition", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


@dataclass(frozen=True)
class Recognition:
    celebrities: list[Match]
    unrecognized: int  # faces Rekognition found but did not name


def recognize(photo: bytes) -> Recognition:
    """Who Rekognition names in ``photo`` (RecognizeCelebrities), confidence 0-1."""
    r = client().recognize_celebrities(Image={"Bytes": photo})
    named = [Match("aws", c["Name"], c["MatchConfidence"] / 100) for c in r["CelebrityFaces"]]
    return Recognition(named, len(r["UnrecognizedFaces"]))


def compare(source: bytes, target: bytes, threshold: float = 80.0) -> list[float]:
    """Similarity (0-1) of each face in ``target`` that matches the largest face in ``source`` at
    ``threshold`` (percent, as CompareFaces takes it), best first."""
    r = client().compare_faces(SourceImage={"Bytes": source}, TargetImage={"Bytes": target},
                               SimilarityThreshold=threshold)
    return sorted((m["Similarity"] / 100 for m in r["FaceMatches"]), reverse=True)

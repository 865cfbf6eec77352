"""celebcheck: a tiny application that asks celebrity-recognition services who is in a photo.

One module per vendor, each calling the vendor's own SDK (or plain ``requests`` for Naver) with the
endpoint and credentials the environment gives, as a deployed application would:

- :mod:`celebcheck.aws` - boto3 Rekognition ``recognize_celebrities`` and ``compare_faces``;
- :mod:`celebcheck.azure_vision` - the Computer Vision SDK, celebrities domain model in stream;
- :mod:`celebcheck.azure_face` - the Face SDK: detect, verify, find-similar;
- :mod:`celebcheck.naver` - Naver Clova Face Recognition (CFR) celebrity, multipart upload.

Every answer is a list of :class:`Match` on one scale (confidence 0-1), so callers compare vendors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    """One named face: who the vendor says it is and how sure it is (0-1)."""

    vendor: str
    name: str
    confidence: float


class ConfigError(RuntimeError):
    """A required environment variable is not set."""


def env(name: str, default: str | None = None) -> str:
    """The environment variable ``name`` (or ``default``); a ConfigError naming it when neither is set."""
    value = os.environ.get(name, default)
    if not value:
        raise ConfigError(f"celebcheck needs the environment variable {name}")
    return value

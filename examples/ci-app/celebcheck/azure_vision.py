"""Azure Computer Vision's celebrities domain model, through Microsoft's SDK
(``azure-cognitiveservices-vision-computervision``), as the study called it.

Configuration: ``AZURE_VISION_ENDPOINT`` (``https://<resource>.cognitiveservices.azure.com/``)
and ``AZURE_VISION_KEY``.
"""

from __future__ import annotations

import io

from azure.cognitiveservices.vision.computervision import ComputerVisionClient
from msrest.authentication import CognitiveServicesCredentials

from celebcheck import Match, env


def client() -> ComputerVisionClient:
    return ComputerVisionClient(env("AZURE_VISION_ENDPOINT"), CognitiveServicesCredentials(env("AZURE_VISION_KEY")))


def celebrities(photo: bytes) -> list[Match]:
    """The celebrities the model names in ``photo``, confidence 0-1."""
    r = client().analyze_image_by_domain_in_stream("celebrities", io.BytesIO(photo))
    return [Match("azure", c["name"], c["confidence"]) for c in r.result["celebrities"]]

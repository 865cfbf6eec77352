"""Azure AI Face through Microsoft's SDK (``azure-ai-vision-face``): detect, verify, find-similar.

Configuration: ``AZURE_FACE_ENDPOINT`` and ``AZURE_FACE_KEY``; ``AZURE_FACE_API_VERSION`` pins the
API version (unset: the SDK's default, v1.2-preview.1 in 1.0.0b2; ``v1.0`` is the GA version).
"""

from __future__ import annotations

import os

from azure.ai.vision.face import FaceClient
from azure.ai.vision.face.models import FaceDetectionModel, FaceRecognitionModel, FindSimilarMatchMode
from azure.core.credentials import AzureKeyCredential

from celebcheck import env


def client(api_version: str | None = None) -> FaceClient:
    """A Face client; ``api_version`` (or ``AZURE_FACE_API_VERSION``) overrides the SDK's default."""
    version = api_version or os.environ.get("AZURE_FACE_API_VERSION")
    kwargs = {"api_version": version} if version else {}
    return FaceClient(endpoint=env("AZURE_FACE_ENDPOINT"), credential=AzureKeyCredential(env("AZURE_FACE_KEY")),
                      **kwargs)


def detect(face: FaceClient, photo: bytes) -> list[str]:
    """The face ids of the faces in ``photo`` (the service keeps them 24 hours)."""
    found = face.detect(photo, detection_model=FaceDetectionModel.DETECTION03,
                        recognition_model=FaceRecognitionModel.RECOGNITION04, return_face_id=True)
    return [f.face_id for f in found if f.face_id]


def same_person(photo_a: bytes, photo_b: bytes, api_version: str | None = None) -> tuple[bool, float]:
    """Whether the first face of each photo is the same person (Face verify), and the confidence."""
    face = client(api_version)
    a, b = detect(face, photo_a), detect(face, photo_b)
    if not a or not b:
        return False, 0.0
    r = face.verify_face_to_face(face_id1=a[0], face_id2=b[0])
    return bool(r.is_identical), float(r.confidence)


def find_person(probe: bytes, candidates: list[bytes], api_version: str | None = None) -> list[tuple[int, float]]:
    """Which candidate photos show the person in ``probe`` (find-similar, matchPerson mode): the
    index of each such photo in ``candidates`` and the confidence, best first."""
    face = client(api_version)
    [probe_id, *_] = detect(face, probe) or [""]
    if not probe_id:
        return []
    owner: dict[str, int] = {}
    for i, photo in enumerate(candidates):
        owner.update((face_id, i) for face_id in detect(face, photo))
    if not owner:
        return []
    similar = face.find_similar(face_id=probe_id, face_ids=list(owner), mode=FindSimilarMatchMode.MATCH_PERSON)
    return [(owner[s.face_id], float(s.confidence)) for s in similar if s.face_id in owner]

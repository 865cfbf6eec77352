"""Microsoft's own Azure SDKs, unmodified, against the Azure mock server: the Face SDK
(``azure-ai-vision-face``) at its default API version (v1.2-preview.1) and at v1.0 - detect, verify,
find-similar - and the Computer Vision SDK (``azure-cognitiveservices-vision-computervision``)
celebrities model in stream, as the study called it. Each test skips when its SDK is not installed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.models
KEY = "any-key"
# None: the SDK's default api_version (v1.2-preview.1 in azure-ai-vision-face 1.0.0b2)
FACE_API_VERSIONS = [pytest.param(None, id="default"), pytest.param("v1.0", id="v1.0")]


def _face_sdk() -> Any:
    return pytest.importorskip("azure.ai.vision.face", reason="azure-ai-vision-face is not installed "
                               "(pip install 'azure-ai-vision-face==1.0.0b2')")


def _face_client(url: str, api_version: str | None) -> Any:
    face = _face_sdk()
    from azure.core.credentials import AzureKeyCredential

    kwargs: dict[str, Any] = {"retry_total": 0}
    if api_version is not None:
        kwargs["api_version"] = api_version
    return face.FaceClient(endpoint=url, credential=AzureKeyCredential(KEY), **kwargs)


def _detect(client: Any, data: bytes, **kwargs: Any) -> list[Any]:
    from azure.ai.vision.face.models import FaceDetectionModel, FaceRecognitionModel

    return client.detect(data, detection_model=FaceDetectionModel.DETECTION03,
                         recognition_model=FaceRecognitionModel.RECOGNITION04, return_face_id=True, **kwargs)


@pytest.fixture(scope="module")
def other_person(shared_data: Path) -> bytes:
    """A face of someone who is not the known photo's identity."""
    return (shared_data / "faces/biden.jpg").read_bytes()


@pytest.mark.parametrize("api_version", FACE_API_VERSIONS)
def test_face_sdk_detect(mock_azure_url, mockvendors_known_photo, api_version):
    client = _face_client(mock_azure_url, api_version)
    sent: list[str] = []
    [face] = _detect(client, mockvendors_known_photo.data,
                     raw_request_hook=lambda pipeline_request: sent.append(pipeline_request.http_request.url))
    assert face.face_id and len(face.face_id) == 36
    r = face.face_rectangle
    assert r.width > 20 and r.height > 20 and r.left >= 0 and r.top >= 0
    [url] = sent  # the SDK's own path and query parameters, at the version asked for
    assert url.startswith(f"{mock_azure_url}/face/{api_version or 'v1.2-preview.1'}/detect?")
    assert "returnFaceId=true" in url and "detectionModel=detection_03" in url


@pytest.mark.parametrize("api_version", FACE_API_VERSIONS)
def test_face_sdk_verify_face_to_face(mock_azure_url, mockvendors_known_photo, mockvendors_unknown_photo,
                                      other_person, api_version):
    client = _face_client(mock_azure_url, api_version)
    [known] = _detect(client, mockvendors_known_photo.data)
    [same] = _detect(client, mockvendors_unknown_photo.data)  # the same person's enrolment photo
    [other] = _detect(client, other_person)
    hit = client.verify_face_to_face(face_id1=known.face_id, face_id2=same.face_id)
    miss = client.verify_face_to_face(face_id1=known.face_id, face_id2=other.face_id)
    assert hit.is_identical is True and 0.5 < hit.confidence <= 1
    assert miss.is_identical is False and 0 <= miss.confidence < hit.confidence


@pytest.mark.parametrize("api_version", FACE_API_VERSIONS)
def test_face_sdk_find_similar(mock_azure_url, mockvendors_known_photo, mockvendors_unknown_photo, other_person,
                               api_version):
    client = _face_client(mock_azure_url, api_version)
    from azure.ai.vision.face.models import FindSimilarMatchMode

    [known] = _detect(client, mockvendors_known_photo.data)
    [same] = _detect(client, mockvendors_unknown_photo.data)
    [other] = _detect(client, other_person)
    person = client.find_similar(face_id=known.face_id, face_ids=[other.face_id, same.face_id],
                                 max_num_of_candidates_returned=5, mode=FindSimilarMatchMode.MATCH_PERSON)
    assert [r.face_id for r in person] == [same.face_id] and 0.5 < person[0].confidence <= 1
    faces = client.find_similar(face_id=known.face_id, face_ids=[other.face_id, same.face_id], mode="matchFace")
    assert [r.face_id for r in faces] == [same.face_id, other.face_id]
    assert faces[0].confidence > faces[1].confidence


@pytest.mark.parametrize("api_version", FACE_API_VERSIONS)
def test_face_sdk_sees_the_mocks_errors(mock_azure_url, mockvendors_known_photo, api_version):
    _face_sdk()
    from azure.core.exceptions import ResourceNotFoundError

    client = _face_client(mock_azure_url, api_version)
    [known] = _detect(client, mockvendors_known_photo.data)
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ResourceNotFoundError) as exc:
        client.verify_face_to_face(face_id1=known.face_id, face_id2=missing)
    assert exc.value.error is not None and exc.value.error.code == "FaceNotFound"


def _cv_client(url: str) -> Any:
    cv = pytest.importorskip("azure.cognitiveservices.vision.computervision",
                             reason="azure-cognitiveservices-vision-computervision is not installed "
                                    "(pip install 'azure-cognitiveservices-vision-computervision==0.9.1')")
    from msrest.authentication import CognitiveServicesCredentials

    return cv.ComputerVisionClient(url, CognitiveServicesCredentials(KEY))


def test_computer_vision_sdk_celebrities_in_stream(mock_azure_url, mockvendors_known_photo):
    client = _cv_client(mock_azure_url)
    res = client.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(mockvendors_known_photo.data))
    [celeb] = res.result["celebrities"]
    assert celeb["name"] == mockvendors_known_photo.name and 0.7 <= celeb["confidence"] <= 1
    assert set(celeb["faceRectangle"]) == {"left", "top", "width", "height"}
    assert res.model_version == "2021-04-01" and res.request_id
    assert res.metadata.width > 0 and res.metadata.height > 0 and res.metadata.format == "Jpeg"


def test_computer_vision_sdk_names_no_one_on_the_unknown_photo(mock_azure_url, mockvendors_unknown_photo):
    client = _cv_client(mock_azure_url)
    res = client.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(mockvendors_unknown_photo.data))
    assert res.result["celebrities"] == []


def test_computer_vision_sdk_sees_the_mocks_errors(mock_azure_url):
    client = _cv_client(mock_azure_url)
    from azure.cognitiveservices.vision.computervision.models import ComputerVisionErrorResponseException

    with pytest.raises(ComputerVisionErrorResponseException) as exc:
        client.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(b"not an image at all"))
    assert exc.value.response.status_code == 400
    assert exc.value.error.error.innererror.code == "InvalidImageFormat"


def test_the_documented_sdk_lines_run_as_printed(mock_azure_url, mockvendors_known_photo, other_person):
    """docs/mock-vendors.md's Azure SDK block, line for line (its free names given here)."""
    _face_sdk()
    pytest.importorskip("azure.cognitiveservices.vision.computervision", reason="the Computer Vision SDK is "
                        "not installed (pip install 'azure-cognitiveservices-vision-computervision==0.9.1')")
    photo = mockvendors_known_photo.data
    other_id = _detect(_face_client(mock_azure_url, None), other_person)[0].face_id
    # --- docs/mock-vendors.md, as printed
    from azure.ai.vision.face import FaceClient                      # azure-ai-vision-face 1.0.0b2
    from azure.core.credentials import AzureKeyCredential
    face = FaceClient(endpoint=mock_azure_url, credential=AzureKeyCredential("any"))   # or api_version="v1.0"
    [f] = face.detect(photo, detection_model="detection_03", recognition_model="recognition_04", return_face_id=True)
    face.verify_face_to_face(face_id1=f.face_id, face_id2=other_id)  # .is_identical, .confidence
    face.find_similar(face_id=f.face_id, face_ids=[other_id])        # [.face_id, .confidence]

    from azure.cognitiveservices.vision.computervision import ComputerVisionClient   # 0.9.1, as the study
    from msrest.authentication import CognitiveServicesCredentials
    cv = ComputerVisionClient(mock_azure_url, CognitiveServicesCredentials("any"))
    cv.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(photo)).result["celebrities"]
    # --- end of the block; what it gave
    assert face.verify_face_to_face(face_id1=f.face_id, face_id2=other_id).is_identical is False
    celebrities = cv.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(photo)).result["celebrities"]
    assert celebrities[0]["name"] == "Tom Hanks"

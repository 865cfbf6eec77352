"""The vendors' SDKs, unmodified, through cassettes: each call recorded against the mock servers
with plain vcrpy and dfi's recording config, then replayed with the servers stopped and other
(fake) credentials - boto3 RecognizeCelebrities and CompareFaces, the Computer Vision SDK's
streamed celebrities call, the Face SDK's detect / verify / find-similar at its default API version
and at v1.0, Naver CFR through requests (a fresh multipart boundary on every call). Each replay
gives the recorded answers; a call the cassette lacks raises; nothing in a cassette scans as a
credential. (examples/ci-app does the same through pytest-recording, tests/examples runs it.)"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr

from harness.cassettes.scan import scan_file
from harness.cassettes.vcr_config import recording_config, register

pytestmark = pytest.mark.models
RECORD_KEY, REPLAY_KEY = "a" * 32, "replay-key"  # the recording's key is credential-shaped: scan would see it


@pytest.fixture
def servers(mockvendors_gallery, mockvendors_analyzer) -> Iterator[Any]:
    """All three mock vendors on free ports, for one test (which stops them before replaying)."""
    from mockvendors.gallery import resolve_gallery
    from mockvendors.server import MockServers, build_protocols

    gallery = resolve_gallery(mockvendors_gallery, mockvendors_analyzer)
    s = MockServers(build_protocols(["aws", "ms", "nav"], gallery, mockvendors_analyzer, None),
                    ports={"aws": 0, "ms": 0, "nav": 0}).start()
    yield s
    s.stop()


def record_then_replay(tmp_path: Path, servers: Any, app: Callable[[str], Any]) -> tuple[Any, Any, Path]:
    """``app(key)`` recorded against the servers, then replayed with them stopped."""
    path = tmp_path / "cassette.yaml"
    v = register(vcr.VCR())
    with v.use_cassette(str(path), record_mode="once", **recording_config()):
        live = app(RECORD_KEY)
    servers.stop()
    with v.use_cassette(str(path), record_mode="none", **recording_config()):
        replayed = app(REPLAY_KEY)
    assert path.is_file() and scan_file(path) == []
    assert RECORD_KEY not in path.read_text()
    return live, replayed, path


def unrecorded(path: Path, call: Callable[[], Any]) -> str:
    """What a call missing from the cassette raises, as text (SDKs wrap vcrpy's error)."""
    v = register(vcr.VCR())
    with v.use_cassette(str(path), record_mode="none", **recording_config()), pytest.raises(Exception) as err:
        call()
    text = repr(err.value) + str(err.value) + repr(err.value.__cause__ or err.value.__context__)
    assert "CannotOverwriteExistingCassetteException" in text or "Can't overwrite existing cassette" in text, text
    return text


def test_boto3_recognize_and_compare(tmp_path, servers, mockvendors_known_photo, mockvendors_unknown_photo):
    import boto3
    from botocore.config import Config

    url = servers.endpoints["aws"].url

    def rek(key: str) -> Any:
        return boto3.client("rekognition", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDFAKE",
                            aws_secret_access_key=key, config=Config(retries={"total_max_attempts": 1}))

    def app(key: str) -> Any:
        r = rek(key).recognize_celebrities(Image={"Bytes": mockvendors_known_photo.data})
        c = rek(key).compare_faces(SourceImage={"Bytes": mockvendors_known_photo.data},
                                   TargetImage={"Bytes": mockvendors_unknown_photo.data}, SimilarityThreshold=0)
        return ([(f["Name"], f["MatchConfidence"]) for f in r["CelebrityFaces"]],
                [m["Similarity"] for m in c["FaceMatches"]])

    live, replayed, path = record_then_replay(tmp_path, servers, app)
    assert live == replayed and live[0][0][0] == mockvendors_known_photo.name and live[1][0] > 90
    text = unrecorded(path, lambda: rek("x").compare_faces(
        SourceImage={"Bytes": mockvendors_known_photo.data}, TargetImage={"Bytes": mockvendors_unknown_photo.data},
        SimilarityThreshold=80))
    assert "param SimilarityThreshold: 80 != 0" in text


def test_computer_vision_sdk_streamed_celebrities(tmp_path, servers, mockvendors_known_photo,
                                                  mockvendors_unknown_photo):
    from azure.cognitiveservices.vision.computervision import ComputerVisionClient
    from msrest.authentication import CognitiveServicesCredentials

    url = servers.endpoints["ms"].url

    def call(key: str, photo: bytes) -> Any:
        cv = ComputerVisionClient(url, CognitiveServicesCredentials(key))
        return cv.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(photo)).result["celebrities"]

    live, replayed, path = record_then_replay(tmp_path, servers, lambda key: call(key, mockvendors_known_photo.data))
    assert live == replayed and [c["name"] for c in live] == [mockvendors_known_photo.name]
    unrecorded(path, lambda: call("x", mockvendors_unknown_photo.data))


@pytest.mark.parametrize("api_version", [pytest.param(None, id="default"), pytest.param("v1.0", id="v1.0")])
def test_face_sdk_detect_verify_find_similar(tmp_path, servers, mockvendors_known_photo, mockvendors_unknown_photo,
                                             api_version):
    from azure.ai.vision.face import FaceClient
    from azure.ai.vision.face.models import FaceDetectionModel, FaceRecognitionModel
    from azure.core.credentials import AzureKeyCredential

    url = servers.endpoints["ms"].url

    def client(key: str) -> Any:
        kwargs: dict[str, Any] = {"retry_total": 0}
        if api_version:
            kwargs["api_version"] = api_version
        return FaceClient(endpoint=url, credential=AzureKeyCredential(key), **kwargs)

    def detect(face: Any, photo: bytes) -> str:
        [f] = face.detect(photo, detection_model=FaceDetectionModel.DETECTION03,
                          recognition_model=FaceRecognitionModel.RECOGNITION04, return_face_id=True)
        return str(f.face_id)

    def app(key: str) -> Any:
        face = client(key)
        a, b = detect(face, mockvendors_known_photo.data), detect(face, mockvendors_unknown_photo.data)
        v = face.verify_face_to_face(face_id1=a, face_id2=b)
        similar = face.find_similar(face_id=a, face_ids=[b])
        return a, b, v.is_identical, v.confidence, [(s.face_id, s.confidence) for s in similar]

    live, replayed, path = record_then_replay(tmp_path, servers, app)
    assert live == replayed  # the replayed detect gives the recorded face ids, which verify and find-similar use
    a, b, identical, _, similar = live
    assert identical is True and [s[0] for s in similar] == [b] and a != b
    paths = [line for line in path.read_text().splitlines() if "uri:" in line]
    assert paths and all(f"/face/{api_version or 'v1.2-preview.1'}/" in p for p in paths)
    unrecorded(path, lambda: client("x").verify_face_to_face(face_id1=b, face_id2=a))  # other order: other call


def test_naver_through_requests(tmp_path, servers, mockvendors_known_photo, mockvendors_unknown_photo):
    import requests

    url = servers.endpoints["nav"].url + "/v1/vision/celebrity"

    def call(key: str, photo: bytes) -> Any:
        r = requests.post(url, files={"image": ("p.jpg", photo)}, timeout=10,
                          headers={"X-Naver-Client-Id": "client-id", "X-Naver-Client-Secret": key})
        r.raise_for_status()
        return r.json()["faces"]

    live, replayed, path = record_then_replay(tmp_path, servers, lambda key: call(key, mockvendors_known_photo.data))
    assert live == replayed and live[0]["celebrity"]["value"] == mockvendors_known_photo.name
    unrecorded(path, lambda: call("x", mockvendors_unknown_photo.data))

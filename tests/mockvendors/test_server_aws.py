"""The AWS Rekognition mock over HTTP with unmodified boto3, and in-process via mock_rekognition."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from PIL import Image

from harness.backends.inprocess import MockVendor
from mockvendors.analysis import CachingAnalyzer
from mockvendors.aws import mock_rekognition
from mockvendors.aws.protocol import AwsProtocol
from mockvendors.behaviour import MockVendorBehaviour, behaviour_for
from mockvendors.profile import Faults
from mockvendors.server import MockServers

from support.mock_data import build_gallery

pytestmark = [pytest.mark.models, pytest.mark.shared]


@pytest.fixture(scope="module")
def aws_behaviour(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> MockVendorBehaviour:
    return behaviour_for("aws", build_gallery(shared_data, mockvendors_analyzer), mockvendors_analyzer)


@pytest.fixture(scope="module")
def servers(aws_behaviour: MockVendorBehaviour) -> Iterator[tuple[str, str]]:
    protocols = {"aws": AwsProtocol(aws_behaviour)}
    with MockServers(protocols, ports={"aws": 0}) as plain, \
            MockServers({"aws": AwsProtocol(aws_behaviour)}, ports={"aws": 0},
                        faults={"aws": Faults(tps=2)}) as throttled:
        yield plain.endpoints["aws"].url, throttled.endpoints["aws"].url


def client(url: str, **config: Any) -> Any:  # a boto3 Rekognition client
    return boto3.client("rekognition", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="anything", config=Config(retries={"total_max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def rek(servers: tuple[str, str]) -> Any:
    return client(servers[0], parameter_validation=True)


@pytest.fixture(scope="module")
def img(shared_data: Path) -> dict[str, bytes]:
    f = shared_data / "faces"
    return {n: (f / f"{n}.jpg").read_bytes() for n in ("obama", "obama2", "obama3", "biden")} | {
        "blend": (shared_data / "paper-samples/CelebBlend/FaceApp_1586501360499.jpg").read_bytes()}


def test_recognize_celebrities_names_obama(rek, img):
    r = rek.recognize_celebrities(Image={"Bytes": img["obama3"]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    [c] = r["CelebrityFaces"]
    assert c["Name"] == "Barack Obama" and 90 <= c["MatchConfidence"] <= 100
    assert c["Id"].isalnum() and c["Urls"] == ["www.wikidata.org/wiki/Q76"] and c["KnownGender"] == {"Type": "Male"}
    face = c["Face"]
    assert set(face) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
    bb = face["BoundingBox"]
    assert all(0 <= bb[k] <= 1 for k in ("Width", "Height", "Left", "Top"))
    assert [lm["Type"] for lm in face["Landmarks"]] == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    assert all(-180 <= face["Pose"][k] <= 180 for k in ("Roll", "Yaw", "Pitch"))
    assert 0 <= face["Quality"]["Brightness"] <= 100 and 0 <= face["Quality"]["Sharpness"] <= 100
    assert r["UnrecognizedFaces"] == []
    info = rek.get_celebrity_info(Id=c["Id"])
    assert info["Name"] == "Barack Obama" and info["KnownGender"] == {"Type": "Male"}


def test_unknown_face_goes_to_unrecognized_faces(rek, img):
    r = rek.recognize_celebrities(Image={"Bytes": img["biden"]})
    assert r["CelebrityFaces"] == [] and len(r["UnrecognizedFaces"]) == 1
    assert r["UnrecognizedFaces"][0]["Confidence"] > 90


def test_compare_faces_threshold_and_matches(rek, img):
    r = rek.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["obama3"]})
    assert r["SourceImageFace"]["Confidence"] > 90 and set(r["SourceImageFace"]) == {"BoundingBox", "Confidence"}
    [m] = r["FaceMatches"]
    assert 80 <= m["Similarity"] <= 100 and r["UnmatchedFaces"] == []
    r = rek.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["biden"]})
    assert r["FaceMatches"] == [] and len(r["UnmatchedFaces"]) == 1  # below the default 80
    r = rek.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["biden"]},
                          SimilarityThreshold=0)
    assert len(r["FaceMatches"]) == 1 and r["FaceMatches"][0]["Similarity"] < 80


def test_errors_have_aws_codes(rek, img):
    def code(**kw: Any) -> str:
        with pytest.raises(ClientError) as e:
            rek.recognize_celebrities(**kw)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return e.value.response["Error"]["Code"]

    assert code(Image={"S3Object": {"Bucket": "my-bucket", "Name": "a.jpg"}}) == "InvalidS3ObjectException"
    gif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(gif, "GIF")
    assert code(Image={"Bytes": gif.getvalue()}) == "InvalidImageFormatException"
    assert code(Image={"Bytes": b"\xff\xd8\xff" + b"\0" * 100}) == "InvalidImageFormatException"  # truncated JPEG
    assert code(Image={"Bytes": b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)}) == "ImageTooLargeException"
    with pytest.raises(ClientError) as e:
        blank = io.BytesIO()
        Image.new("RGB", (120, 120), "white").save(blank, "PNG")
        rek.compare_faces(SourceImage={"Bytes": blank.getvalue()}, TargetImage={"Bytes": img["obama"]})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        rek.get_celebrity_info(Id="Unknown1")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ParamValidationError):  # botocore's own validation still runs client-side
        rek.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["obama"]},
                          SimilarityThreshold="high")


def test_missing_or_malformed_authorization_is_access_denied(servers, img):
    url = servers[0]
    body = json.dumps({"Image": {"Bytes": base64.b64encode(img["obama3"]).decode()}})
    headers = {"X-Amz-Target": "RekognitionService.RecognizeCelebrities", "Content-Type": "application/x-amz-json-1.1"}
    for auth in (None, "Bearer abc", "AWS4-HMAC-SHA256 Credential=x"):
        h = dict(headers, **({"Authorization": auth} if auth else {}))
        r = requests.post(url, data=body, headers=h, timeout=10)
        assert r.status_code == 400 and r.json()["__type"] == "AccessDeniedException"
    unsigned = client(url, signature_version=__import__("botocore").UNSIGNED)
    with pytest.raises(ClientError) as e:
        unsigned.recognize_celebrities(Image={"Bytes": img["obama3"]})
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_throttling_over_the_tps_limit(servers, img):
    rek = client(servers[1])
    codes = []
    for _ in range(6):
        try:
            rek.recognize_celebrities(Image={"Bytes": img["obama3"]})
            codes.append("ok")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert codes[0] == "ok" and "ProvisionedThroughputExceededException" in codes


def test_server_and_in_process_answers_are_identical(rek, aws_behaviour, img):
    vendor = MockVendor(aws_behaviour)
    for name in ("obama3", "biden", "blend", "obama"):
        wire = rek.recognize_celebrities(Image={"Bytes": img[name]})
        local = vendor.recognize(img[name])
        assert [c["Name"] for c in wire["CelebrityFaces"]] == [f.name for f in local.faces if f.name]
        named = [f.raw_confidence for f in local.faces if f.name]
        assert [c["MatchConfidence"] for c in wire["CelebrityFaces"]] == named
        assert len(wire["UnrecognizedFaces"]) == sum(1 for f in local.faces if not f.name)
    wire = rek.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["blend"]},
                             SimilarityThreshold=0)
    assert max(m["Similarity"] for m in wire["FaceMatches"]) == vendor.similarity(img["obama"], img["blend"])


def test_mock_rekognition_without_a_server(aws_behaviour, rek, img):
    with mock_rekognition(behaviour=aws_behaviour):
        local = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        r = local.recognize_celebrities(Image={"Bytes": img["obama3"]})
        assert r["CelebrityFaces"][0]["Name"] == "Barack Obama"
        assert r["CelebrityFaces"][0]["MatchConfidence"] == rek.recognize_celebrities(
            Image={"Bytes": img["obama3"]})["CelebrityFaces"][0]["MatchConfidence"]
        with pytest.raises(ClientError) as e:
            local.recognize_celebrities(Image={"S3Object": {"Bucket": "b-1", "Name": "x"}})
        assert e.value.response["Error"]["Code"] == "InvalidS3ObjectException"

    @mock_rekognition(behaviour=aws_behaviour)
    def decorated() -> float:
        c = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        return c.compare_faces(SourceImage={"Bytes": img["obama"]}, TargetImage={"Bytes": img["obama3"]})[
            "FaceMatches"][0]["Similarity"]

    assert decorated() >= 80


def test_pytest_plugin_fixtures_are_registered(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("mockvendors")

"""Cassettes in an application's tests: parameters keyed by value (0 == 0.0 == "0.0"), streamed
bodies keyed and recorded, a mismatch that names what differs, and boto3 CompareFaces recorded
against the mock server and replayed with the server stopped (plain vcrpy and pytest-recording)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
import vcr
from botocore.config import Config
from botocore.exceptions import HTTPClientError
from hypothesis import given
from hypothesis import strategies as st
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request

from harness.cassettes.filters import redact_request
from harness.cassettes.keys import (
    CallKey,
    body_bytes,
    call_key,
    canonical_param,
    canonical_stored_param,
    vendor_image_matcher,
)
from harness.cassettes.vcr_config import recording_config, register
from harness.paths import CACHE_ENV, cache_dir

MODEL_CACHE = cache_dir()  # before pytester points HOME elsewhere

AWS_URI = "https://rekognition.us-east-1.amazonaws.com/"
IMAGE = b"\xff\xd8\xff\xe0 not really a jpeg"


def aws_request(payload: dict, operation: str = "CompareFaces") -> Request:
    return Request("POST", AWS_URI, json.dumps(payload).encode(),
                   {"X-Amz-Target": f"RekognitionService.{operation}", "Content-Type": "application/x-amz-json-1.1"})


def compare_payload(threshold: object) -> dict:
    import base64

    b64 = base64.b64encode(IMAGE).decode()
    return {"SourceImage": {"Bytes": b64}, "TargetImage": {"Bytes": b64}, "SimilarityThreshold": threshold}


def stored(request: Request) -> Request:
    """The request as it lies in a cassette: redacted to its key, written as YAML text, read back."""
    redacted = redact_request(request)
    return Request._from_dict(json.loads(json.dumps(redacted._to_dict(), default=lambda b: b.decode())))


# -- parameters are keyed by value ------------------------------------------------------------

@pytest.mark.parametrize("recorded, sent", [(0.0, 0), ("0.0", 0), (0, "0"), (80.5, "80.50"), (True, "true"),
                                            (["ALL"], ("ALL",))])
def test_a_parameter_matches_whatever_its_spelling(recorded, sent):
    vendor_image_matcher(stored(aws_request(compare_payload(recorded))), aws_request(compare_payload(sent)))
    assert call_key(aws_request(compare_payload(recorded))) == call_key(aws_request(compare_payload(sent)))


numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@given(numbers)
def test_a_number_as_int_float_or_text_is_one_key(x):
    forms = [x, float(x), repr(float(x)), json.dumps(x)]
    if float(x).is_integer():
        forms += [int(x), str(int(x))]
    keys = {canonical_param(f) for f in forms}
    assert len(keys) == 1
    # what a cassette stores reads back as the same key (idempotent through as_json/from_json)
    assert {canonical_stored_param(k) for k in keys} == keys
    assert {canonical_stored_param(json.dumps(f)) for f in forms} == keys


json_values = st.recursive(st.none() | st.booleans() | numbers | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=8)


@given(st.dictionaries(st.sampled_from(["SimilarityThreshold", "QualityFilter", "Attributes", "X"]), json_values))
def test_a_key_survives_the_trip_through_a_cassette(params):
    key = call_key(aws_request({"Image": {"Bytes": "AAAA"}, **params}, "DetectFaces"))
    assert CallKey.from_json(json.loads(json.dumps(key.as_json()))) == key


def test_different_values_are_still_different_keys():
    assert call_key(aws_request(compare_payload(0))) != call_key(aws_request(compare_payload(80)))
    assert canonical_param("DEFAULT") != canonical_param("NONE")


# -- streamed bodies --------------------------------------------------------------------------

AZURE_URI = "https://westus.api.cognitive.microsoft.com/vision/v3.2/models/celebrities/analyze"
AZURE_HEADERS = {"Content-Type": "application/octet-stream", "Ocp-Apim-Subscription-Key": "k" * 32}


def chunks():
    yield IMAGE[:5]
    yield IMAGE[5:]


@pytest.mark.parametrize("make_body", [lambda: IMAGE, chunks, lambda: iter([IMAGE[:3], IMAGE[3:]]),
                                       lambda: io.BytesIO(IMAGE), lambda: [IMAGE[:7], IMAGE[7:]]],
                         ids=["bytes", "generator", "iterator", "file", "list"])
def test_a_streamed_upload_is_keyed_on_its_bytes(make_body):
    assert body_bytes(make_body()) == IMAGE
    live = Request("POST", AZURE_URI, make_body(), dict(AZURE_HEADERS))  # vcrpy keeps a stream as a stream
    key = call_key(live)
    assert key == CallKey("ms", "CelebritiesAnalyze", (call_key(Request("POST", AZURE_URI, IMAGE, AZURE_HEADERS)
                                                                ).digests[0],))
    on_disk = stored(Request("POST", AZURE_URI, make_body(), dict(AZURE_HEADERS)))
    assert call_key(on_disk) == key and isinstance(on_disk.body, bytes)
    vendor_image_matcher(on_disk, Request("POST", AZURE_URI, make_body(), dict(AZURE_HEADERS)))


def test_a_file_body_is_rewound_after_keying():
    f = io.BytesIO(b"xx" + IMAGE)
    f.read(2)
    assert body_bytes(f) == IMAGE and f.read() == IMAGE


# -- a mismatch names what differs ------------------------------------------------------------

def test_a_mismatch_names_the_differing_parameter():
    with pytest.raises(AssertionError) as err:
        vendor_image_matcher(stored(aws_request(compare_payload(80))), aws_request(compare_payload(0)))
    assert "param SimilarityThreshold: 80 != 0" in str(err.value)


def test_a_mismatch_names_the_differing_image_and_operation():
    other = aws_request({"Image": {"Bytes": "AAAA"}}, "RecognizeCelebrities")
    with pytest.raises(AssertionError) as err:
        vendor_image_matcher(aws_request({"Image": {"Bytes": "AAAB"}}, "RecognizeCelebrities"), other)
    assert "image 0 sha256" in str(err.value) and "operation" not in str(err.value)
    with pytest.raises(AssertionError) as err:
        vendor_image_matcher(aws_request({"Image": {"Bytes": "AAAA"}}, "DetectFaces"), other)
    assert "operation: 'DetectFaces' != 'RecognizeCelebrities'" in str(err.value)


# -- record once against the mock, replay with the server stopped ------------------------------

def app_compare(endpoint: str, threshold: float, source: bytes, target: bytes, **creds: str) -> dict:
    """The application's code: plain boto3."""
    rek = boto3.client("rekognition", endpoint_url=endpoint, region_name="us-east-1",
                       config=Config(retries={"total_max_attempts": 1}, connect_timeout=2), **creds)
    r = rek.compare_faces(SourceImage={"Bytes": source}, TargetImage={"Bytes": target},
                          SimilarityThreshold=threshold)
    return {"matches": [round(m["Similarity"], 4) for m in r["FaceMatches"]], "unmatched": len(r["UnmatchedFaces"])}


@pytest.fixture
def own_aws_server(mockvendors_gallery, mockvendors_analyzer):
    from mockvendors.gallery import resolve_gallery
    from mockvendors.server import MockServers, build_protocols

    gallery = resolve_gallery(mockvendors_gallery, mockvendors_analyzer)
    servers = MockServers(build_protocols(["aws"], gallery, mockvendors_analyzer, None), ports={"aws": 0}).start()
    yield servers
    servers.stop()


@pytest.mark.models
def test_compare_faces_recorded_at_0_0_replays_at_0_with_the_server_stopped(
        tmp_path, own_aws_server, mockvendors_known_photo, mockvendors_unknown_photo, monkeypatch):
    source, target = mockvendors_known_photo.data, mockvendors_unknown_photo.data  # two photos of Tom Hanks
    url = own_aws_server.endpoints["aws"].url
    path = tmp_path / "compare.yaml"
    recorder = register(vcr.VCR())
    with recorder.use_cassette(str(path), record_mode="once", **recording_config()):
        live = app_compare(url, 0.0, source, target, aws_access_key_id="AKIDRECORDING", aws_secret_access_key="s")
    assert live["matches"] and live["matches"][0] > 80
    text = path.read_text()
    assert "AKIDRECORDING" not in text and "Authorization" not in text and "Bytes" not in text

    own_aws_server.stop()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    with recorder.use_cassette(str(path), record_mode="none", **recording_config()):
        # the app sends 0 where the recording sent 0.0; fake credentials, nothing listening
        assert app_compare(url, 0, source, target, aws_access_key_id="x", aws_secret_access_key="x") == live
        assert app_compare(url, 0, source, target, aws_access_key_id="x", aws_secret_access_key="x") == live
        with pytest.raises(HTTPClientError) as err:  # botocore wraps vcrpy's error
            app_compare(url, 80, source, target, aws_access_key_id="x", aws_secret_access_key="x")
    assert isinstance(err.value.kwargs["error"], CannotOverwriteExistingCassetteException)
    assert "param SimilarityThreshold: 80 != 0" in str(err.value)


pytest_plugins = ["pytester"]

APP_TEST = '''
import os

import boto3
import pytest


@pytest.fixture(scope="module")
def vcr_config(dfi_vcr_config):
    return dfi_vcr_config


@pytest.mark.vcr
def test_compare(mockvendors_known_photo):
    rek = boto3.client("rekognition", endpoint_url=os.environ["APP_AWS_URL"], region_name="us-east-1")
    r = rek.compare_faces(SourceImage={"Bytes": mockvendors_known_photo.data},
                          TargetImage={"Bytes": mockvendors_known_photo.data},
                          SimilarityThreshold=float(os.environ["APP_THRESHOLD"]) if "." in os.environ["APP_THRESHOLD"]
                          else int(os.environ["APP_THRESHOLD"]))
    assert r["FaceMatches"][0]["Similarity"] > 99
'''


@pytest.mark.models
def test_an_apps_pytest_recording_cassette_records_once_and_replays_without_credentials(
        pytester, own_aws_server, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(MODEL_CACHE))  # pytester's child has a fresh HOME
    pytester.makepyfile(test_app=APP_TEST)
    monkeypatch.setenv("APP_AWS_URL", own_aws_server.endpoints["aws"].url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRECORDING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("APP_THRESHOLD", "0.0")
    pytester.runpytest_subprocess("--record-mode", "once", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_app" / "test_compare.yaml"
    assert cassette.is_file() and "AKIDRECORDING" not in cassette.read_text()

    own_aws_server.stop()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ci")  # CI holds no credentials (boto3 wants some value to sign)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ci")
    monkeypatch.setenv("APP_THRESHOLD", "0")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    monkeypatch.setenv("APP_THRESHOLD", "90")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*param SimilarityThreshold: 90 != 0*"])


@pytest.mark.models
def test_the_azure_computer_vision_sdks_streamed_upload_records_and_replays(tmp_path, mock_azure_url,
                                                                            mockvendors_known_photo):
    """The SDK (azure-cognitiveservices-vision-computervision, in the test extra) streams its upload."""
    cv = pytest.importorskip("azure.cognitiveservices.vision.computervision")
    from msrest.authentication import CognitiveServicesCredentials

    path, v = str(tmp_path / "cv.yaml"), register(vcr.VCR())
    names = []
    for mode, key in (("once", "k" * 32), ("none", "other")):
        client = cv.ComputerVisionClient(mock_azure_url, CognitiveServicesCredentials(key))
        with v.use_cassette(path, record_mode=mode, **recording_config()):
            r = client.analyze_image_by_domain_in_stream("celebrities", io.BytesIO(mockvendors_known_photo.data))
        names.append([c["name"] for c in r.result["celebrities"]])
    assert names == [["Tom Hanks"], ["Tom Hanks"]] and "k" * 32 not in (tmp_path / "cv.yaml").read_text()

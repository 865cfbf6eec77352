"""The real Azure recordings (../shared/data/vendor-recordings, converted at test time) replayed
through the harness's own Azure client with networking off."""

from __future__ import annotations

import json
import socket

import pytest
import yaml

from harness.cassettes.azure_import import convert_session_record, import_azure_session
from harness.cassettes.backend import CassetteVendor, replay_vendor
from harness.cassettes.errors import UnrecordedCallError
from harness.cassettes.keys import call_key, dechunk, sha256
from harness.cassettes.scan import scan_file
from harness.cassettes.vcr_config import use_cassette
from harness.errors import InputFileError
from harness.vendors.base import BadImageError

NET = "vendor-recordings/azure/azure-sdk-for-net"
CELEB = f"{NET}/VisionDomainModelTests/AnalyzeImageByDomainModelVersionTest.json"
CELEB_IMAGE = "vendor-recordings/azure/decoded-images/AnalyzeImageByDomainModelVersionTest.0.jpg"
ERROR = f"{NET}/VisionAnalyzeTests/AnalyzeImageInvalidUrlTest.json"
FACE_YAML = "vendor-recordings/azure/azure-sdk-for-python/test_face_detect.yaml"
FACE_IMAGE = "vendor-recordings/azure/decoded-images/test_face_detect.0.jpg"


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: replay must not touch the network."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted during replay")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def celeb_cassette(shared_data, tmp_path):
    out = tmp_path / "celebrities.yaml"
    report = import_azure_session(shared_data / CELEB, out)
    assert report.interactions == 1 and report.vendors == {"ms"} and not report.warnings
    return out


def test_satya_nadella_replays_through_the_azure_client_exactly(shared_data, celeb_cassette, no_network):
    recorded = json.loads(json.loads((shared_data / CELEB).read_text())["Entries"][0]["ResponseBody"])
    expected = recorded["result"]["celebrities"][0]
    image = (shared_data / CELEB_IMAGE).read_bytes()

    vendor = CassetteVendor("ms", celeb_cassette)
    answer = vendor.recognize(image)
    assert vendor.provenance == "real"
    assert answer.name == expected["name"] == "Satya Nadella"
    assert answer.best().raw_confidence == expected["confidence"]  # exactly, as recorded
    assert answer.confidence == pytest.approx(expected["confidence"] * 100)
    rect = expected["faceRectangle"]
    assert answer.best().box == (rect["left"], rect["top"], rect["left"] + rect["width"], rect["top"] + rect["height"])
    # a repeated identical call replays (it is not "unrecorded" the second time)
    assert vendor.recognize(image) == answer


def test_another_image_is_an_unrecorded_call_not_no_celebrity(shared_data, celeb_cassette, no_network):
    vendor = CassetteVendor("ms", celeb_cassette)
    with pytest.raises(UnrecordedCallError, match="no recorded ms recognize"):
        vendor.recognize((shared_data / FACE_IMAGE).read_bytes())


def test_imported_cassette_holds_no_secret_and_no_image(shared_data, celeb_cassette):
    text = celeb_cassette.read_text()
    assert "Ocp-Apim-Subscription-Key" not in text and "apim-request-id" not in text
    assert len(text) < 5000  # the 26 KB JPEG is reduced to its sha256
    assert sha256((shared_data / CELEB_IMAGE).read_bytes()) in text
    assert scan_file(celeb_cassette) == []
    assert yaml.safe_load(text)["metadata"]["provenance"] == "real"


def test_python_sdk_face_detect_cassette_replays(shared_data, no_network):
    """The Python SDK's vcrpy cassette recorded a chunked upload; the matcher de-chunks it."""
    data = yaml.safe_load((shared_data / FACE_YAML).read_text())
    recorded_body = data["interactions"][0]["request"]["body"]
    image = (shared_data / FACE_IMAGE).read_bytes()
    assert recorded_body != image and dechunk(recorded_body) == image
    expected = json.loads(data["interactions"][0]["response"]["body"]["string"])[0]

    client = replay_vendor("ms").client
    with use_cassette(shared_data / FACE_YAML):
        faces = client.detect(image)
    assert [f.face_id for f in faces] == [expected["faceId"]]
    r = expected["faceRectangle"]
    assert (faces[0].face_rectangle.left, faces[0].face_rectangle.top, faces[0].face_rectangle.width) == (
        r["left"], r["top"], r["width"])


def test_real_error_recording_is_a_typed_error(shared_data, tmp_path, no_network):
    out = tmp_path / "error.yaml"
    import_azure_session(shared_data / ERROR, out)
    client = replay_vendor("ms").client
    with use_cassette(out):
        with pytest.raises(BadImageError) as info:
            client.analyze(url="https://invalidurl", visual_features=("Categories",))
    assert info.value.code == "InvalidImageUrl" and info.value.http_status == 400
    assert "not accessible" in info.value.message


def test_all_net_session_records_convert(shared_data):
    for path in sorted((shared_data / NET).rglob("*.json")):
        cassette, report = convert_session_record(json.loads(path.read_text()), path.name)
        assert report.interactions == len(cassette["interactions"]) >= 1
        assert report.vendors == {"ms"}, path.name
        if "excerpt" in path.name:  # image bodies removed upstream: flagged, not silently matched
            assert any("not base64" in w for w in report.warnings)


def test_excerpt_verify_call_replays_by_face_ids(shared_data, tmp_path, no_network):
    out = tmp_path / "verify.yaml"
    import_azure_session(shared_data / f"{NET}/FaceVerificationTests/FaceVerificationFacePositive.excerpt.json", out)
    client = replay_vendor("ms").client
    with use_cassette(out):
        v = client.verify("4b29b63c-156c-4ba6-a652-67f5188d97c1", "d36aa92c-c6d7-433f-8c67-410f5ff022e0")
    assert v.is_identical is True and v.confidence == 0.92199


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"Names": {}}), json.dumps({"Entries": [{"RequestUri": "/x"}]})]
)
def test_import_rejects_bad_session_records(tmp_path, content):
    src = tmp_path / "bad.json"
    src.write_text(content)
    with pytest.raises(InputFileError, match="bad.json"):
        import_azure_session(src, tmp_path / "out.yaml")
    assert not (tmp_path / "out.yaml").exists()


def test_matcher_ignores_signed_headers_and_hosts():
    from vcr.request import Request

    a = Request(
        "POST",
        "https://a.example/vision/v3.2/models/celebrities/analyze",
        b"IMG",
        {"Ocp-Apim-Subscription-Key": "1", "Content-Type": "application/octet-stream"},
    )
    b = Request(
        "POST",
        "http://127.0.0.1:1/vision/v3.2/models/celebrities/analyze?model-version=latest",
        b"IMG",
        {"Ocp-Apim-Subscription-Key": "2", "Content-Type": "application/octet-stream"},
    )
    c = Request(
        "POST",
        "https://a.example/vision/v3.2/models/celebrities/analyze",
        b"IMG2",
        {"Content-Type": "application/octet-stream"},
    )
    assert call_key(a) == call_key(b) != call_key(c)

"""The README's five-line examples, run as written, on the plugin's default (demo) gallery, with the
plugin's ``mockvendors_known_photo`` (the snippets as written use it directly)."""

from __future__ import annotations

import boto3
import httpx
import pytest
import requests

from mockvendors.aws import mock_rekognition

pytestmark = pytest.mark.models


@mock_rekognition()
def test_in_process_rekognition(mockvendors_known_photo):
    rek = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    r = rek.recognize_celebrities(Image={"Bytes": mockvendors_known_photo.data})
    assert r["CelebrityFaces"][0]["Name"] == "Tom Hanks"


def test_rekognition_over_http(mock_rekognition_client, mockvendors_known_photo):
    r = mock_rekognition_client.recognize_celebrities(Image={"Bytes": mockvendors_known_photo.data})
    assert r["CelebrityFaces"][0]["Name"] == "Tom Hanks" and r["CelebrityFaces"][0]["MatchConfidence"] >= 55


def test_rekognition_does_not_name_the_unknown_photo(mock_rekognition_client, mockvendors_unknown_photo):
    r = mock_rekognition_client.recognize_celebrities(Image={"Bytes": mockvendors_unknown_photo.data})
    assert r["CelebrityFaces"] == [] and r["UnrecognizedFaces"]


def test_rekognition_inprocess_fixture(mock_rekognition_inprocess, mockvendors_known_photo):
    rek = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    r = rek.recognize_celebrities(Image={"Bytes": mockvendors_known_photo.data})
    assert r["CelebrityFaces"][0]["Name"] == "Tom Hanks"


def test_azure_celebrities(mock_azure_url, mockvendors_known_photo):
    r = requests.post(f"{mock_azure_url}/vision/v3.2/models/celebrities/analyze", data=mockvendors_known_photo.data,
                      headers={"Ocp-Apim-Subscription-Key": "any", "Content-Type": "application/octet-stream"})
    assert r.json()["result"]["celebrities"][0]["name"] == "Tom Hanks"


def test_naver_cfr(mock_naver_url, mockvendors_known_photo):
    r = httpx.post(f"{mock_naver_url}/v1/vision/celebrity", files={"image": ("p.jpg", mockvendors_known_photo.data)},
                   headers={"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"})
    assert r.json()["faces"][0]["celebrity"]["value"] == "Tom Hanks"


def test_outside_a_mock_boto3_is_not_intercepted():
    from botocore.exceptions import EndpointConnectionError

    rek = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                       endpoint_url="http://127.0.0.1:9", config=__import__("botocore.config").config.Config(
                           retries={"total_max_attempts": 1}, connect_timeout=1))
    with pytest.raises(EndpointConnectionError):
        rek.recognize_celebrities(Image={"Bytes": b"\xff\xd8\xff"})

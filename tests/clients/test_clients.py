"""Real vendor clients against a scripted loopback server: rate limit, retries, timeouts, typed errors."""

from __future__ import annotations

import json
import random

import pytest

from harness.clients.adapters import AwsVendor, AzureVendor, NaverVendor
from harness.clients.aws import AwsClient
from harness.clients.azure import AzureClient
from harness.clients.config import (
    MissingCredentialError,
    aws_settings,
    azure_settings,
    common_settings,
    naver_settings,
)
from harness.clients.naver import NaverClient
from harness.clients.retry import CallStats, RetryPolicy, call_with_retry
from harness.ratelimit import PUBLISHED_RATES, TokenBucket
from harness.vendors.base import AuthError, BadImageError, ServerError, ThrottledError, VendorError

from support.vendor_http import Scripted, ScriptedServer

CELEB_OK = {"result": {"celebrities": [{"name": "Satya Nadella", "confidence": 0.9644,
                                        "faceRectangle": {"left": 211, "top": 50, "width": 55, "height": 55}}]},
            "requestId": "r", "metadata": {"height": 288, "width": 512, "format": "Jpeg"}}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def no_sleep_policy(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, base_s=0.01, cap_s=0.02, rng=random.Random(1), sleep=lambda s: None)


def azure(url: str, **env: str) -> AzureClient:
    settings = azure_settings({"DFI_AZURE_VISION_ENDPOINT": url, "DFI_AZURE_VISION_KEY": "k" * 8, **env})
    return AzureClient(settings, TokenBucket.unlimited(), no_sleep_policy())


# -- token bucket --------------------------------------------------------------------------

def test_token_bucket_allows_burst_then_paces_at_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert bucket.acquire() == 0.0
    waits = [bucket.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert clock.now == pytest.approx(2.0)  # 7 calls at 2/s with a burst of 3


def test_token_bucket_refills_only_to_capacity():
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock, sleep=clock.sleep)
    clock.now = 100.0
    assert bucket.try_acquire() and bucket.try_acquire() and not bucket.try_acquire()


def test_rate_defaults_come_from_published_tiers_and_env_overrides_them():
    assert common_settings("ms", {}).rate.per_second == 10.0
    assert common_settings("nav", {}).rate.per_second == pytest.approx(1000 / 86400)
    assert common_settings("aws", {}).rate == PUBLISHED_RATES["aws"]
    over = common_settings("aws", {"DFI_AWS_TPS": "50", "DFI_AWS_BURST": "20"})
    assert (over.rate.per_second, over.rate.burst) == (50.0, 20.0)
    with pytest.raises(ValueError, match="DFI_AWS_TPS"):
        common_settings("aws", {"DFI_AWS_TPS": "fast"})


# -- retry policy --------------------------------------------------------------------------

def test_backoff_is_exponential_with_full_jitter_and_capped():
    policy = RetryPolicy(base_s=1.0, cap_s=8.0, rng=random.Random(0))
    err = ThrottledError("ms", "429", "slow down")
    for i in range(6):
        samples = [policy.backoff(i, err) for _ in range(200)]
        ceiling = min(8.0, 2.0**i)
        assert 0.0 <= min(samples) and max(samples) <= ceiling
        assert max(samples) > 0.8 * ceiling  # jitter spans the whole window


def test_retry_after_is_honoured():
    err = ThrottledError("ms", "429", "slow down")
    err.retry_after = 3.0
    assert RetryPolicy(rng=random.Random(0)).backoff(0, err) == 3.0


def test_only_throttling_and_server_errors_are_retried():
    calls = []

    def fails(exc):
        def fn():
            calls.append(1)
            raise exc
        return fn

    for exc in (BadImageError("aws", "InvalidImageFormatException", "x"), AuthError("aws", "AccessDenied", "x"),
                VendorError("aws", "Weird", "x")):
        calls.clear()
        with pytest.raises(type(exc)):
            call_with_retry(fails(exc), no_sleep_policy(5))
        assert len(calls) == 1
    for exc in (ThrottledError("aws", "ThrottlingException", "x"), ServerError("aws", "HTTP503", "x")):
        calls.clear()
        stats = CallStats()
        with pytest.raises(type(exc)):
            call_with_retry(fails(exc), no_sleep_policy(5), stats=stats)
        assert len(calls) == 5 and stats.retries == 4 and stats.failures == 1


# -- configuration -------------------------------------------------------------------------

def test_missing_credentials_are_clear_errors_before_any_call():
    with pytest.raises(MissingCredentialError, match="DFI_AZURE_VISION_KEY"):
        AzureClient(azure_settings({"DFI_AZURE_VISION_ENDPOINT": "http://127.0.0.1:9"}))
    with pytest.raises(MissingCredentialError, match="DFI_NAVER_CLIENT_ID"):
        NaverClient(naver_settings({}))
    with pytest.raises(MissingCredentialError, match="DFI_AWS_REGION"):
        aws_settings({})


def test_aws_missing_credentials_is_clear(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MissingCredentialError, match="AWS_ACCESS_KEY_ID"):
        AwsClient(aws_settings({"DFI_AWS_REGION": "us-east-1"}))


def test_settings_repr_hides_keys():
    s = azure_settings({"DFI_AZURE_VISION_ENDPOINT": "http://x", "DFI_AZURE_VISION_KEY": "supersecretvalue"})
    assert "supersecretvalue" not in repr(s)


# -- Azure over HTTP -----------------------------------------------------------------------

def test_azure_celebrities_request_and_answer():
    with ScriptedServer([Scripted(200, CELEB_OK)]) as server:
        client = azure(server.url)
        got = AzureVendor(client).recognize(JPEG)
    req = server.received[0]
    assert req.path == "/vision/v3.2/models/celebrities/analyze"
    assert req.headers["Ocp-Apim-Subscription-Key"] == "k" * 8
    assert req.headers["Content-Type"] == "application/octet-stream" and req.body == JPEG
    assert got.name == "Satya Nadella" and got.confidence == pytest.approx(96.44)
    assert got.best().raw_confidence == 0.9644 and got.best().box == (211.0, 50.0, 266.0, 105.0)


def test_azure_throttled_then_answered_is_retried():
    script = [Scripted(429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, {"Retry-After": "0"}),
              Scripted(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}),
              Scripted(200, CELEB_OK)]
    with ScriptedServer(script) as server:
        client = azure(server.url)
        assert AzureVendor(client).recognize(JPEG).name == "Satya Nadella"
    assert len(server.received) == 3
    assert (client.stats.retries, client.stats.throttled, client.stats.failures) == (2, 1, 0)


def test_azure_persistent_throttling_is_an_error_not_no_celebrity():
    with ScriptedServer([Scripted(429, {"error": {"code": "429", "message": "Rate limit"}})]) as server:
        client = azure(server.url)
        with pytest.raises(ThrottledError) as info:
            AzureVendor(client).recognize(JPEG)
    assert len(server.received) == 4 and info.value.attempts == 4


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            400,
            {"error": {"code": "InvalidRequest", "innererror": {"code": "InvalidImageFormat", "message": "bad"}}},
            BadImageError,
            "InvalidImageFormat",
        ),
        (
            401,
            {"error": {"code": "401", "message": "Access denied due to invalid subscription key."}},
            AuthError,
            "401",
        ),
        (404, "<html>not here</html>", VendorError, "HTTP404"),
    ],
)
def test_azure_non_retryable_errors_are_typed_and_tried_once(status, body, error, code):
    with ScriptedServer([Scripted(status, body)]) as server:
        with pytest.raises(error) as info:
            AzureVendor(azure(server.url)).recognize(JPEG)
    assert info.value.code == code and len(server.received) == 1


def test_azure_malformed_success_is_an_error():
    with ScriptedServer([Scripted(200, {"celebrities": []})]) as server:
        with pytest.raises(VendorError, match="MalformedResponse"):
            AzureVendor(azure(server.url)).recognize(JPEG)


def test_network_timeout_is_retried_then_typed():
    with ScriptedServer([Scripted(200, CELEB_OK, delay_s=0.6)]) as server:
        client = azure(server.url, DFI_HTTP_TIMEOUT="0.2")
        client.retry = no_sleep_policy(2)
        with pytest.raises(ServerError) as info:
            client.analyze_celebrities(JPEG)
    assert info.value.code == "Timeout" and len(server.received) == 2


def test_connection_refused_is_a_server_error():
    client = azure("http://127.0.0.1:9")
    client.retry = no_sleep_policy(1)
    with pytest.raises(ServerError, match="ConnectionError"):
        client.analyze_celebrities(JPEG)


def test_azure_similarity_uses_detect_then_find_similar():
    detect_a = [
        {"faceId": "a-small", "faceRectangle": {"left": 0, "top": 0, "width": 10, "height": 10}},
        {"faceId": "a-big", "faceRectangle": {"left": 0, "top": 0, "width": 90, "height": 90}},
    ]
    detect_b = [{"faceId": "b1", "faceRectangle": {"left": 5, "top": 5, "width": 50, "height": 50}}]
    script = [Scripted(200, detect_a), Scripted(200, detect_b), Scripted(200, [{"faceId": "b1", "confidence": 0.81}])]
    with ScriptedServer(script) as server:
        score = AzureVendor(azure(server.url)).similarity(JPEG, JPEG + b"1")
    assert score == pytest.approx(81.0)
    assert server.received[0].path == "/face/v1.0/detect?returnFaceId=true"
    assert json.loads(server.received[2].body)["faceId"] == "a-big"
    with ScriptedServer([Scripted(200, [])]) as server:
        with pytest.raises(BadImageError, match="NoFaceDetected"):
            AzureVendor(azure(server.url)).similarity(JPEG, JPEG)


def test_azure_rate_limit_paces_requests():
    clock = FakeClock()
    with ScriptedServer([Scripted(200, CELEB_OK)]) as server:
        client = azure(server.url)
        client.bucket = TokenBucket(10.0, 1.0, clock=clock, sleep=clock.sleep)
        for _ in range(5):
            client.analyze_celebrities(JPEG)
    assert len(server.received) == 5 and clock.now == pytest.approx(0.4)


# -- Naver over HTTP -----------------------------------------------------------------------


def naver(url: str) -> NaverClient:
    s = naver_settings({"DFI_NAVER_CLIENT_ID": "id", "DFI_NAVER_CLIENT_SECRET": "sec", "DFI_NAVER_ENDPOINT": url})
    return NaverClient(s, TokenBucket.unlimited(), no_sleep_policy())


def test_naver_multipart_request_and_scaled_answer():
    body = {
        "info": {"size": {"width": 10, "height": 10}, "faceCount": 1},
        "faces": [{"celebrity": {"value": "IU", "confidence": 0.0001}}],
    }
    with ScriptedServer([Scripted(200, body)]) as server:
        got = NaverVendor(naver(server.url)).recognize(JPEG)
    req = server.received[0]
    assert req.path == "/v1/vision/celebrity"
    assert req.headers["X-Naver-Client-Id"] == "id" and req.headers["X-Naver-Client-Secret"] == "sec"
    assert req.headers["Content-Type"].startswith("multipart/form-data") and JPEG in req.body
    assert b'name="image"' in req.body
    assert got.name == "IU" and got.confidence == pytest.approx(0.01)  # 0.0001 -> 0.01 on 0-100
    assert NaverVendor(naver(server.url)).similarity(JPEG, JPEG) is None


def test_naver_ncp_gateway_keys_and_errors():
    s = naver_settings({"DFI_NAVER_NCP_KEY_ID": "kid", "DFI_NAVER_NCP_KEY": "key", "DFI_NAVER_ENDPOINT": "http://x"})
    assert s.path == "/vision/v1/celebrity" and set(s.headers) == {"X-NCP-APIGW-API-KEY-ID", "X-NCP-APIGW-API-KEY"}
    with ScriptedServer([Scripted(400, {"errorCode": "ER03", "errorMessage": "unsupported format"})]) as server:
        with pytest.raises(BadImageError, match="ER03"):
            naver(server.url).celebrity(JPEG)
    with ScriptedServer(
        [Scripted(429, {"errorCode": "010", "errorMessage": "quota"}), Scripted(200, {"faces": []})]
    ) as server:
        assert naver(server.url).celebrity(JPEG) == []  # a real empty answer, after a retried throttle
    with pytest.raises(BadImageError, match="ER02"):
        naver("http://127.0.0.1:9").celebrity(b"\xff" * (2 * 1024 * 1024 + 1))


# -- AWS through boto3 ---------------------------------------------------------------------


def aws(url: str, monkeypatch) -> AwsClient:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = aws_settings({"DFI_AWS_REGION": "us-east-1", "DFI_AWS_ENDPOINT_URL": url})
    return AwsClient(settings, TokenBucket.unlimited(), no_sleep_policy())


AWS_OK = {
    "CelebrityFaces": [
        {
            "Name": "Jeff Bezos",
            "Id": "3Ir0du6",
            "MatchConfidence": 98.0,
            "Urls": [],
            "Face": {"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0.25, "Top": 0.1}, "Confidence": 99.9},
        }
    ],
    "UnrecognizedFaces": [{"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.0, "Top": 0.0}, "Confidence": 99.0}],
}


def test_aws_boto3_throttle_retry_and_answer(monkeypatch):
    throttle = Scripted(
        400,
        {"__type": "ThrottlingException", "message": "Rate exceeded"},
        {"Content-Type": "application/x-amz-json-1.1"},
    )
    ok = Scripted(200, AWS_OK, {"Content-Type": "application/x-amz-json-1.1"})
    with ScriptedServer([throttle, ok]) as server:
        client = aws(server.url, monkeypatch)
        got = AwsVendor(client).recognize(JPEG)
    assert [r.headers["X-Amz-Target"] for r in server.received] == ["RekognitionService.RecognizeCelebrities"] * 2
    assert server.received[0].headers["Authorization"].startswith("AWS4-HMAC-SHA256")
    assert got.name == "Jeff Bezos" and got.confidence == 98.0
    assert [f.name for f in got.faces] == ["Jeff Bezos", None]
    assert client.stats.throttled == 1 and client.stats.retries == 1


@pytest.mark.parametrize(
    ("type_", "error"),
    [
        ("InvalidImageFormatException", BadImageError),
        ("InvalidParameterException", BadImageError),
        ("AccessDeniedException", AuthError),
        ("ProvisionedThroughputExceededException", ThrottledError),
    ],
)
def test_aws_errors_are_typed(monkeypatch, type_, error):
    with ScriptedServer(
        [Scripted(400, {"__type": type_, "message": "m"}, {"Content-Type": "application/x-amz-json-1.1"})]
    ) as server:
        with pytest.raises(error) as info:
            aws(server.url, monkeypatch).compare_faces(JPEG, JPEG)
    assert info.value.code == type_
    assert len(server.received) == (4 if error is ThrottledError else 1)


def test_aws_compare_faces_similarity(monkeypatch):
    out = {
        "SourceImageFace": {"Confidence": 99.0},
        "FaceMatches": [{"Similarity": 12.5, "Face": {}}, {"Similarity": 91.0, "Face": {}}],
        "UnmatchedFaces": [],
    }
    with ScriptedServer([Scripted(200, out, {"Content-Type": "application/x-amz-json-1.1"})]) as server:
        score = AwsVendor(aws(server.url, monkeypatch)).similarity(JPEG, JPEG)
    assert score == 91.0
    sent = json.loads(server.received[0].body)
    assert sent["SimilarityThreshold"] == 0.0 and "Bytes" in sent["SourceImage"]

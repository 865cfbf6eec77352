"""Naver Clova Face Recognition (CFR) celebrity client over plain HTTP.

``POST /v1/vision/celebrity`` (Naver Developers keys) or ``/vision/v1/celebrity`` (NCP API gateway
keys), multipart field ``image`` (<= 2 MB) -> ``{"info": {...}, "faces": [{"celebrity":
{"value", "confidence"}}]}``. Errors: ``{"errorCode", "errorMessage"}`` (Developers) or
``{"error": {"errorCode", "message"}}`` (NCP gateway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from harness.clients import http
from harness.clients.config import ClientOptions, NaverSettings, naver_settings
from harness.clients.retry import CallStats, RetryPolicy, call_with_retry, policy_for
from harness.ratelimit import TokenBucket
from harness.vendors.base import BadImageError, Recognition, RecognizedFace

VENDOR = "nav"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# CFR: ER01 no image parameter, ER02 image too large, ER03 unsupported format; 010 quota exceeded
BAD_IMAGE_CODES = frozenset({"ER01", "ER02", "ER03", "ER04", "ER05"})
THROTTLE_CODES = frozenset({"010", "TooManyRequests", "RateLimitExceeded"})


@dataclass(frozen=True)
class NaverCelebrity:
    name: str
    confidence: float  # 0-1


def _image_content_type(image: bytes) -> str:
    if image.startswith(b"\x89PNG"):
        return "image/png"
    return "image/jpeg"


class NaverClient:
    def __init__(
        self,
        settings: NaverSettings | None = None,
        bucket: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ):
        self.settings = settings or naver_settings()  # MissingCredentialError before any call
        rate = self.settings.common.rate
        self.bucket = bucket or TokenBucket(rate.per_second, rate.burst)
        self.retry = retry or RetryPolicy(max_attempts=self.settings.common.max_attempts)
        self.session = session or requests.Session()
        self.stats = CallStats()

    @staticmethod
    def _error(response: requests.Response):
        code, message = "", response.text[:300]
        try:
            data = response.json()
            err = data.get("error") if isinstance(data.get("error"), dict) else data
            code = str(err.get("errorCode") or err.get("code") or "")
            message = str(err.get("errorMessage") or err.get("message") or message)
        except (ValueError, AttributeError):
            pass
        return http.error_for_status(VENDOR, response, code, message, BAD_IMAGE_CODES, THROTTLE_CODES)

    def celebrity(self, image: bytes) -> list[NaverCelebrity]:
        """Best celebrity match for every detected face (CFR always names one)."""
        if len(image) > MAX_IMAGE_BYTES:  # refused by the service anyway; do not spend a call
            raise BadImageError(VENDOR, "ER02", f"image is {len(image)} bytes; CFR accepts at most {MAX_IMAGE_BYTES}")
        s = self.settings
        url = s.endpoint + s.path

        def once() -> Any:
            files = {"image": ("image", image, _image_content_type(image))}
            response = http.post(self.session, VENDOR, url, s.common.timeout_s, headers=dict(s.headers), files=files)
            if response.status_code >= 300:
                raise self._error(response)
            return http.json_body(
                VENDOR, response,
                lambda d: isinstance(d, dict) and isinstance(d.get("faces"), list)
                and all(isinstance(f, dict) and isinstance(f.get("celebrity"), dict) for f in d["faces"]),
                "celebrity",
            )

        return parse_celebrity(call_with_retry(once, self.retry, self.bucket, self.stats))


# ----- the one parser of Naver answers ------------------------------------------------------------------
def parse_celebrity(body: Any) -> list[NaverCelebrity]:
    return [NaverCelebrity(str(f["celebrity"]["value"]), float(f["celebrity"]["confidence"])) for f in body["faces"]]


def parse_recognition(operation: str, body: Any, size: tuple[int, int] | None = None) -> Recognition:
    """A CFR celebrity answer: one named face per detected face (confidence 0-1 -> 0-100); CFR gives no boxes."""
    if operation != "Celebrity":
        raise ValueError(f"nav: {operation} is not a recognition answer")
    return celebrities_to_recognition(parse_celebrity(body))


def celebrities_to_recognition(celebs: list[NaverCelebrity]) -> Recognition:
    return Recognition(tuple(RecognizedFace(name=c.name, confidence=c.confidence * 100.0, raw_confidence=c.confidence)
                             for c in celebs))


# ----- the vendor interface over the client ---------------------------------------------------------------
class NaverVendor:
    name = "nav"
    supports_similarity = False

    def __init__(self, client: NaverClient | None = None):
        self.client = client or NaverClient()

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    def recognize(self, image: bytes) -> Recognition:
        return celebrities_to_recognition(self.client.celebrity(image))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        return None  # CFR has no similarity call


def connect(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> NaverVendor:
    """The NAV backend configured from ``env`` (default: the process environment)."""
    options = options or ClientOptions()
    settings = naver_settings(env, options)
    retry = policy_for(settings.common.max_attempts, options.sleep)
    return NaverVendor(NaverClient(settings, retry=retry))


def placeholder_env(base_url: str) -> dict[str, str]:
    """Point the client at ``base_url`` with placeholder keys (mock servers, cassette replay)."""
    return {"DFI_NAVER_CLIENT_ID": "mock-id", "DFI_NAVER_CLIENT_SECRET": "mock-secret", "DFI_NAVER_ENDPOINT": base_url}

"""Naver Clova Face Recognition (CFR) celebrity client over plain HTTP.

``POST /v1/vision/celebrity`` (Naver Developers keys) or ``/vision/v1/celebrity`` (NCP API gateway
keys), multipart field ``image`` (<= 2 MB) -> ``{"info": {...}, "faces": [{"celebrity":
{"value", "confidence"}}]}``. Errors: ``{"errorCode", "errorMessage"}`` (Developers) or
``{"error": {"errorCode", "message"}}`` (NCP gateway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from harness.clients import http
from harness.clients.config import NaverSettings, naver_settings
from harness.ratelimit import TokenBucket
from harness.clients.retry import CallStats, RetryPolicy, call_with_retry
from harness.vendors.base import BadImageError

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

        data = call_with_retry(once, self.retry, self.bucket, self.stats)
        return [NaverCelebrity(str(f["celebrity"]["value"]), float(f["celebrity"]["confidence"])) for f in data["faces"]]

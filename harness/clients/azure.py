"""Azure client over plain HTTP: Computer Vision v3.2 celebrities analyze, Face detect/verify/find-similar.

Wire format as in the Azure SDK recordings: ``POST {vision}/vision/v3.2/models/celebrities/analyze``
with the image as ``application/octet-stream`` and ``Ocp-Apim-Subscription-Key``;
``POST {face}/face/v1.0/detect?returnFaceId=true``; ``POST {face}/face/v1.0/verify``;
``POST {face}/face/v1.0/findsimilars``. Errors are ``{"error": {"code", "message", "innererror"?}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from harness.clients import http
from harness.clients.config import AzureSettings, ClientOptions, azure_settings
from harness.clients.retry import CallStats, RetryPolicy, call_with_retry, policy_for
from harness.ratelimit import TokenBucket
from harness.vendors.base import BadImageError, Recognition, RecognizedFace

VENDOR = "ms"
CELEBRITIES_PATH = "/vision/v3.2/models/celebrities/analyze"
ANALYZE_PATH = "/vision/v3.2/analyze"
DETECT_PATH = "/face/v1.0/detect"
VERIFY_PATH = "/face/v1.0/verify"
FIND_SIMILAR_PATH = "/face/v1.0/findsimilars"

# error codes meaning "this image cannot be used" (Computer Vision and Face API docs)
BAD_IMAGE_CODES = frozenset(
    {"InvalidImage", "InvalidImageUrl", "InvalidImageFormat", "InvalidImageSize", "InvalidImageDimension",
     "NotSupportedImage", "ImageTooSmall", "InvalidImageBody"}
)
THROTTLE_CODES = frozenset({"429", "TooManyRequests", "RateLimitExceeded"})


@dataclass(frozen=True)
class FaceRectangle:
    left: int
    top: int
    width: int
    height: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FaceRectangle:
        return cls(int(d["left"]), int(d["top"]), int(d["width"]), int(d["height"]))

    def box(self) -> tuple[float, float, float, float]:
        return (float(self.left), float(self.top), float(self.left + self.width), float(self.top + self.height))


@dataclass(frozen=True)
class AzureCelebrity:
    name: str
    confidence: float  # 0-1, as Azure reports it
    face_rectangle: FaceRectangle | None


@dataclass(frozen=True)
class DetectedFace:
    face_id: str
    face_rectangle: FaceRectangle


@dataclass(frozen=True)
class Verification:
    is_identical: bool
    confidence: float  # 0-1


class AzureClient:
    def __init__(
        self,
        settings: AzureSettings | None = None,
        bucket: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ):
        self.settings = settings or azure_settings()  # MissingCredentialError before any call
        rate = self.settings.common.rate
        self.bucket = bucket or TokenBucket(rate.per_second, rate.burst)
        self.retry = retry or RetryPolicy(max_attempts=self.settings.common.max_attempts)
        self.session = session or requests.Session()
        self.stats = CallStats()

    # -- transport -------------------------------------------------------------------------
    def _post(self, base: str, key: str, path: str, what: str, check, **kwargs: Any) -> Any:
        url = base + path
        headers = {"Ocp-Apim-Subscription-Key": key, **kwargs.pop("headers", {})}

        def once() -> Any:
            response = http.post(self.session, VENDOR, url, self.settings.common.timeout_s, headers=headers, **kwargs)
            if response.status_code >= 300:
                raise self._error(response)
            return http.json_body(VENDOR, response, check, what)

        return call_with_retry(once, self.retry, self.bucket, self.stats)

    @staticmethod
    def _error(response: requests.Response):
        code, message = "", response.text[:300]
        try:
            err = response.json().get("error", {})
            inner = err.get("innererror") or {}
            # the specific reason is in innererror (e.g. InvalidArgument / InvalidImageUrl)
            code = str(inner.get("code") or err.get("code") or "")
            message = str(inner.get("message") or err.get("message") or message)
        except (ValueError, AttributeError):
            pass
        return http.error_for_status(VENDOR, response, code, message, BAD_IMAGE_CODES, THROTTLE_CODES)

    # -- calls -----------------------------------------------------------------------------
    def analyze_celebrities(self, image: bytes) -> list[AzureCelebrity]:
        """Celebrities domain model on an uploaded image; [] means the model named no one."""
        s = self.settings
        data = self._post(
            s.vision_endpoint, s.vision_key, CELEBRITIES_PATH, "celebrities analyze",
            lambda d: isinstance(d, dict) and isinstance(d.get("result"), dict)
            and isinstance(d["result"].get("celebrities"), list),
            data=image, headers={"Content-Type": "application/octet-stream"},
        )
        return parse_celebrities(data)

    def analyze(self, *, image: bytes | None = None, url: str | None = None,
                visual_features: tuple[str, ...] = ("Description",)) -> dict[str, Any]:
        """Image Analysis v3.2 (the study's captions came from it); by upload or by URL. Raw JSON."""
        if (image is None) == (url is None):
            raise ValueError("give exactly one of image= or url=")
        s = self.settings
        kwargs: dict[str, Any] = {"params": {"visualFeatures": ",".join(visual_features)}}
        if image is not None:
            kwargs.update(data=image, headers={"Content-Type": "application/octet-stream"})
        else:
            kwargs.update(json={"url": url})
        return self._post(s.vision_endpoint, s.vision_key, ANALYZE_PATH, "image analysis",
                          lambda d: isinstance(d, dict), **kwargs)

    def detect(self, image: bytes) -> list[DetectedFace]:
        s = self.settings
        data = self._post(
            s.face_endpoint, s.face_key, DETECT_PATH, "face detect",
            lambda d: isinstance(d, list) and all(isinstance(f, dict) and "faceId" in f for f in d),
            params={"returnFaceId": "true"}, data=image, headers={"Content-Type": "application/octet-stream"},
        )
        return parse_detect(data)

    def verify(self, face_id1: str, face_id2: str) -> Verification:
        s = self.settings
        data = self._post(
            s.face_endpoint, s.face_key, VERIFY_PATH, "face verify",
            lambda d: isinstance(d, dict) and "confidence" in d and "isIdentical" in d,
            json={"faceId1": face_id1, "faceId2": face_id2},
        )
        return Verification(bool(data["isIdentical"]), float(data["confidence"]))

    def find_similar(self, face_id: str, face_ids: list[str], mode: str = "matchFace") -> dict[str, float]:
        """faceId -> confidence (0-1) for the candidates Azure returns. matchFace mode, as the study
        used, ranks candidates without a same-person threshold."""
        s = self.settings
        data = self._post(
            s.face_endpoint,
            s.face_key,
            FIND_SIMILAR_PATH,
            "find similar",
            lambda d: isinstance(d, list) and all(isinstance(f, dict) and "confidence" in f for f in d),
            json={
                "faceId": face_id,
                "faceIds": face_ids,
                "mode": mode,
                "maxNumOfCandidatesReturned": max(1, len(face_ids)),
            },
        )
        return {str(f["faceId"]): float(f["confidence"]) for f in data}


# ----- the one parser of Azure answers ------------------------------------------------------------------
def parse_celebrities(body: Any) -> list[AzureCelebrity]:
    """A celebrities-analyze answer: one entry per named face (confidence 0-1)."""
    out = []
    for c in body["result"]["celebrities"]:
        rect = c.get("faceRectangle")
        out.append(
            AzureCelebrity(str(c["name"]), float(c["confidence"]), FaceRectangle.from_json(rect) if rect else None)
        )
    return out


def parse_detect(body: Any) -> list[DetectedFace]:
    return [DetectedFace(str(f["faceId"]), FaceRectangle.from_json(f["faceRectangle"])) for f in body]


def celebrities_to_recognition(celebs: list[AzureCelebrity]) -> Recognition:
    return Recognition(
        tuple(
            RecognizedFace(
                name=c.name,
                confidence=c.confidence * 100.0,
                raw_confidence=c.confidence,
                box=c.face_rectangle.box() if c.face_rectangle else None,
            )
            for c in celebs
        )
    )


def parse_recognition(operation: str, body: Any, size: tuple[int, int] | None = None) -> Recognition:
    """CelebritiesAnalyze -> the named faces (0-100); FaceDetect -> unnamed faces with their boxes."""
    if operation == "CelebritiesAnalyze":
        return celebrities_to_recognition(parse_celebrities(body))
    if operation == "FaceDetect":
        return Recognition(tuple(RecognizedFace(None, 0.0, 0.0, f.face_rectangle.box()) for f in parse_detect(body)))
    raise ValueError(f"ms: {operation} is not a recognition answer")


# ----- the vendor interface over the client ---------------------------------------------------------------
def _largest(faces: list[DetectedFace]) -> DetectedFace | None:
    return max(faces, key=lambda f: f.face_rectangle.width * f.face_rectangle.height, default=None)


class AzureVendor:
    """MS: celebrities analyze for Recognize; Face detect + find-similar (the study's call) or
    verify for Similarity."""

    name = "ms"
    supports_similarity = True

    def __init__(self, client: AzureClient | None = None, similarity_call: str = "findsimilar"):
        if similarity_call not in ("findsimilar", "verify"):
            raise ValueError("similarity_call must be 'findsimilar' or 'verify'")
        self.client = client or AzureClient()
        self.similarity_call = similarity_call

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    def recognize(self, image: bytes) -> Recognition:
        return celebrities_to_recognition(self.client.analyze_celebrities(image))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        face_a = _largest(self.client.detect(image_a))
        face_b = _largest(self.client.detect(image_b))
        if face_a is None or face_b is None:
            which = "first" if face_a is None else "second"
            raise BadImageError(self.name, "NoFaceDetected", f"Face detect found no face in the {which} image")
        if self.similarity_call == "verify":
            return self.client.verify(face_a.face_id, face_b.face_id).confidence * 100.0
        found = self.client.find_similar(face_a.face_id, [face_b.face_id])
        return found.get(face_b.face_id, 0.0) * 100.0


def connect(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> AzureVendor:
    """The MS backend configured from ``env`` (default: the process environment)."""
    options = options or ClientOptions()
    settings = azure_settings(env, options)
    retry = policy_for(settings.common.max_attempts, options.sleep)
    return AzureVendor(AzureClient(settings, retry=retry), similarity_call=options.similarity_call)


def placeholder_env(base_url: str) -> dict[str, str]:
    """Point the client at ``base_url`` with a placeholder key (mock servers, cassette replay)."""
    return {"DFI_AZURE_VISION_ENDPOINT": base_url, "DFI_AZURE_VISION_KEY": "mock-key"}

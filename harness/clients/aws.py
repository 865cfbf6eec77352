"""AWS Rekognition client through boto3: RecognizeCelebrities and CompareFaces.

botocore's own retries are switched off so that the harness's retry policy (and its counters)
is the only one; ``endpoint_url`` points the unmodified boto3 client at a mock server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from vcr.errors import CannotOverwriteExistingCassetteException

from harness.clients.config import AwsSettings, ClientOptions, MissingCredentialError, aws_settings
from harness.clients.imagesize import image_size, ratio_box
from harness.clients.retry import CallStats, RetryPolicy, call_with_retry, policy_for
from harness.ratelimit import TokenBucket
from harness.vendors.base import (
    AuthError,
    BadImageError,
    Recognition,
    RecognizedFace,
    ServerError,
    ThrottledError,
    VendorError,
)

VENDOR = "aws"
MAX_IMAGE_BYTES = 5 * 1024 * 1024

THROTTLE_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException",
                            "TooManyRequestsException"})
BAD_IMAGE_CODES = frozenset({"InvalidParameterException", "ImageTooLargeException", "InvalidImageFormatException",
                             "InvalidS3ObjectException"})
AUTH_CODES = frozenset({"AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
                        "ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationToken"})
SERVER_CODES = frozenset({"InternalServerError", "ServiceUnavailableException", "ServiceUnavailable"})


def _typed_error(exc: botocore.exceptions.ClientError) -> VendorError:
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "")
    message = str(err.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    out: VendorError
    if code in THROTTLE_CODES or status == 429:
        out = ThrottledError(VENDOR, code, message)
    elif code in SERVER_CODES or status >= 500:
        out = ServerError(VENDOR, code or f"HTTP{status}", message)
    elif code in AUTH_CODES or status in (401, 403):
        out = AuthError(VENDOR, code, message)
    elif code in BAD_IMAGE_CODES:
        out = BadImageError(VENDOR, code, message)
    else:
        out = VendorError(VENDOR, code or f"HTTP{status}", message)
    out.http_status = status  # type: ignore[attr-defined]
    return out


class AwsClient:
    def __init__(
        self,
        settings: AwsSettings | None = None,
        bucket: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        session: boto3.session.Session | None = None,
    ):
        self.settings = settings or aws_settings()
        session = session or boto3.session.Session(region_name=self.settings.region)
        if session.get_credentials() is None:  # before any call
            raise MissingCredentialError(
                VENDOR, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "or AWS_PROFILE / any boto3 credential source"
            )
        timeout = self.settings.common.timeout_s
        self._client = session.client(
            "rekognition",
            region_name=self.settings.region,
            endpoint_url=self.settings.endpoint_url,
            config=Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )
        rate = self.settings.common.rate
        self.bucket = bucket or TokenBucket(rate.per_second, rate.burst)
        self.retry = retry or RetryPolicy(max_attempts=self.settings.common.max_attempts)
        self.stats = CallStats()

    @property
    def boto_client(self) -> Any:
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        method = getattr(self._client, operation)

        def once() -> dict[str, Any]:
            try:
                return method(**kwargs)
            except botocore.exceptions.ClientError as exc:
                raise _typed_error(exc) from exc
            except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError) as exc:
                raise ServerError(VENDOR, "Timeout", str(exc)) from exc
            except botocore.exceptions.EndpointConnectionError as exc:
                raise ServerError(VENDOR, "ConnectionError", str(exc)) from exc
            except botocore.exceptions.HTTPClientError as exc:
                underlying = exc.kwargs.get("error")
                # a cassette miss in replay mode is a harness error, not a network failure to retry
                if isinstance(underlying, CannotOverwriteExistingCassetteException):
                    raise underlying from None
                raise ServerError(VENDOR, "HTTPClientError", str(exc)) from exc
            except botocore.exceptions.ParamValidationError as exc:
                raise BadImageError(VENDOR, "ParamValidation", str(exc)) from exc

        return call_with_retry(once, self.retry, self.bucket, self.stats)

    @staticmethod
    def _check_size(image: bytes) -> None:
        if len(image) > MAX_IMAGE_BYTES:
            raise BadImageError(
                VENDOR, "ImageTooLargeException", f"image is {len(image)} bytes; the limit is {MAX_IMAGE_BYTES}"
            )

    def recognize_celebrities(self, image: bytes) -> dict[str, Any]:
        self._check_size(image)
        out = self._call("recognize_celebrities", Image={"Bytes": image})
        if not isinstance(out.get("CelebrityFaces"), list):
            raise VendorError(VENDOR, "MalformedResponse", "RecognizeCelebrities answer has no CelebrityFaces list")
        return out

    def compare_faces(self, source: bytes, target: bytes, similarity_threshold: float = 0.0) -> dict[str, Any]:
        """CompareFaces with ``SimilarityThreshold`` 0 by default (as the study did), so every
        target face comes back with its similarity."""
        self._check_size(source)
        self._check_size(target)
        out = self._call(
            "compare_faces",
            SourceImage={"Bytes": source},
            TargetImage={"Bytes": target},
            SimilarityThreshold=float(similarity_threshold),
        )
        if not isinstance(out.get("FaceMatches"), list):
            raise VendorError(VENDOR, "MalformedResponse", "CompareFaces answer has no FaceMatches list")
        return out


# ----- the one parser of AWS recognition answers ------------------------------------------------------
def parse_recognition(operation: str, body: Any, size: tuple[int, int] | None) -> Recognition:
    """A RecognizeCelebrities answer as a :class:`Recognition` (MatchConfidence is already 0-100);
    UnrecognizedFaces become unnamed faces. ``size``: the image's pixels, for the boxes."""
    if operation != "RecognizeCelebrities":
        raise ValueError(f"aws: {operation} is not a recognition answer")
    faces = [
        RecognizedFace(
            name=str(c["Name"]),
            confidence=float(c["MatchConfidence"]),
            raw_confidence=float(c["MatchConfidence"]),
            box=ratio_box(c.get("Face", {}).get("BoundingBox", {}), size),
            celebrity_id=c.get("Id"),
        )
        for c in body.get("CelebrityFaces", [])
    ]
    faces += [
        RecognizedFace(name=None, confidence=0.0, raw_confidence=0.0, box=ratio_box(u.get("BoundingBox", {}), size))
        for u in body.get("UnrecognizedFaces", [])
    ]
    return Recognition(tuple(faces))


# ----- the vendor interface over the client ---------------------------------------------------------------
class AwsVendor:
    name = "aws"
    supports_similarity = True

    def __init__(self, client: AwsClient | None = None):
        self.client = client or AwsClient()

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    def recognize(self, image: bytes) -> Recognition:
        return parse_recognition("RecognizeCelebrities", self.client.recognize_celebrities(image), image_size(image))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        """Largest face of ``image_a`` (CompareFaces source) against the faces of ``image_b``."""
        out = self.client.compare_faces(image_a, image_b, similarity_threshold=0.0)
        scores = [float(m["Similarity"]) for m in out["FaceMatches"]]
        if not scores:
            if not out.get("UnmatchedFaces"):
                raise BadImageError(self.name, "NoFaceInTarget", "CompareFaces found no face in the target image")
            return 0.0
        return max(scores)


def connect(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> AwsVendor:
    """The AWS backend configured from ``env`` (default: the process environment). Credentials:
    boto3's own chain, or ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in a given ``env``."""
    options = options or ClientOptions()
    settings = aws_settings(env, options)
    session = None
    if env is not None and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            region_name=settings.region,
        )
    retry = policy_for(settings.common.max_attempts, options.sleep)
    return AwsVendor(AwsClient(settings, retry=retry, session=session))


def placeholder_env(base_url: str) -> dict[str, str]:
    """Point the client at ``base_url`` (a mock server, or a cassette's fake host) with placeholder
    credentials: not secrets, the mock servers accept any well-formed credential."""
    return {
        "DFI_AWS_REGION": "us-east-1",
        "DFI_AWS_ENDPOINT_URL": base_url,
        "AWS_ACCESS_KEY_ID": "mock",
        "AWS_SECRET_ACCESS_KEY": "mock",
    }

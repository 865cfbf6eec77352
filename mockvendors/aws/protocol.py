"""Amazon Rekognition's JSON 1.1 protocol: ``POST /`` with ``X-Amz-Target: RekognitionService.<Op>``.

Operations: RecognizeCelebrities, CompareFaces, GetCelebrityInfo. Requests must carry a SigV4-shaped
``Authorization`` header (the signature itself is not checked: any credentials work). Errors are
``{"__type": code, "message": ...}`` with HTTP 400 (500 for InternalServerError), which botocore
turns into ``ClientError`` with ``Error.Code`` = code.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from mockvendors.analysis import ImageAnalysis, sniff_format
from mockvendors.aws import shapes
from mockvendors.aws.blobs import AnswerMemo, Blob, BlobCache, ParsedBodies
from mockvendors.behaviour import MockVendorBehaviour, NoFaceInImage
from mockvendors.errors import ImageRejected
from mockvendors.wire import (
    NeedsPool,
    WireRequest,
    WireResponse,
    inline_only,
    json_body,
    parse_json_object,
    request_id,
)

VENDOR = "aws"
TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # ImageBlob max 5,242,880
RECOGNIZE_MAX_FACES = 64  # RecognizeCelebrities answers for the 64 largest faces (CompareFaces: 100, the profile's)
INLINE_MAX_COSINES = 65_536  # faces x gallery identities above which RecognizeCelebrities is not answered inline
# base64 of a 5 MiB image plus two images for CompareFaces, with JSON overhead
MAX_BODY_BYTES = 2 * (MAX_IMAGE_BYTES * 4 // 3 + 4) + 64 * 1024
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=[^/\s,]+/\d{8}/[a-z0-9-]+/rekognition/aws4_request,\s*"
    r"SignedHeaders=[a-z0-9;-]+,\s*Signature=[0-9a-f]{64}$"
)


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        self.code, self.message, self.status = code, message, status
        super().__init__(f"{code}: {message}")


def error_response(code: str, message: str, status: int = 400, rid: str | None = None) -> WireResponse:
    rid = rid or request_id()
    return WireResponse.json(status, {"__type": code, "message": message}, CONTENT_TYPE,
                             {"x-amzn-RequestId": rid, "x-amzn-ErrorType": f"{code}:"})


def validate_image_bytes(data: bytes) -> None:
    """Rekognition's checks on ``Image.Bytes``. Raises :class:`ImageRejected`."""
    if len(data) < 1:
        raise ImageRejected(VENDOR, "InvalidParameterException",
                            "1 validation error detected: Value at 'image.bytes' failed to satisfy constraint: "
                            "Member must have length greater than or equal to 1")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(VENDOR, "ImageTooLargeException",
                            f"Image size is too large: {len(data)} bytes (the limit is {MAX_IMAGE_BYTES}).",
                            too_large=True)
    if sniff_format(data) not in ("Jpeg", "Png"):  # undecodable bytes fail later, at analysis
        raise ImageRejected(VENDOR, "InvalidImageFormatException", "Request has invalid image format")


_Operation = Callable[[dict[str, Any]], dict[str, Any] | bytes]  # bytes: the answer's JSON, already encoded


class AwsProtocol:
    vendor = VENDOR
    max_body_bytes = MAX_BODY_BYTES
    answers_inline = True  # under wire.answer_inline, NeedsPool before a face model run or a large gallery scan

    def __init__(self, behaviour: MockVendorBehaviour):
        if behaviour.vendor != VENDOR:
            raise ValueError(f"AwsProtocol needs the aws behaviour, got {behaviour.vendor!r}")
        self.behaviour = behaviour
        self._ops: dict[str, _Operation] = {
            "RecognizeCelebrities": self.recognize_celebrities,
            "CompareFaces": self.compare_faces,
            "GetCelebrityInfo": self.get_celebrity_info,
        }
        self._blobs = BlobCache()
        self._params = ParsedBodies(parse_json_object)
        self._compared = AnswerMemo()

    # --- WireProtocol --------------------------------------------------------------------------
    def handle(self, request: WireRequest) -> WireResponse:
        rid = request_id()
        try:
            op = self._route(request)
            params = self._params(request.body)
            if params is None:
                raise AwsError("SerializationException", "Start of structure or map found where not expected, "
                               "or the body is not a JSON object")
            payload = op(params)
        except AwsError as exc:
            return error_response(exc.code, exc.message, exc.status, rid)
        except ImageRejected as exc:
            return error_response(exc.code, exc.message, 400, rid)
        if isinstance(payload, bytes):
            return WireResponse(200, payload, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": rid})
        return WireResponse.json(200, payload, CONTENT_TYPE, {"x-amzn-RequestId": rid})

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse:
        return error_response("ProvisionedThroughputExceededException",
                              "Provisioned rate exceeded. Slow down and retry.")

    def server_error(self, request: WireRequest) -> WireResponse:
        return error_response("InternalServerError", "Amazon Rekognition experienced a service issue "
                              "(injected fault). Try your call again.", 500)

    def internal_error(self, request: WireRequest) -> WireResponse:
        return error_response("InternalServerError", "Amazon Rekognition experienced a service issue "
                              "(internal error of the mock). Try your call again.", 500)

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        return error_response("SerializationException", message, 400)

    def body_too_large(self, request: WireRequest) -> WireResponse:
        return error_response("ImageTooLargeException", "Image size is too large.")

    # --- routing and validation -----------------------------------------------------------------
    def _route(self, request: WireRequest) -> _Operation:
        if request.path != "/":
            raise AwsError("UnknownOperationException", f"No operation at path {request.path[:200]!r}", 404)
        if request.method != "POST":
            raise AwsError("UnknownOperationException", f"Method {request.method[:20]} is not supported", 405)
        if not _AUTH.match(request.headers.get("Authorization", "").strip()):
            raise AwsError("AccessDeniedException",
                           "Missing or malformed Authorization header: expected an AWS Signature Version 4 "
                           "header for the rekognition service")
        target = request.headers.get("X-Amz-Target", "")
        op = self._ops.get(target[len(TARGET_PREFIX):]) if target.startswith(TARGET_PREFIX) else None
        if op is None:
            raise AwsError("UnknownOperationException", f"Unknown or unsupported operation {target[:100]!r}")
        if request.content_type() not in (CONTENT_TYPE, "application/x-amz-json-1.0", "application/json"):
            raise AwsError("SerializationException", f"Content-Type must be {CONTENT_TYPE}")
        return op

    def _image(self, params: dict[str, Any], key: str) -> Blob:
        img = params.get(key)
        if img is None:
            raise AwsError("InvalidParameterException", f"Missing required parameter {key}")
        if not isinstance(img, dict):
            raise AwsError("SerializationException", f"{key} must be a structure")
        if "S3Object" in img:
            if "Bytes" in img:
                raise AwsError("InvalidParameterException", f"{key}: give either Bytes or S3Object, not both")
            raise AwsError("InvalidS3ObjectException", "Unable to get object metadata from S3. Check object key, "
                           "region and/or access permissions. (This mock has no S3: send Image.Bytes.)")
        raw = img.get("Bytes")
        if raw is None:
            raise AwsError("InvalidParameterException", f"{key}: Bytes or S3Object is required")
        if not isinstance(raw, str):
            raise AwsError("SerializationException", f"{key}.Bytes must be a base64 string")
        try:
            blob = self._blobs.decode(raw)
        except (binascii.Error, ValueError):
            raise AwsError("SerializationException", f"{key}.Bytes is not valid base64") from None
        validate_image_bytes(blob.data)
        return blob

    def _analyze(self, blob: Blob) -> ImageAnalysis:
        if inline_only():
            cached = getattr(self.behaviour.analyzer, "cached", None)
            if cached is None or cached(blob.sha256) is None:
                raise NeedsPool
        try:
            return self.behaviour.analyze(blob.data, blob.sha256)
        except ImageTooLargeError:
            raise AwsError("ImageTooLargeException", "Image dimensions are too large.") from None
        except ImageDecodeError:
            raise AwsError("InvalidImageFormatException", "Request has invalid image format") from None

    # --- operations -----------------------------------------------------------------------------
    def recognize_celebrities(self, params: dict[str, Any]) -> dict[str, Any]:
        image = self._analyze(self._image(params, "Image"))
        if inline_only() and \
                min(len(image.faces), RECOGNIZE_MAX_FACES) * len(self.behaviour.gallery) > INLINE_MAX_COSINES:
            raise NeedsPool
        result = self.behaviour.recognize_analysis(replace(image, faces=image.faces[:RECOGNIZE_MAX_FACES]))
        return {
            "CelebrityFaces": [shapes.celebrity(m, image) for m in result.faces if m.named],
            "UnrecognizedFaces": [shapes.compared_face(m.face, image) for m in result.faces if not m.named],
        }

    def compare_faces(self, params: dict[str, Any]) -> bytes:
        threshold = params.get("SimilarityThreshold", self.behaviour.similarity_call().threshold)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 100:
            raise AwsError("InvalidParameterException", "SimilarityThreshold must be a number from 0 to 100")
        qf = params.get("QualityFilter", "NONE")
        if qf not in ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH"):
            raise AwsError("InvalidParameterException", "QualityFilter must be NONE, AUTO, LOW, MEDIUM or HIGH")
        source = self._image(params, "SourceImage")
        target = self._image(params, "TargetImage")
        src, tgt = self._analyze(source), self._analyze(target)
        memo_key = ((src, tgt, self.behaviour.profile), (threshold,))
        answer = self._compared.get(*memo_key)
        if answer is None:
            answer = json_body(self._compare(source, target, src, tgt, threshold))
            self._compared.put(*memo_key, answer)
        return answer

    def _compare(self, source: Blob, target: Blob, src: ImageAnalysis, tgt: ImageAnalysis,
                 threshold: float) -> dict[str, Any]:
        try:
            cmp = self.behaviour.compare(source.data, target.data)
        except NoFaceInImage:
            raise AwsError("InvalidParameterException", "Request has invalid parameters: no face was "
                           "detected in the source image") from None
        matches: list[dict[str, Any]] = []
        unmatched: list[dict[str, Any]] = []
        for face, sim in zip(tgt.faces, cmp.similarities):
            if sim >= threshold:
                matches.append({"Similarity": float(min(100.0, max(0.0, sim))),
                                "Face": shapes.compared_face(face, tgt)})
            else:
                unmatched.append(shapes.compared_face(face, tgt))
        matches.sort(key=lambda m: -m["Similarity"])
        return {
            "SourceImageFace": {"BoundingBox": shapes.bounding_box(cmp.source_face, src),
                                "Confidence": float(min(100.0, cmp.source_face.score * 100.0))},
            "FaceMatches": matches,
            "UnmatchedFaces": unmatched,
        }

    def get_celebrity_info(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = params.get("Id")
        if not isinstance(cid, str) or not re.fullmatch(r"[0-9A-Za-z]+", cid):
            raise AwsError("InvalidParameterException", "Id must be a non-empty string of [0-9A-Za-z]")
        ident = self.behaviour.gallery.by_id(cid)
        if ident is None or not self.behaviour.known[self.behaviour.gallery.identities.index(ident)]:
            raise AwsError("ResourceNotFoundException", f"The celebrity {cid} was not found.")
        return {"Urls": list(ident.urls), "Name": ident.name, "KnownGender": shapes.known_gender(ident)}

"""Naver Clova Face Recognition (CFR), celebrity look-alike: ``POST /v1/vision/celebrity``.

Two front doors, as the service had them:
- NAVER Developers (``openapi.naver.com``): ``POST /v1/vision/celebrity`` with ``X-Naver-Client-Id``
  and ``X-Naver-Client-Secret``; errors ``{"errorMessage", "errorCode"}``;
- NAVER Cloud Platform API gateway (``naveropenapi.apigw.ntruss.com``): ``POST /vision/v1/celebrity``
  with ``X-NCP-APIGW-API-KEY-ID`` and ``X-NCP-APIGW-API-KEY``; gateway errors
  ``{"error": {"errorCode", "message", "details"}}``.
The body is ``multipart/form-data`` with the image in field ``image`` (at most 2 MB), in at most
MAX_PARTS (16) parts: the API needs one, and a body of more is refused with ER01 before it is parsed
(the stdlib parser took 25 s on 100,000 empty parts in 0.9 MB, stalling the other vendors). The answer is
``{"info": {"size": {"width", "height"}, "faceCount"}, "faces": [{"celebrity": {"value", "confidence"}}]}``:
every detected face gets its best look-alike, however low the confidence.

No recorded Naver traffic is public (the service is shut down); the CFR error codes (ER01 bad
input, ER02 over the size limit, ER03 unsupported format, ER99 internal) and messages follow the
documentation as we know it and are the least certain part of this mock.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from mockvendors.analysis import sniff_format
from mockvendors.behaviour import MockVendorBehaviour
from mockvendors.errors import ImageRejected
from mockvendors.wire import WireRequest, WireResponse

VENDOR = "nav"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_BODY_BYTES = MAX_IMAGE_BYTES + 64 * 1024
OPENAPI_PATH = "/v1/vision/celebrity"
GATEWAY_PATH = "/vision/v1/celebrity"
MAX_PARTS = 16  # multipart parts in one request; the API needs one (``image``)


class NaverError(Exception):
    def __init__(self, status: int, code: str, message: str, gateway_details: str | None = None):
        self.status, self.code, self.message, self.gateway_details = status, code, message, gateway_details
        super().__init__(f"{status} {code}: {message}")


def _is_gateway(request: WireRequest) -> bool:
    return request.path.rstrip("/") == GATEWAY_PATH


def error_response(request: WireRequest, status: int, code: str, message: str,
                   gateway_details: str | None = None, headers: dict[str, str] | None = None) -> WireResponse:
    if gateway_details is not None and _is_gateway(request):
        payload: dict[str, Any] = {"error": {"errorCode": code, "message": message, "details": gateway_details}}
    else:
        payload = {"errorMessage": message, "errorCode": code}
    return WireResponse.json(status, payload, headers=headers)


def validate_image(data: bytes) -> None:
    """CFR's checks on the uploaded image. Raises ImageRejected; undecodable bytes fail at analysis."""
    if not data:
        raise ImageRejected(VENDOR, "ER01", "Invalid parameter: the image is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(VENDOR, "ER02", "Image size exceeds the 2MB limit.", too_large=True)
    if sniff_format(data) not in ("Jpeg", "Png", "Gif", "Bmp"):
        raise ImageRejected(VENDOR, "ER03", "Unsupported image format (use JPG, PNG, GIF or BMP).")


class TooManyParts(ValueError):
    """The multipart body has more than MAX_PARTS parts."""


def _boundary(content_type_header: str) -> str | None:
    try:
        head = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type_header.encode("latin-1") + b"\r\n\r\n")
    except (UnicodeEncodeError, ValueError, TypeError, IndexError):
        return None
    return head.get_boundary()


def count_parts(content_type_header: str, body: bytes, limit: int = MAX_PARTS) -> int:
    """How many parts the body's boundary delimits, counting no further than ``limit + 1``: a scan
    for the delimiter, which stops as soon as the limit is passed (not a parse)."""
    boundary = _boundary(content_type_header)
    if not boundary:
        return 0
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    found, at = 0, body.find(delimiter)
    while at >= 0 and found <= limit + 1:  # n parts have n + 1 delimiters (the last one closes)
        found += 1
        at = body.find(delimiter, at + len(delimiter))
    return max(0, found - 1)


def multipart_field(content_type_header: str, body: bytes, name: str) -> bytes | None:
    """The bytes of form field ``name`` in a multipart/form-data body, or None if absent/malformed.

    Raises :class:`TooManyParts` for a body of more than MAX_PARTS parts, without parsing it."""
    if count_parts(content_type_header, body) > MAX_PARTS:
        raise TooManyParts(f"more than {MAX_PARTS} multipart parts")
    try:
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type_header.encode("latin-1") + b"\r\n\r\n" + body)
    except (UnicodeEncodeError, ValueError, TypeError, IndexError):
        return None
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


class NaverProtocol:
    vendor = VENDOR
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, behaviour: MockVendorBehaviour):
        if behaviour.vendor != VENDOR:
            raise ValueError(f"NaverProtocol needs the nav behaviour, got {behaviour.vendor!r}")
        self.behaviour = behaviour

    def handle(self, request: WireRequest) -> WireResponse:
        try:
            return self.celebrity(request)
        except NaverError as exc:
            return error_response(request, exc.status, exc.code, exc.message, exc.gateway_details)

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse:
        secs = str(max(1, int(retry_after_s + 0.999)))
        return error_response(request, 429, "429" if _is_gateway(request) else "012",
                              "Too Many Requests" if _is_gateway(request) else
                              "Rate limit exceeded. (속도 제한을 초과했습니다.)",
                              "Rate limit exceeded.", headers={"Retry-After": secs})

    def server_error(self, request: WireRequest) -> WireResponse:
        return error_response(request, 500, "ER99", "Internal server error (injected fault).")

    def internal_error(self, request: WireRequest) -> WireResponse:
        return error_response(request, 500, "ER99", "Internal server error (internal error of the mock).")

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        return error_response(request, 400, "ER01", message)

    def body_too_large(self, request: WireRequest) -> WireResponse:
        return error_response(request, 400, "ER02", "Image size exceeds the 2MB limit.")

    def _check_route_and_auth(self, request: WireRequest) -> None:
        path = request.path.rstrip("/")
        if path not in (OPENAPI_PATH, GATEWAY_PATH):
            raise NaverError(404, "404", "API not found: the requested URL does not exist.", "Not Found")
        if request.method != "POST":
            raise NaverError(405, "405", "Method not allowed: use POST.", "Method Not Allowed")
        h = request.headers
        if path == GATEWAY_PATH:
            if not (h.get("X-NCP-APIGW-API-KEY-ID", "").strip() and h.get("X-NCP-APIGW-API-KEY", "").strip()):
                raise NaverError(401, "200", "Authentication Failed", "Invalid authentication information.")
        elif not (h.get("X-Naver-Client-Id", "").strip() and h.get("X-Naver-Client-Secret", "").strip()):
            raise NaverError(401, "024", "Authentication failed. (인증에 실패했습니다.)")

    def celebrity(self, request: WireRequest) -> WireResponse:
        self._check_route_and_auth(request)
        ctype = request.headers.get("Content-Type", "")
        if request.content_type() != "multipart/form-data":
            raise NaverError(400, "ER01", "Invalid parameter: send multipart/form-data with the field 'image'.")
        try:
            data = multipart_field(ctype, request.body, "image")
        except TooManyParts:
            raise NaverError(400, "ER01", f"Invalid parameter: more than {MAX_PARTS} multipart parts; "
                                          "send the one field 'image'.") from None
        if data is None:
            raise NaverError(400, "ER01", "Invalid parameter: the multipart field 'image' is missing.")
        try:
            validate_image(data)
        except ImageRejected as exc:
            raise NaverError(400, exc.code, exc.message) from None
        try:
            image = self.behaviour.analyze(data)
        except (ImageDecodeError, ImageTooLargeError):
            raise NaverError(400, "ER03", "Unsupported image format (the image cannot be decoded).") from None
        result = self.behaviour.recognize_analysis(image)
        faces = [{"celebrity": {"value": m.identity.name, "confidence": float(m.confidence)}}
                 for m in result.faces if m.identity is not None]  # identity is ``best`` exactly when named
        payload = {"info": {"size": {"width": image.width, "height": image.height}, "faceCount": len(faces)},
                   "faces": faces}
        return WireResponse.json(200, payload)

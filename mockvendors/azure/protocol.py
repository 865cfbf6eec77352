"""Azure Computer Vision celebrities model and Face detect / verify / find-similar.

Routes (POST):
- ``/vision/v3.{0,1,2}/models/celebrities/analyze`` - image as ``application/octet-stream``;
  a JSON ``{"url": ...}`` body is refused with the recorded InvalidImageUrl error (the mock never
  fetches URLs);
- ``/face/{version}/detect`` (``version``: one of FACE_API_VERSIONS - ``v1.0``, ``v1.0-preview``,
  ``v1.1-preview.1``, ``v1.2-preview.1`` (the default of the ``azure-ai-vision-face`` SDK), ``v1.2``) -
  ``returnFaceId`` (default true); face ids are kept server-side for ``faceIdTimeToLive`` seconds
  (60-86400, default 86400), at most 200,000 of them (the oldest are dropped first, see FaceStore);
- ``/face/{version}/verify`` ``{"faceId1", "faceId2"}`` -> ``{"isIdentical", "confidence"}``;
- ``/face/{version}/findsimilars`` ``{"faceId", "faceIds", "maxNumOfCandidatesReturned", "mode"}``.

Every request needs a non-empty ``Ocp-Apim-Subscription-Key`` (401 otherwise). Shapes and key
order follow the real recordings (Azure SDK session records); errors are
``{"error": {"code", "message"}}`` (Computer Vision adds ``innererror`` as recorded).
"""

from __future__ import annotations

import heapq
import re
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from mockvendors.analysis import FaceAnalysis, ImageAnalysis, sniff_format
from mockvendors.behaviour import MockVendorBehaviour
from mockvendors.errors import ImageRejected
from mockvendors.wire import WireRequest, WireResponse, parse_json_object, request_id

VENDOR = "ms"
CV_MAX_BYTES = 4 * 1024 * 1024  # Computer Vision: < 4 MB
FACE_MIN_BYTES, FACE_MAX_BYTES = 1024, 6 * 1024 * 1024  # Face: 1 KB - 6 MB
MAX_BODY_BYTES = FACE_MAX_BYTES + 64 * 1024
MODEL_VERSION = "2021-04-01"
DETECT_MAX_FACES = 100  # Face detect answers for the 100 largest faces
_CV_PATH = re.compile(r"^/vision/v3\.[012]/models/celebrities/analyze/?$", re.I)
# Face API versions: v1.0 (the REST API, azure-cognitiveservices-vision-face), v1.0-preview, and the ones
# azure-ai-vision-face 1.0.0b2 sends (its default v1.2-preview.1, v1.1-preview.1) plus GA v1.2. Detect,
# verify and find-similar have the same query parameters, bodies and answers at all of them.
FACE_API_VERSIONS = ("v1.0", "v1.0-preview", "v1.1-preview.1", "v1.2-preview.1", "v1.2")
_FACE_PATH = re.compile(r"^/face/(" + "|".join(re.escape(v) for v in FACE_API_VERSIONS)
                        + r")/(detect|verify|findsimilars)/?$", re.I)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
AUTH_MESSAGE = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription and use a correct regional API endpoint for your resource.")


class AzureError(Exception):
    def __init__(self, status: int, code: str, message: str, inner_code: str | None = None):
        self.status, self.code, self.message, self.inner_code = status, code, message, inner_code
        super().__init__(f"{status} {code}: {message}")


def error_response(status: int, code: str, message: str, inner_code: str | None = None,
                   headers: dict[str, str] | None = None) -> WireResponse:
    if inner_code:  # Computer Vision v3.x: {"error": {"code", "innererror": {"code", "message"}, "message"}}
        err = {"code": code, "innererror": {"code": inner_code, "message": message}, "message": message}
    else:
        err = {"code": code, "message": message}
    h = {"apim-request-id": request_id()}
    h.update(headers or {})
    return WireResponse.json(status, {"error": err}, headers=h)


def validate_cv_image(data: bytes, size: tuple[int, int] | None = None) -> None:
    """Computer Vision's checks on an uploaded image (``size``: its decoded width, height, when known).
    Raises ImageRejected. Undecodable bytes fail later, at analysis."""
    if len(data) > CV_MAX_BYTES:
        raise ImageRejected(VENDOR, "InvalidImageSize", "The input image is too large.", too_large=True)
    if sniff_format(data) not in ("Jpeg", "Png", "Gif", "Bmp"):
        raise ImageRejected(VENDOR, "InvalidImageFormat", "Input data is not a valid image.")
    if size is not None and (min(size) < 50 or max(size) > 16000):
        raise ImageRejected(VENDOR, "InvalidImageDimension", "The input image dimensions are out of range.")


def validate_face_image(data: bytes, size: tuple[int, int] | None = None) -> None:
    """Face API's checks on an uploaded image (``size`` as for validate_cv_image). Raises ImageRejected."""
    if len(data) < FACE_MIN_BYTES:
        raise ImageRejected(VENDOR, "InvalidImageSize", "Image size is too small.")
    if len(data) > FACE_MAX_BYTES:
        raise ImageRejected(VENDOR, "InvalidImageSize", "Image size is too big.", too_large=True)
    if sniff_format(data) not in ("Jpeg", "Png", "Gif", "Bmp"):
        raise ImageRejected(VENDOR, "InvalidImage", "Decoding error, image format unsupported.")
    if size is not None and (min(size) < 36 or max(size) > 4096):
        raise ImageRejected(VENDOR, "InvalidImageSize", "Image dimensions are out of range (36x36 to 4096x4096).")


class FaceStore:
    """faceId -> embedding, kept until its time to live runs out (as the Face service does).

    At most ``max_entries`` ids are kept (the real service has no documented cap; this one bounds
    the mock's memory): when full, the ids already expired go first, then the oldest stored ids,
    which then answer FaceNotFound as expired ones do. Storing, lookup and expiry are O(1) amortised
    (expiry O(log n)): ``_faces`` keeps insertion order, ``_expiry`` is a heap of (expiry, faceId)
    whose stale entries (ids already evicted) are skipped, and rebuilt when it grows past twice the
    store. A full scan of the store on every new id once it was full took detect from ~1,000 to
    1-3 requests/s."""

    def __init__(self, max_entries: int = 200_000):
        self._faces: OrderedDict[str, tuple[Any, float]] = OrderedDict()  # insertion order: oldest first
        self._expiry: list[tuple[float, str]] = []  # min-heap; may hold entries of ids no longer stored
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def __len__(self) -> int:
        return len(self._faces)

    def _drop_expired(self, now: float) -> None:
        heap, faces = self._expiry, self._faces
        while heap and heap[0][0] <= now:
            _, fid = heapq.heappop(heap)
            hit = faces.get(fid)
            if hit is not None and hit[1] <= now:
                del faces[fid]

    def add(self, embedding: Any, ttl_s: float) -> str:
        fid = str(uuid.uuid4())
        now = time.monotonic()
        expires = now + ttl_s
        with self._lock:
            if len(self._faces) >= self.max_entries:
                self._drop_expired(now)
                while len(self._faces) >= self.max_entries:
                    self._faces.popitem(last=False)
            self._faces[fid] = (embedding, expires)
            heapq.heappush(self._expiry, (expires, fid))
            if len(self._expiry) > 2 * max(self.max_entries, 1024):  # stale entries of evicted ids
                self._expiry = [(exp, k) for k, (_, exp) in self._faces.items()]
                heapq.heapify(self._expiry)
        return fid

    def get(self, fid: str) -> Any | None:
        with self._lock:
            hit = self._faces.get(fid.lower())
            if hit is None:
                return None
            if hit[1] <= time.monotonic():
                del self._faces[fid.lower()]
                return None
            return hit[0]


def _face_rectangle_cv(face: FaceAnalysis) -> dict[str, int]:
    x1, y1, x2, y2 = face.box
    return {"left": int(round(x1)), "top": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}


def _face_rectangle_face(face: FaceAnalysis) -> dict[str, int]:
    r = _face_rectangle_cv(face)
    return {"top": r["top"], "left": r["left"], "width": r["width"], "height": r["height"]}


def _bool_param(value: str | None, name: str, default: bool) -> bool:
    if value is None:
        return default
    v = value.strip().lower()
    if v in ("true", "false"):
        return v == "true"
    raise AzureError(400, "BadArgument", f"Invalid argument {name}: expected true or false.")


class AzureProtocol:
    vendor = VENDOR
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, behaviour: MockVendorBehaviour):
        if behaviour.vendor != VENDOR:
            raise ValueError(f"AzureProtocol needs the ms behaviour, got {behaviour.vendor!r}")
        self.behaviour = behaviour
        self.faces = FaceStore()

    # --- WireProtocol --------------------------------------------------------------------------
    def handle(self, request: WireRequest) -> WireResponse:
        try:
            return self._dispatch(request)
        except AzureError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.inner_code)

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse:
        secs = max(1, int(retry_after_s + 0.999))
        return error_response(429, "429", f"Rate limit is exceeded. Try again in {secs} seconds.",
                              headers={"Retry-After": str(secs)})

    def server_error(self, request: WireRequest) -> WireResponse:
        return error_response(500, "InternalServerError", "An internal server error occurred (injected fault).")

    def internal_error(self, request: WireRequest) -> WireResponse:
        return error_response(500, "InternalServerError", "An internal server error occurred (internal error of "
                              "the mock).")

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        return error_response(400, "BadArgument", message)

    def body_too_large(self, request: WireRequest) -> WireResponse:
        if _CV_PATH.match(request.path):
            return error_response(400, "InvalidArgument", "The input image is too large.", "InvalidImageSize")
        return error_response(400, "InvalidImageSize", "Image size is too big.")

    # --- routing -------------------------------------------------------------------------------
    def _dispatch(self, request: WireRequest) -> WireResponse:
        cv = _CV_PATH.match(request.path)
        face = _FACE_PATH.match(request.path)
        if not cv and not face:
            raise AzureError(404, "404", "Resource not found")
        if not request.headers.get("Ocp-Apim-Subscription-Key", "").strip():
            raise AzureError(401, "401", AUTH_MESSAGE)
        if request.method != "POST":
            raise AzureError(405, "405", f"The HTTP method {request.method[:20]} is not supported on this resource.")
        if cv:
            return self.analyze_celebrities(request)
        assert face is not None  # one of the two paths matched
        op = face.group(2).lower()
        return {"detect": self.detect, "verify": self.verify, "findsimilars": self.find_similars}[op](request)

    def _octet_image(self, request: WireRequest, inner: bool) -> bytes:
        ctype = request.content_type()
        if ctype == "application/json":
            body = parse_json_object(request.body)
            if body is None or not isinstance(body.get("url"), str):
                if inner:
                    raise AzureError(400, "InvalidArgument", "JSON parsing error: a JSON body needs a \"url\" string.",
                                     "InvalidImageUrl")
                raise AzureError(400, "InvalidURL", "Invalid image URL.")
            msg = ("Image URL is not accessible. (This mock never downloads images: send the image bytes as "
                   "application/octet-stream.)")
            if inner:
                raise AzureError(400, "InvalidArgument", msg, "InvalidImageUrl")
            raise AzureError(400, "InvalidURL", "Failed to download image from the specified URL. (This mock never "
                             "downloads images: send the image bytes as application/octet-stream.)")
        if ctype != "application/octet-stream":
            msg = "Supported media types: application/octet-stream, application/json."
            if inner:
                raise AzureError(415, "InvalidRequest", msg, "UnsupportedMediaType")
            raise AzureError(415, "BadArgument", f"Invalid Media Type. {msg}")
        return request.body

    def _analyze(self, data: bytes, inner: bool) -> ImageAnalysis:
        try:
            return self.behaviour.analyze(data)
        except ImageTooLargeError:
            if inner:
                raise AzureError(400, "InvalidArgument", "The input image dimensions are out of range.",
                                 "InvalidImageDimension") from None
            raise AzureError(400, "InvalidImageSize", "Image dimensions are out of range.") from None
        except ImageDecodeError:
            if inner:
                raise AzureError(400, "InvalidArgument", "Input data is not a valid image.",
                                 "InvalidImageFormat") from None
            raise AzureError(400, "InvalidImage", "Decoding error, image format unsupported.") from None

    # --- Computer Vision celebrities ----------------------------------------------------------
    def analyze_celebrities(self, request: WireRequest) -> WireResponse:
        version = request.query.get("model-version", "latest")
        if version not in ("latest", MODEL_VERSION):
            raise AzureError(400, "InvalidArgument", f"Model version {version[:40]!r} is not supported; use "
                             f"'latest' or '{MODEL_VERSION}'.", "UnsupportedModelVersion")
        data = self._octet_image(request, inner=True)
        try:
            validate_cv_image(data)
        except ImageRejected as exc:
            raise AzureError(400, "InvalidArgument", exc.message, exc.code) from None
        image = self._analyze(data, inner=True)
        try:
            validate_cv_image(data, (image.width, image.height))
        except ImageRejected as exc:
            raise AzureError(400, "InvalidArgument", exc.message, exc.code) from None
        result = self.behaviour.recognize_analysis(image)
        rid = request_id()
        payload = {
            "result": {"celebrities": [
                {"name": m.identity.name, "confidence": float(m.confidence),
                 "faceRectangle": _face_rectangle_cv(m.face)}
                for m in result.faces if m.identity is not None  # identity is set exactly when named
            ]},
            "requestId": rid,
            "metadata": {"height": image.height, "width": image.width, "format": image.format},
            "modelVersion": MODEL_VERSION,
        }
        return WireResponse.json(200, payload, headers={
            "apim-request-id": rid,
            "csp-billing-usage": "CognitiveServices.ComputerVision.Celebrities=1,"
                                 "CognitiveServices.ComputerVision.Transaction=1"})

    # --- Face ----------------------------------------------------------------------------------
    def detect(self, request: WireRequest) -> WireResponse:
        q = request.query
        return_id = _bool_param(q.get("returnFaceId"), "returnFaceId", True)
        if _bool_param(q.get("returnFaceLandmarks"), "returnFaceLandmarks", False):
            raise AzureError(400, "BadArgument", "returnFaceLandmarks=true is not supported by this mock.")
        attrs = [a for a in (q.get("returnFaceAttributes") or "").split(",") if a.strip()]
        if any(a.strip() != "headPose" for a in attrs):
            raise AzureError(400, "BadArgument", "Only the headPose face attribute is supported by this mock.")
        rec_model = q.get("recognitionModel", "recognition_01")
        if rec_model not in ("recognition_01", "recognition_02", "recognition_03", "recognition_04"):
            raise AzureError(400, "BadArgument", "Invalid argument recognitionModel.")
        if q.get("detectionModel", "detection_01") not in ("detection_01", "detection_02", "detection_03"):
            raise AzureError(400, "BadArgument", "Invalid argument detectionModel.")
        return_model = _bool_param(q.get("returnRecognitionModel"), "returnRecognitionModel", False)
        try:
            ttl = int(q.get("faceIdTimeToLive", "86400"))
        except ValueError:
            ttl = -1
        if not 60 <= ttl <= 86400:
            raise AzureError(400, "BadArgument", "Invalid argument faceIdTimeToLive: must be 60 to 86400 seconds.")
        data = self._octet_image(request, inner=False)
        try:
            validate_face_image(data)
        except ImageRejected as exc:
            raise AzureError(400, exc.code, exc.message) from None
        image = self._analyze(data, inner=False)
        try:
            validate_face_image(data, (image.width, image.height))
        except ImageRejected as exc:
            raise AzureError(400, exc.code, exc.message) from None
        out = []
        for f in image.faces[: min(self.behaviour.profile.max_faces, DETECT_MAX_FACES)]:
            item: dict[str, Any] = {}
            if return_id:
                item["faceId"] = self.faces.add(f.embedding, ttl)
            item["faceRectangle"] = _face_rectangle_face(f)
            if return_model:
                item["recognitionModel"] = rec_model
            if attrs:
                roll, yaw, pitch = f.pose
                item["faceAttributes"] = {"headPose": {"pitch": round(pitch, 1), "roll": round(roll, 1),
                                                       "yaw": round(yaw, 1)}}
            out.append(item)
        return WireResponse.json(200, out, headers={"apim-request-id": request_id(),
                                                    "CSP-Billing-Usage": "CognitiveServices.Face.Transaction=1"})

    def _json_body(self, request: WireRequest) -> dict[str, Any]:
        if request.content_type() != "application/json":
            raise AzureError(415, "BadArgument", "Invalid Media Type. Send application/json.")
        body = parse_json_object(request.body)
        if body is None:
            raise AzureError(400, "BadArgument", "Request body is invalid.")
        return body

    def _face(self, value: Any, name: str) -> Any:
        if not isinstance(value, str) or not _UUID.match(value):
            raise AzureError(400, "BadArgument", f"Invalid argument {name}: a faceId (GUID) is required.")
        emb = self.faces.get(value)
        if emb is None:
            raise AzureError(404, "FaceNotFound", f"Face {value} is not found or has expired.")
        return emb

    def verify(self, request: WireRequest) -> WireResponse:
        body = self._json_body(request)
        if "personId" in body or "personGroupId" in body or "largePersonGroupId" in body:
            raise AzureError(400, "BadArgument", "Verification against a person group is not supported by this mock.")
        a, b = self._face(body.get("faceId1"), "faceId1"), self._face(body.get("faceId2"), "faceId2")
        sim = self.behaviour.similarity_call()
        conf = round(float(self.behaviour.similarity_embeddings(a, b)[0]), 5)
        return WireResponse.json(200, {"isIdentical": bool(conf >= sim.threshold), "confidence": conf},
                                 headers={"apim-request-id": request_id()})

    def find_similars(self, request: WireRequest) -> WireResponse:
        import numpy as np

        body = self._json_body(request)
        if any(k in body for k in ("faceListId", "largeFaceListId")):
            raise AzureError(400, "BadArgument", "Face lists are not supported by this mock; use faceIds.")
        query = self._face(body.get("faceId"), "faceId")
        ids = body.get("faceIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
            raise AzureError(400, "BadArgument", "Invalid argument faceIds: a list of 1 to 1000 faceIds is required.")
        top = body.get("maxNumOfCandidatesReturned", 20)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            raise AzureError(400, "BadArgument", "Invalid argument maxNumOfCandidatesReturned: 1 to 1000.")
        mode = body.get("mode", "matchPerson")
        if mode not in ("matchPerson", "matchFace"):
            raise AzureError(400, "BadArgument", "Invalid argument mode: matchPerson or matchFace.")
        cands = [(fid, self._face(fid, "faceIds")) for fid in ids]
        conf = self.behaviour.similarity_embeddings(np.broadcast_to(query, (len(cands), len(query))),
                                                    np.stack([c[1] for c in cands]))
        threshold = self.behaviour.similarity_call().threshold if mode == "matchPerson" else -1.0
        ranked = sorted(((round(float(c), 5), fid) for (fid, _), c in zip(cands, conf)), key=lambda t: -t[0])
        out = [{"faceId": fid, "confidence": c} for c, fid in ranked if c >= threshold][:top]
        return WireResponse.json(200, out, headers={"apim-request-id": request_id()})

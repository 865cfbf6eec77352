"""The toy vendor's wire protocol over its mock behaviour."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from harness.faces.types import ImageDecodeError, ImageTooLargeError
from mockvendors.behaviour import MockVendorBehaviour, NoFaceInImage
from mockvendors.errors import ImageRejected
from mockvendors.wire import WireRequest, WireResponse


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> WireResponse:
    return WireResponse.json(status, {"error": {"code": code, "message": message}}, headers=headers)


class ToyProtocol:
    vendor = "toy"
    max_body_bytes = 4 * 1024 * 1024

    def __init__(self, behaviour: MockVendorBehaviour):
        self.behaviour = behaviour

    def _analysis(self, image: bytes) -> Any:
        from support.toyvendor import INPROCESS

        INPROCESS.check_image(image)
        return self.behaviour.analyze(image)

    def handle(self, request: WireRequest) -> WireResponse:
        if not request.headers.get("X-Toy-Api-Key"):
            return _error(401, "Unauthorized", "X-Toy-Api-Key is missing")
        try:
            if request.method == "POST" and request.path == "/toy/v1/recognize":
                result = self.behaviour.recognize_analysis(self._analysis(request.body))
                faces = [{"name": m.best.name if m.named else None, "score": float(m.confidence),
                          "box": [float(x) for x in m.face.box]} for m in result.faces]
                return WireResponse.json(200, {"faces": faces})
            if request.method == "POST" and request.path == "/toy/v1/similarity":
                payload = json.loads(request.body)
                a, b = base64.b64decode(payload["a"], validate=True), base64.b64decode(payload["b"], validate=True)
                self._analysis(a), self._analysis(b)
                return WireResponse.json(200, {"similarity": round(self.behaviour.similarity(a, b), 4)})
        except (ImageRejected, ImageDecodeError, ImageTooLargeError) as exc:
            return _error(400, "BadImage", str(exc))
        except NoFaceInImage as exc:
            return _error(400, "NoFace", str(exc))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            return _error(400, "BadRequest", f"{type(exc).__name__}: {exc}")
        return _error(404, "NotFound", f"no route {request.method} {request.path}")

    def throttled(self, request: WireRequest, retry_after_s: float) -> WireResponse:
        return _error(429, "SlowDown", "rate exceeded", {"Retry-After": str(max(1, round(retry_after_s)))})

    def server_error(self, request: WireRequest) -> WireResponse:
        return _error(500, "InternalError", "injected fault")

    def body_too_large(self, request: WireRequest) -> WireResponse:
        return _error(413, "BadImage", "body too large")

    def bad_http(self, request: WireRequest, status: int, message: str) -> WireResponse:
        return _error(status, "BadRequest", message)

"""The toy vendor's client, adapter, response parser and cassette key rule."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

import requests

from harness.cassettes.keys import CallKey, sha256
from harness.clients import http
from harness.clients.config import ClientOptions, MissingCredentialError, common_settings
from harness.clients.retry import CallStats, call_with_retry, policy_for
from harness.ratelimit import TokenBucket
from harness.vendors.base import BadImageError, Recognition, RecognizedFace

VENDOR = "toy"


def parse_recognition(operation: str, body: Any, size: tuple[int, int] | None = None) -> Recognition:
    if operation != "Recognize":
        raise ValueError(f"toy: {operation} is not a recognition answer")
    faces = []
    for f in body["faces"]:
        box = tuple(float(x) for x in f["box"]) if f.get("box") else None
        if f.get("name"):
            faces.append(RecognizedFace(str(f["name"]), float(f["score"]) * 100.0, float(f["score"]), box))  # type: ignore[arg-type]
        else:
            faces.append(RecognizedFace(None, 0.0, 0.0, box))  # type: ignore[arg-type]
    return Recognition(tuple(faces))


class ToyVendor:
    name = VENDOR
    supports_similarity = True

    def __init__(self, endpoint: str, key: str, options: ClientOptions, env: Mapping[str, str]):
        self.endpoint, self.key = endpoint.rstrip("/"), key
        self.common = common_settings(VENDOR, env, options)
        self.bucket = TokenBucket(self.common.rate.per_second, self.common.rate.burst)
        self.retry = policy_for(self.common.max_attempts, options.sleep)
        self.session = requests.Session()
        self.stats = CallStats()

    def _post(self, path: str, what: str, **kwargs: Any) -> Any:
        url = self.endpoint + path

        def once() -> Any:
            r = http.post(self.session, VENDOR, url, self.common.timeout_s,
                          headers={"X-Toy-Api-Key": self.key, **kwargs.pop("headers", {})}, **kwargs)
            if r.status_code >= 300:
                try:
                    err = r.json()["error"]
                    code, message = str(err["code"]), str(err["message"])
                except (ValueError, KeyError, TypeError):
                    code, message = "", r.text[:200]
                raise http.error_for_status(VENDOR, r, code, message, frozenset({"BadImage", "NoFace"}),
                                            frozenset({"SlowDown"}))
            return http.json_body(VENDOR, r, lambda d: isinstance(d, dict), what)

        return call_with_retry(once, self.retry, self.bucket, self.stats)

    def recognize(self, image: bytes) -> Recognition:
        body = self._post("/toy/v1/recognize", "recognize", data=image,
                          headers={"Content-Type": "application/octet-stream"})
        return parse_recognition("Recognize", body)

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        payload = {"a": base64.b64encode(image_a).decode(), "b": base64.b64encode(image_b).decode()}
        body = self._post("/toy/v1/similarity", "similarity", json=payload)
        if "similarity" not in body:
            raise BadImageError(VENDOR, "MalformedResponse", "no similarity in the answer")
        return float(body["similarity"]) * 100.0


def connect(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> ToyVendor:
    env = os.environ if env is None else env
    endpoint, key = env.get("DFI_TOY_ENDPOINT"), env.get("DFI_TOY_KEY")
    if not endpoint or not key:
        raise MissingCredentialError(VENDOR, ["DFI_TOY_ENDPOINT", "DFI_TOY_KEY"])
    return ToyVendor(endpoint, key, options or ClientOptions(), env)


def placeholder_env(base_url: str) -> dict[str, str]:
    return {"DFI_TOY_ENDPOINT": base_url, "DFI_TOY_KEY": "mock"}


def cassette_key(request: Any, body: bytes) -> CallKey | None:
    path = request.path or "/"
    if path.endswith("/toy/v1/recognize"):
        return CallKey(VENDOR, "Recognize", (sha256(body),))
    if path.endswith("/toy/v1/similarity"):
        try:
            payload = json.loads(body)
            return CallKey(VENDOR, "Similarity", tuple(sha256(base64.b64decode(payload[k])) for k in ("a", "b")))
        except (ValueError, KeyError, TypeError):
            return CallKey(VENDOR, "Similarity", ("unparsable:" + sha256(body),))
    return None

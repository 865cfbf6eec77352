"""Route boto3's Rekognition calls to the mock without a server (as moto does, via botocore events).

    from mockvendors.aws import mock_rekognition

    with mock_rekognition(gallery="celebs/"):          # or @mock_rekognition() on a test
        rek = boto3.client("rekognition", region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        rek.recognize_celebrities(Image={"Bytes": photo})

A ``before-send`` handler is registered for Rekognition on every botocore session (added to
botocore's built-in handlers when this module is imported, plus the current boto3 default session).
While a ``mock_rekognition`` is active it answers the signed request with the same code as the HTTP
server (:class:`mockvendors.aws.protocol.AwsProtocol`); otherwise it lets the call through untouched.
Any credentials work, but botocore needs some to sign the request.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import ContextDecorator
from pathlib import Path
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse

from mockvendors.wire import WireRequest

_active: list[Any] = []  # stack of active AwsProtocol-like handlers (innermost last)
_lock = threading.Lock()
_EVENT = "before-send.rekognition"


class _RawBody(io.BytesIO):
    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _before_send(request: Any, **_kwargs: Any) -> AWSResponse | None:
    with _lock:
        if not _active:
            return None
        mock = _active[-1]
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    path = request.url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    headers = {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()}
    wreq = WireRequest.build(request.method, path, headers, body or b"")
    resp = mock.respond(wreq)
    return AWSResponse(request.url, resp.status, resp.headers, _RawBody(resp.body))


if (_EVENT, _before_send) not in botocore.handlers.BUILTIN_HANDLERS:
    botocore.handlers.BUILTIN_HANDLERS.append((_EVENT, _before_send))


def _register_on_default_session() -> None:
    try:
        import boto3

        session = boto3.DEFAULT_SESSION
        if session is not None:
            events = session._session.get_component("event_emitter")
            events.unregister(_EVENT, _before_send)
            events.register(_EVENT, _before_send)
    except Exception:  # noqa: BLE001 - no boto3 default session: nothing to patch
        pass


class mock_rekognition(ContextDecorator):  # noqa: N801 - named like moto's mock_aws
    """Context manager / decorator answering boto3 Rekognition calls in-process.

    ``gallery``: a Gallery, a folder (one sub-folder per name), a .npz/.json file, or None for the
    demo gallery; ``profile``: an override file/dict for the AWS profile; ``analyzer``: share one
    embedding cache; ``apply_faults``: honour the profile's TPS limit / error rate / latency."""

    def __init__(self, gallery: Any = None, profile: Any = None, analyzer: Any = None,
                 behaviour: Any = None, apply_faults: bool = True):
        self._args = (gallery, profile, analyzer)
        self._behaviour = behaviour
        self.apply_faults = apply_faults
        self.protocol: Any = None
        self._faults: Any = None

    def _build(self) -> None:
        from mockvendors.aws.protocol import AwsProtocol
        from mockvendors.faults import FaultInjector

        if self._behaviour is None:
            from mockvendors.behaviour import behaviours

            gallery, profile, analyzer = self._args
            gallery = Path(gallery) if isinstance(gallery, str) else gallery
            self._behaviour = behaviours(["aws"], gallery, analyzer, {"aws": profile} if profile else None)["aws"]
        self.protocol = AwsProtocol(self._behaviour)
        self._faults = FaultInjector(self._behaviour.profile.faults)

    @property
    def behaviour(self) -> Any:
        if self.protocol is None:
            self._build()
        return self._behaviour

    def respond(self, wreq: WireRequest):  # noqa: ANN201
        if self.apply_faults:
            f = self._faults.faults
            if f.latency_ms:
                time.sleep(f.latency_ms / 1000.0)
            wait = self._faults.throttle_wait()
            if wait:
                return self.protocol.throttled(wreq, wait)
            if self._faults.inject_error():
                return self.protocol.server_error(wreq)
        return self.protocol.handle(wreq)

    def start(self) -> mock_rekognition:
        if self.protocol is None:
            self._build()
        _register_on_default_session()
        with _lock:
            _active.append(self)
        return self

    def stop(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def __enter__(self) -> mock_rekognition:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""HTTP servers for the mock vendors, on aiohttp.

Why aiohttp: it is already a dependency of the project, is well kept, runs a fast asyncio HTTP/1.1
server with keep-alive, and lets one process serve several vendors on several ports from one event
loop (``dfi serve``) or from a background thread (test fixtures). Each request's body is read with
a per-vendor size cap, applied to the inflated bytes of a ``Content-Encoding: gzip``/``deflate`` body
(a body that does not inflate is answered with the vendor's 400 for a malformed request); the
vendor's synchronous ``handle`` runs in a small thread pool so a face model call never blocks the loop.
Fault injection (:mod:`mockvendors.faults`: latency, error rate, TPS limit) sits in front of the
protocol and answers in the vendor's own error shape.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from mockvendors.faults import FaultInjector
from mockvendors.profile import Faults
from mockvendors.wire import WireProtocol, WireRequest, WireResponse

log = logging.getLogger("mockvendors.server")

PROTOCOL_KEY = web.AppKey("protocol", object)


def make_app(protocol: WireProtocol, faults: Faults | None = None,
             executor: ThreadPoolExecutor | None = None) -> web.Application:
    """An aiohttp application answering every method and path with ``protocol``."""
    injector = FaultInjector(faults or Faults())
    pool = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"mock-{protocol.vendor}")

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        wreq = WireRequest(request.method, request.path, dict(request.query), headers, b"")
        if injector.faults.latency_ms:
            await asyncio.sleep(injector.faults.latency_ms / 1000.0)
        wait = injector.throttle_wait()
        if wait:
            return _to_aiohttp(protocol.throttled(wreq, wait))
        if injector.inject_error():
            return _to_aiohttp(protocol.server_error(wreq))
        if request.content_length is not None and request.content_length > protocol.max_body_bytes:
            return _to_aiohttp(protocol.body_too_large(wreq), close=True)
        try:
            body = await request.read()  # inflated (Content-Encoding) as read, capped at max_body_bytes inflated
        except web.HTTPRequestEntityTooLarge:  # also a gzip bomb, refused once the cap is passed
            return _to_aiohttp(protocol.body_too_large(wreq), close=True)
        except web.RequestPayloadError:  # e.g. Content-Encoding: gzip on bytes that are not gzip
            return _to_aiohttp(protocol.bad_http(wreq, 400, "The request body cannot be decoded "
                                                 "(check its Content-Encoding)."), close=True)
        wreq = WireRequest(request.method, request.path, dict(request.query), headers, body)
        try:
            resp = await asyncio.get_running_loop().run_in_executor(pool, protocol.handle, wreq)
        except Exception:  # a bug: answer in the vendor's shape, keep the traceback in the log only
            log.exception("%s mock failed on %s %s", protocol.vendor, request.method, request.path)
            resp = protocol.server_error(wreq)
        return _to_aiohttp(resp)

    app = web.Application(client_max_size=protocol.max_body_bytes)
    # [\s\S], not ".": a %0a in the path decodes to a newline, which "." does not match
    app.router.add_route("*", r"/{tail:[\s\S]*}", handler)
    app[PROTOCOL_KEY] = protocol

    async def _close_pool(_app: web.Application) -> None:
        if executor is None:
            pool.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(_close_pool)
    return app


def _to_aiohttp(resp: WireResponse, close: bool = False) -> web.Response:
    headers = dict(resp.headers)
    content_type = headers.pop("Content-Type", "application/json")
    r = web.Response(status=resp.status, body=resp.body, headers=headers)
    r.headers["Content-Type"] = content_type
    if close:
        r.force_close()
    return r


@dataclass(frozen=True)
class Endpoint:
    vendor: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class BindError(OSError):
    """A vendor's port could not be bound (busy, privileged, bad address): names the vendor and port."""

    def __init__(self, vendor: str, host: str, port: int, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.vendor, self.host, self.port = vendor, host, port

    def __str__(self) -> str:
        return f"{self.vendor} on {self.host}:{self.port}: {self.strerror}"


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class _VendorRequestHandler(web.RequestHandler):
    """Answers HTTP-level failures (unparseable request line, bad method token, bad headers) in
    the vendor's error shape instead of aiohttp's plain-text page."""

    vendor_protocol: WireProtocol | None = None

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,  # noqa: ANN001
                     message: str | None = None) -> web.StreamResponse:
        proto = self.vendor_protocol
        if proto is None:
            return super().handle_error(request, status, exc, message)
        if status >= 500:
            log.error("%s mock: HTTP-level failure", proto.vendor, exc_info=exc)
        wreq = WireRequest("", "/", {}, request.headers if request is not None else CIMultiDict(), b"")
        wresp = proto.server_error(wreq) if status >= 500 else proto.bad_http(wreq, status, "Malformed HTTP request.")
        resp = _to_aiohttp(wresp)
        resp.force_close()
        return resp


class _VendorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        handler = _VendorRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.vendor_protocol = getattr(self, "vendor_protocol", None)
        return handler


class _VendorAppRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        if hasattr(server, "_loop") and hasattr(server, "_kwargs"):  # aiohttp 3.x internals; else plain text errors
            server.__class__ = _VendorServer
            server.vendor_protocol = self._app.get(PROTOCOL_KEY)  # type: ignore[attr-defined]
        return server


async def start_sites(apps: Mapping[str, web.Application], host: str, ports: Mapping[str, int]
                      ) -> tuple[list[web.AppRunner], dict[str, Endpoint]]:
    runners: list[web.AppRunner] = []
    endpoints: dict[str, Endpoint] = {}
    try:
        for vendor, app in apps.items():
            runner = _VendorAppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            runners.append(runner)
            try:
                sock = bind_socket(host, ports.get(vendor, 0))
            except OSError as exc:
                raise BindError(vendor, host, ports.get(vendor, 0), exc) from exc
            await web.SockSite(runner, sock).start()
            endpoints[vendor] = Endpoint(vendor, host, sock.getsockname()[1])
    except BaseException:
        for r in runners:
            await r.cleanup()
        raise
    return runners, endpoints


class MockServers:
    """Serve protocols on ports from a background thread. Use as a context manager.

    ``MockServers({"aws": AwsProtocol(...)}, ports={"aws": 0})`` binds free ports when 0.
    ``.endpoints[vendor].url`` gives each base URL once started."""

    def __init__(self, protocols: Mapping[str, WireProtocol], host: str = "127.0.0.1",
                 ports: Mapping[str, int] | None = None, faults: Mapping[str, Faults] | None = None):
        self.protocols = dict(protocols)
        self.host = host
        self.ports = dict(ports or {})
        self.faults = dict(faults or {})
        self.endpoints: dict[str, Endpoint] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []

    def start(self) -> MockServers:
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            apps = {v: make_app(p, self.faults.get(v)) for v, p in self.protocols.items()}
            try:
                self._runners, self.endpoints = loop.run_until_complete(start_sites(apps, self.host, self.ports))
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                error.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            for r in self._runners:
                loop.run_until_complete(r.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="mockvendors-server", daemon=True)
        self._thread.start()
        ready.wait()
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> MockServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_protocols(vendors: Iterable[str], gallery, analyzer=None, profiles=None):  # noqa: ANN001, ANN201
    """Protocols for ``vendors`` over one gallery and one shared (cached) analyzer.

    ``profiles``: optional {vendor: VendorProfile | override file | dict}."""
    from mockvendors.behaviour import behaviours

    return {v: protocol_for(b) for v, b in behaviours(vendors, gallery, analyzer, profiles).items()}


def protocol_for(behaviour: Any) -> WireProtocol:
    """The registered wire protocol of ``behaviour.vendor`` over ``behaviour``."""
    from harness.vendors import registry

    return registry.get(behaviour.vendor).load("protocol")(behaviour)


def default_ports() -> dict[str, int]:
    """Each registered vendor's default port (aws 4566, ms 4567, nav 4568)."""
    from harness.vendors import registry

    return {s.name: s.default_port for s in registry.specs()}

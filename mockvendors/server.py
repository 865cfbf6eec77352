"""HTTP servers for the mock vendors, on aiohttp.

Why aiohttp: it is already a dependency of the project, is well kept, runs a fast asyncio HTTP/1.1
server with keep-alive, and lets one process serve several vendors on several ports from one event
loop (``dfi serve``) or from a background thread (test fixtures).

What a request may cost is bounded (:class:`ServerLimits`): its head must be complete within
``header_timeout_s`` of its first byte and its body within ``body_timeout_s``, so slowloris clients are
dropped (an idle keep-alive connection lives ``idle_timeout_s``); the body
is read raw with the vendor's size cap, and a ``Content-Encoding`` is undone by
:func:`mockvendors.wire.inflate` in the thread pool, capped at the same size (a gzip bomb is the
vendor's oversize error, a truncated or corrupt stream its 400). The vendor's synchronous ``handle``
runs in that pool too, so neither inflating nor a face model call blocks the loop the other vendors
share; a protocol with ``answers_inline`` answers on the loop what needs no model run (every
image's analysis cached), which saves two thread hops per request. Fault injection
(:mod:`mockvendors.faults`: latency, error rate, TPS limit) sits in front of the protocol and answers
in the vendor's own error shape; a bug of the mock is the vendor's 500 saying
"internal error", never "injected fault". Requests aiohttp cannot parse (request line, headers,
chunked framing) are answered in the vendor's error shape by :class:`_VendorRequestHandler`, what its
router refuses (``OPTIONS *``, an unknown ``Expect``) by :func:`_vendor_errors` and :func:`_expect_handler`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import HttpVersion11, web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict

from mockvendors.faults import FaultInjector
from mockvendors.profile import Faults
from mockvendors.wire import (
    BodyTooLarge,
    BodyUndecodable,
    WireProtocol,
    WireRequest,
    WireResponse,
    answer_inline,
    inflate,
    internal_error,
)

log = logging.getLogger("mockvendors.server")

PROTOCOL_KEY = web.AppKey("protocol", object)
LIMITS_KEY = web.AppKey("limits", object)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# a protocol with answers_inline answers on the event loop (no model run) for bodies up to this size: parsing
# and decoding a larger one would hold the loop the other vendors share for milliseconds
INLINE_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """Timeouts of one vendor's server.

    ``header_timeout_s``: a connection is closed when a request head is not complete within this many
    seconds of its first byte (or of connecting, for the first request).
    ``idle_timeout_s``: an idle keep-alive connection is closed after this many seconds.
    ``body_timeout_s``: the whole body must arrive within this many seconds of the head, else the
    vendor's 408 and the connection is closed.
    ``linger_s``: after an answer to a body not read to its end (refused as too large, timed out), the
    rest is read and dropped for at most this long before the connection closes, so the client sees
    the answer rather than a reset (aiohttp's lingering time, 10 s by default, which a slowloris body
    would hold)."""

    header_timeout_s: float = 5.0
    body_timeout_s: float = 5.0
    idle_timeout_s: float = 75.0
    linger_s: float = 1.0

    def __post_init__(self) -> None:
        if not (self.header_timeout_s > 0 and self.body_timeout_s > 0 and self.idle_timeout_s > 0
                and self.linger_s >= 0):
            raise ValueError("ServerLimits timeouts must be positive")


def make_app(protocol: WireProtocol, faults: Faults | None = None,
             executor: ThreadPoolExecutor | None = None, limits: ServerLimits | None = None) -> web.Application:
    """An aiohttp application answering every method and path with ``protocol``. Serve it with
    :func:`start_sites` (or :class:`MockServers`), which applies ``limits`` and vendor-shaped HTTP errors."""
    injector = FaultInjector(faults or Faults())
    lim = limits or ServerLimits()
    pool = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"mock-{protocol.vendor}")
    inline = bool(getattr(protocol, "answers_inline", False))

    async def serve(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        wreq = WireRequest(request.method, request.path, dict(request.query), headers, b"")
        if injector.faults.latency_ms:
            await asyncio.sleep(injector.faults.latency_ms / 1000.0)
        wait = injector.throttle_wait()
        if wait:
            return _to_aiohttp(protocol.throttled(wreq, wait))
        if injector.inject_error():
            return _to_aiohttp(protocol.server_error(wreq))
        body = await _read_body(request, protocol, wreq, lim, pool)
        if isinstance(body, WireResponse):
            return _to_aiohttp(body, close=True)
        wreq = WireRequest(request.method, request.path, dict(request.query), headers, body)
        try:
            resp = answer_inline(protocol, wreq) if inline and len(body) <= INLINE_MAX_BODY_BYTES else None
            if resp is None:
                resp = await asyncio.get_running_loop().run_in_executor(pool, protocol.handle, wreq)
        except Exception:  # a bug: answer in the vendor's shape, keep the traceback in the log only
            log.exception("%s mock failed on %s %s", protocol.vendor, request.method, request.path)
            resp = internal_error(protocol, wreq)
        return _to_aiohttp(resp)

    app = web.Application(client_max_size=protocol.max_body_bytes, middlewares=[_vendor_errors(protocol, serve)])
    # [\s\S], not ".": a %0a in the path decodes to a newline, which "." does not match
    app.router.add_route("*", r"/{tail:[\s\S]*}", serve, expect_handler=_expect_handler(protocol))
    app[PROTOCOL_KEY] = protocol
    app[LIMITS_KEY] = lim

    async def _close_pool(_app: web.Application) -> None:
        if executor is None:
            pool.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(_close_pool)
    return app


def _expect_handler(protocol: WireProtocol) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    async def expect(request: web.Request) -> web.StreamResponse | None:
        """``Expect: 100-continue`` is answered with 100 Continue, unless the announced body is too large
        (then the vendor's oversize error, before the body is sent); another Expect is the vendor's 417
        (aiohttp's default handler answers it in plain text)."""
        if request.version < HttpVersion11:
            return None
        wreq = WireRequest(request.method, request.path, dict(request.query), request.headers, b"")
        if request.headers.get("Expect", "").strip().lower() != "100-continue":
            refused = protocol.bad_http(wreq, 417, "Unsupported Expect header: only 100-continue is supported.")
            refused.status = 417
            return _to_aiohttp(refused, close=True)
        if request.content_length is not None and request.content_length > protocol.max_body_bytes:
            return _to_aiohttp(protocol.body_too_large(wreq), close=True)
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the interim answer is not the response
        return None

    return expect


def _vendor_errors(protocol: WireProtocol, serve: _Handler) -> Middleware:
    @web.middleware
    async def vendor_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
        """What the router refuses in plain text is the vendor's: a request-target the catch-all
        route cannot match (``OPTIONS *``, ``CONNECT host:443``) goes to the protocol, which answers
        its own 404; any other aiohttp HTTP error is the vendor's error shape with that status."""
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return await serve(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            wreq = WireRequest(request.method, request.path, dict(request.query), request.headers, b"")
            refused = protocol.bad_http(wreq, exc.status, exc.reason)
            refused.status = exc.status
            return _to_aiohttp(refused, close=True)

    return vendor_errors


async def _read_body(request: web.Request, protocol: WireProtocol, wreq: WireRequest, limits: ServerLimits,
                     pool: ThreadPoolExecutor) -> bytes | WireResponse:
    """The request's body, its Content-Encoding undone (in ``pool``), at most the vendor's
    ``max_body_bytes`` before and after; else the vendor's answer (oversize, malformed, 408)."""
    cap = protocol.max_body_bytes
    if request.content_length is not None and request.content_length > cap:
        return protocol.body_too_large(wreq)
    try:
        async with asyncio.timeout(limits.body_timeout_s):  # not wait_for: no task per request
            raw = await request.read()  # raw: auto_decompress is off
    except TimeoutError:
        late = protocol.bad_http(wreq, 408, f"The request body did not arrive within {limits.body_timeout_s:g} s.")
        late.status = 408
        return late
    except web.HTTPRequestEntityTooLarge:
        return protocol.body_too_large(wreq)
    except web.RequestPayloadError:  # broken chunked framing, a body cut short
        return protocol.bad_http(wreq, 400, "The request body is malformed.")
    encoding = request.headers.get("Content-Encoding", "")
    if not encoding:
        return raw
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, inflate, raw, encoding, cap)
    except BodyTooLarge:
        return protocol.body_too_large(wreq)
    except BodyUndecodable as exc:
        return protocol.bad_http(wreq, 400, f"The request body cannot be decoded: {exc} (check its Content-Encoding).")


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
    """Answers HTTP-level failures in the vendor's error shape instead of aiohttp's plain-text page:
    whatever aiohttp's parser refuses before the app runs (request line, method token, version, header
    syntax, oversize line or header count, Content-Length, chunked framing) comes here as a 400, and
    a failure outside the app as the vendor's internal-error 500. The connection is then closed."""

    vendor_protocol: WireProtocol | None = None
    head_timeout_s: float | None = None  # see ServerLimits.header_timeout_s; None: no head timer
    _head_timer: asyncio.TimerHandle | None = None

    # --- the head timer: a request head must be complete within head_timeout_s of its first byte (or
    # of connecting). It reads aiohttp 3.x internals (_messages: parsed heads not yet handled; _waiter:
    # pending while the connection waits for a head); without them there is no head timer.
    def _can_time_heads(self) -> bool:
        return self.head_timeout_s is not None and hasattr(self, "_messages") and hasattr(self, "_waiter")

    def _awaiting_head(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._messages

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self._can_time_heads():
            assert self.head_timeout_s is not None
            self._head_timer = self._loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head():
            self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._can_time_heads() and self._awaiting_head():
            self._arm_head_timer()  # the first bytes of a head
        super().data_received(data)
        if self._can_time_heads() and self._messages:
            self._cancel_head_timer()  # a head is complete

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,  # noqa: ANN001
                     message: str | None = None) -> web.StreamResponse:
        proto = self.vendor_protocol
        if proto is None:
            return super().handle_error(request, status, exc, message)
        wreq = WireRequest("", "/", {}, request.headers if request is not None else CIMultiDict(), b"")
        if status >= 500:
            if not isinstance(exc, ConnectionError):  # a client gone mid-body is no failure of the mock
                log.error("%s mock: HTTP-level failure", proto.vendor, exc_info=exc)
            wresp = internal_error(proto, wreq)
        else:
            wresp = proto.bad_http(wreq, status, "Malformed HTTP request.")
        resp = _to_aiohttp(wresp)
        resp.force_close()
        return resp


class _VendorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        handler = _VendorRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.vendor_protocol = getattr(self, "vendor_protocol", None)
        handler.head_timeout_s = getattr(self, "head_timeout_s", None)
        return handler


class _VendorAppRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        if hasattr(server, "_loop") and hasattr(server, "_kwargs"):  # aiohttp 3.x internals; else plain text errors
            server.__class__ = _VendorServer
            server.vendor_protocol = self._app.get(PROTOCOL_KEY)  # type: ignore[attr-defined]
            lim = self._app.get(LIMITS_KEY)
            server.head_timeout_s = lim.header_timeout_s if isinstance(lim, ServerLimits) else None  # type: ignore[attr-defined]
        else:  # no head timer: the keep-alive timeout (idle or mid-head) must bound a head instead
            lim = self._app.get(LIMITS_KEY)
            if isinstance(lim, ServerLimits):
                server._kwargs["keepalive_timeout"] = min(lim.idle_timeout_s, lim.header_timeout_s)
        return server


async def start_sites(apps: Mapping[str, web.Application], host: str, ports: Mapping[str, int]
                      ) -> tuple[list[web.AppRunner], dict[str, Endpoint]]:
    runners: list[web.AppRunner] = []
    endpoints: dict[str, Endpoint] = {}
    try:
        for vendor, app in apps.items():
            lim = app.get(LIMITS_KEY)
            lim = lim if isinstance(lim, ServerLimits) else ServerLimits()
            runner = _VendorAppRunner(app, access_log=None, handle_signals=False, auto_decompress=False,
                                      keepalive_timeout=lim.idle_timeout_s, lingering_time=lim.linger_s)
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
    ``.endpoints[vendor].url`` gives each base URL once started; ``limits`` sets the timeouts."""

    def __init__(self, protocols: Mapping[str, WireProtocol], host: str = "127.0.0.1",
                 ports: Mapping[str, int] | None = None, faults: Mapping[str, Faults] | None = None,
                 limits: ServerLimits | None = None):
        self.protocols = dict(protocols)
        self.limits = limits or ServerLimits()
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
            apps = {v: make_app(p, self.faults.get(v), limits=self.limits) for v, p in self.protocols.items()}
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
            left = asyncio.all_tasks(loop)  # handlers of connections still open (lingering, keep-alive)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
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

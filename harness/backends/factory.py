"""One factory for every vendor backend, built from the vendor registry.

================  ===========================================================================
``mock``          in-process mock vendors (:mod:`harness.backends.inprocess`) over a gallery, with
                  the batch entry points of :mod:`harness.backends.fastpath`
``mock-http``     the real client code talking to ``dfi serve`` (local mock servers); placeholder
                  credentials, endpoints ``http://HOST:PORT`` (default port: the registry's)
``real``          the real services, credentials from the environment (see harness.clients.config)
``cassette``      replay of recorded calls: ``CASSETTES/<vendor>.yaml`` (harness.cassettes)
================  ===========================================================================

Retries and rate limits live in the clients only (one token bucket and one retry policy per
client); ``client_options`` sets them once for every client the factory builds. The in-process
mocks make no network calls and have neither.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.clients.adapters import connect_to
from harness.clients.config import ClientOptions
from harness.errors import DfiError
from harness.vendors import registry
from harness.vendors.base import AuthError, Vendor
from harness.vendors.registry import UnknownVendorError

BACKENDS = ("mock", "mock-http", "real", "cassette")


class BackendError(DfiError):
    """The backend cannot be built (unknown name, missing cassette, missing credentials)."""


@dataclass
class Backend:
    name: str
    vendors: dict[str, Vendor]
    fatal_errors: tuple[type[BaseException], ...] = (AuthError,)  # stop the campaign, not one row
    costs_money: bool = False
    notes: list[str] = field(default_factory=list)

    def retries(self) -> int:
        """Retries the clients made so far (the one retry layer's own count)."""
        return sum(getattr(getattr(v, "stats", None), "retries", 0) or 0 for v in self.vendors.values())


def parse_vendor_list(text: str) -> list[str]:
    try:
        return registry.parse_vendor_list(text)
    except UnknownVendorError as exc:
        raise BackendError(str(exc)) from None


def default_ports() -> dict[str, int]:
    return {s.name: s.default_port for s in registry.specs()}


def make_backend(name: str, vendors: Sequence[str], *, gallery: Any = None, host: str = "127.0.0.1",
                 ports: Mapping[str, int] | None = None, cassettes: str | Path | None = None,
                 analyzer: Any = None, client_options: ClientOptions | Mapping[str, ClientOptions] | None = None,
                 env: Mapping[str, str] | None = None,
                 profiles: Mapping[str, Any] | None = None) -> Backend:
    """The backend ``name`` for ``vendors`` (registered names). ``client_options`` (one for all, or
    one per vendor) configure the clients' one rate limit and retry policy (mock-http, real,
    cassette replay keeps its own: no limit, no sleeping); ``env``: the environment the real
    clients read (default: the process's); ``profiles``: vendor -> profile override or profile set name
    (:func:`mockvendors.profile.load_profile`) for the in-process mocks (``mock``); the HTTP mocks take theirs
    from ``dfi serve --profile``."""
    for v in vendors:
        if registry.canonical(v) != v:
            raise BackendError(f"unknown vendor {v!r}; choose from {','.join(registry.names())}")
    def options_for(vendor: str) -> ClientOptions:
        if isinstance(client_options, ClientOptions):
            return client_options
        return (client_options or {}).get(vendor) or ClientOptions()

    if name == "mock":
        from harness.backends.fastpath import batched
        from harness.backends.inprocess import mock_vendors

        return Backend(name, batched(mock_vendors(gallery, tuple(vendors), analyzer=analyzer,
                                                  profiles=dict(profiles) if profiles else None)))
    if profiles:
        raise BackendError(f"profiles apply to the in-process mocks (--backend mock), not to {name!r}"
                           + (": start `dfi serve --profile ...` instead" if name == "mock-http" else ""))
    if name == "mock-http":
        all_ports = {**default_ports(), **(ports or {})}
        out: dict[str, Vendor] = {}
        for v in vendors:
            options = options_for(v)
            # a local server: no published quota to respect unless the caller sets one
            http_options = options if options.rate is not None else replace(options, rate=math.inf)
            out[v] = connect_to(v, f"http://{host}:{all_ports[v]}", http_options)
        return Backend(name, out)
    if name == "real":
        return Backend(name, {v: registry.get(v).load("connect")(env, options_for(v)) for v in vendors},
                       costs_money=True)
    if name == "cassette":
        if cassettes is None:
            raise BackendError("--backend cassette needs --cassettes DIR (with <vendor>.yaml files)")
        from harness.cassettes.backend import CassetteVendor
        from harness.cassettes.errors import CassetteError

        replayed: dict[str, Vendor] = {}
        for v in vendors:
            path = Path(cassettes) / f"{v}.yaml"
            if not path.is_file():
                raise BackendError(f"no cassette for {v}: {path} not found")
            replayed[v] = CassetteVendor(v, path)
        # an unrecorded call or a corrupt cassette stops the campaign: never a row, never "no celebrity"
        return Backend(name, replayed, fatal_errors=(AuthError, CassetteError))
    raise BackendError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")


def check_servers(vendors: Sequence[str], host: str, ports: Mapping[str, int] | None = None) -> None:
    """Fail fast with a clear message when a mock server is not listening."""
    all_ports = {**default_ports(), **(ports or {})}
    down = []
    for v in vendors:
        try:
            socket.create_connection((host, all_ports[v]), timeout=1.0).close()
        except OSError:
            down.append(f"{v} ({host}:{all_ports[v]})")
    if down:
        raise BackendError(f"no mock server answers for {', '.join(down)}; start them with `dfi serve`")

"""One factory for every vendor backend the campaign can run against.

================  ===========================================================================
``mock``          in-process mock vendors (:mod:`harness.backends.inprocess`) over a gallery, with the
                  batch entry points of :mod:`harness.backends.fastpath`
``mock-http``     the real client code talking to ``dfi serve`` (local mock servers); placeholder
                  credentials, endpoints ``http://HOST:PORT`` (default ports: aws 4566, ms 4567,
                  nav 4568)
``real``          the real services, credentials from the environment (see harness.clients.config)
``cassette``      replay of recorded calls: ``CASSETTES/<vendor>.yaml`` (harness.cassettes)
================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import DfiError
from harness.vendors.base import AuthError, Vendor

BACKENDS = ("mock", "mock-http", "real", "cassette")
VENDOR_NAMES = ("aws", "ms", "nav")
DEFAULT_HTTP_PORTS = {"aws": 4566, "ms": 4567, "nav": 4568}


class BackendError(DfiError):
    """The backend cannot be built (unknown name, missing cassette, missing credentials)."""


@dataclass
class Backend:
    name: str
    vendors: dict[str, Vendor]
    fatal_errors: tuple[type[BaseException], ...] = (AuthError,)  # stop the campaign, not one row
    costs_money: bool = False
    notes: list[str] = field(default_factory=list)


def parse_vendor_list(text: str) -> list[str]:
    names = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in names if v not in VENDOR_NAMES]
    if bad or not names:
        raise BackendError(f"unknown vendor(s) {', '.join(bad) or '(none)'}; choose from {','.join(VENDOR_NAMES)}")
    return list(dict.fromkeys(names))


def make_backend(name: str, vendors: Sequence[str], *, gallery=None, host: str = "127.0.0.1",  # noqa: ANN001
                 ports: Mapping[str, int] | None = None, cassettes: str | Path | None = None,
                 analyzer=None) -> Backend:  # noqa: ANN001
    if name == "mock":
        from harness.backends.fastpath import batched
        from harness.backends.inprocess import mock_vendors

        return Backend(name, batched(mock_vendors(gallery, tuple(vendors), analyzer=analyzer)))
    if name == "mock-http":
        return Backend(name, _http_vendors(vendors, host, {**DEFAULT_HTTP_PORTS, **(ports or {})}))
    if name == "real":
        from harness.clients.adapters import real_vendor

        return Backend(name, {v: real_vendor(v) for v in vendors}, costs_money=True)
    if name == "cassette":
        if cassettes is None:
            raise BackendError("--backend cassette needs --cassettes DIR (with <vendor>.yaml files)")
        from harness.cassettes.backend import CassetteVendor
        from harness.cassettes.errors import UnrecordedCallError

        out = {}
        for v in vendors:
            path = Path(cassettes) / f"{v}.yaml"
            if not path.is_file():
                raise BackendError(f"no cassette for {v}: {path} not found")
            out[v] = CassetteVendor(v, path)
        return Backend(name, out, fatal_errors=(AuthError, UnrecordedCallError))
    raise BackendError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")


def _http_vendors(vendors: Sequence[str], host: str, ports: Mapping[str, int]) -> dict[str, Vendor]:
    """The real adapters and clients pointed at local mock servers (``dfi serve``)."""
    import boto3

    from harness.clients.adapters import AwsVendor, AzureVendor, NaverVendor
    from harness.clients.aws import AwsClient
    from harness.clients.azure import AzureClient
    from harness.clients.config import aws_settings, azure_settings, naver_settings
    from harness.clients.naver import NaverClient

    # placeholders, not secrets: the mock servers accept any well-formed credential
    env = {
        "DFI_AWS_REGION": "us-east-1",
        "DFI_AWS_ENDPOINT_URL": f"http://{host}:{ports['aws']}",
        "DFI_AZURE_VISION_ENDPOINT": f"http://{host}:{ports['ms']}",
        "DFI_AZURE_VISION_KEY": "mock-key",
        "DFI_NAVER_CLIENT_ID": "mock-id",
        "DFI_NAVER_CLIENT_SECRET": "mock-secret",
        "DFI_NAVER_ENDPOINT": f"http://{host}:{ports['nav']}",
        "DFI_AWS_TPS": "1000", "DFI_AZURE_TPS": "1000", "DFI_NAVER_TPS": "1000",
    }
    out: dict[str, Vendor] = {}
    for v in vendors:
        if v == "aws":
            session = boto3.session.Session(aws_access_key_id="mock", aws_secret_access_key="mock",
                                            region_name="us-east-1")
            out[v] = AwsVendor(AwsClient(aws_settings(env), session=session))
        elif v == "ms":
            out[v] = AzureVendor(AzureClient(azure_settings(env)))
        else:
            out[v] = NaverVendor(NaverClient(naver_settings(env)))
    return out


def check_servers(vendors: Sequence[str], host: str, ports: Mapping[str, int] | None = None) -> None:
    """Fail fast with a clear message when a mock server is not listening."""
    import socket

    ports = {**DEFAULT_HTTP_PORTS, **(ports or {})}
    down = []
    for v in vendors:
        try:
            socket.create_connection((host, ports[v]), timeout=1.0).close()
        except OSError:
            down.append(f"{v} ({host}:{ports[v]})")
    if down:
        raise BackendError(f"no mock server answers for {', '.join(down)}; start them with `dfi serve`")

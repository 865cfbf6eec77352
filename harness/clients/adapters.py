"""The vendor interface over the real clients, for every registered vendor.

Each vendor's adapter lives beside its client (:mod:`harness.clients.aws`, ``.azure``, ``.naver``);
scores are converted to the harness's 0-100 scale by the vendor's one response parser. Failures
propagate as :class:`~harness.vendors.base.VendorError` subclasses; an answer is never invented
from a failure.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.clients.aws import AwsVendor
from harness.clients.azure import AzureVendor
from harness.clients.config import ClientOptions
from harness.clients.naver import NaverVendor
from harness.vendors import registry
from harness.vendors.base import Vendor

__all__ = ["AwsVendor", "AzureVendor", "NaverVendor", "connect", "connect_to"]


def connect(name: str, env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> Vendor:
    """The registered vendor ``name``'s client behind the vendor interface, configured from ``env``
    (default: the process environment) and ``options``."""
    return registry.get(name).load("connect")(env, options or ClientOptions())


def connect_to(name: str, base_url: str, options: ClientOptions | None = None) -> Vendor:
    """The registered vendor ``name``'s client pointed at ``base_url`` (a mock server, a loopback
    test server) with the vendor's placeholder credentials."""
    return connect(name, registry.get(name).load("placeholder_env")(base_url), options)

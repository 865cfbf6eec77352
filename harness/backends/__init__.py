"""Vendor backends built from the vendor registry: in-process mocks, mock servers over HTTP, the
real services, cassette replay. :func:`make_backend` is the one factory."""

from harness.backends.factory import Backend, BackendError, check_servers, make_backend, parse_vendor_list

__all__ = ["Backend", "BackendError", "check_servers", "make_backend", "parse_vendor_list"]

"""What the plain-HTTP clients (Azure, Naver) share: a requests session, timeouts, and turning
network failures and HTTP statuses into typed vendor errors."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import requests

from harness.vendors.base import AuthError, BadImageError, ServerError, ThrottledError, VendorError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent/unparsable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(
    session: requests.Session,
    vendor: str,
    url: str,
    timeout_s: float,
    **kwargs: Any,
) -> requests.Response:
    """POST, turning timeouts and connection failures into retryable :class:`ServerError`."""
    try:
        return session.post(url, timeout=timeout_s, **kwargs)
    except requests.Timeout as exc:
        raise ServerError(
            vendor, "Timeout", f"no answer from {url} within {timeout_s:g} s ({exc.__class__.__name__})"
        ) from exc
    except requests.ConnectionError as exc:
        raise ServerError(vendor, "ConnectionError", f"cannot reach {url}: {exc}") from exc


def error_for_status(
    vendor: str,
    response: requests.Response,
    code: str,
    message: str,
    bad_image_codes: frozenset[str],
    throttle_codes: frozenset[str] = frozenset(),
) -> VendorError:
    """The typed error for a non-2xx answer whose vendor code/message are already parsed."""
    status = response.status_code
    exc: VendorError
    if status == 429 or code in throttle_codes:
        exc = ThrottledError(vendor, code or "TooManyRequests", message)
    elif status >= 500:
        exc = ServerError(vendor, code or f"HTTP{status}", message)
    elif status in (401, 403):
        exc = AuthError(vendor, code or f"HTTP{status}", message)
    elif code in bad_image_codes or status == 413:
        exc = BadImageError(vendor, code or f"HTTP{status}", message)
    else:
        exc = VendorError(vendor, code or f"HTTP{status}", message)
    exc.http_status = status  # type: ignore[attr-defined]
    exc.retry_after = parse_retry_after(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
    return exc


def json_body(vendor: str, response: requests.Response, check: Callable[[Any], bool], what: str) -> Any:
    """The parsed JSON of a 2xx answer; a body that is not the expected shape is an error, never an empty answer."""
    try:
        data = response.json()
    except ValueError:
        raise VendorError(
            vendor, "MalformedResponse", f"{what}: the answer is not JSON: {response.text[:200]!r}"
        ) from None
    if not check(data):
        raise VendorError(vendor, "MalformedResponse", f"{what}: unexpected answer shape: {str(data)[:200]}")
    return data

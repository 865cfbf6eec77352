"""Client configuration from environment variables.

| variable | vendor | meaning |
|---|---|---|
| ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` | aws | boto3's chain |
| ``DFI_AWS_REGION`` (else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``) | aws | region, required |
| ``DFI_AWS_ENDPOINT_URL`` | aws | endpoint override (a mock server) |
| ``DFI_AZURE_VISION_ENDPOINT``, ``DFI_AZURE_VISION_KEY`` | ms | Computer Vision resource (celebrities) |
| ``DFI_AZURE_FACE_ENDPOINT``, ``DFI_AZURE_FACE_KEY`` | ms | Face resource; default: the vision ones |
| ``DFI_NAVER_CLIENT_ID``, ``DFI_NAVER_CLIENT_SECRET`` | nav | Naver Developers keys (``X-Naver-Client-Id/Secret``) |
| ``DFI_NAVER_NCP_KEY_ID``, ``DFI_NAVER_NCP_KEY`` | nav | or NCP API-gateway keys (``X-NCP-APIGW-API-KEY-ID/KEY``) |
| ``DFI_NAVER_ENDPOINT`` | nav | endpoint override (default: the public host of the chosen key kind) |
| ``DFI_<V>_TPS``, ``DFI_<V>_BURST`` (V: the registry's env prefix) | all | rate limit; ``--rate`` replaces it |
| ``DFI_HTTP_TIMEOUT`` (s, default 30), ``DFI_MAX_ATTEMPTS`` (default 5) | all | timeout and retries |

A missing credential raises :class:`MissingCredentialError` when the client is built, before
any call is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.ratelimit import Rate
from harness.vendors import registry
from harness.vendors.base import AuthError

NAVER_DEVELOPERS_ENDPOINT = "https://openapi.naver.com"
NAVER_NCP_ENDPOINT = "https://naveropenapi.apigw.ntruss.com"


class MissingCredentialError(AuthError):
    """A credential or endpoint the client needs is not configured (raised before any call)."""

    def __init__(self, vendor: str, variables: list[str], hint: str = ""):
        self.variables = variables
        msg = "not configured: set " + " and ".join(variables)
        if hint:
            msg += f" ({hint})"
        super().__init__(vendor, "MissingCredential", msg)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (got {raw})")
    return value


@dataclass(frozen=True)
class CommonSettings:
    timeout_s: float
    max_attempts: int
    rate: Rate


@dataclass(frozen=True)
class ClientOptions:
    """What a caller (the CLI, a job, a test) sets for the clients, over the environment.

    ``rate``: calls per second for this client's one token bucket; it *replaces* ``DFI_<V>_TPS``
    and the registry's published default, it never stacks with them (math.inf: no limit).
    ``max_attempts``: tries per call, the first included (replaces ``DFI_MAX_ATTEMPTS``).
    ``sleep``: the retry layer's sleep (tests and cassette replay pass a no-op)."""

    rate: float | None = None
    burst: float | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    sleep: Callable[[float], None] | None = None
    similarity_call: str = "findsimilar"  # Azure: find-similar (the study's call) or verify


def common_settings(
    vendor: str, env: Mapping[str, str] | None = None, options: ClientOptions | None = None
) -> CommonSettings:
    """Timeout, attempts and rate of ``vendor``'s client: ``options`` first, then the environment
    (``DFI_<V>_TPS``/``_BURST``, ``DFI_HTTP_TIMEOUT``, ``DFI_MAX_ATTEMPTS``), then the registry's
    published default rate. Exactly one source sets the rate."""
    env = os.environ if env is None else env
    options = options or ClientOptions()
    spec = registry.get(vendor)
    prefix = spec.env_prefix
    published = spec.default_rate
    if options.rate is not None:
        if not options.rate > 0:
            raise ValueError(f"rate must be > 0 (got {options.rate})")
        tps = float(options.rate)
        burst = options.burst if options.burst is not None else max(1.0, tps) if tps != float("inf") else 1.0
        rate = Rate(tps, burst, "--rate")
    else:
        tps = _float(env, f"{prefix}_TPS", published.per_second)
        burst = _float(env, f"{prefix}_BURST", published.burst if f"{prefix}_TPS" not in env else max(1.0, tps))
        rate = Rate(tps, burst, published.source if f"{prefix}_TPS" not in env else f"{prefix}_TPS")
    attempts = options.max_attempts if options.max_attempts is not None else int(_float(env, "DFI_MAX_ATTEMPTS", 5))
    if attempts < 1:
        raise ValueError(f"max_attempts must be >= 1 (got {attempts})")
    return CommonSettings(
        timeout_s=options.timeout_s if options.timeout_s is not None else _float(env, "DFI_HTTP_TIMEOUT", 30.0),
        max_attempts=attempts,
        rate=rate,
    )


@dataclass(frozen=True)
class AwsSettings:
    region: str
    endpoint_url: str | None
    common: CommonSettings


def aws_settings(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> AwsSettings:
    """Region and endpoint; credentials are resolved by boto3 (checked in the client)."""
    env = os.environ if env is None else env
    region = _get(env, "DFI_AWS_REGION") or _get(env, "AWS_REGION") or _get(env, "AWS_DEFAULT_REGION")
    if region is None:
        raise MissingCredentialError("aws", ["DFI_AWS_REGION (or AWS_REGION)"], "Rekognition is regional")
    return AwsSettings(region, _get(env, "DFI_AWS_ENDPOINT_URL"), common_settings("aws", env, options))


@dataclass(frozen=True)
class AzureSettings:
    vision_endpoint: str
    vision_key: str
    face_endpoint: str
    face_key: str
    common: CommonSettings

    def __repr__(self) -> str:  # never print keys
        return f"AzureSettings(vision_endpoint={self.vision_endpoint!r}, face_endpoint={self.face_endpoint!r})"


def azure_settings(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> AzureSettings:
    env = os.environ if env is None else env
    endpoint = _get(env, "DFI_AZURE_VISION_ENDPOINT")
    key = _get(env, "DFI_AZURE_VISION_KEY")
    missing = [n for n, v in (("DFI_AZURE_VISION_ENDPOINT", endpoint), ("DFI_AZURE_VISION_KEY", key)) if v is None]
    if missing:
        raise MissingCredentialError("ms", missing, "your Computer Vision resource's endpoint and key")
    assert endpoint and key
    return AzureSettings(
        vision_endpoint=endpoint.rstrip("/"),
        vision_key=key,
        face_endpoint=(_get(env, "DFI_AZURE_FACE_ENDPOINT") or endpoint).rstrip("/"),
        face_key=_get(env, "DFI_AZURE_FACE_KEY") or key,
        common=common_settings("ms", env, options),
    )


@dataclass(frozen=True)
class NaverSettings:
    endpoint: str
    path: str
    headers: dict[str, str]  # the credential headers
    common: CommonSettings

    def __repr__(self) -> str:
        return f"NaverSettings(endpoint={self.endpoint!r}, path={self.path!r}, headers=<{len(self.headers)} hidden>)"


def naver_settings(env: Mapping[str, str] | None = None, options: ClientOptions | None = None) -> NaverSettings:
    env = os.environ if env is None else env
    cid, secret = _get(env, "DFI_NAVER_CLIENT_ID"), _get(env, "DFI_NAVER_CLIENT_SECRET")
    kid, key = _get(env, "DFI_NAVER_NCP_KEY_ID"), _get(env, "DFI_NAVER_NCP_KEY")
    override = _get(env, "DFI_NAVER_ENDPOINT")
    common = common_settings("nav", env, options)
    if cid and secret:
        headers = {"X-Naver-Client-Id": cid, "X-Naver-Client-Secret": secret}
        return NaverSettings(
            (override or NAVER_DEVELOPERS_ENDPOINT).rstrip("/"), "/v1/vision/celebrity", headers, common
        )
    if kid and key:
        headers = {"X-NCP-APIGW-API-KEY-ID": kid, "X-NCP-APIGW-API-KEY": key}
        return NaverSettings((override or NAVER_NCP_ENDPOINT).rstrip("/"), "/vision/v1/celebrity", headers, common)
    raise MissingCredentialError(
        "nav",
        ["DFI_NAVER_CLIENT_ID", "DFI_NAVER_CLIENT_SECRET"],
        "or DFI_NAVER_NCP_KEY_ID and DFI_NAVER_NCP_KEY for the NCP gateway",
    )

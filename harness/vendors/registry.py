"""The vendor registry: one :class:`VendorSpec` per vendor, registered in one place.

Every vendor list and every per-vendor choice in the project goes through here: the results
table's vendor names, the mock profiles, the wire protocols the servers answer with, the real
clients, the in-process adapters' rules, the response parsers, the cassette keys, prices and
default rate limits.

The spec names its code by ``"module:attribute"`` references that are imported on first use (as
moto's backend index does), so this module sits at the bottom of the layer stack and any layer
may read the vendor list without importing the layers that implement the vendors. A test resolves
every reference of every registered spec.

Adding a vendor: one folder with its behaviour rules and wire protocol (``mockvendors/<name>/``),
its client module (``harness/clients/<name>.py``: settings, client, adapter, parser) and one
``register(VendorSpec(...))`` call; ``tests/vendors/test_toy_vendor.py`` does exactly that with a
toy fourth vendor and runs it through every backend.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import DfiError
from harness.ratelimit import Rate


class UnknownVendorError(DfiError):
    """A vendor name that is not registered."""


@functools.cache
def resolve(ref: str) -> Any:
    """The object a ``"module:attribute"`` reference names (dots allowed after the colon).
    Cached: the cassette matcher resolves a key rule for every request it compares."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"not a 'module:attribute' reference: {ref!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class VendorSpec:
    """Everything the harness knows about one vendor.

    ``profile`` is the mock's default behaviour profile (:mod:`mockvendors.profile`), a
    ``"package:file.yaml"`` resource or a file path. References (``*_ref``) are
    ``"module:attribute"`` strings, resolved by :meth:`load`:

    ``protocol_ref``       class ``(behaviour) -> WireProtocol``: the mock's wire protocol
    ``inprocess_ref``      :class:`mockvendors.wire.InProcessRules`: how the in-process mock checks
                           images and words its refusals, as the wire protocol would
    ``connect_ref``        ``(env, ClientOptions) -> Vendor``: the real client behind the vendor
                           interface, configured from environment variables
    ``placeholder_env_ref`` ``(base_url) -> env``: settings that point the client at ``base_url``
                           with placeholder credentials (mock servers, cassette replay)
    ``parse_ref``          ``(operation, body, image_size) -> Recognition``: the one parser of the
                           vendor's recognition answers (adapters and ``dfi compare`` use it)
    ``cassette_key_ref``   ``(request, body) -> CallKey | None``: the cassette key of a recorded
                           request, None when the request is not this vendor's
    """

    name: str  # short name used everywhere: results tables, flags, file names
    display_name: str  # in tables and figures
    service: str  # the product's full name
    scale: float  # the vendor's own confidence scale (100 or 1); the harness works on 0-100
    supports_similarity: bool
    env_prefix: str  # DFI_<X>_TPS, DFI_<X>_BURST, and the client's own settings
    default_port: int  # `dfi serve` / --backend mock-http
    default_rate: Rate  # published quota the client keeps to unless told otherwise
    price_per_1000_usd: Mapping[str, float | None]  # by operation (recognize, similarity, ...); None: unknown
    recognize_operations: tuple[str, ...]  # cassette operation names that answer a recognition
    profile: str  # the mock's default behaviour profile: a "package:file.yaml" resource or a file path
    protocol_ref: str
    inprocess_ref: str
    connect_ref: str
    placeholder_env_ref: str
    parse_ref: str
    cassette_key_ref: str
    aliases: tuple[str, ...] = ()  # other spellings accepted in input files ("azure" for ms)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def load(self, what: str) -> Any:
        """Resolve one reference by its short name: ``spec.load("protocol")``."""
        return resolve(getattr(self, f"{what}_ref"))

    @property
    def refs(self) -> dict[str, str]:
        return {k[: -len("_ref")]: v for k, v in self.__dict__.items() if k.endswith("_ref")}

    def to_100(self, value: float) -> float:
        """A score on the vendor's scale, on the harness's 0-100 scale."""
        return float(value) * 100.0 / self.scale


_REGISTRY: dict[str, VendorSpec] = {}


def register(spec: VendorSpec, *, replace: bool = False) -> VendorSpec:
    """Add a vendor. Registering a name twice is an error unless ``replace``."""
    if not spec.name or not spec.name.isidentifier() or spec.name != spec.name.lower():
        raise ValueError(f"vendor name must be a lower-case identifier, got {spec.name!r}")
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"vendor {spec.name!r} is already registered")
    if not spec.scale > 0:
        raise ValueError(f"{spec.name}: scale must be > 0")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a vendor (tests that register a toy vendor clean up with this)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Registered vendor names, in registration order (the built-ins: aws, ms, nav)."""
    return tuple(_REGISTRY)


def get(name: str) -> VendorSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownVendorError(f"unknown vendor {name!r}; choose from {', '.join(_REGISTRY)}") from None


def specs() -> tuple[VendorSpec, ...]:
    return tuple(_REGISTRY.values())


def canonical(name: str) -> str | None:
    """The registered name for ``name`` or one of its aliases (case-insensitive), else None."""
    low = name.strip().lower()
    for spec in _REGISTRY.values():
        if low == spec.name or low in spec.aliases:
            return spec.name
    return None


def display_name(name: str) -> str:
    spec = _REGISTRY.get(name)
    return spec.display_name if spec else name.upper()


def parse_vendor_list(text: str) -> list[str]:
    """``"aws,ms"`` -> ``["aws", "ms"]``; unknown names are one error naming the choices."""
    raw = [v.strip() for v in text.split(",") if v.strip()]
    found = [canonical(v) for v in raw]
    bad = [r for r, f in zip(raw, found) if f is None]
    if bad or not raw:
        raise UnknownVendorError(f"unknown vendor(s) {', '.join(bad) or '(none)'}; choose from {','.join(_REGISTRY)}")
    return list(dict.fromkeys(f for f in found if f))


# ----- the built-in vendors -------------------------------------------------------------------------
# AWS quotas differ by region and operation (AWS Service Quotas page); 5 TPS is the conservative low
# end, so a fresh account is not throttled. Azure Computer Vision S1 and Face S0: 10 transactions per
# second. Naver Developers CFR: 1,000 calls per day. Prices (first volume tier; sources in
# harness/campaign/cost.py): $1.00 per 1,000 calls for AWS and for each Azure call; Naver: unknown.

register(VendorSpec(
    name="aws", display_name="AWS", service="Amazon Rekognition", scale=100.0, supports_similarity=True,
    env_prefix="DFI_AWS", default_port=4566,
    default_rate=Rate(5.0, 5.0, "AWS Rekognition default image-operation quota, low end (5 TPS)"),
    price_per_1000_usd={"recognize": 1.00, "similarity": 1.00},
    recognize_operations=("RecognizeCelebrities",),
    profile="mockvendors.profiles:aws.yaml",
    protocol_ref="mockvendors.aws.protocol:AwsProtocol",
    inprocess_ref="mockvendors.aws:INPROCESS",
    connect_ref="harness.clients.aws:connect",
    placeholder_env_ref="harness.clients.aws:placeholder_env",
    parse_ref="harness.clients.aws:parse_recognition",
    cassette_key_ref="harness.cassettes.keys:aws_key",
    aliases=("amazon", "rekognition"),
))
register(VendorSpec(
    name="ms", display_name="MS", service="Microsoft Azure AI Vision / Face", scale=1.0, supports_similarity=True,
    env_prefix="DFI_AZURE", default_port=4567,
    default_rate=Rate(10.0, 10.0, "Azure Computer Vision S1 / Face S0 tier (10 TPS)"),
    price_per_1000_usd={"recognize": 1.00, "face_detect": 1.00, "similarity": 1.00},
    recognize_operations=("CelebritiesAnalyze", "FaceDetect"),
    profile="mockvendors.profiles:ms.yaml",
    protocol_ref="mockvendors.azure.protocol:AzureProtocol",
    inprocess_ref="mockvendors.azure:INPROCESS",
    connect_ref="harness.clients.azure:connect",
    placeholder_env_ref="harness.clients.azure:placeholder_env",
    parse_ref="harness.clients.azure:parse_recognition",
    cassette_key_ref="harness.cassettes.keys:azure_key",
    aliases=("azure", "microsoft"),
))
register(VendorSpec(
    name="nav", display_name="NAV", service="Naver Clova Face Recognition (CFR)", scale=1.0,
    supports_similarity=False, env_prefix="DFI_NAVER", default_port=4568,
    default_rate=Rate(1000.0 / 86400.0, 1000.0, "Naver Developers CFR quota (1,000 calls/day)"),
    price_per_1000_usd={"recognize": None},
    recognize_operations=("Celebrity",),
    profile="mockvendors.profiles:nav.yaml",
    protocol_ref="mockvendors.naver.protocol:NaverProtocol",
    inprocess_ref="mockvendors.naver:INPROCESS",
    connect_ref="harness.clients.naver:connect",
    placeholder_env_ref="harness.clients.naver:placeholder_env",
    parse_ref="harness.clients.naver:parse_recognition",
    cassette_key_ref="harness.cassettes.keys:naver_key",
    aliases=("naver", "clova"),
))

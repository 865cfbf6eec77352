"""A toy fourth vendor, added the way any vendor is: this one folder (behaviour profile, in-process
rules, wire protocol, client + adapter + parser + cassette key) and one ``register()`` call.

Wire format: ``POST /toy/v1/recognize`` (raw image bytes) -> ``{"faces": [{"name", "score", "box"}]}``;
``POST /toy/v1/similarity`` (``{"a": b64, "b": b64}``) -> ``{"similarity": s}``; header
``X-Toy-Api-Key``; errors ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from pathlib import Path

from harness.ratelimit import Rate
from harness.vendors.registry import VendorSpec, register, unregister
from mockvendors.inprocess_rules import InProcessRules
from mockvendors.naver.protocol import validate_image

INPROCESS = InProcessRules(check_image=validate_image, decode_error_code="BadImage", too_large_code="BadImage",
                           reports_unnamed_faces=True, no_face_source_code="NoFace", no_face_target_code="NoFace",
                           similarity="largest", similarity_decimals=4)

SPEC = VendorSpec(
    name="toy", display_name="TOY", service="Toy Vision (a test vendor)", scale=1.0, supports_similarity=True,
    env_prefix="DFI_TOY", default_port=4599, default_rate=Rate(50.0, 50.0, "toy: 50 TPS"),
    price_per_1000_usd={"recognize": 0.5, "similarity": 0.5}, recognize_operations=("Recognize",),
    profile=str(Path(__file__).with_name("profile.yaml")),
    protocol_ref="support.toyvendor.protocol:ToyProtocol",
    inprocess_ref="support.toyvendor:INPROCESS",
    connect_ref="support.toyvendor.client:connect",
    placeholder_env_ref="support.toyvendor.client:placeholder_env",
    parse_ref="support.toyvendor.client:parse_recognition",
    cassette_key_ref="support.toyvendor.client:cassette_key",
)


def install() -> VendorSpec:
    return register(SPEC, replace=True)


def uninstall() -> None:
    unregister(SPEC.name)

"""The vendor registry: every built-in spec resolves, and agrees with the profile it points at."""

from __future__ import annotations

import pytest

from harness.vendors import registry
from mockvendors.profile import load_profile


def test_builtin_vendors_in_registration_order():
    assert registry.names() == ("aws", "ms", "nav")
    assert [registry.display_name(v) for v in registry.names()] == ["AWS", "MS", "NAV"]


@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_every_reference_resolves_and_the_profile_agrees(vendor: str):
    spec = registry.get(vendor)
    for what in spec.refs:
        assert spec.load(what) is not None, what
    profile = load_profile(vendor)
    assert profile.scale == spec.scale and profile.vendor == vendor
    assert (profile.similarity is not None) == spec.supports_similarity
    assert spec.to_100(spec.scale) == 100.0


def test_aliases_and_unknown_names():
    assert registry.parse_vendor_list("Azure, naver,aws,ms") == ["ms", "nav", "aws"]
    with pytest.raises(registry.UnknownVendorError, match="unknown vendor.*google"):
        registry.parse_vendor_list("aws,google")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.get("aws"))

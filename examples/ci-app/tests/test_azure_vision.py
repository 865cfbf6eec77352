"""celebcheck.azure_vision: the Computer Vision SDK's celebrities model (analyze_image_by_domain_in_stream)."""

from __future__ import annotations

import pytest

from celebcheck import azure_vision

pytestmark = pytest.mark.vcr


def test_celebrities_names_tom_hanks(hanks_photo: bytes) -> None:
    [match] = azure_vision.celebrities(hanks_photo)
    assert match.name == "Tom Hanks" and match.confidence >= 0.7


def test_celebrities_names_no_one_in_a_group_of_strangers(group_photo: bytes) -> None:
    assert azure_vision.celebrities(group_photo) == []

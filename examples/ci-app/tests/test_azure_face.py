"""celebcheck.azure_face: the Face SDK's detect, verify and find-similar, at the SDK's default API
version and at v1.0 (each version has its own cassette)."""

from __future__ import annotations

import pytest

from celebcheck import azure_face

API_VERSIONS = [pytest.param(None, id="default"), pytest.param("v1.0", id="v1.0")]
pytestmark = [pytest.mark.vcr, pytest.mark.parametrize("api_version", API_VERSIONS)]


def test_detect_finds_every_face(group_photo: bytes, api_version: str | None) -> None:
    ids = azure_face.detect(azure_face.client(api_version), group_photo)
    assert len(ids) == 6 and len(set(ids)) == 6


def test_verify_same_person(hanks_photo: bytes, hanks_enrolment_photo: bytes, api_version: str | None) -> None:
    identical, confidence = azure_face.same_person(hanks_photo, hanks_enrolment_photo, api_version)
    assert identical and confidence > 0.5


def test_verify_different_people(hanks_photo: bytes, group_photo: bytes, api_version: str | None) -> None:
    identical, confidence = azure_face.same_person(hanks_photo, group_photo, api_version)
    assert not identical and confidence < 0.5


def test_find_person_among_photos(hanks_photo: bytes, group_photo: bytes, hanks_enrolment_photo: bytes,
                                  api_version: str | None) -> None:
    [(index, confidence)] = azure_face.find_person(hanks_photo, [group_photo, hanks_enrolment_photo], api_version)
    assert index == 1 and confidence > 0.5

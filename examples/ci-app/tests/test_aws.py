"""celebcheck.aws: boto3 Rekognition RecognizeCelebrities and CompareFaces."""

from __future__ import annotations

import pytest

from celebcheck import aws

pytestmark = pytest.mark.vcr


def test_recognize_names_tom_hanks(hanks_photo: bytes) -> None:
    r = aws.recognize(hanks_photo)
    assert [m.name for m in r.celebrities] == ["Tom Hanks"]
    assert r.celebrities[0].confidence >= 0.9 and r.unrecognized == 0


def test_recognize_names_no_one_in_a_group_of_strangers(group_photo: bytes) -> None:
    r = aws.recognize(group_photo)
    assert r.celebrities == [] and r.unrecognized == 6


def test_compare_matches_the_same_face(hanks_photo: bytes, hanks_enrolment_photo: bytes) -> None:
    [similarity] = aws.compare(hanks_photo, hanks_enrolment_photo)
    assert similarity > 0.9


def test_compare_matches_no_stranger(hanks_photo: bytes, group_photo: bytes) -> None:
    assert aws.compare(hanks_photo, group_photo) == []

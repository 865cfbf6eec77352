"""celebcheck.naver: Naver CFR celebrity through requests (multipart upload)."""

from __future__ import annotations

import pytest

from celebcheck import ConfigError, naver

pytestmark = pytest.mark.vcr


def test_celebrities_names_tom_hanks(hanks_photo: bytes) -> None:
    [match] = naver.celebrities(hanks_photo)
    assert match.name == "Tom Hanks" and match.confidence >= 0.9


def test_a_stranger_is_no_celebrity_at_the_apps_threshold(group_photo: bytes) -> None:
    # CFR names its best match for all six faces, with low confidence; the app's threshold drops them
    assert len(naver.celebrities(group_photo, min_confidence=0.0)) == 6
    assert naver.celebrities(group_photo) == []


def test_missing_credentials_are_named(hanks_photo: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAVER_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="NAVER_CLIENT_SECRET"):
        naver.celebrities(hanks_photo)

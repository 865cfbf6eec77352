"""The plugin without face models fails the session (one line with the fix) unless skipping is
opted into; its known / unknown photo fixtures are named / not named by the mocks."""

from __future__ import annotations

import httpx
import pytest
import requests

from harness.paths import CACHE_ENV, cache_dir

pytest_plugins = ["pytester"]
MODEL_CACHE = cache_dir()  # before pytester points HOME elsewhere

USES_THE_MOCKS = '''
def test_recognise(mock_rekognition_client, mockvendors_known_photo):
    pass

def test_no_mocks():
    pass
'''


@pytest.fixture
def no_models(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))


def test_missing_models_fail_the_session_with_the_fix(pytester: pytest.Pytester, no_models):
    pytester.makepyfile(test_user=USES_THE_MOCKS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*the mock vendors need the face models*fix: python -m harness models fetch*"])


@pytest.mark.parametrize("how", ["ini", "option"])
def test_skipping_missing_models_is_an_opt_in(pytester: pytest.Pytester, no_models, how: str):
    pytester.makepyfile(test_user=USES_THE_MOCKS)
    args = ["-p", "no:cacheprovider", "-rs"]
    if how == "ini":
        pytester.makeini("[pytest]\nmockvendors_missing_models = skip\n")
    else:
        args += ["--mockvendors-missing-models", "skip"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*the mock vendors need the face models*"])


def test_this_projects_own_suite_opts_in_to_skipping(pytestconfig: pytest.Config):
    assert pytestconfig.getini("mockvendors_missing_models") == "skip"


def test_the_photo_fixtures_ask_to_be_overridden_with_another_gallery(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(MODEL_CACHE))
    pytester.makeconftest("import pytest\n\n@pytest.fixture(scope='session')\n"
                          "def mockvendors_gallery():\n    return 'celebs'\n")
    pytester.makepyfile(test_user="def test_x(mockvendors_known_photo):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not the demo gallery; override mockvendors_known_photo in your conftest.py*"])


@pytest.mark.models
def test_the_known_photo_is_named_and_the_unknown_is_not_by_aws(mock_rekognition_client, mockvendors_known_photo,
                                                                 mockvendors_unknown_photo):
    known = mock_rekognition_client.recognize_celebrities(Image={"Bytes": mockvendors_known_photo.data})
    assert [c["Name"] for c in known["CelebrityFaces"]] == [mockvendors_known_photo.name] == ["Tom Hanks"]
    unknown = mock_rekognition_client.recognize_celebrities(Image={"Bytes": mockvendors_unknown_photo.data})
    assert unknown["CelebrityFaces"] == [] and len(unknown["UnrecognizedFaces"]) == 1
    assert mockvendors_unknown_photo.name is None


@pytest.mark.models
def test_the_known_photo_is_named_and_the_unknown_is_not_by_azure(mock_azure_url, mockvendors_known_photo,
                                                                   mockvendors_unknown_photo):
    def names(photo: bytes) -> list[str]:
        r = requests.post(f"{mock_azure_url}/vision/v3.2/models/celebrities/analyze", data=photo, timeout=60,
                          headers={"Ocp-Apim-Subscription-Key": "any", "Content-Type": "application/octet-stream"})
        return [c["name"] for c in r.json()["result"]["celebrities"]]

    assert names(mockvendors_known_photo.data) == ["Tom Hanks"]
    assert names(mockvendors_unknown_photo.data) == []


@pytest.mark.models
def test_naver_names_the_known_photo(mock_naver_url, mockvendors_known_photo):
    r = httpx.post(f"{mock_naver_url}/v1/vision/celebrity", files={"image": ("p.jpg", mockvendors_known_photo.data)},
                   headers={"X-Naver-Client-Id": "id", "X-Naver-Client-Secret": "secret"}, timeout=60)
    assert r.json()["faces"][0]["celebrity"]["value"] == "Tom Hanks"

"""The pytest plugin's profile choice: ``--mockvendors-profile`` / the ``mockvendors_profile`` ini key reach
every mock, run in a child pytest as a user's suite would."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def same_model_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester gives the child a fresh HOME: point it at this process's model cache."""
    from harness.paths import CACHE_ENV, cache_dir

    monkeypatch.setenv(CACHE_ENV, str(cache_dir()))

USER_TESTS = '''
def test_profiles(mockvendors_profiles):
    assert mockvendors_profiles == EXPECTED

def test_inprocess_rekognition_answers_from_it(mock_rekognition_inprocess):
    assert mock_rekognition_inprocess._behaviour.profile.profile_set == SET
'''


@pytest.mark.models
@pytest.mark.parametrize("how", ["option", "ini", "none"])
def test_the_profile_set_reaches_the_mocks(pytester: pytest.Pytester, how: str):
    expected = {v: "study-2020" for v in ("aws", "ms", "nav")} if how != "none" else None
    name = "study-2020" if how != "none" else "default"
    pytester.makepyfile(test_user=f"EXPECTED = {expected!r}\nSET = {name!r}\n" + USER_TESTS)
    args = []
    if how == "option":
        args = ["--mockvendors-profile", "study-2020"]
    elif how == "ini":
        pytester.makeini("[pytest]\nmockvendors_profile = study-2020\n")
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_bad_profile_name_is_a_clear_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_user="def test_x(mockvendors_profiles):\n    pass\n")
    result = pytester.runpytest_subprocess("--mockvendors-profile", "study-1999", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not a profile set*"])

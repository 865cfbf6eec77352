"""``dfi faces compare --recognizer``: every recognizer tells Obama from Biden on the real photos."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.faces.registry import RECOGNIZERS

pytestmark = pytest.mark.models


def _cosine(*args: str) -> float:
    result = CliRunner().invoke(cli, ["faces", "compare", *args])
    assert result.exit_code == 0, result.output
    (value,) = re.findall(r"= (-?\d\.\d+)", result.output)
    return float(value)


@pytest.mark.parametrize("recognizer", list(RECOGNIZERS))
def test_same_person_scores_above_a_different_person(models, shared_data, recognizer):
    faces = shared_data / "faces"
    try:
        same = _cosine(str(faces / "obama.jpg"), str(faces / "obama2.jpg"), "--recognizer", recognizer)
    except AssertionError as exc:
        if "dfi models fetch" in str(exc):
            pytest.skip(f"{recognizer} not installed")
        raise
    different = _cosine(str(faces / "obama.jpg"), str(faces / "biden.jpg"), "--recognizer", recognizer)
    assert same > different + 0.1


def test_recognizer_and_backend_do_not_mix(shared_data):
    result = CliRunner().invoke(cli, ["faces", "compare", str(shared_data / "faces" / "obama.jpg"),
                                      str(shared_data / "faces" / "biden.jpg"), "--backend", "insightface",
                                      "--recognizer", "dlib_resnet"])
    assert result.exit_code == 2 and "leave out --backend" in result.output

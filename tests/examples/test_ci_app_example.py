"""The example application (examples/ci-app, docs/ci-app.md) passes its own test suite, run as a
team runs it, in a child pytest:

- live, against the mockvendors plugin's mock servers (``--disable-recording``);
- replay only, from the committed cassettes: no mock server started, network blocked, no vendor
  endpoint and no credential in the environment (record mode ``none``);
- and the documented recording command reproduces the committed cassettes' calls, with nothing in
  them that looks like a credential (``dfi cassettes scan``); a call a cassette lacks fails.

Every run must pass every test: a skip or a deselection is a failure here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.paths import CACHE_ENV, cache_dir

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "ci-app"
CASSETTES = APP / "tests" / "cassettes"
# 4 Rekognition + 2 Computer Vision + 4 Face x 2 API versions + 3 Naver
EXPECTED_TESTS = 17
EXPECTED_CASSETTES = 16  # every test but the one that makes no call (missing credentials)
VENDOR_ENV_PREFIXES = ("AWS_", "AZURE_", "NAVER_", "NCP_", "DFI_")
# the documented commands (docs/ci-app.md; tests/examples/test_ci_app_docs.py holds the page to them)
LIVE_ARGS = ("--disable-recording",)
REPLAY_ARGS = ("--block-network",)
RECORD_ARGS = ("--record-mode=rewrite",)

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def installed_models() -> None:
    """The example's suite fails without the models by design (a team's CI must not pass having
    tested nothing); this suite skips instead."""
    from harness.models import installed_problems

    problems = installed_problems()
    if problems:
        pytest.skip(f"the example needs the face models and demo photos (dfi models fetch): {problems[0]}")


def clean_env() -> dict[str, str]:
    """The environment of a CI job that holds no vendor credential and names no vendor endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_ENV_PREFIXES)}
    env[CACHE_ENV] = str(cache_dir())  # where the models and demo photos are (not a vendor setting)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull  # no ~/.aws either
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this dfi's console script
    env.pop("PYTEST_ADDOPTS", None)
    return env


@dataclass
class Outcome:
    tests: int
    failures: int
    errors: int
    skipped: int
    output: str

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def run_app_tests(app: Path, tmp_path: Path, *args: str, script: str | None = None) -> Outcome:
    """The app's suite in a child pytest (``script``: through that script of the app, which runs pytest)."""
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.xml"
    pytest_args = ["-p", "no:cacheprovider", "--setup-show", f"--junitxml={report}", *args]
    cmd = [str(app / script), *pytest_args] if script else [sys.executable, "-m", "pytest", *pytest_args]
    proc = subprocess.run(cmd, cwd=app, env=clean_env(), capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert report.is_file(), f"no report from {' '.join(args)}:\n{output[-3000:]}"
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    return Outcome(**counts, output=output)


def assert_all_passed(outcome: Outcome) -> None:
    assert (outcome.passed, outcome.failures, outcome.errors, outcome.skipped) == (EXPECTED_TESTS, 0, 0, 0), \
        outcome.output[-4000:]


def test_the_apps_suite_passes_against_the_plugins_mock_servers(tmp_path: Path) -> None:
    outcome = run_app_tests(APP, tmp_path, *LIVE_ARGS)
    assert_all_passed(outcome)
    assert "celebcheck vendors: mock" in outcome.output
    assert "SETUP    S mock_vendor_servers" in outcome.output  # the plugin's servers, started once


def test_the_apps_suite_passes_replaying_its_committed_cassettes(tmp_path: Path) -> None:
    outcome = run_app_tests(APP, tmp_path, *REPLAY_ARGS)
    assert_all_passed(outcome)
    assert "celebcheck vendors: replay" in outcome.output
    # no mock server, no face model: only the cassettes answered
    assert "mock_vendor_servers" not in outcome.output and "mockvendors_analyzer" not in outcome.output


def test_the_committed_cassettes_hold_no_credential_and_one_cassette_per_calling_test() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert len(files) == EXPECTED_CASSETTES
    scan = subprocess.run([sys.executable, "-m", "harness", "cassettes", "scan", str(CASSETTES)],
                          capture_output=True, text=True, env=clean_env(), timeout=120)
    assert scan.returncode == 0 and f"scanned {EXPECTED_CASSETTES} cassette(s): 0 finding(s)" in scan.stdout, \
        scan.stdout + scan.stderr
    listed = subprocess.run([sys.executable, "-m", "harness", "cassettes", "list", str(CASSETTES)],
                            capture_output=True, text=True, env=clean_env(), timeout=120)
    # exit 1: a cassette replay would refuse (re-record: cd examples/ci-app && python -m pytest --record-mode=rewrite)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for f in files:  # the fake credentials the recording used are not there either
        text = f.read_text()
        assert not any(fake in text for fake in ("testing", "fake-key", "fake-id", "fake-secret")), f


def calls(cassette: Path) -> list[tuple[str, str, str]]:
    """(method, path, operation) of each recorded call."""
    out = []
    for i in yaml.safe_load(cassette.read_text())["interactions"]:
        request = i["request"]
        key = yaml.safe_load(request["body"])["dfi_request"]
        out.append((request["method"], request["uri"].split("//", 1)[1].split("/", 1)[1].split("?")[0],
                    key["operation"]))
    return out


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "ci-app"
    shutil.copytree(APP, copy, ignore=shutil.ignore_patterns("__pycache__", "cassettes"))
    return copy


def assert_same_calls(recorded: Path) -> None:
    names = sorted(p.relative_to(recorded) for p in recorded.rglob("*.yaml"))
    assert names == sorted(p.relative_to(CASSETTES) for p in CASSETTES.rglob("*.yaml"))
    for name in names:  # the same calls, in the same order (face ids and dates differ)
        assert calls(recorded / name) == calls(CASSETTES / name), name


def test_the_documented_recording_reproduces_the_committed_cassettes_and_replay_is_strict(
        app_copy: Path, tmp_path: Path) -> None:
    assert_all_passed(run_app_tests(app_copy, tmp_path, *RECORD_ARGS))
    recorded = app_copy / "tests" / "cassettes"
    assert_same_calls(recorded)

    # a call the cassette lacks fails the replay: the Hanks answer filed under the group-photo test
    naver = recorded / "test_naver"
    shutil.copy(naver / "test_celebrities_names_tom_hanks.yaml",
                naver / "test_a_stranger_is_no_celebrity_at_the_apps_threshold.yaml")
    outcome = run_app_tests(app_copy, tmp_path, *REPLAY_ARGS)
    assert (outcome.passed, outcome.failures, outcome.errors) == (EXPECTED_TESTS - 1, 1, 0), outcome.output[-3000:]
    assert "FAILED tests/test_naver.py::test_a_stranger_is_no_celebrity_at_the_apps_threshold" in outcome.output
    assert "CannotOverwriteExistingCassetteException" in outcome.output
    assert "image 0 sha256" in outcome.output  # the matcher says what differs


def test_recording_against_dfi_serve_gives_the_same_cassettes(app_copy: Path, tmp_path: Path) -> None:
    """record-against-dfi-serve.sh: endpoints and fake credentials from the environment, as a
    recording against the real services takes them."""
    outcome = run_app_tests(app_copy, tmp_path, script="record-against-dfi-serve.sh")
    assert_all_passed(outcome)
    assert "celebcheck vendors: env" in outcome.output and "mock_vendor_servers" not in outcome.output
    recorded = app_copy / "tests" / "cassettes"
    assert_same_calls(recorded)
    scan = subprocess.run([sys.executable, "-m", "harness", "cassettes", "scan", str(recorded)],
                          capture_output=True, text=True, env=clean_env(), timeout=120)
    assert scan.returncode == 0, scan.stdout + scan.stderr

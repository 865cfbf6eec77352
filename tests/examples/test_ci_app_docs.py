"""docs/ci-app.md shows real code and real commands: every included file is the file as it is,
every command outside a generated transcript is one tests/examples runs (or the README's set-up
line), and the transcripts are of the commands tests/examples runs."""

from __future__ import annotations

import re
from pathlib import Path

from test_ci_app_example import APP, LIVE_ARGS, RECORD_ARGS, REPLAY_ARGS

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "ci-app.md"
INCLUDE_RE = re.compile(r"<!-- dfi:include (?P<attrs>.*?)-->\n(?P<body>.*?)<!-- /dfi:include -->", re.S)
RUN_RE = re.compile(r"<!-- dfi:run (?P<attrs>.*?)-->\n(?P<body>.*?)<!-- /dfi:run -->", re.S)
ATTR_RE = re.compile(r'(\w+)=(?:"([^"]*)"|(\S+))')
CONSOLE_RE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
README_SETUP = "python -m pip install -e '.[test]' && python -m harness models fetch"  # tests/docs keeps it in README


def attrs(text: str) -> dict[str, str]:
    return {k: v or w for k, v, w in ATTR_RE.findall(text)}


def test_every_included_file_is_shown_as_it_is() -> None:
    includes = list(INCLUDE_RE.finditer(PAGE.read_text()))
    assert len(includes) >= 7
    for m in includes:
        a = attrs(m.group("attrs"))
        src = (REPO / a["file"]).read_text().rstrip("\n")
        assert m.group("body") == f"```{a.get('lang', 'python')}\n{src}\n```\n", \
            f"{a['file']} changed: python docs/regenerate.py docs/ci-app.md"


def pytest_line(*args: str) -> str:
    return " ".join(["python -m pytest", *args])


def test_the_commands_outside_transcripts_are_the_ones_tested() -> None:
    text = RUN_RE.sub("", INCLUDE_RE.sub("", PAGE.read_text()))
    shown = [line[2:] for block in CONSOLE_RE.findall(text) for line in block.splitlines() if line.startswith("$ ")]
    script = (APP / "record-against-dfi-serve.sh").read_text()
    tested = {README_SETUP, pytest_line(*RECORD_ARGS), pytest_line(*RECORD_ARGS, "--vendors-from-env")}
    assert shown and set(shown) <= tested, set(shown) - tested
    assert pytest_line(*RECORD_ARGS, "--vendors-from-env") + ' "$@"' in script  # what the dfi serve test runs


def test_the_transcripts_are_of_the_commands_tested() -> None:
    commands = [attrs(m.group("attrs"))["cmd"] for m in RUN_RE.finditer(PAGE.read_text())]
    app = "cd {repo}/examples/ci-app && "
    assert app + pytest_line(*LIVE_ARGS, "-q") in commands
    assert app + pytest_line(*REPLAY_ARGS, "-v") in commands
    assert "dfi cassettes scan {repo}/examples/ci-app/tests/cassettes" in commands

"""Every Python block in the README and docs is code that runs: it is included from a file that a
test runs (``<!-- dfi:include file=... -->``) or its lines are lines of a test or example module, as
printed. A block that is neither is prose nobody checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"(?:<!-- dfi:include file=\"(?P<file>[^\"]+)\"[^>]*-->\s*\n)?```python\n(?P<code>.*?)```", re.S)
RUN_BY_TESTS = [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "examples").rglob("*.py")),
                *sorted((ROOT / "docs" / "examples").glob("*.py"))]


def _blocks() -> list[tuple[str, str | None, str]]:
    out = []
    for page in PAGES:
        for m in BLOCK.finditer(page.read_text()):
            out.append((f"{page.relative_to(ROOT)}:{page.read_text()[:m.start()].count(chr(10)) + 1}",
                        m.group("file"), m.group("code")))
    return out


def _lines(text: str) -> list[str]:
    """Code lines without indentation and comments (a page may comment a line its test does not)."""
    out = []
    for line in text.splitlines():
        code = line
        for m in re.finditer(r"\s#", line):  # the first " #" outside a string starts a comment
            before = line[:m.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                code = before
                break
        code = code.strip()
        if code and not code.startswith("#"):
            out.append(code)
    return out


SOURCES = {path: _lines(path.read_text()) for path in RUN_BY_TESTS}


def _found_in_order(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(line == h for h in it) for line in needle)


@pytest.mark.parametrize("where,include,code", _blocks(), ids=[b[0] for b in _blocks()])
def test_every_python_block_is_code_a_test_runs(where: str, include: str | None, code: str):
    if include is not None:
        assert (ROOT / include).is_file(), f"{where}: includes a missing file {include}"
        return  # docs/regenerate.py writes the block from the file; tests/docs checks the includes
    needle = _lines(code)
    assert any(_found_in_order(needle, lines) for lines in SOURCES.values()), (
        f"{where}: this block is in no test or example module as printed")

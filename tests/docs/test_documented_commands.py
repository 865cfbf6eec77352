"""The documentation: the README stays a front door, links resolve, documented commands still run.

Commands come from the ``<!-- dfi:run ... -->`` markers that docs/regenerate.py fills in. Cheap
steps run for real (in one temporary work folder, in document order, as the script runs them);
steps marked ``check=help`` (expensive: campaigns, simulations, fits) only have their
``dfi <sub> --help`` run, in-process; ``check=skip`` steps (network, servers) are not run here
but ``python docs/regenerate.py --check`` runs them.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"

_spec = importlib.util.spec_from_file_location("dfi_docs_regenerate", DOCS / "regenerate.py")
assert _spec and _spec.loader
regen = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = regen  # dataclasses look their module up
_spec.loader.exec_module(regen)

LINK_RE = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE_RE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_RE = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def relative_links(path: Path) -> list[str]:
    text = CODE_RE.sub("", FENCE_RE.sub("", path.read_text()))
    links = []
    for m in LINK_RE.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # http(s), mailto, in-page anchors
        links.append(target)
    return links


def _anchor(heading: str) -> str:
    h = heading.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE_RE.sub("", path.read_text())
    return {_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def test_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; the limit is 250 (move detail to docs/)"
    links = relative_links(README)
    pages = {Path(link.split("#")[0]).as_posix() for link in links if link.split("#")[0].endswith(".md")}
    assert "docs/index.md" in pages, "README.md should link to docs/index.md"
    for link in links:
        target = (README.parent / link.split("#")[0]).resolve()
        assert target.exists(), f"README.md links to {link}, which does not exist"
    text = README.read_text()
    for cmd in (
        "python -m pip install -e '.[test]' && python -m harness models fetch",
        "python -m pytest -q",
        "dfi run",
    ):
        assert cmd in text, f"README.md lost the set-up command {cmd!r}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path: Path):
    bad = []
    for link in relative_links(path):
        file_part, _, anchor = link.partition("#")
        target = (path.parent / file_part).resolve() if file_part else path
        if not target.exists():
            bad.append(f"{link} (no such file)")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            bad.append(f"{link} (no heading #{anchor})")
    assert not bad, f"{path.relative_to(REPO)}: broken links: {bad}"


def all_steps() -> list[tuple[str, object]]:
    out = []
    for path in regen.documents():
        for block in regen.find_blocks(path):
            for step in block.steps:
                out.append((block.where, step))
    return out


def test_every_page_is_listed_in_the_index():
    index = (DOCS / "index.md").read_text()
    for page in sorted(DOCS.rglob("*.md")):
        if page.name == "index.md":
            continue
        rel = page.relative_to(DOCS).as_posix()
        assert f"({rel})" in index, f"docs/index.md does not list {rel}"


def test_markers_parse():
    steps = all_steps()
    assert len(steps) >= 20
    for where, step in steps:
        assert step.check in ("run", "help", "skip"), f"{where}: check={step.check}"
        if step.check == "help":
            assert step.subcommand()[:1] == ["dfi"], f"{where}: check=help needs a dfi command"


def _cli():
    from harness.cli import cli

    return cli


def _help(words: list[str]) -> tuple[int, str]:
    from click.testing import CliRunner

    res = CliRunner().invoke(_cli(), [*words[1:], "--help"], prog_name="dfi")
    return res.exit_code, res.output


def test_documented_commands_run(tmp_path):
    """Every documented step: cheap ones run fully, expensive ones as ``--help``."""
    wd = regen.Workdir(tmp_path)
    failures, skipped = [], []
    without_data: set[str] = set()  # documents where a step needing ../shared/data was skipped
    for where, step in all_steps():
        doc = where.rsplit(":", 1)[0]
        if step.check == "skip":
            continue
        if wd.shared is None and step.check == "run" and (step.needs_shared() or doc in without_data):
            without_data.add(doc)  # later steps of this page may read what the skipped one wrote
            skipped.append(f"{where}: {step.shown()}")
            continue
        if step.check == "help":
            words = step.subcommand()
            status, out = _help(words)
            if status != 0:
                failures.append(f"{where}: `{' '.join(words)} --help` -> {status}: {out.strip()[-300:]}")
            continue
        result = regen.run_step(step, wd, timeout=120)
        if not result.ok:
            tail = " | ".join(result.output.strip().split("\n")[-3:])
            failures.append(f"{where}: `{step.shown()}` -> status {result.status} (documented {step.status}): {tail}")
    assert not failures, "documented commands that no longer run:\n" + "\n".join(failures)
    if skipped:
        pytest.skip(f"{len(skipped)} step(s) need ../shared/data (absent): {skipped[:3]}")


def dfi_subcommands() -> list[str]:
    cli = _cli()
    import click

    ctx = click.Context(cli)
    return cli.list_commands(ctx)


def test_every_subcommand_is_in_the_cli_reference():
    ref = (DOCS / "reference" / "cli.md").read_text()
    missing = [name for name in dfi_subcommands() if f"## `dfi {name}`" not in ref]
    assert not missing, f"docs/reference/cli.md does not document: {missing}"
    # and every documented command names a real sub-command
    names = set(dfi_subcommands())
    for where, step in all_steps():
        words = shlex.split(step.cmd.replace("{shared}", "x")) if "dfi" in step.cmd else []
        if words[:1] == ["dfi"] and len(words) > 1 and not words[1].startswith("-"):
            assert words[1] in names, f"{where}: `dfi {words[1]}` is not a dfi command"

#!/usr/bin/env python3
"""Regenerate every command transcript and measured number in README.md and docs/**/*.md.

Nothing between the markers below is edited by hand: this script runs the commands and writes
their real output. A block looks like this in the Markdown:

    <!-- dfi:run cmd="dfi metrics {shared}/paper-results --beta 90" lines=40 -->
    ```console
    (generated)
    ```
    <!-- /dfi:run -->

One marker may hold several steps: every ``cmd=`` starts a new step, and the attributes after it
apply to that step. Attributes of a step:

    cmd="..."      the command, shown as ``$ cmd`` and run with bash (``{shared}`` stands for the
                   study's data, shown as ../shared/data; ``{repo}`` for the repository root)
    run="..."      run this instead of cmd (e.g. to take npm off PATH for a documented error);
                   cmd is still what the page shows
    comment="..."  shown after the command as ``# comment``
    status=N       the exit status the command is documented to end with (default 0)
    lines=N        keep the first N lines of output, then a "... (k more lines)" line
    tail=N         keep the last N lines
    grep="REGEX"   keep only the output lines matching REGEX (an excerpt; says so)
    drop="REGEX"   leave out the output lines matching REGEX (an excerpt; says so)
    columns=N      terminal width for this step (default 100)
    until="TEXT"   a server: read its output until a line contains TEXT, then stop it
    bg="..."       start this server in the background first (shown as ``$ bg &``), wait for
                   "Ctrl-C stops.", run the step, stop the server
    hide=1         run the step but show neither command nor output (set-up)
    quiet=1        show the command, not its output
    raw=1          the output is Markdown: inserted as it is, no fence, no command line
    copy="SRC:DEST" after the step, copy SRC (work dir) to DEST (repository) -- generated images
    needs=shared   the command reads ../shared/data without naming it (skipped when it is absent)
    check=run|help|skip   what tests/docs does with it: run it (default), run
                   ``dfi <sub> --help`` only (expensive commands), or nothing

``<!-- dfi:include file="docs/examples/x.py" -->`` ... ``<!-- /dfi:include -->`` is replaced by
that file's text in a fenced block, so a documented script and the script that runs are one file.

Commands run in one temporary work folder per invocation (``<tmp>/work``, with
``<tmp>/shared/data`` linking to the study's data, so ``../shared/data`` resolves as documented,
and links to the repository's cassettes/, benchmarks/ and README.md), in document order, so a
later command can read what an earlier one wrote. Output: stderr merged into stdout, no TTY,
``COLUMNS=100`` unless a step says otherwise, no colour; the work folder, the data folder and the
home folder are written back as relative paths, ``../shared/data`` and ``~``.

    python docs/regenerate.py            # run everything, rewrite the blocks (minutes)
    python docs/regenerate.py --check    # run everything, rewrite nothing, fail on a bad status
    python docs/regenerate.py docs/metrics-and-sweeps.md   # only these files
    python docs/regenerate.py --list     # the documented commands, one a line
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_SHOWN = "../shared/data"
# the order in which documents run (a later one may read what an earlier one wrote)
DOC_ORDER = [
    "README.md",
    "docs/getting-started.md",
    "docs/campaigns.md",
    "docs/faces-and-models.md",
    "docs/mock-vendors.md",
    "docs/cassettes.md",
    "docs/metrics-and-sweeps.md",
    "docs/calibration-and-comparison.md",
    "docs/defense.md",
    "docs/simulation.md",
    "docs/benchmarks.md",
]

BLOCK_RE = re.compile(
    r"(?P<open><!-- dfi:run (?P<attrs>.*?)-->)\n(?P<body>.*?)(?P<close><!-- /dfi:run -->)", re.S
)
INCLUDE_RE = re.compile(
    r"(?P<open><!-- dfi:include (?P<attrs>.*?)-->)\n(?P<body>.*?)(?P<close><!-- /dfi:include -->)", re.S
)
ATTR_RE = re.compile(r'(\w+)=(?:"([^"]*)"|(\S+))')
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Step:
    cmd: str
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def check(self) -> str:
        return self.attrs.get("check", "run")

    @property
    def status(self) -> int:
        return int(self.attrs.get("status", "0"))

    def shown(self) -> str:
        text = self.cmd.replace("{shared}", SHARED_SHOWN).replace("{repo}/", "")
        if "comment" in self.attrs:
            text += "   # " + self.attrs["comment"]
        return text

    def needs_shared(self) -> bool:
        if self.attrs.get("needs") == "shared":
            return True
        return any("{shared}" in self.attrs.get(k, self.cmd if k == "cmd" else "") for k in ("cmd", "run", "bg"))

    def subcommand(self) -> list[str]:
        """``dfi <sub> [<subsub>]`` words of the command, for a --help check."""
        words = shlex.split(self.cmd.replace("{shared}", SHARED_SHOWN))
        words = [w for w in words if "=" not in w or w.startswith("-")]  # drop VAR=value prefixes
        if not words or words[0] != "dfi":
            return []
        out = ["dfi"]
        for w in words[1:3]:
            if w.startswith("-") or "/" in w or "." in w:
                break
            out.append(w)
        return out


@dataclass
class Block:
    path: Path
    start: int
    steps: list[Step]

    @property
    def where(self) -> str:
        line = self.path.read_text().count("\n", 0, self.start) + 1
        return f"{self.path.relative_to(REPO)}:{line}"


def parse_steps(attr_text: str) -> list[Step]:
    steps: list[Step] = []
    for m in ATTR_RE.finditer(attr_text):
        key, value = m.group(1), m.group(2) if m.group(2) is not None else m.group(3)
        if key == "cmd":
            steps.append(Step(value))
        elif not steps:
            raise ValueError(f"attribute {key}= before the first cmd= in: {attr_text!r}")
        else:
            steps[-1].attrs[key] = value
    return steps


def find_blocks(path: Path) -> list[Block]:
    text = path.read_text()
    return [Block(path, m.start(), parse_steps(m.group("attrs"))) for m in BLOCK_RE.finditer(text)]


def documents(only: list[str] | None = None) -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    order = {name: i for i, name in enumerate(DOC_ORDER)}
    files.sort(key=lambda p: (order.get(str(p.relative_to(REPO)), len(order)), str(p)))
    if only:
        wanted = {Path(o).resolve() for o in only}
        files = [f for f in files if f.resolve() in wanted]
    return files


def shared_data() -> Path | None:
    env = os.environ.get("DFI_SHARED_DATA")
    p = Path(env).expanduser() if env else REPO.parent / "shared" / "data"
    return p.resolve() if p.is_dir() else None


class Workdir:
    """``<tmp>/work`` (the commands' cwd) beside ``<tmp>/shared/data``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="dfi-docs-"))
        self.work = self.root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.shared = shared_data()
        if self.shared is not None:
            (self.root / "shared").mkdir(exist_ok=True)
            link = self.root / "shared" / "data"
            if not link.exists():
                link.symlink_to(self.shared, target_is_directory=True)
        for name in ("cassettes", "benchmarks", "README.md"):
            link = self.work / name
            if not link.exists() and (REPO / name).exists():
                link.symlink_to(REPO / name)

    def env(self, columns: int = 100) -> dict[str, str]:
        env = dict(os.environ)
        env.update(COLUMNS=str(columns), LINES="200", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
        env.pop("FORCE_COLOR", None)
        if self.shared is not None:
            env["DFI_SHARED_DATA"] = str(self.shared)
        return env

    def expand(self, cmd: str) -> str:
        return cmd.replace("{shared}", SHARED_SHOWN).replace("{repo}", shlex.quote(str(REPO)))

    def clean(self, text: str) -> str:
        text = ANSI_RE.sub("", text).replace("\r\n", "\n")
        # a progress bar redrawn with \r: keep what was drawn last
        text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
        reps = [(str(self.work) + "/", ""), (str(self.work), "."), (str(self.root / "shared" / "data"), SHARED_SHOWN)]
        if self.shared is not None:
            reps.append((str(self.shared), SHARED_SHOWN))
        reps += [(str(REPO) + "/", ""), (str(Path.home()), "~")]
        for old, new in reps:
            text = text.replace(old, new)
        return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _start(cmd: str, wd: Workdir, columns: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", "-c", cmd], cwd=wd.work, env=wd.env(columns), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def _read_until(proc: subprocess.Popen, text: str, timeout: float) -> tuple[str, bool]:
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if text in line:
                found.set()
                return
        found.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    found.wait(timeout)
    return "".join(lines), any(text in ln for ln in lines)


@dataclass
class Result:
    step: Step
    status: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == self.step.status


def run_step(step: Step, wd: Workdir, timeout: float = 900) -> Result:
    columns = int(step.attrs.get("columns", "100"))
    t0 = time.monotonic()
    server = None
    try:
        if "bg" in step.attrs:
            server = _start(wd.expand(step.attrs["bg"]), wd, columns)
            _, ready = _read_until(server, "Ctrl-C stops.", 120)
            if not ready:
                return Result(step, -1, f"background server did not start: {step.attrs['bg']}", 0.0)
        cmd = wd.expand(step.attrs.get("run", step.cmd))
        if "until" in step.attrs:
            proc = _start(cmd, wd, columns)
            out, ready = _read_until(proc, step.attrs["until"], 120)
            _stop(proc)
            status = 0 if ready else (proc.returncode or -1)
        else:
            proc = _start(cmd, wd, columns)
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _stop(proc)
                out, status = f"timed out after {timeout:.0f} s", -1
            else:
                status = proc.returncode
    finally:
        if server is not None:
            _stop(server)
    return Result(step, status, wd.clean(out), time.monotonic() - t0)


def render(results: list[Result], wd: Workdir) -> str:
    out: list[str] = []
    for r in results:
        a = r.step.attrs
        if a.get("hide"):
            continue
        if "bg" in a:
            out.append(f"$ {a['bg'].replace('{shared}', SHARED_SHOWN)} &")
        out.append(f"$ {r.step.shown()}")
        if a.get("quiet"):
            continue
        lines = r.output.split("\n") if r.output else []
        if "grep" in a:
            rx = re.compile(a["grep"])
            kept = [ln for ln in lines if rx.search(ln)]
            if len(kept) < len(lines):
                kept.append(f"... (excerpt: {len(kept)} of {len(lines)} lines)")
            lines = kept
        if "drop" in a:
            rx = re.compile(a["drop"])
            kept = [ln for ln in lines if not rx.search(ln)]
            if len(kept) < len(lines):
                kept.append(f"... (excerpt: {len(lines) - len(kept)} of {len(lines)} lines left out)")
            lines = kept
        if "lines" in a and len(lines) > int(a["lines"]):
            n = int(a["lines"])
            lines = lines[:n] + [f"... ({len(lines) - n} more lines)"]
        if "tail" in a and len(lines) > int(a["tail"]):
            n = int(a["tail"])
            lines = [f"... ({len(lines) - n} lines before)"] + lines[-n:]
        out.extend(lines)
    return "\n".join(out)


def regenerate(paths: list[Path], check: bool, wd: Workdir, verbose: bool = True) -> list[tuple[Block, Result]]:
    report: list[tuple[Block, Result]] = []
    for path in paths:
        text = path.read_text()
        # includes first (cheap, no commands)
        def include(m: re.Match) -> str:
            attrs = {k: (v if v else w) for k, v, w in ATTR_RE.findall(m.group("attrs"))}
            src = (REPO / attrs["file"]).read_text().rstrip("\n")
            lang = attrs.get("lang", "python")
            return f"{m.group('open')}\n```{lang}\n{src}\n```\n{m.group('close')}"

        new_text = INCLUDE_RE.sub(include, text)
        pieces: list[str] = []
        pos = 0
        for m in BLOCK_RE.finditer(new_text):
            block = Block(path, m.start(), parse_steps(m.group("attrs")))
            results = []
            for step in block.steps:
                if step.needs_shared() and wd.shared is None:
                    print(f"SKIP {path.relative_to(REPO)}: {step.shown()} (no ../shared/data)", file=sys.stderr)
                    results = []
                    break
                r = run_step(step, wd)
                results.append(r)
                report.append((block, r))
                if verbose:
                    flag = "ok  " if r.ok else "FAIL"
                    print(f"{flag} {r.seconds:6.1f} s  status {r.status}  {path.relative_to(REPO)}: {step.shown()}",
                          file=sys.stderr)
                    if not r.ok:
                        print("     " + "\n     ".join(r.output.split("\n")[-5:]), file=sys.stderr)
                if "copy" in step.attrs and r.ok and not check:
                    src, dest = step.attrs["copy"].split(":", 1)
                    shutil.copyfile(wd.work / src, REPO / dest)
            pieces.append(new_text[pos:m.start()])
            if results and all(r.ok for r in results):
                fence = re.match(r"```(\w*)", m.group("body").lstrip())
                lang = fence.group(1) if fence and fence.group(1) else "console"
                if any(r.step.attrs.get("raw") for r in results):  # output is Markdown itself
                    body = "\n".join(r.output for r in results)
                    pieces.append(f"{m.group('open')}\n{body}\n{m.group('close')}")
                else:
                    pieces.append(f"{m.group('open')}\n```{lang}\n{render(results, wd)}\n```\n{m.group('close')}")
            else:
                pieces.append(m.group(0))  # keep the old block; the failure is reported
            pos = m.end()
        pieces.append(new_text[pos:])
        final = "".join(pieces)
        if not check and final != text:
            path.write_text(final)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="only these Markdown files (default: README.md and docs/**/*.md)")
    ap.add_argument("--check", action="store_true", help="run every documented command, rewrite nothing")
    ap.add_argument("--list", action="store_true", help="list the documented commands")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = ap.parse_args(argv)
    paths = documents(args.files or None)
    if args.list:
        for p in paths:
            for b in find_blocks(p):
                for s in b.steps:
                    print(f"{b.where}\t{s.check}\t{s.shown()}")
        return 0
    wd = Workdir()
    try:
        report = regenerate(paths, args.check, wd)
    finally:
        if args.keep:
            print(f"work folder kept: {wd.root}", file=sys.stderr)
        else:
            shutil.rmtree(wd.root, ignore_errors=True)
    bad = [(b, r) for b, r in report if not r.ok]
    print(f"{len(report)} step(s), {len(report) - len(bad)} ok, {len(bad)} failed", file=sys.stderr)
    for b, r in bad:
        print(f"  {b.where}: {r.step.shown()} -> status {r.status} (documented {r.step.status})", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

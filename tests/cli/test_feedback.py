"""Live feedback for slow steps: a spinner row per step that becomes a moving bar, nothing when piped,
and the jobs telling it how far they are."""

from __future__ import annotations

import io

from rich.console import Console

from harness.cli.feedback import Feedback


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100, color_system=None), buf


def test_a_step_shows_its_message_and_moves_its_bar_on_a_terminal():
    console, buf = _terminal()
    feedback = Feedback(console)
    with feedback.step("building the demo dataset...") as advance:
        advance(3, 76)
        feedback._progress.refresh()
        with feedback.step("enrolling...") as inner:  # nested: a second row of the same display
            inner(1, 24)
            feedback._progress.refresh()
    out = buf.getvalue()
    assert "building the demo dataset..." in out and "3/76" in out
    assert "enrolling..." in out and "1/24" in out


def test_nothing_is_drawn_when_not_a_terminal_or_disabled():
    for console, disable in ((Console(file=io.StringIO(), force_terminal=False), False), (_terminal()[0], True)):
        feedback = Feedback(console, disable=disable)
        with feedback.step("working...") as advance:
            advance(1, 2)
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_the_simulation_reports_every_step_up_to_its_total():
    from contextlib import contextmanager

    from harness.jobs.simulate import run_simulation

    seen: dict[str, list[tuple[int, int]]] = {}

    @contextmanager
    def status(message: str):
        calls = seen.setdefault(message, [])
        yield lambda done, total: calls.append((done, total))

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        run_simulation(scale=0.02, out_dir=Path(tmp), sensitivity=False, status=status)
    simulating = {m: c for m, c in seen.items() if m.startswith("simulating")}
    assert len(simulating) == 2, seen.keys()  # the world, and the detectors' training world
    for calls in simulating.values():
        done = [d for d, _ in calls]
        total = calls[-1][1]
        assert done == sorted(done) and done[-1] == total and total > 3
    assert any(m.startswith("writing the report") for m in seen)


def test_the_command_module_import_shows_a_spinner_on_a_terminal(monkeypatch):
    from harness import cli as cli_pkg

    console, buf = _terminal()
    monkeypatch.setattr(cli_pkg, "stdout_console", lambda: console)
    ctx = cli_pkg.cli.make_context("dfi", ["faces", "--help"], resilient_parsing=True)
    name, command, _ = cli_pkg.cli.resolve_command(ctx, ["faces", "--help"])
    assert name == "faces" and command is not None
    assert "loading dfi faces..." in buf.getvalue()

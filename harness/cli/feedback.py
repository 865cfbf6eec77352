"""Live feedback for the slow steps of a command: one spinner line per step, with the time it has
taken and, once the step says how far it is, a bar that moves.

``Feedback.step`` has the shape of the jobs' ``status`` callback (:data:`harness.jobs._common.StatusFn`):
``with feedback.step("building the demo dataset...") as advance: advance(done, total)``. Steps may
nest (the job's steps inside the command's "loading..." step); each is a row of one live display.
Rows are transient: on a terminal they disappear when their step ends, and when stdout is not a
terminal nothing is drawn at all, so what a script or a test reads is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from harness.jobs._common import Advance


class Feedback:
    """The live display of one command's slow steps (see the module docstring)."""

    def __init__(self, console: Console, *, disable: bool = False) -> None:
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True,
                                  disable=disable or not console.is_terminal)
        self._open = 0

    @contextmanager
    def step(self, message: str) -> Iterator[Advance]:
        task = self._enter(message)
        try:
            yield lambda done, total: self._progress.update(task, completed=done, total=total)
        finally:
            self._leave(task)

    def _enter(self, message: str) -> TaskID:
        if self._open == 0:
            self._progress.start()
        self._open += 1
        return self._progress.add_task(message, total=None)  # no total yet: the bar pulses

    def _leave(self, task: TaskID) -> None:
        self._progress.remove_task(task)
        self._open -= 1
        if self._open == 0:
            self._progress.stop()

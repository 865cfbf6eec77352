"""The rich consoles every ``dfi`` command prints through (stdout and stderr).

On a terminal they behave as rich does by default (colours off under ``NO_COLOR``). When the stream
is not a terminal (a pipe, a file, a test's captured output) nothing carries ANSI codes, text lines
are never wrapped (printed with ``soft_wrap=True``) and tables are laid out at a fixed wide width
(``$COLUMNS`` when set), widened to the table's natural width when a cell (a long path) would
otherwise wrap; so what a script or a test reads does not depend on the terminal's width or on the
length of a path in the message. Errors are one ``error: MESSAGE`` line on stderr (:func:`print_error`).
"""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 160  # table width when the stream is not a terminal (and COLUMNS does not say otherwise)
_NATURAL_LIMIT = 100_000  # how wide a piped table may grow to keep its cells on one line


def _columns() -> int | None:
    try:
        value = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return value if value > 0 else None


class PipeConsole(Console):
    """A console on a stream that is not a terminal: text lines are never wrapped (soft wrap);
    tables and other renderables are laid out at the console's fixed width, as on a terminal, except
    that a table whose cells would wrap at that width (a long path) is laid out at its natural width."""

    def print(self, *objects: Any, soft_wrap: bool | None = None, **kwargs: Any) -> None:
        if soft_wrap is None:
            soft_wrap = all(isinstance(o, (str, Text)) for o in objects)
        natural = self._natural_table_width(objects)
        if natural <= self.width:
            super().print(*objects, soft_wrap=soft_wrap, **kwargs)
            return
        fixed = self.width
        self.width = natural
        try:
            super().print(*objects, soft_wrap=soft_wrap, **kwargs)
        finally:
            self.width = fixed

    def _natural_table_width(self, objects: tuple[Any, ...]) -> int:
        """The widest natural width of the tables among ``objects`` (0 when none)."""
        options = self.options.update_width(_NATURAL_LIMIT)
        return max((Measurement.get(self, options, o).maximum for o in objects if isinstance(o, Table)), default=0)


def make_console(*, stderr: bool = False, width: int | None = None, pipe_width: int | None = None,
                 soft_wrap: bool = False) -> Console:
    """A console on stdout (or stderr).

    ``width``: always lay out at this width (terminal or not). ``pipe_width``: the width used when the
    stream is not a terminal (default: ``$COLUMNS`` when set, else :data:`PIPE_WIDTH`).
    ``soft_wrap``: no wrapping on a terminal either. Built per command, so it sees the stream in use
    when the command runs (click's test runner swaps sys.stdout).
    """
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        if width is None and not soft_wrap:
            return probe
        return Console(stderr=stderr, width=width, soft_wrap=soft_wrap)
    return PipeConsole(stderr=stderr, width=width or pipe_width or _columns() or PIPE_WIDTH)


def stdout_console(*, width: int | None = None, pipe_width: int | None = None, soft_wrap: bool = False) -> Console:
    return make_console(width=width, pipe_width=pipe_width, soft_wrap=soft_wrap)


def stderr_console(*, width: int | None = None, pipe_width: int | None = None, soft_wrap: bool = False) -> Console:
    return make_console(stderr=True, width=width, pipe_width=pipe_width, soft_wrap=soft_wrap)


def one_line(message: str) -> str:
    """``message`` with its line breaks (and the blanks around them) turned into single spaces."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, always one line: line breaks in the message become spaces, the
    message is printed literally (brackets in a path are not rich markup) and, when stderr is not a
    terminal, never wrapped. Credentials quoted in it (a token in a botocore message) are scrubbed."""
    from harness.cassettes.secrets import scrub

    stderr_console(soft_wrap=True).print(Text.assemble(("error:", "bold red"), " ", one_line(scrub(message))),
                                         highlight=False)

"""What the jobs share: the progress callbacks' types and the user-error class."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from harness.errors import DfiError

# ``advance(done, total)``: how far a slow step is (the CLI moves a bar)
Advance = Callable[[int, int], None]
# ``with status("doing X...") as advance:`` wraps a slow step (the CLI shows a spinner line with the
# time taken, and a bar once ``advance`` is called); the default does nothing
StatusFn = Callable[[str], AbstractContextManager[Advance]]
# one line of progress text
LogFn = Callable[[str], None]


class JobInputError(DfiError):
    """A job was given arguments it cannot work with."""


def no_advance(done: int, total: int) -> None:
    return None


@contextmanager
def no_status(message: str) -> Iterator[Advance]:
    yield no_advance


def no_log(message: str) -> None:
    return None

"""What the jobs share: the progress callbacks' types and the user-error class."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from harness.errors import DfiError

# ``status("doing X...")`` wraps a slow step (the CLI shows a spinner); the default does nothing
StatusFn = Callable[[str], AbstractContextManager[object]]
# one line of progress text
LogFn = Callable[[str], None]


class JobInputError(DfiError):
    """A job was given arguments it cannot work with."""


def no_status(message: str) -> AbstractContextManager[object]:
    return nullcontext()


def no_log(message: str) -> None:
    return None

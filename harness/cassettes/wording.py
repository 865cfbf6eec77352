"""Exceptions met while reading a damaged cassette, said in words on one line."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """What went wrong, in words and on one line (no exception class names: they mean nothing to a reader)."""
    if isinstance(exc, KeyError):
        return f"missing {exc}"
    text = " ".join(str(exc).split())[:200]
    return text or f"unreadable ({type(exc).__name__})"

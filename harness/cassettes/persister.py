"""A vcrpy persister that stamps each interaction's digest on save and checks what it loads
(:mod:`harness.cassettes.integrity`).

It wraps the persister a VCR already has (vcrpy's filesystem one, or pytest-recording's
``CombinedPersister``), so loading stays theirs; what changes is that a cassette vcrpy cannot
read, or one whose answers fail the integrity checks, is a :class:`CorruptCassetteError` naming
the file, instead of a traceback from inside vcrpy or (vcrpy's own choice for undecodable files)
a cassette treated as empty and overwritten.
"""

from __future__ import annotations

from typing import Any

from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister

from harness.cassettes.errors import CassetteError, CorruptCassetteError
from harness.cassettes.integrity import stamp, verify
from harness.cassettes.wording import one_line


class VerifyingPersister:
    def __init__(self, inner: Any = FilesystemPersister):
        self.inner = inner

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        path = str(cassette_path)
        try:
            loaded = self.inner.load_cassette(cassette_path, serializer=serializer)
            verify(path, loaded[0], loaded[1])
        except (CassetteNotFoundError, CassetteError):
            raise
        except Exception as exc:  # noqa: BLE001 - whatever vcrpy's loader trips on is a corrupt file
            raise CorruptCassetteError(path, "vcrpy cannot load it: " + one_line(exc)) from None
        return loaded

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        stamp(cassette_dict["requests"], cassette_dict["responses"])
        self.inner.save_cassette(cassette_path, cassette_dict, serializer=serializer)

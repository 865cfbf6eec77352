"""The harness's vcrpy set-up: registered matcher, filters, record modes and playback rules.

Replay (the default) uses record_mode ``none``: nothing touches the network and a call the
cassette lacks raises at once. ``record=True`` uses ``new_episodes``: calls already in the
cassette replay, new ones go to the vendor and are appended.

Playback rule (:class:`OrderedCassette`): the matching interactions of a call are played in the
order they were recorded (so "throttled, then answered" replays as such, and the client's retry
logic runs against it); once all are played, the last one repeats, so repeated identical calls
replay without being recorded twice, and a throttle that never ended keeps answering "throttled"
until the client's retry policy gives up (a typed ThrottledError, bounded by max_attempts). While
recording, a played throttle/5xx is not repeated: the retry goes out to the vendor again.

Applications' own tests (pytest-recording): :func:`recording_config` is the ``vcr_config`` the
pytest fixture ``dfi_vcr_config`` hands out (:mod:`harness.cassettes.pytest_plugin`), and :func:`register`
adds the matcher to the VCR pytest-recording builds (that plugin does it in ``pytest_recording_configure``).
Plain vcrpy cassettes play each recording once and in order unless repeats are allowed; the config
allows them, so a repeated identical call replays its answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import vcr
from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError
from vcr.patch import CassettePatcherBuilder
from vcr.record_mode import RecordMode

from harness.cassettes.filters import redact_request, redact_response
from harness.cassettes.integrity import is_retry
from harness.cassettes.keys import vendor_image_matcher
from harness.cassettes.persister import VerifyingPersister

MATCHER_NAME = "vendor_image"
MATCH_ON = ("method", MATCHER_NAME)


def is_retryable_failure(response: dict[str, Any]) -> bool:
    return is_retry(response)


class OrderedCassette(Cassette):
    _loading = False
    last_played: int | None = None  # index of the interaction answered last (for error messages)

    def _load(self) -> None:
        self._loading = True
        try:
            super()._load()
        finally:
            self._loading = False

    def append(self, request: Any, response: Any) -> None:
        before = len(self.data)
        super().append(request, response)
        if not self._loading and len(self.data) > before:
            # recorded just now from a live answer: it has been "played" to the caller already,
            # so a retry of the same call goes out again instead of replaying this answer
            self.play_counts[len(self.data) - 1] = 1

    def _pick(self, request: Any) -> tuple[int, Any] | None:
        matches = list(self._responses(request))
        for index, response in matches:
            if self.play_counts[index] == 0:
                return index, response
        if matches and (self.record_mode == RecordMode.NONE or not is_retryable_failure(matches[-1][1])):
            return matches[-1]
        return None

    def __contains__(self, request: Any) -> bool:
        return self._pick(request) is not None

    def can_play_response_for(self, request: Any) -> bool:
        request = self._before_record_request(request)
        return bool(request) and request in self and self.record_mode != RecordMode.ALL

    def play_response(self, request: Any) -> Any:
        picked = self._pick(request)
        if picked is None:
            raise UnhandledHTTPRequestError(
                f"The cassette ({self._path!r}) doesn't contain the request ({request!r}) asked for"
            )
        index, response = picked
        self.last_played = index
        if self.play_counts[index] == 0 and index < self._loaded_count:
            self._played_interactions.append((self.data[index][0], response))
        self.play_counts[index] += 1
        return response


def _keep_interaction(request: Any, response: Any) -> tuple[Any, Any]:
    return request, response


def register(v: vcr.VCR) -> vcr.VCR:
    """Register dfi's matcher (``vendor_image``) on a VCR someone else built, and wrap its persister
    so what it loads is checked (:class:`VerifyingPersister`: digests, answers, conflicts)."""
    v.register_matcher(MATCHER_NAME, vendor_image_matcher)
    if not isinstance(v.persister, VerifyingPersister):
        v.register_persister(VerifyingPersister(v.persister))
    return v


def recording_config() -> dict[str, Any]:
    """vcrpy ``use_cassette`` options for an application's tests (pytest-recording's ``vcr_config``):
    dfi's matcher, secret and image filters; the record mode is left to ``--record-mode``. The VCR
    it is used with needs :func:`register` (the matcher, and the persister that stamps and checks
    digests; pytest-recording: the plugin does it)."""
    return {
        "match_on": MATCH_ON,
        "before_record_request": redact_request,
        "before_record_response": redact_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": True,
    }


def mismatch_details(exc: Any) -> list[str]:
    """What differs between an unmatched request and the recorded calls closest to it (from a
    vcrpy CannotOverwriteExistingCassetteException), one line per recorded call."""
    out: list[str] = []
    for _request, _ok, failed in getattr(exc, "similar_requests", None) or []:
        out += [str(message) for name, message in failed if name == MATCHER_NAME]
    return out


def make_vcr() -> vcr.VCR:
    v = vcr.VCR(
        serializer="yaml",  # the persister (register) stamps and checks digests
        match_on=MATCH_ON,
        before_record_request=redact_request,
        before_record_response=redact_response,
        decode_compressed_response=True,
        record_on_exception=True,
    )
    return register(v)


def cassette_config(path: str | Path, record: bool = False) -> dict[str, Any]:
    config = make_vcr().get_merged_config(
        path=str(path), record_mode=RecordMode.NEW_EPISODES if record else RecordMode.NONE,
        # with a save hook vcrpy serialises deep copies; without one it converts the in-memory
        # bodies to text in place, which breaks replaying them after a mid-session save
        before_save_interaction=_keep_interaction,
    )
    for key in ("path_transformer", "func_path_generator", "record_on_exception"):
        config.pop(key, None)
    return config


def load_cassette(path: str | Path, record: bool = False) -> OrderedCassette:
    """The cassette object (loaded from disk if the file exists), not yet patched in."""
    return OrderedCassette.load(**cassette_config(path, record))


@contextlib.contextmanager
def patched(cassette: Cassette) -> Iterator[Cassette]:
    """Route every HTTP library through ``cassette`` for the duration of the block."""
    with contextlib.ExitStack() as stack:
        for patcher in CassettePatcherBuilder(cassette).build():
            stack.enter_context(patcher)
        yield cassette


@contextlib.contextmanager
def use_cassette(path: str | Path, record: bool = False) -> Iterator[Cassette]:
    """``with use_cassette(p):`` replay (or record) every call in the block; saves on exit."""
    cassette = load_cassette(path, record)
    try:
        with patched(cassette):
            yield cassette
    finally:
        cassette._save()

"""A Vendor backend answering from a cassette (replay), or recording one through a real client.

In replay the real client code runs unchanged (same request building, same response parsing,
same retries) with placeholder credentials and endpoint that are never sent anywhere: vcrpy
answers every call from the cassette. A call the cassette lacks raises
:class:`UnrecordedCallError` (it stops the campaign; it is not a vendor failure of that probe).

Several cassette backends may live in one process (one per vendor): each call patches the HTTP
libraries for its own cassette only while it runs, under a process-wide lock.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request
from vcr.serializers import compat

from harness.cassettes import secrets
from harness.cassettes.errors import (
    CassetteNotFoundError,
    CassetteVendorMismatchError,
    CorruptCassetteError,
    UnrecordedCallError,
)
from harness.cassettes.integrity import IntegritySummary, check_structure, verify
from harness.cassettes.keys import call_key
from harness.cassettes.vcr_config import OrderedCassette, load_cassette, mismatch_details, patched
from harness.cassettes.wording import one_line
from harness.clients.config import ClientOptions
from harness.errors import DfiError
from harness.vendors import registry
from harness.vendors.base import Recognition, Vendor

T = TypeVar("T")
_PATCH_LOCK = threading.RLock()
REPLAY_HOST = "replay.invalid"  # never resolved: vcrpy answers before any connection


def replay_vendor(vendor: str, similarity_call: str = "findsimilar") -> Vendor:
    """The vendor's real adapter and client (from the registry), pointed at a host that is never
    resolved, with placeholders instead of credentials, no rate limit and no backoff sleeping
    (recorded retries replay instantly)."""
    spec = registry.get(vendor)
    env = spec.load("placeholder_env")(f"https://{vendor}.{REPLAY_HOST}")
    options = ClientOptions(rate=math.inf, max_attempts=5, sleep=lambda s: None, similarity_call=similarity_call)
    return spec.load("connect")(env, options)


def read_cassette_file(path: Path) -> dict[str, Any]:
    """Parse and check the structure of a cassette file; a broken one is a one-line
    :class:`CorruptCassetteError` ("corrupt cassette FILE: what")."""
    path = Path(path)
    if not path.is_file():
        raise CassetteNotFoundError(f"{path}: no such cassette (record one with `dfi cassettes record`)")
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise CorruptCassetteError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CorruptCassetteError(str(path), f"not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise CorruptCassetteError(str(path), "YAML does not parse: " + " ".join(str(exc).split())[:200]) from None
    except RecursionError:
        raise CorruptCassetteError(str(path), "YAML nested too deeply") from None
    if data is None:
        raise CorruptCassetteError(str(path), "empty file")
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CorruptCassetteError(str(path), "no 'interactions' list")
    if data.get("metadata") is not None and not isinstance(data["metadata"], dict):
        raise CorruptCassetteError(str(path), "metadata is not a mapping")
    for i, inter in enumerate(data["interactions"]):
        if not isinstance(inter, dict):
            raise CorruptCassetteError(str(path), f"interaction {i} lacks a request or response")
        check_structure(str(path), i, inter.get("request"), inter.get("response"))
    return data


def inspect_cassette(path: Path) -> tuple[dict[str, Any], IntegritySummary]:
    """The parsed file and its integrity summary, after every check replay makes (digests,
    answers read by the vendor's parser, conflicting duplicates)."""
    data = read_cassette_file(path)
    try:
        requests = [Request._from_dict(i["request"]) for i in data["interactions"]]
        responses = [compat.convert_to_bytes(copy.deepcopy(i["response"])) for i in data["interactions"]]
    except Exception as exc:  # noqa: BLE001 - vcrpy refusing what the structure check let through
        raise CorruptCassetteError(str(path), "vcrpy cannot load it: " + one_line(exc)) from None
    return data, verify(str(path), requests, responses)


def remember_client_credentials(vendor: Any) -> None:
    """Tell the scrubber the credentials a recording client holds (from its settings, or boto3's
    resolved chain), so answers echoing them are scrubbed even when no variable holds them."""
    client = getattr(vendor, "client", None)
    settings = getattr(client, "settings", None)
    values = [getattr(settings, f, None) for f in ("vision_key", "face_key")]
    values += list((getattr(settings, "headers", None) or {}).values())
    signer = getattr(getattr(client, "_client", None), "_request_signer", None)
    credentials = getattr(signer, "_credentials", None)
    if credentials is not None:
        try:
            frozen = credentials.get_frozen_credentials()
            values += [frozen.access_key, frozen.secret_key, frozen.token]
        except Exception:  # noqa: BLE001, S110 - an unresolvable chain: the variables are all we know
            pass
    secrets.remember(*(v for v in values if isinstance(v, str)))


def cassette_vendors(cassette: OrderedCassette) -> set[str]:
    return {call_key(r).vendor for r in cassette.requests}


class CassetteVendor:
    """Vendor protocol over a cassette. ``record=True`` sends calls the cassette lacks to the real
    service configured in the environment (or to ``inner``) and appends them."""

    def __init__(
        self,
        vendor: str,
        path: str | Path,
        record: bool = False,
        inner: Vendor | None = None,
        metadata: dict[str, str] | None = None,
        similarity_call: str = "findsimilar",
    ):
        self.name = vendor
        self.path = Path(path)
        self.record = record
        if record:
            if self.path.exists():
                read_cassette_file(self.path)
        else:
            read_cassette_file(self.path)
        try:
            self._cassette = load_cassette(self.path, record)
        except CorruptCassetteError:
            raise
        except Exception as exc:  # noqa: BLE001 - vcrpy's own loader refusing what the structure check let through
            raise CorruptCassetteError(str(self.path), "vcrpy cannot load it: " + one_line(exc)) from None
        found = cassette_vendors(self._cassette) - {"other"}
        declared = {v for v in str(self._cassette._metadata.get("vendor", "")).split(",") if v}
        if (found | declared) and (found | declared) != {vendor}:
            raise CassetteVendorMismatchError(str(self.path), vendor, found | declared)
        if record:
            from harness.clients.adapters import connect

            self._inner = inner or connect(vendor)  # the real service, from the environment
            remember_client_credentials(self._inner)
            self._cassette._metadata.setdefault("vendor", vendor)
            for k, v in (metadata or {}).items():
                self._cassette._metadata[k] = v
            if "provenance" not in self._cassette._metadata:
                raise ValueError("recording needs metadata['provenance'] (real | mock-recorded | doc-example)")
        else:
            self._inner = inner or replay_vendor(vendor, similarity_call)
        self.supports_similarity = self._inner.supports_similarity

    @property
    def provenance(self) -> str:
        return str(self._cassette._metadata.get("provenance", "unknown"))

    @property
    def client_stats(self) -> Any:
        return getattr(self._inner, "stats", None)

    @property
    def stats(self) -> Any:
        return self.client_stats

    def _corrupt(self, what: str) -> CorruptCassetteError:
        index = self._cassette.last_played
        where = f"interaction {index}" if index is not None else "the replayed answer"
        return CorruptCassetteError(str(self.path), f"{where}: {what}")

    def _run(self, what: str, fn: Callable[[], T], images: tuple[bytes, ...]) -> T:
        with _PATCH_LOCK, patched(self._cassette):
            self._cassette.last_played = None
            try:
                return fn()
            except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                if self.record or isinstance(exc, DfiError):
                    raise
                # the client tripped over a recorded answer: the cassette is broken, not the vendor
                raise self._corrupt(f"the recorded {self.name} {what} answer does not parse "
                                    f"({one_line(exc)})") from None
            except CannotOverwriteExistingCassetteException as exc:
                from harness.cassettes.keys import sha256

                digests = ", ".join(sha256(i)[:16] for i in images)
                closest = mismatch_details(exc)[:3]
                raise UnrecordedCallError(
                    f"{self.path}: no recorded {self.name} {what} for image sha256 {digests}... "
                    "(replay never goes to the network; record it with `dfi cassettes record`)"
                    + "".join(f"\n  closest recorded call: {line}" for line in closest)
                ) from exc
            finally:
                if self.record:
                    self._cassette._save()

    def recognize(self, image: bytes) -> Recognition:
        answer = self._run("recognize", lambda: self._inner.recognize(image), (image,))
        for face in answer.faces:
            if not (math.isfinite(face.confidence) and 0.0 <= face.confidence <= 100.0):
                raise self._corrupt(f"replayed confidence {face.confidence!r} is not a number in 0-100")
        return answer

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        if not self.supports_similarity:
            return None
        score = self._run("similarity", lambda: self._inner.similarity(image_a, image_b), (image_a, image_b))
        if score is not None and not (isinstance(score, (int, float)) and math.isfinite(score) and 0 <= score <= 100):
            raise self._corrupt(f"replayed similarity {score!r} is not a number in 0-100")
        return score

    def close(self) -> None:
        if self.record:
            self._cassette._save()

    def __enter__(self) -> CassetteVendor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

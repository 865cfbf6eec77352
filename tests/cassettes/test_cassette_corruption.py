"""Corrupted cassettes never answer (issue 17, corrupted-cassette part).

A cassette recorded through the real Azure client (a throttle then the answer, two recognitions,
a face-detect + find-similar similarity) is damaged ~50 ways. Each damaged copy either replays
exactly what the intact one replays, or fails with a cassette error naming the file (one line for a
corrupt one); never a different answer, never a TypeError/ValueError from inside a client.
``dfi cassettes list`` and ``scan`` never traceback, and exit 1 with one line for a corrupt file.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from harness.cassettes.backend import CassetteVendor
from harness.cassettes.errors import CassetteError, CorruptCassetteError
from harness.cassettes.integrity import DIGEST_FIELD, interaction_digest
from harness.cli.cassettes import cassettes_group
from harness.clients.adapters import AzureVendor
from harness.clients.azure import AzureClient
from harness.clients.config import azure_settings
from harness.clients.retry import RetryPolicy
from harness.ratelimit import TokenBucket
from harness.vendors.base import VendorError

from support.vendor_http import Scripted, ScriptedServer

IMG1, IMG2 = b"\xff\xd8\xff\xe0one", b"\xff\xd8\xff\xe0two"
FACE_A, FACE_B = b"\xff\xd8\xff\xe0face-a", b"\xff\xd8\xff\xe0face-b"


def _celebs(*faces: tuple[str, float]) -> dict[str, Any]:
    return {"result": {"celebrities": [{"name": n, "confidence": c,
                                        "faceRectangle": {"left": 1, "top": 2, "width": 3, "height": 4}}
                                       for n, c in faces]},
            "requestId": "r", "metadata": {"height": 10, "width": 10, "format": "Jpeg"}}


def _detect(face_id: str) -> list[dict[str, Any]]:
    return [{"faceId": face_id, "faceRectangle": {"left": 1, "top": 2, "width": 30, "height": 40}}]


SCRIPT = [
    Scripted(429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, {"Retry-After": "0"}),
    Scripted(200, _celebs(("Jane Doe", 0.91))),
    Scripted(200, _celebs(("John Roe", 0.55), ("Jane Doe", 0.42))),
    Scripted(200, _detect("aaaaaaaa-0000-4000-8000-000000000001")),
    Scripted(200, _detect("bbbbbbbb-0000-4000-8000-000000000002")),
    Scripted(200, [{"faceId": "bbbbbbbb-0000-4000-8000-000000000002", "confidence": 0.73}]),
]


@pytest.fixture(scope="module")
def intact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("intact") / "ms.yaml"
    with ScriptedServer(list(SCRIPT)) as server:
        client = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": server.url, "DFI_AZURE_VISION_KEY": "k"}),
            TokenBucket.unlimited(), RetryPolicy(max_attempts=3, sleep=lambda s: None),
        )
        with CassetteVendor("ms", out, record=True, inner=AzureVendor(client),
                            metadata={"provenance": "mock-recorded"}) as backend:
            backend.recognize(IMG1)
            backend.recognize(IMG2)
            backend.similarity(FACE_A, FACE_B)
    return out


def answers(path: Path) -> Any:
    backend = CassetteVendor("ms", path)
    out = [[(f.name, f.confidence, f.box) for f in backend.recognize(img).faces] for img in (IMG1, IMG2)]
    return out, backend.similarity(FACE_A, FACE_B), backend.client_stats.throttled


# -- the corruptions ------------------------------------------------------------------------------
Text = Callable[[str], str | bytes]
Data = Callable[[dict[str, Any]], Any]


def _body(data: dict[str, Any], i: int) -> Any:
    return json.loads(data["interactions"][i]["response"]["body"]["string"])


def _set_body(data: dict[str, Any], i: int, body: Any, redigest: bool = False) -> dict[str, Any]:
    inter = data["interactions"][i]
    inter["response"]["body"]["string"] = json.dumps(body)
    if redigest:  # damage that keeps its digest consistent (re-stamped by a tool, or a careful hand)
        from vcr.request import Request

        inter["response"][DIGEST_FIELD] = interaction_digest(Request._from_dict(inter["request"]), inter["response"])
    return data


def _edit_celeb(i: int, face: int, **change: Any) -> Data:
    def f(data: dict[str, Any]) -> dict[str, Any]:
        body = _body(data, i)
        body["result"]["celebrities"][face].update(change)
        return _set_body(data, i, body)
    return f


def _extra_face(data: dict[str, Any]) -> dict[str, Any]:
    body = _body(data, 1)
    body["result"]["celebrities"].append(dict(body["result"]["celebrities"][0], name="Extra Person"))
    return _set_body(data, 1, body)


def _conflicting_duplicate_first(data: dict[str, Any]) -> dict[str, Any]:
    fake = copy.deepcopy(data["interactions"][1])
    data["interactions"].insert(0, fake)
    return _set_body(data, 0, _celebs(("Someone Else", 0.99)), redigest=True)


def _nan_similarity_redigested(data: dict[str, Any]) -> dict[str, Any]:
    body = _body(data, 5)
    body[0]["confidence"] = float("nan")
    return _set_body(data, 5, body, redigest=True)


def _nan_confidence_redigested(data: dict[str, Any]) -> dict[str, Any]:
    body = _body(data, 1)
    body["result"]["celebrities"][0]["confidence"] = float("nan")
    return _set_body(data, 1, body, redigest=True)


def _detect_missing_rect_redigested(data: dict[str, Any]) -> dict[str, Any]:
    body = _body(data, 3)
    del body[0]["faceRectangle"]
    return _set_body(data, 3, body, redigest=True)


def _pop(*keys: str) -> Data:
    def f(data: dict[str, Any]) -> dict[str, Any]:
        target = data["interactions"][1]
        for k in keys[:-1]:
            target = target[k]
        target.pop(keys[-1])
        return data
    return f


def _put(value: Any, *keys: str | int) -> Data:
    def f(data: dict[str, Any]) -> dict[str, Any]:
        target: Any = data
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        return data
    return f


def _request_key(data: dict[str, Any]) -> dict[str, Any]:
    req = data["interactions"][1]["request"]
    req["body"] = req["body"].replace(req["body"][30:40], "0" * 10)
    return data


def _swap(data: dict[str, Any]) -> dict[str, Any]:
    inters = data["interactions"]
    inters[1], inters[2] = inters[2], inters[1]
    return data


TEXT: dict[str, Text] = {
    "truncated to half": lambda t: t[: len(t) // 2],
    "truncated to 90%": lambda t: t[: len(t) * 9 // 10],
    "truncated to 10 bytes": lambda t: t[:10],
    "empty file": lambda t: "",
    "only blanks": lambda t: "  \n\n ",
    "binary garbage": lambda t: bytes(random.Random(3).randrange(256) for _ in range(2000)),
    "binary garbage after the text": lambda t: t.encode() + b"\x00\xff\xfe\x80garbage",
    "UTF-16": lambda t: t.encode("utf-16"),
    "unclosed bracket": lambda t: t + "\nextra: [unclosed\n",
    "tab indentation": lambda t: t.replace("\n  ", "\n\t", 3),
    "python object tag": lambda t: "!!python/object/apply:os.system ['true']\n",
    "a YAML list": lambda t: "- 1\n- 2\n",
    "a scalar": lambda t: "42\n",
    "a NUL byte": lambda t: t[:200] + "\x00" + t[200:],
    "UTF-8 BOM": lambda t: "\ufeff" + t,
    "nested 5000 deep": lambda t: "[" * 5000 + "]" * 5000,
    "interactions twice, the last empty": lambda t: t + "\ninteractions: []\n",
}
DATA: dict[str, Data] = {
    "interactions a mapping": _put({"a": 1}, "interactions"),
    "no interactions": _put([], "interactions"),
    "an interaction is text": _put("oops", "interactions", 1),
    "an interaction is null": _put(None, "interactions", 1),
    "request missing": _pop("request"),
    "response missing": _pop("response"),
    "status missing": _pop("response", "status"),
    "status code missing": _pop("response", "status", "code"),
    "status code is text": _put("two hundred", "interactions", 1, "response", "status", "code"),
    "status code is a float": _put(200.0, "interactions", 1, "response", "status", "code"),
    "status 200 -> 500": _put(500, "interactions", 1, "response", "status", "code"),
    "status 429 -> 200": _put(200, "interactions", 0, "response", "status", "code"),
    "body has no string": _pop("response", "body", "string"),
    "body is a list": _put(["x"], "interactions", 1, "response", "body"),
    "body string is a number": _put(12, "interactions", 1, "response", "body", "string"),
    "response headers a list": _put(["x"], "interactions", 1, "response", "headers"),
    "a header value is a mapping": _put({"a": 1}, "interactions", 1, "response", "headers", "Content-Type"),
    "request uri a number": _put(7, "interactions", 1, "request", "uri"),
    "request method null": _put(None, "interactions", 1, "request", "method"),
    "request body a mapping": _put({"a": 1}, "interactions", 1, "request", "body"),
    "request key altered": _request_key,
    "altered name": _edit_celeb(1, 0, name="John Smith"),
    "name emptied": _edit_celeb(1, 0, name=""),
    "NaN confidence": _edit_celeb(1, 0, confidence=float("nan")),
    "confidence 1.5": _edit_celeb(1, 0, confidence=1.5),
    "confidence negative": _edit_celeb(2, 1, confidence=-0.2),
    "confidence is text": _edit_celeb(1, 0, confidence="high"),
    "confidence missing": lambda d: _set_body(d, 1, {"result": {"celebrities": [{"name": "Jane Doe"}]}}),
    "extra face": _extra_face,
    "faces removed": lambda d: _set_body(d, 1, _celebs()),
    "body JSON cut": _put('{"result": {"celebr', "interactions", 1, "response", "body", "string"),
    "body binary": _put(b"\x89PNG\x00\xff", "interactions", 1, "response", "body", "string"),
    "conflicting duplicate placed first": _conflicting_duplicate_first,
    "identical duplicate appended": lambda d: {**d, "interactions": d["interactions"] + [d["interactions"][1]]},
    "digest altered": _put("0" * 64, "interactions", 1, "response", DIGEST_FIELD),
    "digest removed": _pop("response", DIGEST_FIELD),
    "digest a number": _put(5, "interactions", 1, "response", DIGEST_FIELD),
    "interactions reordered": _swap,
    "metadata a list": _put(["x"], "metadata"),
    "vendor metadata says aws": _put("aws", "metadata", "vendor"),
    "NaN similarity, digest redone": _nan_similarity_redigested,
    "NaN confidence, digest redone": _nan_confidence_redigested,
    "face detect without a box, digest redone": _detect_missing_rect_redigested,
}
# found only when the answer is replayed (nothing short of replaying the client reads similarity answers)
REPLAY_ONLY = {"NaN similarity, digest redone"}
# well-formed cassettes that are not corrupt: they just cannot answer this session's calls
NOT_CORRUPT = {"no interactions", "interactions twice, the last empty", "vendor metadata says aws"}


def damaged(intact: Path, tmp_path: Path, name: str) -> Path:
    text = intact.read_text()
    if name in TEXT:
        out = TEXT[name](text)
    else:
        out = yaml.safe_dump(DATA[name](yaml.safe_load(text)), sort_keys=False, allow_unicode=True)
    p = tmp_path / "ms.yaml"
    p.write_bytes(out if isinstance(out, bytes) else out.encode("utf-8"))
    return p


ALL = sorted(TEXT) + sorted(DATA)


def outcome(intact: Path, path: Path) -> tuple[str, str]:
    try:
        got = answers(path)
    except CorruptCassetteError as exc:
        return "corrupt", str(exc)
    except CassetteError as exc:
        return "cassette error", str(exc)
    except VendorError as exc:
        return "WRONG: vendor error", str(exc)
    except Exception as exc:  # noqa: BLE001
        return f"WRONG: {type(exc).__name__}", str(exc)
    return ("identical" if got == answers(intact) else "WRONG: different answer"), repr(got)


def test_the_intact_cassette_replays_and_has_digests(intact):
    (first, second), similarity, throttled = answers(intact)
    assert first == [("Jane Doe", 91.0, (1.0, 2.0, 4.0, 6.0))] and len(second) == 2
    assert similarity == pytest.approx(73.0) and throttled == 1
    assert all(DIGEST_FIELD in i["response"] for i in yaml.safe_load(intact.read_text())["interactions"])


def test_the_corpus_is_the_size_the_issue_measured():
    assert len(ALL) >= 40


@pytest.mark.parametrize("name", ALL)
def test_a_damaged_cassette_replays_identically_or_fails_in_one_line(intact, tmp_path, name):
    path = damaged(intact, tmp_path, name)
    kind, message = outcome(intact, path)
    assert not kind.startswith("WRONG"), (kind, message)
    if kind == "corrupt":
        assert message.startswith(f"corrupt cassette {path}: ") and "\n" not in message
        assert not [w for w in ("TypeError", "ValueError", "KeyError", "AttributeError", "Traceback") if w in message]
    elif kind == "cassette error":
        assert str(path) in message.splitlines()[0]
        assert name in NOT_CORRUPT, message
    runner = CliRunner()
    for command in ("list", "scan"):
        res = runner.invoke(cassettes_group, [command, str(path)])
        assert res.exception is None or isinstance(res.exception, SystemExit), (command, res.exception)
        if kind == "corrupt" and name not in REPLAY_ONLY:
            assert res.exit_code == 1, (command, res.output)
            lines = res.stderr.splitlines() if command == "list" else res.stdout.splitlines()[:-1]
            assert len(lines) == 1 and str(path) in lines[0], (command, res.output)
        if kind == "identical":
            assert res.exit_code == 0, (command, res.output)


def test_tally(intact, tmp_path):
    """The counts the issue reports, for this corpus: none replays a wrong answer."""
    tally: dict[str, list[str]] = {}
    for name in ALL:
        kind, _ = outcome(intact, damaged(intact, tmp_path, name))
        tally.setdefault(kind, []).append(name)
    assert not [k for k in tally if k.startswith("WRONG")], tally
    assert len(tally["corrupt"]) >= 40


# -- cassettes without digests (committed ones, older dfi) ------------------------------------------
# plausible edits only a digest reveals: without one they replay what the file now says
UNDETECTABLE_WITHOUT_DIGESTS = {"altered name", "extra face", "faces removed", "request key altered",
                                "status 200 -> 500"}


@pytest.fixture(scope="module")
def older(intact, tmp_path_factory) -> Path:
    data = yaml.safe_load(intact.read_text())
    for inter in data["interactions"]:
        inter["response"].pop(DIGEST_FIELD)
    out = tmp_path_factory.mktemp("older") / "ms.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def test_older_cassettes_replay_and_list_says_they_have_no_digests(intact, older):
    assert answers(older) == answers(intact)
    res = CliRunner().invoke(cassettes_group, ["list", str(older), str(intact)])
    assert res.exit_code == 0 and "none (older dfi)" in res.output and "sha256" in res.output


def test_without_digests_everything_but_a_plausible_edit_is_still_caught(older, tmp_path):
    wrong = set()
    for name in ALL:
        if "digest" in name:
            continue
        kind, _ = outcome(older, damaged(older, tmp_path, name))
        if kind.startswith("WRONG"):
            wrong.add(name)
    assert wrong == UNDETECTABLE_WITHOUT_DIGESTS

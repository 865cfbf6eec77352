"""The AWS mock's per-request caches (mockvendors.aws.blobs) and its answers on the event loop change no answer."""

from __future__ import annotations

import base64
import binascii
import json
import random
from pathlib import Path

import pytest

from mockvendors.analysis import CachingAnalyzer
from mockvendors.aws.blobs import AnswerMemo, BlobCache, ParsedBodies, b64decode_validated
from mockvendors.aws.protocol import AwsProtocol
from mockvendors.behaviour import behaviour_for
from mockvendors.wire import WireRequest, answer_inline, inline_only

from support.mock_data import build_gallery

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/rekognition/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def _decode_or_error(fn, text: str) -> bytes | str:  # noqa: ANN001
    try:
        return fn(text)
    except (binascii.Error, ValueError):
        return "error"


def test_the_fast_decode_accepts_and_refuses_what_the_validating_decode_does() -> None:
    rng = random.Random(7)
    texts = ["", "=", "==", "A", "AA", "AA=", "AA==", "AAA=", "AAAA", "AA==AA==", "A===", "AAAA\n", " AAAA", "QQ",
             "é", "AB-_", "QUJD", "QUJD="] + ["".join(rng.choice("AQg+/=9 \n_") for _ in range(rng.randint(0, 12)))
                                              for _ in range(20_000)]
    for text in texts:
        assert _decode_or_error(b64decode_validated, text) == \
            _decode_or_error(lambda t: base64.b64decode(t, validate=True), text), repr(text)


def test_blob_cache_gives_the_same_bytes_object_and_stays_bounded() -> None:
    cache = BlobCache(max_entries=3)
    text = base64.b64encode(bytes(range(256)) * 4).decode()
    first = cache.decode(text)
    assert first.data == base64.b64decode(text) and cache.decode("".join(list(text))).data is first.data
    same_ends = text[:100] + ("B" if text[100] != "B" else "C") + text[101:]  # same length and ends
    assert cache.decode(same_ends).data == base64.b64decode(same_ends)
    for i in range(10):
        cache.decode(base64.b64encode(bytes([i]) * 10).decode())
    assert len(cache._blobs) == 3
    with pytest.raises(binascii.Error):
        cache.decode("AAA")


def test_parsed_bodies_share_a_parse_only_between_equal_bodies() -> None:
    calls: list[bytes] = []
    parsed = ParsedBodies(lambda b: calls.append(b) or json.loads(b), max_entries=2)
    body = json.dumps({"x": "a" * 200, "n": 1}).encode()
    assert parsed(body) is parsed(bytes(bytearray(body)))
    assert parsed(body.replace(b'"n": 1', b'"n": 2')) == {"x": "a" * 200, "n": 2}
    assert len(calls) == 2


def test_answer_memo_needs_the_same_objects() -> None:
    memo, a, b = AnswerMemo(), object(), object()
    memo.put((a, b), (80,), b"answer")
    assert memo.get((a, b), (80.0,)) == b"answer"
    assert memo.get((b, a), (80,)) is None and memo.get((a, b), (81,)) is None


def _compare(source: bytes, target: bytes, threshold: float | None) -> WireRequest:
    params: dict = {"SourceImage": {"Bytes": base64.b64encode(source).decode()},
                    "TargetImage": {"Bytes": base64.b64encode(target).decode()}}
    if threshold is not None:
        params["SimilarityThreshold"] = threshold
    return WireRequest.build("POST", "/", {"Content-Type": "application/x-amz-json-1.1", "Authorization": AUTH,
                                           "X-Amz-Target": "RekognitionService.CompareFaces"},
                             json.dumps(params).encode())


@pytest.mark.models
@pytest.mark.shared
def test_repeated_answers_are_byte_identical_and_model_work_stays_off_the_loop(
        shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> None:
    gallery = build_gallery(shared_data, mockvendors_analyzer)
    fresh = CachingAnalyzer(mockvendors_analyzer.inner)  # an empty cache: the first call must run the model
    proto = AwsProtocol(behaviour_for("aws", gallery, fresh))
    faces = shared_data / "faces"
    obama, obama2 = (faces / "obama.jpg").read_bytes(), (faces / "obama2.jpg").read_bytes()
    req = _compare(obama, obama2, None)
    assert answer_inline(proto, req) is None and fresh.misses == 0 and not inline_only()
    first = proto.handle(req)
    assert first.status == 200 and fresh.misses == 2
    for threshold in (None, 0, 50.5, 99.9):
        req = _compare(obama, obama2, threshold)
        again, inline = proto.handle(req), answer_inline(proto, req)
        baseline = AwsProtocol(behaviour_for("aws", gallery, mockvendors_analyzer)).handle(req)
        assert inline is not None
        for r in (again, inline):
            assert (r.status, r.body, list(r.headers)) == (baseline.status, baseline.body, list(baseline.headers))
    assert fresh.misses == 2

"""Where celebcheck's tests send their calls, and the photos they send.

Three ways to run (pytest-recording's options; the dfi package's pytest plugin gives the mock
servers and ``dfi_vcr_config``):

- ``pytest --block-network`` (CI): replay the committed cassettes in ``tests/cassettes/``. Record
  mode ``none``: a call a cassette lacks fails the test; no server runs, no credential is needed
  (the SDKs are handed fake ones so they can build their requests) and no socket may open.
- ``pytest --disable-recording``: no cassettes; every call goes to dfi's mock vendor servers, which
  the plugin starts on free local ports for the session (they need ``dfi models fetch``).
- ``pytest --record-mode=rewrite``: the same live calls, recorded into ``tests/cassettes/``.
  Add ``--vendors-from-env`` to leave the endpoints and credentials in the environment alone:
  record against the real services with your credentials, or against a running ``dfi serve``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AZURE_VISION_KEY": "fake-key",
    "AZURE_FACE_KEY": "fake-key",
    "NAVER_CLIENT_ID": "fake-id",
    "NAVER_CLIENT_SECRET": "fake-secret",
}
# replay: the SDKs need an endpoint to build a request; nothing listens here, and vcrpy answers
# before any connection is made
NOWHERE = "http://127.0.0.1:9"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--vendors-from-env", action="store_true", default=False,
                     help="use the vendor endpoints and credentials in the environment (real services or dfi serve) "
                          "instead of the mock servers")


def vendor_mode(config: pytest.Config) -> str:
    """``env``, ``mock`` (live calls: recording, or cassettes disabled) or ``replay``."""
    if config.getoption("--vendors-from-env"):
        return "env"
    if config.getoption("--disable-recording") or (config.getoption("--record-mode") or "none") != "none":
        return "mock"
    return "replay"


def pytest_report_header(config: pytest.Config) -> str:
    return f"celebcheck vendors: {vendor_mode(config)}"


@pytest.fixture(scope="module")
def vcr_config(dfi_vcr_config: dict[str, Any]) -> dict[str, Any]:
    """dfi's matcher (vendor operation + sha256 of each image + the parameters that change the
    answer) and scrubbing (no credentials, no photos), plus the URL path: the Face API version is in
    the path, so a call at v1.0 never replays an answer recorded at the SDK's default version. The
    host is not matched: cassettes recorded against the mocks' ports replay anywhere."""
    return {**dfi_vcr_config, "match_on": (*dfi_vcr_config["match_on"], "path")}


@pytest.fixture(autouse=True)
def vendor_endpoints(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point celebcheck's environment variables at the mock servers (or nowhere, for replay)."""
    mode = vendor_mode(request.config)
    if mode == "env":
        return mode
    if mode == "mock":
        servers = request.getfixturevalue("mock_vendor_servers")  # started once per session
        aws, azure, naver = servers["aws"].url, servers["ms"].url, servers["nav"].url
    else:
        aws = azure = naver = NOWHERE
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", aws)
    monkeypatch.setenv("AZURE_VISION_ENDPOINT", azure)
    monkeypatch.setenv("AZURE_FACE_ENDPOINT", azure)
    monkeypatch.setenv("NAVER_CFR_URL", f"{naver}/v1/vision/celebrity")
    return mode


# -- the photos ------------------------------------------------------------------------------
# A team keeps its own test photos in its repository. This example commits none: it uses the two
# demo photos `dfi models fetch` installs, which are also what the mock servers' demo gallery is
# enrolled from (Tom Hanks from the 112x112 crop, "Demo Person 1".."6" from the group photo). Their
# bytes are checked by the fetch, so a cassette recorded here replays anywhere.

def _demo_photo(name: str) -> bytes:
    from harness.models import demo_image_paths

    return Path(demo_image_paths()[name]).read_bytes()


def _with_caption(png: bytes, text: str) -> bytes:
    """The same PNG with a tEXt chunk after IHDR: the same pixels in other bytes, as a photo is
    after an editor adds a caption. (The mocks never match a photo to its own enrolment bytes.)"""
    data = b"Comment\x00" + text.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


@pytest.fixture(scope="session")
def hanks_photo() -> bytes:
    """A photo of Tom Hanks that the vendors (real and mock) name."""
    return _with_caption(_demo_photo("Tom_Hanks_54745.png"), "Tom Hanks, captioned copy")


@pytest.fixture(scope="session")
def hanks_enrolment_photo() -> bytes:
    """Another photo of the same face: the crop the mocks enrolled Tom Hanks from, as it is."""
    return _demo_photo("Tom_Hanks_54745.png")


@pytest.fixture(scope="session")
def group_photo() -> bytes:
    """Six people, none of them a celebrity."""
    return _demo_photo("t1.jpg")

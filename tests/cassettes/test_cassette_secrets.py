"""Credentials never reach a cassette or an error line (issue 17, secrets part).

- the scanner finds every planted credential, in every location and encoding, with no false
  positive on the committed cassettes, the applications' cassettes and the real Azure recordings;
- the recording filters drop every credential-like header and query parameter;
- recording through the real clients from a server that echoes the credentials it received (in
  several encodings, in headers and bodies) writes none of them, in any form;
- an error message quoting a credential is printed scrubbed.

Every credential here is fake, assembled at run time so no key-shaped literal sits in the repo.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import vcr
import yaml
from vcr.request import Request

from harness.cassettes import secrets
from harness.cassettes.azure_import import import_azure_session
from harness.cassettes.backend import CassetteVendor
from harness.cassettes.filters import redact_request, redact_response
from harness.cassettes.scan import cassette_files, scan_cassette_data, scan_file
from harness.cassettes.vcr_config import recording_config, register
from harness.paths import PROJECT_ROOT

_rng = random.Random(17)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _fake(n: int, alphabet: str = _B64) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


AWS_KEY_ID = "AKIA" + "Z7Q4X2M9P1L8K3J6"
AWS_SECRET = "Qm3vT8/aZp2LwR7+nB5sK1yH" + "6dF0jC4gU9eX2rW8"
AWS_TOKEN = "IQoJb3JpZ2luX2Vj" + "EJr//////////" + _fake(180, _B64 + "/+") + "=="
AZURE_KEY = "5f2c9a7e1b8d4c3a" + "9e6f0b2d7c1a8e4f"
NAVER_ID = "Nv4xQ2pL8sT6" + "wZ1kR9mY"
NAVER_SECRET = "Zq8Lw2" + "Rt5X"
NCP_KEY_ID = "qR7tW2" + "zX9kP4"
NCP_KEY = "HxY3k9Lm2Qp7Rs4Tv8Wz" + "1Bn6Cd0Fg5Jh3Kl9Mq2N"

# credential -> (its variable, the name it travels under)
CREDENTIALS = {
    "aws key id": (AWS_KEY_ID, "AWS_ACCESS_KEY_ID", "AWSAccessKeyId"),
    "aws secret": (AWS_SECRET, "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    "aws session token": (AWS_TOKEN, "AWS_SESSION_TOKEN", "X-Amz-Security-Token"),
    "azure key": (AZURE_KEY, "DFI_AZURE_VISION_KEY", "Ocp-Apim-Subscription-Key"),
    "naver client id": (NAVER_ID, "DFI_NAVER_CLIENT_ID", "X-Naver-Client-Id"),
    "naver client secret": (NAVER_SECRET, "DFI_NAVER_CLIENT_SECRET", "X-Naver-Client-Secret"),
    "ncp key id": (NCP_KEY_ID, "DFI_NAVER_NCP_KEY_ID", "X-NCP-APIGW-API-KEY-ID"),
    "ncp key": (NCP_KEY, "DFI_NAVER_NCP_KEY", "X-NCP-APIGW-API-KEY"),
}
# the ones whose value alone gives them away (the Naver/NCP ids and short secrets do not)
SHAPED = ("aws key id", "aws secret", "aws session token", "azure key", "ncp key")


def _json_escaped(v: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if i % 2 == 0 else ("\\/" if c == "/" else c) for i, c in enumerate(v))


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda v: v,
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "url": lambda v: quote(v, safe=""),
    "lower": str.lower,
    "json-escaped": _json_escaped,
}
LOCATIONS = ("request header", "query", "request body", "response header", "response body")


def forms(value: str) -> list[str]:
    """The spellings a leak would have on disk: plain, base64 (both alphabets), URL-encoded, lower-case."""
    b64 = base64.b64encode(value.encode()).decode()
    return [value, b64, b64.rstrip("="), base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
            quote(value, safe=""), quote(value, safe="").lower(), value.lower(), value.upper()]


@pytest.fixture
def no_credentials_in_env(monkeypatch):
    for var in secrets.CREDENTIAL_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def _interaction(location: str, name: str, value: str) -> dict[str, Any]:
    uri = "https://api.example.com/v1/thing?page=2"
    req_headers: dict[str, list[str]] = {"Content-Type": ["application/json"]}
    resp_headers: dict[str, list[str]] = {"Content-Type": ["application/json"]}
    req_body, resp_body = '{"q": "hello"}', '{"ok": true}'
    if location == "request header":
        req_headers[name] = [value]
    elif location == "query":
        uri += f"&{quote(name)}={value if re.fullmatch(r'[A-Za-z0-9%._~-]*', value) else quote(value, safe='')}"
    elif location == "request body":
        req_body = json.dumps({"q": "hello", name: "@@"}).replace("@@", value)
    elif location == "response header":
        resp_headers[name] = [value]
    else:
        resp_body = json.dumps({"ok": True, name: "@@"}).replace("@@", value)
    return {
        "request": {"method": "POST", "uri": uri, "headers": req_headers, "body": req_body},
        "response": {"status": {"code": 200, "message": "OK"}, "headers": resp_headers,
                     "body": {"string": resp_body}},
    }


def placements(shaped_only: bool, name_of: Callable[[str], str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for cred, (value, _var, _name) in CREDENTIALS.items():
        if shaped_only and cred not in SHAPED:
            continue
        for location in LOCATIONS:
            for enc, encode in ENCODINGS.items():
                yield f"{cred} / {location} / {enc}", _interaction(location, name_of(cred), encode(value))


def caught(label_interactions: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], int]:
    """Scan one cassette holding a clean interaction and then one interaction per placement:
    the labels of the placements with no finding, and the findings on the clean one."""
    data = {"interactions": [_interaction("query", "page", "3")] + [i for _, i in label_interactions]}
    found = {int(f.where.split()[1]) for f in scan_cassette_data(data, "planted.yaml") if f.where.startswith("inter")}
    missed = [label for n, (label, _) in enumerate(label_interactions, start=1) if n not in found]
    return missed, int(0 in found)


def test_scan_catches_every_named_placement_without_knowing_the_values(no_credentials_in_env):
    """Each credential under the name it travels by, in 5 locations x 5 encodings (8 x 25 = 200)."""
    planted = list(placements(False, lambda cred: CREDENTIALS[cred][2]))
    missed, clean_findings = caught(planted)
    assert len(planted) == 200
    assert missed == [] and clean_findings == 0


def test_scan_catches_every_shaped_value_under_a_neutral_name(no_credentials_in_env):
    """The credentials a value gives away, under a name that says nothing (5 x 25 = 125)."""
    planted = list(placements(True, lambda cred: "note"))
    missed, clean_findings = caught(planted)
    assert len(planted) == 125
    assert missed == [] and clean_findings == 0


def test_scan_catches_every_credential_in_use_wherever_and_however_written(monkeypatch):
    """With the credentials in the environment (as where they are used), every one of the 8, under a
    neutral name, in every location and encoding (8 x 25 = 200): the Naver/NCP ids included."""
    for value, var, _name in CREDENTIALS.values():
        monkeypatch.setenv(var, value)
    planted = list(placements(False, lambda cred: "note"))
    missed, clean_findings = caught(planted)
    assert len(planted) == 200
    assert missed == [] and clean_findings == 0


def _real_azure_cassettes(shared_data: Path, tmp_path: Path) -> list[Path]:
    out = []
    for src in sorted((shared_data / "vendor-recordings/azure").rglob("*.json")):
        data = json.loads(src.read_text())
        if isinstance(data, dict) and isinstance(data.get("Entries"), list):
            dst = tmp_path / (src.stem + ".yaml")
            import_azure_session(src, dst)
            out.append(dst)
    return out + cassette_files([shared_data / "vendor-recordings/azure/azure-sdk-for-python"])


def test_no_false_positives_on_committed_app_and_real_azure_cassettes(shared_data, tmp_path, no_credentials_in_env):
    files = cassette_files([PROJECT_ROOT / "cassettes", PROJECT_ROOT / "examples"])
    files += _real_azure_cassettes(shared_data, tmp_path)
    assert len(files) >= 10
    assert [str(f) for path in files for f in scan_file(path)] == []


# -- the recording filters ------------------------------------------------------------------------

CREDENTIAL_QUERY_PARAMS = (
    "subscription-key", "api-key", "api_key", "apiKey", "key", "code", "sig", "signature", "X-Amz-Signature",
    "X-Amz-Credential", "X-Amz-Security-Token", "AWSAccessKeyId", "access_token", "token", "client_secret",
    "client_id", "secret", "password", "access_key", "auth", "pwd", "session", "SessionToken", "passwd",
)
CREDENTIAL_HEADERS = (
    "Authorization", "Proxy-Authorization", "Cookie", "X-Amz-Security-Token", "X-Amz-Credential", "X-Amz-Signature",
    "Ocp-Apim-Subscription-Key", "X-Naver-Client-Id", "X-Naver-Client-Secret", "X-NCP-APIGW-API-KEY-ID",
    "X-NCP-APIGW-API-KEY", "X-NCP-IAM-ACCESS-KEY", "X-NCP-APIGW-SIGNATURE-V2", "X-Api-Key", "x-auth-token",
    "X-Access-Token", "X-Client-Secret", "X-Session-Token", "X-Password", "Api-Key", "X-Functions-Key",
)


def test_filters_drop_every_credential_like_query_parameter_and_header(no_credentials_in_env):
    query = "&".join(f"{quote(p)}=v{n}" for n, p in enumerate(CREDENTIAL_QUERY_PARAMS))
    headers = {h: f"value-{n}" for n, h in enumerate(CREDENTIAL_HEADERS)}
    req = Request("GET", f"https://user:pw@api.example.com/v1/x?page=2&{query}&model-version=latest", b"",
                  {**headers, "Accept": "application/json"})
    out = redact_request(req)
    assert out.uri == "https://api.example.com/v1/x?page=2&model-version=latest"
    assert set(out.headers) == {"Accept"}
    response = redact_response({"status": {"code": 200, "message": "OK"}, "body": {"string": b"{}"},
                                "headers": {"Set-Cookie": ["s=1"], "X-Amz-Security-Token": ["t"], "x-amzn-RequestId":
                                            ["r"], "Retry-After": ["1"]}})
    assert set(response["headers"]) == {"x-amzn-RequestId", "Retry-After"}


def test_the_credential_variables_are_the_clients_ones():
    """The variables secrets.py reads are every credential variable harness/clients/config.py reads."""
    config = (PROJECT_ROOT / "harness/clients/config.py").read_text()
    read = set(re.findall(r'_get\(env, "(DFI_[A-Z_]*(?:KEY|SECRET|_ID))"\)', config))
    assert read and read <= set(secrets.CREDENTIAL_ENV_VARS)
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} <= set(secrets.CREDENTIAL_ENV_VARS)


# -- a server that echoes the credentials it received ----------------------------------------------

AZURE_ANSWER = {"result": {"celebrities": [{"name": "Jane Doe", "confidence": 0.91,
                                            "faceRectangle": {"left": 1, "top": 2, "width": 3, "height": 4}}]},
                "requestId": "r", "metadata": {"height": 10, "width": 10, "format": "Jpeg"}}
AWS_ANSWER = {"CelebrityFaces": [{"Name": "Jane Doe", "Id": "1", "MatchConfidence": 91.0,
                                  "Face": {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.2}}}],
              "UnrecognizedFaces": []}
NAVER_ANSWER = {"info": {"size": {"width": 10, "height": 10}, "faceCount": 1},
                "faces": [{"celebrity": {"value": "Jane Doe", "confidence": 0.91}}]}


def _echoes(values: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body fields that give ``values`` back in 5 encodings, under telling and neutral names."""
    headers, fields = {}, {}
    for n, v in enumerate(values):
        for enc, encode in ENCODINGS.items():
            text = encode(v)
            if enc != "json-escaped":
                headers[f"X-Echo-{n}-{enc}"] = text
            fields[f"echo_{n}_{enc}"] = text
        headers[f"X-Echo-{n}-basic"] = "Basic " + base64.b64encode(f"user:{v}".encode()).decode()
        fields[f"received_{n}"] = {"Authorization": v, "X-Echo": f"key={v}&x=1"}
    return headers, fields


ECHOED = {h.lower() for h in ("X-Amz-Security-Token", "Ocp-Apim-Subscription-Key", "X-Naver-Client-Id",
                               "X-Naver-Client-Secret", "X-NCP-APIGW-API-KEY-ID", "X-NCP-APIGW-API-KEY", "X-Api-Key")}


class EchoServer:
    """Answers each POST with a valid vendor answer that also quotes back every credential it received
    (request headers, the SigV4 key id) plus ``also`` (the AWS secret, which is never sent)."""

    def __init__(self, also: list[str]):
        outer = self
        self.received: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got = dict(self.headers)
                outer.received.append(got)
                values = [v for k, v in got.items() if k.lower() in ECHOED]
                auth = got.get("Authorization", "")
                values += re.findall(r"Credential=([A-Z0-9]+)/", auth) + list(also)
                if "X-Amz-Target" in got:
                    answer, ctype = AWS_ANSWER, "application/x-amz-json-1.1"
                elif "celebrities" in self.path:
                    answer, ctype = AZURE_ANSWER, "application/json"
                else:
                    answer, ctype = NAVER_ANSWER, "application/json"
                headers, fields = _echoes(values)
                data = json.dumps({**answer, **fields}).encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _leaks(path: Path, values: list[str]) -> list[str]:
    raw = path.read_bytes()
    return [f"{v[:6]}... as {f[:12]}..." for v in values for f in forms(v) if f.encode() in raw]


ECHO_CASES = {
    "aws": ({"AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_SESSION_TOKEN": AWS_TOKEN,
             "DFI_AWS_REGION": "us-east-1"}, "DFI_AWS_ENDPOINT_URL", [AWS_SECRET]),
    "ms": ({"DFI_AZURE_VISION_KEY": AZURE_KEY}, "DFI_AZURE_VISION_ENDPOINT", []),
    "nav-developers": ({"DFI_NAVER_CLIENT_ID": NAVER_ID, "DFI_NAVER_CLIENT_SECRET": NAVER_SECRET},
                       "DFI_NAVER_ENDPOINT", []),
    "nav-ncp": ({"DFI_NAVER_NCP_KEY_ID": NCP_KEY_ID, "DFI_NAVER_NCP_KEY": NCP_KEY}, "DFI_NAVER_ENDPOINT", []),
}


@pytest.mark.parametrize("case", sorted(ECHO_CASES))
def test_recording_from_an_echoing_server_writes_no_credential(case, tmp_path, monkeypatch, no_credentials_in_env):
    env, endpoint_var, also = ECHO_CASES[case]
    for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    vendor = case.split("-")[0]
    out = tmp_path / f"{case}.yaml"
    with EchoServer(also) as server:
        monkeypatch.setenv(endpoint_var, server.url)
        with CassetteVendor(vendor, out, record=True, metadata={"provenance": "mock-recorded"}) as backend:
            assert backend.recognize(b"\xff\xd8\xff\xe0echo-image").name == "Jane Doe"
        assert len(server.received) == 1
    planted = [v for k, v in env.items() if k in secrets.CREDENTIAL_ENV_VARS]
    sent = json.dumps(server.received[0])
    assert all(v in sent for v in planted if v != AWS_SECRET)  # the server did receive them...
    assert _leaks(out, planted) == []  # ...and echoed them back: none is on disk, in any form
    assert scan_file(out) == []  # not even to a scanner that knows the values
    assert CassetteVendor(vendor, out).recognize(b"\xff\xd8\xff\xe0echo-image").name == "Jane Doe"


def test_an_application_cassette_from_an_echoing_server_holds_no_credential(tmp_path, monkeypatch,
                                                                           no_credentials_in_env):
    """Plain vcrpy with dfi's preset (what pytest-recording runs): credentials sent as a header, a
    query parameter and a form field, echoed back; none is written."""
    monkeypatch.setenv("DFI_AZURE_VISION_KEY", AZURE_KEY)
    monkeypatch.setenv("DFI_NAVER_CLIENT_SECRET", NAVER_SECRET)
    out = tmp_path / "app.yaml"
    with EchoServer([AZURE_KEY, NAVER_SECRET]) as server:
        with register(vcr.VCR()).use_cassette(str(out), record_mode="once", **recording_config()):
            r = requests.post(f"{server.url}/v1/celebrity?pwd={NAVER_SECRET}&page=1", headers={"X-Api-Key": AZURE_KEY},
                              data={"note": AZURE_KEY, "image": "x"}, timeout=5)
            assert r.status_code == 200
    assert _leaks(out, [AZURE_KEY, NAVER_SECRET]) == []
    assert scan_file(out) == []
    assert "page=1" in yaml.safe_load(out.read_text())["interactions"][0]["request"]["uri"]


# -- error lines ------------------------------------------------------------------------------------

def test_an_error_quoting_a_session_token_is_printed_scrubbed(monkeypatch, capsys):
    from harness.cli.console import print_error

    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    monkeypatch.setenv("DFI_NAVER_CLIENT_SECRET", NAVER_SECRET)
    message = (f"aws: UnrecognizedClientException: The security token included in the request is invalid "
               f"(X-Amz-Security-Token: {AWS_TOKEN}; encoded {quote(AWS_TOKEN, safe='')}; "
               f"{base64.b64encode(AWS_TOKEN.encode()).decode()}) while the secret was {NAVER_SECRET.lower()}")
    print_error(message)
    err = capsys.readouterr().err
    assert err.startswith("error: aws: UnrecognizedClientException") and err.count("\n") == 1
    assert not [f for v in (AWS_TOKEN, NAVER_SECRET) for f in forms(v) if f in err]
    assert "[REDACTED]" in err


def test_a_token_shape_is_scrubbed_even_when_no_variable_holds_it(no_credentials_in_env):
    text = f"denied for {AWS_KEY_ID.lower()} with token {AWS_TOKEN}"
    assert secrets.scrub(text) == "denied for [REDACTED] with token [REDACTED]"

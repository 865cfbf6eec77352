"""What the harness knows about credentials, in one place: their names, their shapes, and the
values the recording process holds.

- :func:`is_credential_name`: a header, query parameter or body field that carries a credential
  (case-insensitive, camelCase and ``-``/``_`` spellings alike: ``X-Naver-Client-Secret``,
  ``access_key``, ``apiKey``, ``pwd``, ``session``);
- :data:`VALUE_PATTERNS`: shapes that are credentials wherever they appear (AWS access key ids,
  40-char secret keys, session tokens, 32-hex Azure keys, NCP IAM keys), case-insensitive;
- :func:`known_values`: the credentials in use, read from the variables the clients read
  (:mod:`harness.clients.config`) plus any a recorder registered with :func:`remember`;
- :func:`scrub`: text with every known value replaced, in plain, lower/upper-case, URL-encoded,
  JSON-escaped and base64 forms (also inside a larger base64 string), and every AWS key id or
  session token shape replaced whatever its value.

It sits in :mod:`harness.cassettes` (layer ``harness.backends : harness.cassettes : harness.clients``)
so the recording filters, the scanner and the CLI's error printer (top layer) share it without a
new layer; the variable names are repeated here, and a test checks them against the clients'.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping

REDACTED = "[REDACTED]"

# the environment variables the clients read credentials from (harness/clients/config.py, boto3)
CREDENTIAL_ENV_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "DFI_AZURE_VISION_KEY", "DFI_AZURE_FACE_KEY",
    "DFI_NAVER_CLIENT_ID", "DFI_NAVER_CLIENT_SECRET", "DFI_NAVER_NCP_KEY_ID", "DFI_NAVER_NCP_KEY",
)
# a value this short is a placeholder ("k", "mock"), not a credential: scrubbing it would mangle text
MIN_KNOWN_LENGTH = 8

# header names that are dropped although their name does not say "credential"
CREDENTIAL_HEADERS = frozenset(h.lower() for h in (
    "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
    "X-Amz-Date", "X-Amz-Content-SHA256", "amz-sdk-invocation-id",
    "Ocp-Apim-Subscription-Key", "Ocp-Apim-Subscription-Region", "apim-request-id",
    "X-NCP-APIGW-TIMESTAMP", "X-NCP-IAM-ACCESS-KEY",
    "User-Agent",  # names the recording machine's OS, kernel and Python build; not needed to replay
))
# request headers whose mere presence in a cassette is a finding (the ones above that are not
# secrets themselves are left out: a date, a body hash, an invocation id, the user agent)
FORBIDDEN_HEADERS = CREDENTIAL_HEADERS - {
    "x-amz-date", "x-amz-content-sha256", "amz-sdk-invocation-id", "user-agent", "apim-request-id",
    "ocp-apim-subscription-region", "x-ncp-apigw-timestamp",
}
_WORDS = frozenset((
    "secret", "secrets", "token", "tokens", "password", "passwd", "pwd", "pass", "passphrase", "credential",
    "credentials", "signature", "sig", "auth", "authorization", "authentication", "cookie", "session",
    "sessionid", "apikey", "apim", "subscription", "jwt", "bearer", "sas", "otp", "privatekey", "accesskey",
    "secretkey", "clientsecret", "clientid", "accesstoken",
))
# whole names that look like credentials but are not (pagination cursors, counters)
_SAFE_NAMES = frozenset(("nexttoken", "paginationtoken", "continuationtoken", "tokencount", "maxtokens",
                         "keypoints", "sortkey", "partitionkey"))
# query parameters that are credentials although their name says nothing (Azure Functions, SAS)
_QUERY_NAMES = frozenset(("code", "sig", "key", "awsaccesskeyid"))


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_credential_name(name: str, query: bool = False) -> bool:
    """Does a header, query parameter or body field of this name carry a credential?"""
    words = _words(name)
    joined = "".join(words)
    if not words or joined in _SAFE_NAMES:
        return False
    if name.lower() in CREDENTIAL_HEADERS or (query and joined in _QUERY_NAMES):
        return True
    if joined in _WORDS or any(w in _WORDS for w in words):
        return True
    if words[-1] in ("key", "keys") or ("key" in words and words[-1] == "id"):
        return True
    return words[-2:] == ["client", "id"]


# ----- shapes ---------------------------------------------------------------------------------------
_B64 = r"A-Za-z0-9/+"
VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id",
     re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])",
                re.I)),
    ("AWS session token",
     re.compile(rf"(?<![{_B64}])(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz|AQoEXAMPLE)[{_B64}]{{40,}}={{0,2}}",
                re.I)),
    ("32-hex key (Azure subscription key shape)", re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{32}(?![0-9A-Fa-f-])")),
    ("NCP IAM key", re.compile(r"ncp_iam_[A-Za-z0-9]{16,}", re.I)),
    ("SigV4 signature/credential", re.compile(r"(?:Signature=[0-9a-f]{16,}|Credential=[A-Z0-9]{16,}/)", re.I)),
    ("bearer/basic token", re.compile(r"\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}", re.I)),
    # 40 chars of the base64 alphabet with a digit and a letter beyond hex (a sha1 is not a key),
    # in mixed case or lower case (a lower-cased AWS secret key is still one)
    ("40-char secret key",
     re.compile(rf"(?<![{_B64}])(?=[{_B64}]{{40}}(?![{_B64}=]))(?=[^\s]{{0,39}}[0-9])(?=[^\s]{{0,39}}[g-zG-Z])"
                rf"[{_B64}]{{40}}")),
    ("private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
# scrubbed even when the recording process does not know the value: nothing legitimate has these shapes
_SCRUB_SHAPES = tuple(p for kind, p in VALUE_PATTERNS if kind in ("AWS access key id", "AWS session token",
                                                                 "NCP IAM key", "private key block"))


def find_shapes(text: str) -> Iterator[tuple[str, str]]:
    """``(kind, matched text)`` for every credential-shaped value in ``text``."""
    for kind, pattern in VALUE_PATTERNS:
        for m in pattern.finditer(text):
            yield kind, m.group(0)


# ----- known values ---------------------------------------------------------------------------------
_REMEMBERED: set[str] = set()


def remember(*values: str | None) -> None:
    """Add credentials the process uses but did not read from the variables (a boto3 profile)."""
    _REMEMBERED.update(v.strip() for v in values if v and len(v.strip()) >= MIN_KNOWN_LENGTH)


def known_values(env: Mapping[str, str] | None = None, remembered: bool = True) -> tuple[str, ...]:
    """The credential values in use: the variables' values (and the remembered ones), longest first."""
    env = os.environ if env is None else env
    values = {env[v].strip() for v in CREDENTIAL_ENV_VARS if env.get(v) and len(env[v].strip()) >= MIN_KNOWN_LENGTH}
    return tuple(sorted(values | (_REMEMBERED if remembered else set()), key=lambda v: (-len(v), v)))


def _char(c: str) -> str:
    """One character in any of its spellings: itself (any case), %XX, \\u00XX, \\xXX, \\/."""
    code = ord(c)
    alts = [re.escape(c)]
    if code < 0x100:
        alts += [f"%{code:02x}", rf"\\+u00{code:02x}", rf"\\+x{code:02x}"]  # escaped once or more
    if c == "/":
        alts.append(r"\\+/")
    return "(?:" + "|".join(alts) + ")"


@functools.cache
def _value_regex(value: str) -> re.Pattern[str]:
    return re.compile("".join(_char(c) for c in value), re.I)


def _base64_forms(value: str) -> set[str]:
    """The base64 text any string containing ``value`` has, at each of the 3 alignments, standard
    and URL-safe alphabets: the part of the encoding fixed by ``value`` alone."""
    raw = value.encode()
    out = set()
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        start, end = -(-8 * k // 6), (8 * (k + len(raw))) // 6
        core = encoded[start:end]
        if len(core) >= MIN_KNOWN_LENGTH:
            out |= {core, core.replace("+", "-").replace("/", "_")}
    return out


@functools.cache
def _base64_regex(values: tuple[str, ...]) -> re.Pattern[str] | None:
    forms = sorted({f for v in values for f in _base64_forms(v)}, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in forms)) if forms else None


_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


def _decoded(run: str) -> str | None:
    for alt in (None, b"-_"):
        try:
            data = base64.b64decode(run + "=" * (-len(run) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        text = data.decode("utf-8", "replace")
        if text and sum(ch.isprintable() for ch in text) >= 0.9 * len(text):
            return text
    return None


def contains_known(text: str, values: Iterable[str]) -> list[str]:
    """The known values ``text`` holds, in any spelling :func:`scrub` removes."""
    values = tuple(values)
    found = []
    for v in values:
        b64 = _base64_regex((v,))
        if _value_regex(v).search(text) or (b64 is not None and b64.search(text)):
            found.append(v)
    for m in _B64_RUN.finditer(text):
        inner = _decoded(m.group(0))
        if inner is not None:
            found += [v for v in values if v not in found and _value_regex(v).search(inner)]
    return found


def scrub(text: str, env: Mapping[str, str] | None = None, values: Iterable[str] | None = None) -> str:
    """``text`` with every known credential (any spelling, base64 included) and every AWS key id,
    session token, NCP IAM key or private key block replaced by ``[REDACTED]``."""
    known = tuple(values) if values is not None else known_values(env)
    for v in known:
        text = _value_regex(v).sub(REDACTED, text)
    if known:
        def run(m: re.Match[str]) -> str:
            inner = _decoded(m.group(0))
            return REDACTED if inner is not None and any(_value_regex(v).search(inner) for v in known) else m.group(0)

        text = _B64_RUN.sub(run, text)
    rx = _base64_regex(known)
    if rx is not None:
        text = rx.sub(REDACTED, text)
    for pattern in _SCRUB_SHAPES:
        text = pattern.sub(REDACTED, text)
    return text


def scrub_bytes(data: bytes, env: Mapping[str, str] | None = None) -> bytes:
    """:func:`scrub` on bytes (text or not: undecodable bytes pass through unchanged)."""
    text = data.decode("utf-8", "surrogateescape")
    out = scrub(text, env)
    return data if out == text else out.encode("utf-8", "surrogateescape")

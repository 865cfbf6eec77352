"""Naver Clova Face Recognition (CFR), celebrity API, through ``requests``: a multipart upload of
the photo as ``image``.

Configuration: ``NAVER_CLIENT_ID`` and ``NAVER_CLIENT_SECRET`` (Naver Developers keys);
``NAVER_CFR_URL`` overrides the endpoint (default: the Naver Developers one).
"""

from __future__ import annotations

import requests

from celebcheck import Match, env

DEFAULT_URL = "https://openapi.naver.com/v1/vision/celebrity"


def celebrities(photo: bytes, min_confidence: float = 0.5) -> list[Match]:
    """The celebrity CFR names for each face in ``photo``, if at least ``min_confidence`` (0-1).

    CFR names its best match for every face it finds, however poor: without a threshold of the
    application's own, every stranger is a celebrity."""
    filename = "photo.png" if photo.startswith(b"\x89PNG") else "photo.jpg"
    r = requests.post(env("NAVER_CFR_URL", DEFAULT_URL), files={"image": (filename, photo)},
                      headers={"X-Naver-Client-Id": env("NAVER_CLIENT_ID"),
                               "X-Naver-Client-Secret": env("NAVER_CLIENT_SECRET")}, timeout=30)
    r.raise_for_status()
    faces = r.json().get("faces", [])
    best = [Match("naver", f["celebrity"]["value"], float(f["celebrity"]["confidence"])) for f in faces]
    return [m for m in best if m.confidence >= min_confidence]

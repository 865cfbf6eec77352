"""Naver Clova Face Recognition (CFR) celebrity mock (:mod:`.protocol`)."""

from mockvendors.naver.protocol import NaverProtocol

__all__ = ["NaverProtocol"]

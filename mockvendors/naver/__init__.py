"""Naver Clova Face Recognition (CFR) celebrity mock (:mod:`.protocol`)."""

from mockvendors.inprocess_rules import InProcessRules
from mockvendors.naver.protocol import NaverProtocol, validate_image

INPROCESS = InProcessRules(check_image=validate_image, decode_error_code="ER03", too_large_code="ER03")

__all__ = ["INPROCESS", "NaverProtocol"]

"""Azure mock: Computer Vision celebrities model and Face detect/verify/find-similar (:mod:`.protocol`)."""

from mockvendors.azure.protocol import AzureProtocol, validate_cv_image
from mockvendors.inprocess_rules import InProcessRules

INPROCESS = InProcessRules(
    check_image=validate_cv_image,
    check_decoded=validate_cv_image,
    decode_error_code="InvalidImageFormat",
    too_large_code="InvalidImageDimension",
    similarity="largest",
    similarity_decimals=5,  # find-similar / verify answers carry 5 decimals
)

__all__ = ["INPROCESS", "AzureProtocol"]

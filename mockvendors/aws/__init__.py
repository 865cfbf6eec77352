"""Amazon Rekognition mock: JSON 1.1 protocol (:mod:`.protocol`), response shapes (:mod:`.shapes`),
and in-process routing of boto3 calls (:mod:`.inprocess`)."""

from mockvendors.aws.inprocess import mock_rekognition
from mockvendors.aws.protocol import AwsProtocol, validate_image_bytes
from mockvendors.inprocess_rules import InProcessRules

INPROCESS = InProcessRules(
    check_image=validate_image_bytes,
    decode_error_code="InvalidImageFormatException",
    too_large_code="ImageTooLargeException",
    reports_unnamed_faces=True,
    no_face_source_code="InvalidParameterException",
    no_face_target_code="NoFaceInTarget",
    similarity="compare",
)

__all__ = ["INPROCESS", "AwsProtocol", "mock_rekognition"]

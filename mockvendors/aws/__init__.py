"""Amazon Rekognition mock: JSON 1.1 protocol (:mod:`.protocol`), response shapes (:mod:`.shapes`),
and in-process routing of boto3 calls (:mod:`.inprocess`)."""

from mockvendors.aws.inprocess import mock_rekognition
from mockvendors.aws.protocol import AwsProtocol

__all__ = ["AwsProtocol", "mock_rekognition"]

"""Azure mock: Computer Vision celebrities model and Face detect/verify/find-similar (:mod:`.protocol`)."""

from mockvendors.azure.protocol import AzureProtocol

__all__ = ["AzureProtocol"]

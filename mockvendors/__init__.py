"""Mock celebrity-recognition vendors (AWS Rekognition, Azure, Naver CFR) on a real face-embedding model.

Behaviour (gallery, profile, calibrated recognition) lives in :mod:`mockvendors.behaviour`,
separate from the wire protocols in :mod:`mockvendors.aws`, :mod:`mockvendors.azure` and
:mod:`mockvendors.naver`, which :mod:`mockvendors.server` serves over HTTP.
"""

from mockvendors.profile import VendorProfile, load_profile

__all__ = ["VendorProfile", "load_profile"]

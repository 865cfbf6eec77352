"""dfi: measure how celebrity-recognition APIs respond to deepfake impersonation, offline."""

__version__ = "0.1.0"

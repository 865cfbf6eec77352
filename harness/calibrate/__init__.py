"""Fit a mock vendor profile's cosine -> confidence map to recorded vendor answers (:mod:`.fit`)."""

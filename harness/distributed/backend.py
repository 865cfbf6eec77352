"""What a worker needs to build the campaign's vendors itself: the backend's name and arguments.

A backend holds open connections, model sessions and galleries, none of which travel between
processes; :class:`BackendRecipe` is the picklable description instead, and calling it in a worker
builds the same backend (:func:`harness.backends.make_backend`) the driver built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BackendRecipe:
    name: str
    vendors: tuple[str, ...]
    arguments: Mapping[str, Any] = field(default_factory=dict)  # make_backend's keyword arguments

    def build(self) -> Any:
        """The backend (:class:`harness.backends.Backend`)."""
        from harness.backends import make_backend

        return make_backend(self.name, list(self.vendors), **dict(self.arguments))

    def __call__(self) -> Mapping[str, Any]:
        return dict(self.build().vendors)

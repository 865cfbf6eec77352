"""The parameters block of a report: thresholds, vendor profile and backend, dfi version and the
sha256 of every input, shown on the page and written as ``parameters.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.paths import write_atomic
from harness.plotstyle import vendor_display, vendor_order
from harness.report.provenance import InputFile, describe_inputs, dfi_version

NOT_GIVEN = "not given to the report"


@dataclass(frozen=True)
class ReportParameters:
    beta: float = 90.0
    gamma: float = 80.0
    tau: Mapping[str, float] | None = None  # vendor -> reporting threshold (0-100) the vendors answered with
    profile: str | None = None               # vendor profile or profile set of the mocks
    backend: str | None = None
    inputs: Sequence[InputFile] = ()
    version: str = field(default_factory=dfi_version)
    written: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))

    @classmethod
    def collect(cls, *, beta: float, gamma: float, tau: Mapping[str, float] | None, profile: str | None,
                backend: str | None, inputs: Sequence[Path]) -> ReportParameters:
        """Hash the ``inputs`` (files or folders; those that do not exist are left out)."""
        return cls(beta, gamma, dict(tau) if tau is not None else None, profile, backend,
                   describe_inputs(inputs))

    def tau_text(self) -> str:
        if not self.tau:
            return f"each vendor's own ({NOT_GIVEN})"
        return ", ".join(f"{vendor_display(v)} {self.tau[v]:g}" for v in vendor_order(self.tau))

    def rows(self) -> list[tuple[str, str]]:
        """(name, value) pairs in the order the page shows them; inputs come separately."""
        return [("beta (high confidence, DHC)", f"{self.beta:g}"), ("gamma (high similarity, DHS)", f"{self.gamma:g}"),
                ("tau (vendor reporting threshold)", self.tau_text()),
                ("vendor profile", self.profile or NOT_GIVEN), ("backend", self.backend or NOT_GIVEN),
                ("dfi version", self.version), ("written", self.written)]

    def as_dict(self) -> dict[str, object]:
        return {"beta": self.beta, "gamma": self.gamma, "tau": dict(self.tau) if self.tau else None,
                "profile": self.profile, "backend": self.backend, "dfi_version": self.version,
                "written": self.written, "inputs": [i.as_dict() for i in self.inputs]}

    def write_json(self, path: Path) -> Path:
        write_atomic(path, json.dumps(self.as_dict(), indent=1) + "\n")
        return path


__all__ = ["NOT_GIVEN", "ReportParameters"]

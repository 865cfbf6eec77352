"""``dfi calibrate`` as a library call: fit a mock vendor profile's cosine -> confidence map to a
recorded table, with held-out distances (:func:`calibrate_profile`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.jobs._common import StatusFn, no_status


@dataclass
class CalibrationResult:
    profile: Path  # the fitted profile (YAML)
    report_path: Path  # the report (JSON)
    fitted: Any
    report: Any  # harness.calibrate.fit report (before / after distances, rows, datasets)


def calibrate_profile(*, recorded: Sequence[Path], vendor: str, output: Path, method: str = "logistic",
                      seed: int = 0, report_path: Path | None = None,
                      status: StatusFn = no_status) -> CalibrationResult:
    """Fit ``vendor``'s profile to the recorded tables (or the study's files); write the profile to
    ``output`` and the report to ``report_path`` (default: ``output`` with .report.json)."""
    import yaml

    from harness.calibrate.fit import calibrate, fitted_profile_dict
    from harness.results.sources import read_tables

    with status("reading the recorded tables..."):
        rec = read_tables(recorded, "recorded")
    with status(f"fitting {vendor}'s calibration ({method}) on the simulated world...") as advance:
        fitted, report = calibrate(rec, vendor, method=method, seed=seed, progress=advance)
    header = (f"# {vendor} mock profile fitted by `dfi calibrate --method {method} --seed {seed}` to "
              f"{', '.join(p.name for p in recorded)}\n# held-out KS genuine/deepfake: "
              f"{report.before[0].ks:.3f}/{report.before[1].ks:.3f} (built-in) -> "
              f"{report.after[0].ks:.3f}/{report.after[1].ks:.3f} (fitted)\n")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(header + yaml.safe_dump(fitted_profile_dict(fitted, report), sort_keys=False), encoding="utf-8")
    report_path = Path(report_path) if report_path else output.with_suffix(".report.json")
    report_path.write_text(json.dumps(asdict(report), indent=1, default=float))
    return CalibrationResult(output, report_path, fitted, report)

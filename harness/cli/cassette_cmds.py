"""``dfi cassettes`` (import-azure, record, list, scan), ``dfi compare`` and ``dfi calibrate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from harness.errors import InputFileError

DEFAULT_CASSETTE_DIR = Path("cassettes")
PROVENANCES = ("real", "mock-recorded", "doc-example")


@click.group("cassettes")
def cassettes_group() -> None:
    """Recorded vendor calls (vcrpy): import, record, list, scan for secrets."""


@cassettes_group.command("import-azure")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="cassette to write (.yaml)")
def import_azure_cmd(source: Path, output: Path) -> None:
    """Convert an Azure .NET SDK session record (Entries[] JSON) into a vcrpy cassette."""
    from harness.cassettes.azure_import import import_azure_session
    from harness.cassettes.scan import scan_file

    report = import_azure_session(source, output)
    console = Console()
    console.print(f"wrote {output}: {report.interactions} interaction(s), vendor {', '.join(sorted(report.vendors))}, "
                  f"operations {', '.join(report.operations)}")
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    findings = scan_file(output)
    if findings:
        for f in findings:
            console.print(f"[red]secret-like value:[/red] {f}")
        sys.exit(1)


def _image_files(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
        elif p.is_file():
            out.append(p)
        else:
            raise InputFileError(str(p), "no such file or folder")
    return out


ENDPOINT_VARS = {"aws": ("DFI_AWS_ENDPOINT_URL",), "ms": ("DFI_AZURE_VISION_ENDPOINT", "DFI_AZURE_FACE_ENDPOINT"),
                 "nav": ("DFI_NAVER_ENDPOINT",)}


def _loopback_endpoints(vendor: str) -> list[str]:
    """The vendor's endpoint variables whose host is this machine (loopback)."""
    import ipaddress
    import os
    from urllib.parse import urlsplit

    found = []
    for var in ENDPOINT_VARS[vendor]:
        host = urlsplit(os.environ.get(var, "")).hostname
        if not host:
            continue
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if local:
            found.append(f"{var}={os.environ[var]}")
    return found


@cassettes_group.command("record")
@click.option("--vendor", required=True, type=click.Choice(["aws", "ms", "nav"]))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--provenance", required=True, type=click.Choice(PROVENANCES),
              help="what answers: the real service, or the project's mock server (never call a mock 'real')")
@click.option("--pair", "pairs", multiple=True, nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="also record Similarity(A, B) for this pair (repeatable)")
@click.option("--note", default="", help="free text stored in the cassette's metadata")
@click.argument("images", nargs=-1, type=click.Path(path_type=Path))
def record_cmd(vendor: str, output: Path, provenance: str, pairs: tuple[tuple[Path, Path], ...], note: str,
               images: tuple[Path, ...]) -> None:
    """Record Recognize (and Similarity) calls through the real client configured in the environment.

    Point the DFI_* endpoint variables at `dfi serve` to record from the mock servers. Calls already
    in the cassette replay instead of being recorded twice; vendor errors are recorded as answered.
    """
    from harness.cassettes.backend import CassetteVendor
    from harness.vendors.base import VendorError

    if provenance == "real":
        local = _loopback_endpoints(vendor)
        if local:
            raise click.UsageError(f"--provenance real, but {', '.join(local)} point(s) at this machine "
                                   "(a mock server?): record mock traffic as --provenance mock-recorded")
    files = _image_files(images)
    meta = {"provenance": provenance}
    if note:
        meta["note"] = note
    console = Console()
    with CassetteVendor(vendor, output, record=True, metadata=meta) as backend:
        for f in files:
            try:
                r = backend.recognize(f.read_bytes())
                console.print(f"{f.name}: {r.name or '(no celebrity)'} {'' if r.confidence is None else f'{r.confidence:.2f}'}")
            except VendorError as exc:
                console.print(f"{f.name}: [yellow]error[/yellow] {exc}")
        for a, b in pairs:
            try:
                console.print(f"{a.name} ~ {b.name}: similarity {backend.similarity(a.read_bytes(), b.read_bytes())}")
            except VendorError as exc:
                console.print(f"{a.name} ~ {b.name}: [yellow]error[/yellow] {exc}")
        stats = backend.client_stats
    console.print(f"wrote {output}: {stats.calls} call(s), {stats.attempts} HTTP attempt(s), "
                  f"{stats.retries} retr{'y' if stats.retries == 1 else 'ies'}")


@cassettes_group.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def list_cmd(paths: tuple[Path, ...]) -> None:
    """Cassettes with their vendor, provenance, interactions and operations (default: cassettes/)."""
    from collections import Counter

    from harness.cassettes.backend import read_cassette_file
    from harness.cassettes.errors import CassetteError
    from harness.cassettes.keys import call_key
    from harness.cassettes.scan import cassette_files
    from vcr.request import Request

    files = cassette_files(paths or (DEFAULT_CASSETTE_DIR,))
    table = Table(title=f"{len(files)} cassette(s)", title_style="bold")
    for col in ("file", "vendor", "provenance", "calls", "operations", "statuses", "KiB"):
        table.add_column(col, justify="right" if col in ("calls", "KiB") else "left")
    for f in files:
        try:
            data = read_cassette_file(f)
        except CassetteError as exc:
            table.add_row(str(f), "-", f"[red]unusable[/red]: {exc}", "-", "-", "-", f"{f.stat().st_size / 1024:.1f}")
            continue
        meta = data.get("metadata") or {}
        ops: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        for inter in data["interactions"]:
            ops[call_key(Request._from_dict(inter["request"])).operation] += 1
            statuses[int(inter["response"]["status"]["code"])] += 1
        table.add_row(str(f), str(meta.get("vendor", "?")), str(meta.get("provenance", "unknown")),
                      str(len(data["interactions"])), ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())),
                      ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())), f"{f.stat().st_size / 1024:.1f}")
    Console(width=160).print(table)


@cassettes_group.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def scan_cmd(paths: tuple[Path, ...]) -> None:
    """Scan cassettes (default: cassettes/) for key-like values; exit status 1 if any is found."""
    from harness.cassettes.scan import cassette_files, scan_file

    files = cassette_files(paths or (DEFAULT_CASSETTE_DIR,))
    findings = [f for path in files for f in scan_file(path)]
    console = Console()
    for f in findings:
        console.print(f"[red]{f}[/red]", highlight=False)
    console.print(f"scanned {len(files)} cassette(s): {len(findings)} finding(s)")
    if findings:
        sys.exit(1)


# ------------------------------------------------------------------ compare
def _fmt(x: float | None, spec: str = ".2f") -> str:
    import math

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def _read_tables(paths: tuple[Path, ...], what: str):  # noqa: ANN202
    """Results tables, or the study's own result files / folder (imported on the fly)."""
    from harness.results.paper import PAPER_FILES, import_paper
    from harness.results import read_results

    study = [p for p in paths if p.is_dir() or p.name in PAPER_FILES]
    tables = [p for p in paths if p not in study]
    frames = []
    if study:
        frames.append(import_paper(study)[0])
    if tables:
        frames.append(read_results(list(tables)))
    if not frames:
        raise InputFileError(what, "no table given")
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


@click.group("compare")
def compare_group() -> None:
    """Mock versus recorded vendor behaviour: per call (`calls`) and per distribution (`tables`)."""


@compare_group.command("tables")
@click.argument("recorded", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--mock", "mock_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="mock results table(s), e.g. a campaign's results.csv; default: the study-scale simulation "
                   "through the mock vendors")
@click.option("--profile", "profiles", multiple=True, nargs=2, type=(str, click.Path(exists=True, dir_okay=False)),
              help="VENDOR FILE: a profile override for the simulated mock (e.g. one `dfi calibrate` wrote)")
@click.option("--seed", default=1, show_default=True, help="simulation seed (calibrate fits on seed 0)")
@click.option("--beta", default=90.0, show_default=True)
@click.option("--gamma", default=80.0, show_default=True)
@click.option("-o", "--out", "out_dir", default=Path("runs/compare"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def compare_tables_cmd(recorded: tuple[Path, ...], mock_paths: tuple[Path, ...], profiles, seed: int, beta: float,
                       gamma: float, out_dir: Path) -> None:
    """A recorded results table (or the study's files) against a mock results table."""
    import json

    import yaml

    from harness.compare.distributions import compare_tables, metrics_side_by_side
    from harness.compare.plots import ecdf_overlay

    rec = _read_tables(recorded, "recorded")
    vendors = sorted(set(rec["vendor"].astype(str)))
    if mock_paths:
        mock = _read_tables(mock_paths, "mock")
        mock_what = ", ".join(str(p) for p in mock_paths)
    else:
        from harness.compare.mock_table import simulated_mock_table

        overrides = {v: yaml.safe_load(Path(f).read_text(encoding="utf-8")) for v, f in profiles}
        mock = simulated_mock_table(vendors, seed=seed, overrides=overrides)
        mock_what = (f"simulated study-scale world (seed {seed}) through the mock vendors"
                     + (f", profiles {', '.join(f'{v}={f}' for v, f in profiles)}" if profiles else ", built-in profiles"))
    groups = compare_tables(rec, mock)
    if not groups:
        raise InputFileError("tables", "the recorded and mock tables share no (dataset, vendor) group")
    out_dir.mkdir(parents=True, exist_ok=True)
    console = Console(width=150)
    console.print(f"recorded: {', '.join(str(p) for p in recorded)} ({len(rec)} rows); mock: {mock_what} ({len(mock)} rows)")
    t = Table(title="Confidence distributions, recorded vs mock (named answers, 0-100)", title_style="bold")
    for c in ("dataset", "vendor", "probes", "n rec/mock", "answer rate rec/mock", "floor rec/mock", "KS", "W1"):
        t.add_column(c, justify="left" if c in ("dataset", "vendor", "probes") else "right")
    records = []
    for g in groups:
        for d in g.distances:
            t.add_row(g.dataset, g.vendor.upper(), d.population, f"{d.n_recorded}/{d.n_mock}",
                      f"{d.answer_rate_recorded:.1%} / {d.answer_rate_mock:.1%}",
                      f"{_fmt(d.floor_recorded, '.1f')} / {_fmt(d.floor_mock, '.1f')}", _fmt(d.ks, ".3f"),
                      _fmt(d.wasserstein, ".2f"))
            records.append({"dataset": g.dataset, "vendor": g.vendor, **d.as_dict()})
        ecdf_overlay(g, out_dir / "plots" / f"ecdf_{g.dataset}_{g.vendor}.png")
    console.print(t)
    side = metrics_side_by_side(rec, mock, beta, gamma)
    mt = Table(title=f"The six metrics, study basis (beta={beta:g}, gamma={gamma:g}), 95% Wilson intervals",
               title_style="bold")
    for c in ("dataset", "vendor", "metric", "recorded", "mock", "mock - recorded"):
        mt.add_column(c, justify="left" if c in ("dataset", "vendor", "metric") else "right")
    for r in side.itertuples():
        mt.add_row(r.dataset, r.vendor.upper(), r.metric,
                   f"{_fmt(r.value_recorded, '.1f')} [{_fmt(r.ci_low_recorded, '.1f')}, {_fmt(r.ci_high_recorded, '.1f')}]",
                   f"{_fmt(r.value_mock, '.1f')} [{_fmt(r.ci_low_mock, '.1f')}, {_fmt(r.ci_high_mock, '.1f')}]",
                   _fmt(r.difference, "+.1f"))
    console.print(mt)
    import pandas as pd

    pd.DataFrame(records).to_csv(out_dir / "distances.csv", index=False)
    side.to_csv(out_dir / "metrics_side_by_side.csv", index=False)
    (out_dir / "compare.json").write_text(json.dumps(
        {"recorded": [str(p) for p in recorded], "mock": mock_what, "beta": beta, "gamma": gamma,
         "distances": records, "metrics": json.loads(side.to_json(orient="records"))}, indent=1))
    console.print(f"written: {out_dir}/distances.csv, metrics_side_by_side.csv, compare.json, plots/ecdf_*.png")


@compare_group.command("calls")
@click.argument("cassettes", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--azure-recordings/--no-azure-recordings", default=True, show_default=True,
              help="include the real Azure SDK recordings in ../shared/data (converted on the fly)")
@click.option("--images", "image_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="folders to find recorded images in, by sha256 (default: ../shared/data)")
@click.option("--gallery", default=None, help="mock gallery: folder per name or .npz/.json (default: the demo gallery)")
@click.option("-o", "--out", "out_dir", default=Path("runs/compare"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def compare_calls_cmd(cassettes: tuple[Path, ...], azure_recordings: bool, image_dirs: tuple[Path, ...],
                      gallery: str | None, out_dir: Path) -> None:
    """Every recorded call whose image is available, answered again by the mock."""
    import json

    import pandas as pd

    from harness.cassettes.scan import cassette_files
    from harness.compare.calls import azure_recordings_as_cassettes, compare_calls, image_index, temp_dir
    from harness.paths import shared_data_dir

    shared = shared_data_dir()
    files = cassette_files(cassettes)
    provenance_of: dict[Path, str] = {}
    if azure_recordings:
        if shared is None:
            raise InputFileError("../shared/data", "not found (use --no-azure-recordings or set DFI_SHARED_DATA)")
        real = azure_recordings_as_cassettes(shared, temp_dir())
        provenance_of = {p: "real" for p in real}  # the Azure SDK test suites' recorded traffic (SOURCES.md)
        files += real
    dirs = list(image_dirs) or ([shared] if shared else [])
    images = image_index(dirs)

    from mockvendors.gallery import resolve_gallery
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for

    analyzer = CachingAnalyzer(PipelineAnalyzer())
    gal = resolve_gallery(gallery, analyzer)
    cache: dict = {}

    def mock_for(vendor: str):  # noqa: ANN202
        if vendor not in cache:
            cache[vendor] = behaviour_for(vendor, gal, analyzer)
        return cache[vendor]

    rows, skipped = compare_calls(files, images, mock_for, provenance_of)
    console = Console(width=160)
    t = Table(title=f"{len(rows)} recorded call(s) answered again by the mock ({skipped} skipped: image not available)",
              title_style="bold")
    for c in ("recording", "prov.", "vendor", "operation", "image", "recorded", "mock", "agree", "conf rec/mock", "box IoU"):
        t.add_column(c)
    for r in rows:
        t.add_row(Path(r.source).name, r.provenance, r.vendor.upper(), r.operation, r.image,
                  r.recorded_name or "-", r.mock_name or ("-" if not r.error else f"error: {r.error[:40]}"),
                  "-" if r.name_agrees is None else ("yes" if r.name_agrees else "no"),
                  f"{_fmt(r.recorded_conf, '.1f')} / {_fmt(r.mock_conf, '.1f')}", _fmt(r.box_iou, ".2f"))
    console.print(t)
    named = [r for r in rows if r.name_agrees is not None]
    ious = [r.box_iou for r in rows if r.box_iou is not None]
    if named:
        console.print(f"name agreement: {sum(r.name_agrees for r in named)}/{len(named)}; "
                      f"mean box IoU: {sum(ious) / len(ious):.2f} over {len(ious)} call(s)" if ious else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([r.as_dict() for r in rows]).to_csv(out_dir / "calls.csv", index=False)
    (out_dir / "calls.json").write_text(json.dumps({"skipped": skipped, "calls": [r.as_dict() for r in rows]}, indent=1))
    console.print(f"written: {out_dir}/calls.csv, calls.json (gallery: {gallery or 'demo gallery'})")


# ------------------------------------------------------------------ calibrate
@click.command("calibrate")
@click.argument("recorded", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--vendor", required=True, type=click.Choice(["aws", "ms", "nav"]))
@click.option("--method", default="logistic", show_default=True, type=click.Choice(["logistic", "isotonic"]))
@click.option("--seed", default=0, show_default=True, help="split and simulation seed")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="fitted vendor profile to write (YAML; use with dfi serve/run --profile or compare --profile)")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="also write the report as JSON (default: OUTPUT with .report.json)")
def calibrate_cmd(recorded: tuple[Path, ...], vendor: str, method: str, seed: int, output: Path,
                  report_path: Path | None) -> None:
    """Fit a mock vendor profile's cosine->confidence map to a recorded table (held-out distances reported)."""
    import json
    from dataclasses import asdict

    import yaml

    from harness.calibrate.fit import calibrate, fitted_profile_dict
    rec = _read_tables(recorded, "recorded")
    fitted, report = calibrate(rec, vendor, method=method, seed=seed)
    console = Console(width=150)
    console.print(f"{vendor.upper()}: {method} fit on {report.recorded_rows['fit']} recorded rows, "
                  f"evaluated on {report.recorded_rows['held_out']} held-out rows ({', '.join(report.datasets)})")
    t = Table(title="Held-out distances, recorded vs mock (named answers, 0-100)", title_style="bold")
    for c in ("probes", "profile", "answer rate rec/mock", "floor rec/mock", "KS", "W1"):
        t.add_column(c, justify="left" if c in ("probes", "profile") else "right")
    for label, ds in (("built-in", report.before), ("fitted", report.after), ("fitted (fit split)", report.after_fit_split)):
        for d in ds:
            t.add_row(d.population, label, f"{d.answer_rate_recorded:.1%} / {d.answer_rate_mock:.1%}",
                      f"{_fmt(d.floor_recorded, '.1f')} / {_fmt(d.floor_mock, '.1f')}", _fmt(d.ks, ".3f"),
                      _fmt(d.wasserstein, ".2f"))
    console.print(t)
    header = (f"# {vendor} mock profile fitted by `dfi calibrate --method {method} --seed {seed}` to "
              f"{', '.join(p.name for p in recorded)}\n# held-out KS genuine/deepfake: "
              f"{report.before[0].ks:.3f}/{report.before[1].ks:.3f} (built-in) -> "
              f"{report.after[0].ks:.3f}/{report.after[1].ks:.3f} (fitted)\n")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(header + yaml.safe_dump(fitted_profile_dict(fitted, report), sort_keys=False), encoding="utf-8")
    report_path = report_path or output.with_suffix(".report.json")
    report_path.write_text(json.dumps(asdict(report), indent=1, default=float))
    console.print(f"written: {output} (profile), {report_path} (report)")


COMMANDS: list[click.Command] = [cassettes_group, compare_group, calibrate_cmd]

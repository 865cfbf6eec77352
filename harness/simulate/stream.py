"""The simulation streamed: probes are built chunk by chunk (:meth:`World.probe_chunks`), every
vendor answers each chunk, and the rows are appended to a Parquet results file, so the memory the
simulation itself needs is set by the chunk size, not by the number of probes.

The rows are the ones :func:`harness.simulate.run.simulate` returns, whatever the chunk size (every
random stream is drawn in order); the file holds them dataset by dataset, each chunk's vendors in
turn, where the in-memory table goes vendor by vendor.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.paths import atomic_output
from harness.results.io import empty_results, validate_results
from harness.simulate.parallel import task_pool
from harness.simulate.params import SimulationError, SimulationParams
from harness.simulate.run import (
    VENDOR_BLOCK,
    StepCounter,
    dataset_rows,
    probe_ids,
    vendor_behaviours,
    vendor_view,
)
from harness.simulate.world import SimProbes, World
from harness.vendors import registry
from mockvendors.behaviour import MockVendorBehaviour
from mockvendors.profile import load_profile

# 8,192 probes (four vendor blocks): ~700 MB of embeddings and draws at the study's 512 dimensions,
# and large enough that the per-chunk overhead (validation, a Parquet row group) is a few percent
DEFAULT_CHUNK = 8192
# chunks built and being answered beyond the one handed out: enough to keep every core busy
BUILT_AHEAD = 2


@dataclass
class Chunk:
    dataset: int  # index into params.datasets
    start: int  # first probe's index in its dataset
    probes: SimProbes  # as the reference recognizer sees them
    ids: np.ndarray
    rows: list[pd.DataFrame]  # one validated results table per vendor


def stream_chunks(world: World, vendors: Mapping[str, MockVendorBehaviour], chunk: int = DEFAULT_CHUNK,
                  progress: Callable[[int], None] | None = None, workers: int | None = None) -> Iterator[Chunk]:
    """Every vendor on every probe of ``world`` (built with ``probes=False``), a chunk at a time, in
    order; ``progress()`` once per chunk.

    A pipeline over ``workers`` threads (:mod:`harness.simulate.parallel`): one thread builds the
    world's chunks one after another (every random stream is drawn in order), up to
    :data:`BUILT_AHEAD` ahead of the chunk being handed out, while the vendors answer the chunks
    already built, each vendor a task of its own."""
    ref = world.params.recognizer

    def built() -> Iterator[tuple[int, int, dict[str, SimProbes]]]:
        for i in range(len(world.params.datasets)):
            start = 0
            for views in world.probe_chunks(i, chunk):
                yield i, start, views
                start += len(views[ref].target)

    def answer(beh: MockVendorBehaviour, views: dict[str, SimProbes], ids: np.ndarray) -> pd.DataFrame:
        probes = views[vendor_view(world, beh.profile).recognizer]
        return validate_results(pd.DataFrame(dataset_rows(world, probes, beh, ids, VENDOR_BLOCK)),
                                f"<simulation of {probes.spec.name}>")

    source = built()
    with task_pool(workers) as pool, ThreadPoolExecutor(1, thread_name_prefix="dfi-world") as builder:
        builds = deque(builder.submit(next, source, None) for _ in range(BUILT_AHEAD))
        answering: deque[tuple[int, int, SimProbes, np.ndarray, list[Future[pd.DataFrame]]]] = deque()
        exhausted = False
        while True:
            while not exhausted and len(answering) < BUILT_AHEAD:
                item = builds.popleft().result()
                if item is None:
                    exhausted = True
                    break
                builds.append(builder.submit(next, source, None))
                i, start, views = item
                ids = probe_ids(views[ref], start, start + len(views[ref].target))
                answering.append((i, start, views[ref], ids,
                                  [pool.submit(answer, beh, views, ids) for beh in vendors.values()]))
            if not answering:
                return
            i, start, probes, ids, futures = answering.popleft()
            yield Chunk(i, start, probes, ids, [f.result() for f in futures])
            if progress is not None:
                progress(1)


def vendor_chunk(chunk: int) -> int:
    """``chunk`` rounded up to whole :data:`VENDOR_BLOCK` blocks (what keeps the rows independent of it)."""
    if chunk < 1:
        raise SimulationError(f"a chunk needs at least one probe, not {chunk}")
    return -(-chunk // VENDOR_BLOCK) * VENDOR_BLOCK


def chunk_count(params: SimulationParams, chunk: int) -> int:
    return sum(-(-d.probes // chunk) for d in params.datasets)


def fake_quality(world: World, probes: SimProbes) -> np.ndarray:
    """Each deepfake's cosine to its target's identity centre: what a correlated detector's misses
    follow (:mod:`harness.simulate.defense`)."""
    return np.vecdot(probes.fake, world.celebrities.centres[probes.target]).astype(np.float64)


class ResultsWriter:
    """Append validated results tables to a Parquet file that appears whole at ``path`` on close."""

    def __init__(self, path: Path):
        if Path(path).suffix.lower() != ".parquet":
            raise SimulationError(f"a streamed simulation writes Parquet, not {Path(path).name}")
        self.path = Path(path)
        self.rows = 0
        self._stack = ExitStack()
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self._stack.enter_context(atomic_output(self.path))
        return self

    def write(self, table: pd.DataFrame) -> None:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if self._writer is None:
            assert self._tmp is not None, "ResultsWriter is used as a context manager"
            self._writer = pq.ParquetWriter(self._tmp, arrow.schema)
        self._writer.write_table(arrow)
        self.rows += len(table)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._writer is None and kind is None:  # no rows: still a results file, with the columns
            self.write(validate_results(empty_results()))
        if self._writer is not None:
            self._writer.close()
        self._stack.__exit__(kind, exc, tb)


@dataclass
class StreamedSimulation:
    """What :func:`simulate_to_file` leaves in memory: the world without its probes, the vendors, and
    per dataset the probe ids and each deepfake's quality (the defense's truth)."""

    world: World
    vendors: dict[str, MockVendorBehaviour]
    path: Path | None
    rows: int
    probe_keys: list[np.ndarray] = field(default_factory=list)
    quality: list[np.ndarray] = field(default_factory=list)


def simulate_to_file(params: SimulationParams, path: Path | None, vendors: Sequence[str] | None = None,
                     overrides: Mapping[str, dict[str, Any]] | None = None, chunk: int = DEFAULT_CHUNK,
                     progress: Callable[[int, int], None] | None = None,
                     world: World | None = None, workers: int | None = None) -> StreamedSimulation:
    """Build ``params``' world chunk by chunk, run every vendor on it and write the rows to ``path``
    (Parquet; ``None``: write nothing, keep only the ids and qualities); ``progress(done, total)``
    once per chunk. ``world``: one already built from ``params`` (``probes=False``) to run again.
    ``workers``: threads for the vendors' answers (default: the CPUs this process may use); the rows
    are the same whatever it is."""
    chunk = vendor_chunk(chunk)
    vendors = registry.names() if vendors is None else vendors
    recognizers = {load_profile(v, (overrides or {}).get(v)).recognizer for v in vendors}
    step = StepCounter(chunk_count(params, chunk), progress)
    world = world if world is not None else World(params, recognizers, probes=False)
    behaviours = vendor_behaviours(world, vendors, overrides)
    ids: list[list[np.ndarray]] = [[] for _ in params.datasets]
    quality: list[list[np.ndarray]] = [[] for _ in params.datasets]
    with ExitStack() as stack:
        writer = stack.enter_context(ResultsWriter(path)) if path is not None else None
        rows = 0
        for c in stream_chunks(world, behaviours, chunk, step, workers):
            ids[c.dataset].append(c.ids)
            quality[c.dataset].append(fake_quality(world, c.probes))
            for table in c.rows:
                rows += len(table)
                if writer is not None:
                    writer.write(table)
    return StreamedSimulation(world, behaviours, path, rows, [np.concatenate(k) for k in ids],
                              [np.concatenate(q) for q in quality])

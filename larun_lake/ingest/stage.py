"""Convert a chunk of files and write their cadences as staged Parquet, one file per partition.

This is the heavy part of ingest (FITS decoding and Parquet encoding). It is a pure
function of its inputs, runs in worker processes, and never touches the catalog:
only metadata travels back to the process that commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..lake import files
from ..lake.writer import lightcurve_table, write_file
from ..layout import Partition
from .convert import Converted, InputFile, convert


@dataclass
class StagedFile:
    """A Parquet file under _staging holding some versions of one partition."""

    partition: Partition
    path: Path
    n_rows: int
    placements: dict[str, tuple[int, int]]  # file_sha256 -> (row offset, row count)
    size_bytes: int = 0
    sha256: str = ""  # of the Parquet file, computed here rather than in the committing process


@dataclass
class StagedChunk:
    results: list[Converted]  # lightcurve results carry metadata only (columns dropped)
    staged: list[StagedFile] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        return sum(r.size_bytes for r in self.results)


def stage_chunk(items: list[InputFile], known_shas: frozenset[str], stage_dir: Path, chunk_id: int) -> StagedChunk:
    results = [convert(item, known_shas) for item in items]
    groups: dict[Partition, list[tuple[tuple, str, pa.Table]]] = {}
    seen: set[str] = set()
    for result in results:
        if result.outcome != "lightcurve" or result.sha256 in seen:
            continue
        seen.add(result.sha256)
        meta = result.lc.meta
        part = Partition(meta["mission"], meta["author"], meta["period"])
        key = (meta["target_id"], meta["lc_id"], result.sha256)
        groups.setdefault(part, []).append((key, result.sha256, lightcurve_table(result.lc)))
        result.lc.columns = {}  # the rows are in the staged file now
    chunk = StagedChunk(results)
    for n, (part, tables) in enumerate(sorted(groups.items(), key=lambda kv: kv[0].relpath.as_posix())):
        tables.sort(key=lambda item: item[0])
        path = stage_dir / f"chunk{chunk_id:05d}-{n:03d}.parquet"
        written = write_file(path, [(key, table) for _, key, table in tables])
        placements = {p.key: (p.row_offset, p.row_count) for p in written.placements}
        chunk.staged.append(StagedFile(part, path, written.n_rows, placements, files.size(path), files.sha256_of(path)))
    return chunk

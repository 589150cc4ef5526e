"""The per-file work of a harvest as tasks for a cluster's workers: download, verify, convert, write.

A task is a pure function of its products, the lake, the run and its chunk number. It downloads
into a temporary folder on its worker, checks sizes and FITS checksums (fetch.py), keeps the
files in the lake's raw area with --keep-fits, and converts the good ones with `stage_chunk`,
which writes straight to lake storage under names fixed by run and chunk. Only metadata goes
back; the client alone commits. A task run twice (Dask recomputes results a lost worker held)
downloads again and writes the same names, and the client registers its chunk once.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..ingest.convert import InputFile
from ..ingest.order import in_conversion_order
from ..ingest.stage import StagedChunk, stage_chunk
from ..layout import LakeLayout
from ..mast.download import DownloadJob
from .fetch import Fetched, fetch_verified
from .plan import raw_path, raw_relpath
from .rawfiles import keep_in_store
from .search import Product


@dataclass(frozen=True)
class TaskOptions:
    mast_url: str
    read_timeout: float
    threads: int  # concurrent downloads within one task
    keep_fits: bool
    aperture: Any = "default"  # which pixels make a target pixel file's light curve


@dataclass
class HarvestedChunk:
    fetched: list[Fetched]  # every product's downloads, good or not
    staged: StagedChunk  # the good files, converted and written


def product_input(p: Product, path: Path, aperture: Any = "default") -> InputFile:
    """A downloaded product as ingest takes it, with what MAST said about it for its products row."""
    extra = {"obs_id": p.obs_id, "obs_collection": p.obs_collection, "expected_size": p.size_bytes}
    return InputFile(path, p.data_uri, p.data_uri, extra=extra, aperture=aperture)


def harvest_chunk(
    products: list[Product],
    known_shas: frozenset[str],
    layout: LakeLayout,
    run_id: str,
    chunk_id: int,
    options: TaskOptions,
) -> HarvestedChunk:
    by_uri = {p.data_uri: p for p in products}
    with tempfile.TemporaryDirectory(prefix="larun-lake-harvest-") as tmp:
        jobs = [DownloadJob(p.data_uri, Path(tmp) / raw_relpath(layout, p), p.size_bytes) for p in products]
        fetched: list[Fetched] = []
        items: list[InputFile] = []
        for f in fetch_verified(options.mast_url, jobs, workers=options.threads, read_timeout=options.read_timeout):
            fetched.append(f)
            if f.ok:
                p = by_uri[f.job.data_uri]
                if options.keep_fits:
                    keep_in_store(layout.store, raw_relpath(layout, p), f.job.dest)
                items.append(product_input(p, f.job.dest, options.aperture))
        staged = stage_chunk(in_conversion_order(items), known_shas, layout, run_id, chunk_id)
    for result in staged.results:
        # Recorded as the harvest on the writing machine records them: where the file lands in the raw area.
        where = raw_path(layout, by_uri[result.item.product_uri])
        result.item = replace(result.item, path=where)
        if result.lc is not None:
            result.lc.meta["source_path"] = str(where)
    return HarvestedChunk(fetched, staged)

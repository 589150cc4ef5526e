"""What a harvest must fetch, decided once for the dry run and the real run alike.

A product MAST lists is left alone when the lake already holds it: by its data URI
(ingested before, same size), or by the file itself (a version with the product's file
name and byte size, e.g. imported from disk). Otherwise it is downloaded, unless a
complete copy already sits in the raw area (an interrupted run, or --keep-fits): for a lake on
object storage, where downloads land (beside the writer's catalog) or the lake's own raw area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import Catalog, observatory, pixels
from ..layout import LakeLayout
from .rawfiles import stored_sizes
from .search import Product

# Products already dealt with; quarantined ones are retried only when asked.
DONE_STATES = ("ingested", "superseded", "skipped")


@dataclass(frozen=True)
class InLake:
    """A listed product whose file is already a version in the lake."""

    product: Product
    lc_id: str
    sha256: str


@dataclass
class FetchPlan:
    download: list[Product] = field(default_factory=list)  # fetched from MAST
    on_disk: list[Product] = field(default_factory=list)  # complete raw files: ingested without a download
    in_store: set[str] = field(default_factory=set)  # data URIs of on_disk files held in the store, not locally
    repair: set[str] = field(default_factory=set)  # data URIs fetched again to rewrite their damaged data file
    in_lake: list[InLake] = field(default_factory=list)  # same file already ingested: nothing to do
    unsafe: list[tuple[Product, str]] = field(default_factory=list)  # names that would escape the raw area

    @property
    def bytes_to_download(self) -> int:
        return sum(p.size_bytes or 0 for p in self.download)


def raw_relpath(layout: LakeLayout, p: Product) -> str:
    """A product's FITS file in the raw area (MAST's mastDownload layout); ValueError for unsafe names."""
    return layout.raw_relpath(p.obs_collection or p.mission, p.obs_id or p.target_name, p.product_filename)


def raw_path(layout: LakeLayout, p: Product) -> Path:
    """Where a product's FITS file lands on this machine; ValueError for unsafe names."""
    return layout.download_root / raw_relpath(layout, p)


def plan_fetch(catalog: Catalog, found: list[Product], *, retry_quarantined: bool,
               again: set[str] | None = None) -> FetchPlan:
    """`again`: data URIs to take even if done (pixel files asked for with another aperture): from the kept
    file where it is complete, else downloaded."""
    plan = FetchPlan()
    again = again or set()
    needed = _not_done(catalog, found, retry_quarantined=retry_quarantined)
    versions = _versions_by_file(catalog, needed)
    damaged = _in_damaged_files(catalog, found)
    gone = kept_files_gone(catalog, [p.data_uri for p in found])  # pixel files whose kept copy has gone
    needed += [p for p in found if (p.data_uri in damaged or p.data_uri in gone or p.data_uri in again)
               and p not in needed]
    plan.repair = set(damaged)
    elsewhere: list[Product] = []
    for p in needed:
        match = versions.get((p.product_filename, p.size_bytes))
        fetch_anyway = p.data_uri in damaged or p.data_uri in gone or p.data_uri in again
        if match is not None and match[1] not in damaged.values() and not fetch_anyway:
            plan.in_lake.append(InLake(p, *match))
            continue
        try:
            dest = raw_path(catalog.layout, p)
        except ValueError as exc:
            plan.unsafe.append((p, f"unsafe file name from MAST ({exc})"))
            continue
        if p.size_bytes is not None and dest.is_file() and dest.stat().st_size == p.size_bytes:
            plan.on_disk.append(p)
        else:
            elsewhere.append(p)
    stored = {} if catalog.layout.is_local else _stored(catalog.layout, elsewhere)
    for p in elsewhere:
        if p.size_bytes is not None and stored.get(p.data_uri) == p.size_bytes:
            plan.on_disk.append(p)
            plan.in_store.add(p.data_uri)
        else:
            plan.download.append(p)
    return plan


def _stored(layout: LakeLayout, products: list[Product]) -> dict[str, int]:
    """data URI -> size of the copies a lake on object storage keeps in its raw area (--keep-fits)."""
    rels = {raw_relpath(layout, p): p.data_uri for p in products if p.size_bytes is not None}
    return {rels[rel]: size for rel, size in stored_sizes(layout.store, list(rels)).items()} if rels else {}


def _not_done(catalog: Catalog, found: list[Product], *, retry_quarantined: bool) -> list[Product]:
    """Products not yet in the lake, failed before, or changed at MAST since they were ingested."""
    with catalog.read(sandbox=False, surface=False) as con:
        state = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT product_uri, state, size_bytes FROM lake.products WHERE product_uri IN (SELECT unnest(?))",
                [[p.data_uri for p in found]],
            ).fetchall()
        }
    out = []
    for p in found:
        st = state.get(p.data_uri)
        if st is None or st[0] in ("known", "downloaded", "failed"):
            out.append(p)
        elif st[0] == "quarantined":
            if retry_quarantined:
                out.append(p)
        elif st[0] in DONE_STATES and p.size_bytes is not None and st[1] is not None and st[1] != p.size_bytes:
            out.append(p)  # MAST reprocessed it under the same name
    return out


def kept_in_lake(catalog: Catalog, paths: list[Path]) -> set[Path]:
    """Those of these local files that are the lake's own kept pixel files or images (a local lake's raw area)."""
    layout = catalog.layout
    if not paths or not layout.is_local:
        return set()
    with catalog.read(sandbox=False, surface=False) as con:
        kept = pixels.raw_paths(con) | observatory.image_raw_paths(con)
    return {p for p in paths if p.is_relative_to(layout.root) and p.relative_to(layout.root).as_posix() in kept}


def kept_files_gone(catalog: Catalog, uris: list[str]) -> set[str]:
    """Products ingested as pixel files whose kept copy is no longer in the raw area: fetched again, they
    put it back."""
    with catalog.read(sandbox=False, surface=False) as con:
        kept = con.execute(
            "SELECT p.product_uri, v.raw_path FROM lake.products p JOIN lake.pixel_file_versions v "
            "ON v.file_sha256 = p.sha256 WHERE p.product_uri IN (SELECT unnest(?)) AND p.state IN ('ingested', "
            "'superseded')",
            [uris],
        ).fetchall()
    store = catalog.layout.store
    return {uri for uri, rel in kept if not store.exists(rel)}


def _in_damaged_files(catalog: Catalog, found: list[Product]) -> dict[str, str]:
    """data URI -> version sha of listed products whose rows sit in a data file that no longer matches
    the catalog (changed or deleted behind the lake's back): fetching them again lets ingest rewrite it."""
    from ..ingest.repair import find_damaged

    with catalog.read(sandbox=False, surface=False) as con:
        held = dict(
            con.execute(
                "SELECT product_uri, sha256 FROM lake.products WHERE state IN ('ingested', 'superseded') "
                "AND sha256 IS NOT NULL AND product_uri IN (SELECT unnest(?))",
                [[p.data_uri for p in found]],
            ).fetchall()
        )
        if not held:
            return {}
        # A pixel product's sha is its file's; its light curves (one per aperture) are versions of their own.
        made = pixels.versions_of_pixel_files(con, sorted(set(held.values())))
        shas = sorted({v for sha in held.values() for v in made.get(sha, [sha])})
        bad = {sha for d in find_damaged(con, catalog.layout, shas) for _, sha, _, _ in d.held}
    out = {}
    for uri, sha in held.items():
        damaged = [v for v in made.get(sha, [sha]) if v in bad]
        if damaged:
            out[uri] = damaged[0]
    return out


def _versions_by_file(catalog: Catalog, products: list[Product]) -> dict[tuple[str, int], tuple[str, str]]:
    """(file name, size) -> (lc_id, file_sha256) of versions in the lake with those names."""
    names = sorted({p.product_filename for p in products if p.size_bytes is not None})
    if not names:
        return {}
    with catalog.read(sandbox=False, surface=False) as con:
        rows = con.execute(
            "SELECT file_name, file_size, lc_id, file_sha256 FROM lake.lightcurve_versions "
            "WHERE file_name IN (SELECT unnest(?)) ORDER BY is_current DESC",
            [names],
        ).fetchall()
    out: dict[tuple[str, int], tuple[str, str]] = {}
    for name, size, lc_id, sha in rows:
        out.setdefault((name, size), (lc_id, sha))
    return out

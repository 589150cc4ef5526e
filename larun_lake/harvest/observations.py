"""`larun-lake harvest observations` and `harvest products`: any MAST collection (HST, JWST, ...).

The same CAOM portal calls as light curves: one observation search for all the criteria (many
target names go into one request), one product listing per batch of observations. Every
observation is recorded in `observations` and every product in `products` (state `known`, with its
suffix, size and URI); a search is remembered for --max-age / --offline. Products whose suffix is
asked for (--download, or MAST's minimum recommended products with --mrp) go through the light-curve
harvester's downloader and ingest: concurrent, verified, resumable, into the raw area in MAST's layout.
Spectra, spectral time series and white-light curves become lake rows; images are kept with their
header facts; other products (calints, uncal, ...) are kept as downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..catalog import observatory
from ..catalog import products as product_rows
from ..catalog.db import now
from ..errors import UsageError
from ..kinds.suffixes import KNOWN_SUFFIXES, OTHER, collection_named, product_type_of_suffix, suffix_of
from .lightcurves import HarvestReport, LightCurveHarvest
from .search import Product

MRP = "Minimum Recommended Products"


@dataclass
class ObservationQuery:
    """What `harvest observations` asks MAST for, in CAOM column names."""

    collections: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # dataproduct_type: timeseries, spectrum, image, cube, ...
    calib_levels: list[int] = field(default_factory=list)
    cone: tuple[float, float, float] | None = None
    obsids: list[str] = field(default_factory=list)  # `harvest products`: observations named directly

    def criteria(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, values in (("obs_collection", self.collections), ("instrument_name", self.instruments),
                               ("proposal_id", self.proposals), ("target_name", self.targets),
                               ("dataproduct_type", self.types), ("calib_level", self.calib_levels)):  # fmt: skip
            if values:
                out[column] = list(values)
        return out

    def key(self) -> str:
        return observatory.criteria_key(self.criteria() | ({"cone": list(self.cone)} if self.cone else {}))

    def check(self) -> None:
        if not (self.obsids or self.targets or self.cone or self.proposals or self.instruments):
            raise UsageError("an observation search needs --target, --cone, --proposal or --instrument",
                             hint="e.g. --collection JWST --proposal 2734, or --cone RA DEC RADIUS")  # fmt: skip
        if self.cone is not None:
            ra, dec, radius = self.cone
            if not (0 <= ra < 360 and -90 <= dec <= 90 and 0 < radius <= 5):
                raise UsageError(f"--cone {ra} {dec} {radius} is out of range",
                                 hint="RA 0-360, Dec -90-90 and a radius up to 5 degrees")  # fmt: skip


def parse_collections(values: list[str]) -> list[str]:
    out = []
    for value in values:
        for text in (v for v in value.split(",") if v.strip()):
            try:
                out.append(collection_named(text))
            except ValueError:
                raise UsageError(f"unknown collection {text.strip()!r}",
                                 hint="use a MAST collection such as JWST, HST, TESS, Kepler, K2, HLSP") from None
    return out


def parse_suffixes(values: list[str] | str | None) -> list[str]:
    """Product suffixes as MAST names them ('x1dints'), from 'x1d,whtlt' or repeated options."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values or []:
        for text in (v.strip().lower().lstrip("_") for v in value.split(",")):
            if not text:
                continue
            if text not in KNOWN_SUFFIXES:
                raise UsageError(f"unknown product suffix {text!r}",
                                 hint="use MAST's file suffixes, e.g. x1d, x1dints, whtlt, phot, cal, i2d, flt, drz")  # fmt: skip
            out.append(text)
    return out


def product_of_row(row: dict[str, Any], observation: dict[str, Any] | None) -> Product | None:
    """A MAST product row as the harvester's Product (None without a URI or a file name)."""
    uri, name = row.get("dataURI"), row.get("productFilename")
    if not uri or not name:
        return None
    obs = observation or {}
    return Product(
        data_uri=uri,
        mission=row.get("obs_collection") or obs.get("obs_collection") or "",
        author=obs.get("provenance_name"),
        target_name=str(obs.get("target_name") or ""),
        target_id=None,
        obsid=str(row.get("obsID") or obs.get("obsid") or "") or None,
        obs_id=row.get("obs_id") or obs.get("obs_id"),
        obs_collection=row.get("obs_collection") or obs.get("obs_collection"),
        period_number=None,
        exptime_s=None,
        product_filename=name,
        size_bytes=row.get("size"),
        description=row.get("description"),
        product_type=product_type_of_suffix(_suffix(row)),
    )


_PICTURES = (".jpg", ".jpeg", ".png", ".gif")


def _suffix(row: dict[str, Any]) -> str | None:
    """The suffix in the file name; MAST's subgroup says the same in upper case, but not for every product.
    A preview picture is named after the product it shows (`..._x1dints.jpg`): it is a preview, not one."""
    name = str(row.get("productFilename") or "")
    if name.lower().endswith(_PICTURES):
        return "thumb" if str(row.get("productType") or "").upper() == "THUMBNAIL" or "_thumb" in name else "preview"
    return suffix_of(name) or (str(row.get("productSubGroupDescription") or "").lower() or None)


def product_record(row: dict[str, Any], run_id: str) -> dict[str, Any]:
    """A products row (state known) for what MAST lists."""
    return {
        "product_uri": row["dataURI"], "product_type": product_type_of_suffix(_suffix(row)), "state": "known",
        "mission": row.get("obs_collection"), "obs_collection": row.get("obs_collection"),
        "obs_id": row.get("obs_id"), "file_name": row.get("productFilename"), "expected_size": row.get("size"),
        "suffix": _suffix(row), "obsid": str(row.get("obsID") or "") or None,
        "product_category": row.get("productType"), "mrp": row.get("productGroupDescription") == MRP,
        "calib_level": row.get("calib_level"), "description": row.get("description"),
        "proposal_id": row.get("proposal_id"), "run_id": run_id,
    }  # fmt: skip


@dataclass
class Selection:
    """Which listed products to fetch: by suffix, or MAST's minimum recommended products."""

    suffixes: list[str] = field(default_factory=list)
    mrp: bool = False

    def wants(self, row: dict[str, Any]) -> bool:
        if self.mrp and row.get("productGroupDescription") == MRP:
            return True
        return bool(self.suffixes) and _suffix(row) in self.suffixes

    @property
    def fetches(self) -> bool:
        return bool(self.suffixes) or self.mrp


class ObservationHarvest(LightCurveHarvest):
    """The light-curve harvester's download and ingest, fed by an observation search."""

    def __init__(self, *args: Any, selection: Selection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.selection = selection
        self.n_observations = self.n_listed = 0

    def _find(self, query: ObservationQuery, filt: Any, run_id: str, report: HarvestReport, *, offline: bool,
              max_age: timedelta | None, dry_run: bool) -> list[Product]:  # fmt: skip
        observations, rows = self._search(query, run_id, offline=offline, max_age=max_age, dry_run=dry_run)
        self.n_observations = len(observations)
        self.n_listed = len({r.get("dataURI") for r in rows if r.get("dataURI")})
        by_obsid = {str(o["obsid"]): o for o in observations}
        listed: dict[str, Product] = {}
        for row in rows:
            if not self.selection.wants(row):
                continue
            p = product_of_row(row, by_obsid.get(str(row.get("obsID") or "")))
            if p is not None:
                listed.setdefault(p.data_uri, p)  # JWST lists a product under each observation it belongs to
        return list(listed.values())

    def _search(self, query: ObservationQuery, run_id: str, *, offline: bool, max_age: timedelta | None,
                dry_run: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
        """Observations and their product rows: remembered (offline, or within --max-age) or from MAST."""
        key = query.key()
        remembered = None
        if offline or max_age is not None:
            with self.catalog.read(sandbox=False, surface=False) as con:
                remembered = observatory.remembered_search(con, key) if not query.obsids else None
        fresh = remembered is not None and (offline or now() - remembered[1] <= max_age)
        if offline or fresh:
            if remembered is None and not query.obsids:
                raise UsageError("this observation search was never made: nothing to work from offline",
                                 hint="run it once without --offline")  # fmt: skip
            obsids = query.obsids or remembered[0]
            with self.catalog.read(sandbox=False, surface=False) as con:
                observations = observatory.observation_rows(con, obsids)
                rows = [_as_mast_row(r) for r in observatory.products_of(con, obsids)]
            return observations, rows
        self.progress.update(phase="searching", detail="observations")
        if query.obsids:
            observations = self.client.find_observations({"obsid": query.obsids})
        else:
            observations = self.client.find_observations(query.criteria(), position=query.cone)
        obsids = [str(o["obsid"]) for o in observations]
        if query.obsids:  # named observations MAST does not know are still asked for their products
            obsids = list(dict.fromkeys([*obsids, *map(str, query.obsids)]))
        self.progress.update(phase="searching", detail="products")
        rows = self.client.products(obsids) if obsids else []
        if not dry_run:
            with self.catalog.write(self.command) as con:
                observatory.upsert_observations(con, observations, run_id)
                self._record_products(con, rows, run_id)
                if not query.obsids:
                    n_products = len({r.get("dataURI") for r in rows})
                    observatory.remember_search(con, key, obsids, n_products, self.settings.mast_url, run_id)
        return observations, rows

    @staticmethod
    def _record_products(con: Any, rows: list[dict[str, Any]], run_id: str) -> None:
        """Every listed product as `known`; products the lake has dealt with keep their state."""
        records = {r["dataURI"]: product_record(r, run_id) for r in rows if r.get("dataURI")}
        existing = {
            u for (u,) in con.execute(
                "SELECT product_uri FROM lake.products WHERE product_uri IN (SELECT unnest(?))", [list(records)]
            ).fetchall()
        }  # fmt: skip
        new = [r for uri, r in records.items() if uri not in existing]
        product_rows.upsert_many(con, new)
        # What MAST says of products already known (suffix, group, ...) is refreshed without touching the state.
        for uri in existing:
            r = records[uri]
            con.execute(
                "UPDATE lake.products SET suffix = coalesce(suffix, ?), obsid = coalesce(obsid, ?), "
                "product_category = ?, mrp = ?, calib_level = ?, description = ?, proposal_id = ?, "
                "expected_size = coalesce(expected_size, ?) WHERE product_uri = ?",
                [r["suffix"], r["obsid"], r["product_category"], r["mrp"], r["calib_level"], r["description"],
                 r["proposal_id"], r["expected_size"], uri],
            )  # fmt: skip

    def _ingest(self, ingestor: Any, group: list[Product], known: frozenset, report: HarvestReport) -> None:
        """Converted kinds are ingested; other products (calints, uncal, ...) are kept as downloaded."""
        kept = [p for p in group if p.product_type == OTHER]
        if kept:
            with self.catalog.write(self.command) as con:
                for p in kept:
                    path = self._raw_path(p)
                    product_rows.upsert(con, p.data_uri, "downloaded", run_id=ingestor.run_id,
                                        local_path=str(path), size_bytes=_size(path))  # fmt: skip
        rest = [p for p in group if p.product_type != OTHER]
        if rest:
            super()._ingest(ingestor, rest, known, report)

    def _tidy(self, plan: Any, run_id: str) -> None:
        # Downloaded products that are not converted stay in the raw area: only empty folders go.
        super()._tidy(plan, run_id)


def _as_mast_row(row: dict[str, Any]) -> dict[str, Any]:
    """A products row of the catalog in the names MAST uses (for an offline harvest)."""
    return {
        "dataURI": row["product_uri"], "obsID": row.get("obsid"), "obs_collection": row.get("obs_collection"),
        "obs_id": row.get("obs_id"), "productFilename": row.get("file_name"), "size": row.get("expected_size"),
        "productSubGroupDescription": (row.get("suffix") or "").upper(), "productType": row.get("product_category"),
        "productGroupDescription": MRP if row.get("mrp") else None, "calib_level": row.get("calib_level"),
        "description": row.get("description"), "proposal_id": row.get("proposal_id"),
    }  # fmt: skip


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def run_observation_harvest(lake: Any, query: ObservationQuery, selection: Selection, *, command: str,
                            workers: int, dry_run: bool, offline: bool, max_age: str | None, keep_fits: bool,
                            retry_quarantined: bool, mast_url: str | None, client: Any,
                            progress: Any) -> HarvestReport:  # fmt: skip
    """The body of Lake.harvest_observations / Lake.harvest_products."""
    from dataclasses import replace

    from .lightcurves import parse_max_age

    query.check()
    if workers < 1 or workers > 64:
        raise UsageError(f"--workers {workers} is out of range", hint="use 1 to 64")
    settings = replace(lake.settings, mast_url=mast_url) if mast_url else lake.settings
    client = client or (None if offline else lake.mast_client(settings.mast_url))
    params = {"criteria": query.criteria(), "cone": list(query.cone) if query.cone else None,
              "obsids": query.obsids or None, "download": selection.suffixes, "mrp": selection.mrp,
              "workers": workers, "offline": offline, "max_age": max_age, "keep_fits": keep_fits}  # fmt: skip
    with lake.catalog.writing(command):
        harvest = ObservationHarvest(lake.catalog, settings, client, workers=workers, keep_fits=keep_fits,
                                     progress=progress, command=command, selection=selection)  # fmt: skip
        report = harvest.run(query, None, dry_run=dry_run, offline=offline, max_age=parse_max_age(max_age),
                             retry_quarantined=retry_quarantined, parameters=params)  # fmt: skip
        report.n_observations, report.n_listed = harvest.n_observations, harvest.n_listed
        if not dry_run and lake.catalog.exists():
            lake.catalog.publish_snapshot()
    return report

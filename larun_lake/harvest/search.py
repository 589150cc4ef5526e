"""Find light-curve and target-pixel products at MAST with few requests, and remember what MAST listed.

One observation query covers many targets, one product query many observations.
The product lists are kept in the catalog (mast_searches, mast_products) with the time
they were fetched: a later harvest within --max-age, or --offline, asks MAST nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import pyarrow as pa

from .. import kinds
from ..catalog import Catalog
from ..catalog.db import now
from ..errors import UsageError
from .targets import Target, target_name


@dataclass(frozen=True)
class Product:
    """One light-curve or target pixel file MAST lists (`author` is MAST's provenance_name)."""

    data_uri: str
    mission: str
    author: str | None
    target_name: str
    target_id: int | None
    obsid: str | None
    obs_id: str | None
    obs_collection: str | None
    period_number: int | None
    exptime_s: float | None
    product_filename: str
    size_bytes: int | None
    description: str | None
    product_type: str = "lightcurve"  # or 'target_pixel'


def light_curve_products(mission: str, observations: list[dict], products: list[dict]) -> list[Product]:
    """Join MAST's product rows to their observations and keep the files of known kinds (light curves and
    target pixel files)."""
    by_obsid = {str(o.get("obsid")): o for o in observations}
    by_obs_id = {o.get("obs_id"): o for o in observations}
    out: dict[str, Product] = {}
    for p in products:
        name = p.get("productFilename") or ""
        if not p.get("dataURI"):
            continue
        obs = by_obsid.get(str(p.get("obsID") or p.get("parent_obsid") or "")) or by_obs_id.get(p.get("obs_id"))
        if obs is None:
            continue
        author = obs.get("provenance_name")
        kind = kinds.listed_kind(mission, author, name)
        if kind is None:
            continue
        tname = str(obs.get("target_name"))
        out[p["dataURI"]] = Product(
            data_uri=p["dataURI"],
            mission=mission,
            author=author,
            target_name=tname,
            target_id=kind.target_id_of(tname),
            obsid=str(obs.get("obsid")),
            obs_id=obs.get("obs_id"),
            obs_collection=obs.get("obs_collection"),
            period_number=kind.mast_period(obs, p),
            exptime_s=float(obs["t_exptime"]) if obs.get("t_exptime") is not None else None,
            product_filename=name,
            size_bytes=int(p["size"]) if p.get("size") is not None else None,
            description=p.get("description"),
            product_type=kind.product_type,
        )
    return list(out.values())


class ProductSearch:
    """Searches for one harvest run: cache first, then MAST."""

    def __init__(
        self,
        catalog: Catalog,
        client: Any | None,
        *,
        run_id: str,
        mast_url: str,
        on_phase: Callable[[str, str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.run_id = run_id
        self.mast_url = mast_url
        self.unknown: list[tuple[str, str]] = []
        self._on_phase = on_phase or (lambda phase, detail: None)

    def find(
        self, targets: list[Target], missions: list[str], *, max_age: timedelta | None, offline: bool
    ) -> list[Product]:
        keys: set[tuple[str, str]] = set()
        found: list[Product] = []
        for target in targets:
            if target.mission is not None:
                if target.mission in missions:
                    keys.add((target.mission, target_name(target.mission, target.target_id)))
                continue
            if offline:
                raise UsageError(f"cannot resolve the name {target.name!r} offline", hint="use TIC/KIC/EPIC ids")
            self._on_phase("searching", f"for {target.name}")
            ra, dec = self.client.resolve(target.name)
            for mission in missions:
                found += self._query(mission, position=(ra, dec, 2.0 / 3600))  # within 2 arcsec
        # Without --max-age every search asks MAST; --offline takes whatever was remembered.
        fresh = (
            self._cached_keys(keys, None)
            if offline
            else (self._cached_keys(keys, max_age) if max_age is not None else set())
        )
        self.unknown = sorted(keys - fresh)  # offline: targets never searched
        if self.unknown and not offline:
            for mission in missions:
                names = [name for m, name in self.unknown if m == mission]
                if names:
                    found += self._query(mission, target_names=names)
            self.unknown = []
        return found + self._cached_products(fresh)

    # -- MAST ------------------------------------------------------------------------------
    def _query(
        self, mission: str, *, target_names: list[str] | None = None, position: tuple[float, float, float] | None = None
    ) -> list[Product]:
        authors = kinds.authors_of(mission)
        collections = sorted({kinds.collection_of(a) for a in authors})
        what = f"{len(target_names)} target(s)" if target_names else "a position"
        self._on_phase("searching", f"{mission} observations of {what}")
        observations = self.client.observations(
            target_names=target_names, position=position, obs_collection=collections
        )
        observations = [
            o
            for o in observations
            if o.get("provenance_name") in authors and (o.get("dataproduct_type") in (None, "timeseries"))
        ]
        if observations:
            self._on_phase("listing", f"products of {len(observations)} {mission} observations")
        products = self.client.products([str(o["obsid"]) for o in observations]) if observations else []
        found = light_curve_products(mission, observations, products)
        searched = set(target_names or []) | {p.target_name for p in found}
        self._remember(mission, searched, observations, found)
        return found

    def _remember(self, mission: str, names: set[str], observations: list[dict], found: list[Product]) -> None:
        stamp = now()
        n_obs = Counter(str(o.get("target_name")) for o in observations)
        n_products = Counter(p.target_name for p in found)
        searches = pa.table(
            {
                "mission": [mission] * len(names),
                "target_name": sorted(names),
                "fetched_at": [stamp] * len(names),
                "n_observations": [n_obs[n] for n in sorted(names)],
                "n_products": [n_products[n] for n in sorted(names)],
                "mast_url": [self.mast_url] * len(names),
                "run_id": [self.run_id] * len(names),
            }
        )
        with self.catalog.write("harvest search") as con:
            con.execute(
                "DELETE FROM lake.mast_products WHERE mission = ? AND target_name IN (SELECT unnest(?))",
                [mission, sorted(names)],
            )
            if found:
                rows = [asdict(p) | {"fetched_at": stamp} for p in found]
                con.register("_found", pa.Table.from_pylist(rows))
                con.execute("INSERT OR REPLACE INTO lake.mast_products BY NAME SELECT * FROM _found")
                con.unregister("_found")
            if names:
                con.register("_searches", searches)
                con.execute("INSERT OR REPLACE INTO lake.mast_searches BY NAME SELECT * FROM _searches")
                con.unregister("_searches")

    # -- cache -------------------------------------------------------------------------------
    def _cached_keys(self, keys: set[tuple[str, str]], max_age: timedelta | None) -> set[tuple[str, str]]:
        if not keys:
            return set()
        cutoff = now() - max_age if max_age is not None else None
        with self.catalog.read(sandbox=False, surface=False) as con:
            con.register("_keys", _keys_table(keys))
            rows = con.execute(
                "SELECT mission, target_name FROM lake.mast_searches JOIN _keys USING (mission, target_name) "
                "WHERE ?::TIMESTAMPTZ IS NULL OR fetched_at >= ?::TIMESTAMPTZ",
                [cutoff, cutoff],
            ).fetchall()
        return set(rows)

    def _cached_products(self, keys: set[tuple[str, str]]) -> list[Product]:
        if not keys:
            return []
        with self.catalog.read(sandbox=False, surface=False) as con:
            con.register("_keys", _keys_table(keys))
            rel = con.sql(
                "SELECT p.* EXCLUDE (fetched_at, product_type), coalesce(p.product_type, 'lightcurve') AS product_type "
                "FROM lake.mast_products p JOIN _keys USING (mission, target_name)"
            )
            columns = rel.columns
            rows = [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]
        return [Product(**r) for r in rows]


def _keys_table(keys: set[tuple[str, str]]) -> pa.Table:
    missions, names = zip(*sorted(keys), strict=True)
    return pa.table({"mission": list(missions), "target_name": list(names)})

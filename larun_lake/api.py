"""The Python API: `Lake` is what the CLI calls, one method per command."""

from __future__ import annotations

import os
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import kinds
from .catalog import Catalog
from .config import Settings
from .errors import UsageError
from .executors import TaskRunner, task_runner
from .ingest.importer import IngestReport, ProgressFn, import_paths
from .lake.rebuild import RebuildReport, rebuild_catalog
from .lake.verify import VerifyReport, verify_lake
from .layout import LakeLayout
from .materialize import Fetcher, LightCurveSet, MaterializeOptions, SetStatus, list_sets, set_status
from .materialize import materialize as materialize_set
from .pixels.spec import aperture_spec
from .query import QueryResult, run_sql
from .status import StatusReport, lake_status

if TYPE_CHECKING:
    from .harvest.lightcurves import HarvestReport
    from .harvest.tic import TicReport


def _listify(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _items(value) -> list:
    """Values given as a list, one value, or comma-separated text ('x1dints,whtlt')."""
    if value is None:
        return []
    values = [value] if isinstance(value, str | int | float) else list(value)
    out = []
    for v in values:
        out.extend(t.strip() for t in v.split(",") if t.strip()) if isinstance(v, str) else out.append(v)
    return out


def client_url(client, default: str) -> str:
    return getattr(client, "mast_url", None) or default


class Lake:
    """One lake folder: its Parquet data and its DuckDB catalog.

    >>> lake = Lake("data/lake")
    >>> lake.sql("SELECT count(*) FROM lightcurves").df()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        wait: float | None = None,
        catalog: str | os.PathLike[str] | None = None,
        executor: str | Executor | None = None,
        scheduler: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        """`path`: a lake folder or an object-store URL (s3://bucket/prefix). `executor`: 'local', 'dask',
        a `distributed.Client` or any `concurrent.futures.Executor`, for the per-file work."""
        names = {"wait_s": wait, "catalog": catalog and os.fspath(catalog), "scheduler": scheduler,
                 "executor": executor if isinstance(executor, str) else None}
        self.settings = settings or Settings.resolve(path, **names)
        if settings is not None and path is not None:
            self.settings = replace(settings, lake=os.fspath(path))
        self.layout = LakeLayout.at(self.settings.lake, self.settings.catalog)
        self.catalog = Catalog(self.layout, wait_s=self.settings.wait_s)
        self._executor = executor if executor is not None and not isinstance(executor, str) else None

    @property
    def path(self) -> Path:
        """The lake folder (local lakes), or the local folder that holds a remote lake's catalog."""
        return self.layout.protected_root

    @property
    def url(self) -> str:
        return self.layout.url

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    def executor(self) -> TaskRunner:
        """Where per-file work runs (see executors.py); the caller shuts it down."""
        return task_runner(self._executor or self.settings.executor, self.settings.scheduler)

    def import_files(
        self,
        paths: list[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        workers: int = 0,
        progress: ProgressFn | None = None,
        aperture: str | os.PathLike[str] | object = "default",
    ) -> IngestReport:
        """Ingest FITS files already on disk (files and folders, any mix); creates the lake if needed.

        Light curves, target pixel files and TESScut cutouts are recognised from their headers. A pixel
        file's light curve sums the pixels of `aperture`: 'default' (as lightkurve: the pipeline aperture,
        else its threshold mask), 'pipeline', 'threshold', 'all', a boolean array, or a mask file.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        factory = (lambda total: progress) if progress else None
        spec = aperture_spec(aperture)
        params = {"paths": [str(p) for p in paths], "aperture": spec.describe()}
        with self.catalog.writing("import"), self._runner() as runner:
            report = import_paths(self.catalog, [str(p) for p in paths], workers=workers, progress_factory=factory,
                                  runner=runner, aperture=spec, parameters=params)
            self.catalog.publish_snapshot()
        return report

    def _runner(self) -> AbstractContextManager[TaskRunner | None]:
        """The executor for per-file work, or None for the default local pool (sized per command)."""
        if self._executor is None and self.settings.executor == "local":
            return nullcontext(None)
        return self.executor()

    # -- harvesting from MAST -------------------------------------------------------------------
    def mast_client(self, mast_url: str | None = None):  # -> larun_lake.mast.client.MastClient
        from .mast.client import MastClient

        return MastClient(mast_url or self.settings.mast_url, resolver_url=self.settings.resolver_url,
                          timeout=self.settings.timeout_s)

    def harvest_tic(self, *, ids: list[int] | None = None, cone: tuple[float, float, float] | None = None,
                    where: str | None = None, mast_url: str | None = None, client=None) -> TicReport:
        """TIC rows from MAST (by ids, in a cone, or by range criteria) into the lake's `tic` table."""
        from .harvest.tic import harvest_tic, parse_where

        conditions = parse_where(where) if where else None
        client = client or self.mast_client(mast_url)
        params = {"ids": ids, "cone": cone, "where": where}
        with self.catalog.writing("harvest tic"):
            report = harvest_tic(self.catalog, client, ids=ids, cone=cone, where=conditions,
                                 mast_url=client_url(client, mast_url or self.settings.mast_url), parameters=params)
            self.catalog.publish_snapshot()
        return report

    def harvest_lightcurves(self, targets: list[str] | str | None = None, *, from_sql: str | None = None,
                            mission: list[str] | str | None = None, author: list[str] | str | None = None,
                            exptime: float | None = None, sectors: str | None = None, quarters: str | None = None,
                            campaigns: str | None = None, workers: int = 8, dry_run: bool = False,
                            offline: bool = False, max_age: str | None = None, keep_fits: bool = False,
                            retry_quarantined: bool = False, mast_url: str | None = None, client=None,
                            progress=None) -> HarvestReport:
        """Light curves of targets from MAST: search (few requests), download what is missing, ingest."""
        return self._harvest_products(
            "lightcurve", targets, from_sql=from_sql, mission=mission, author=author, exptime=exptime,
            sectors=sectors, quarters=quarters, campaigns=campaigns, workers=workers, dry_run=dry_run,
            offline=offline, max_age=max_age, keep_fits=keep_fits, retry_quarantined=retry_quarantined,
            mast_url=mast_url, client=client, progress=progress)

    def harvest_pixels(self, targets: list[str] | str | None = None, *, from_sql: str | None = None,
                       mission: list[str] | str | None = None, author: list[str] | str | None = None,
                       exptime: float | None = None, sectors: str | None = None, quarters: str | None = None,
                       campaigns: str | None = None, aperture: str | os.PathLike[str] | object = "default",
                       workers: int = 8, dry_run: bool = False, offline: bool = False, max_age: str | None = None,
                       retry_quarantined: bool = False, mast_url: str | None = None, client=None,
                       progress=None) -> HarvestReport:
        """Pipeline target pixel files (SPOC, Kepler, K2) from MAST, found by the same search as light curves;
        kept in the lake's raw area, each with its light curve over `aperture` (see `import_files`)."""
        return self._harvest_products(
            "target_pixel", targets, from_sql=from_sql, mission=mission, author=author, exptime=exptime,
            sectors=sectors, quarters=quarters, campaigns=campaigns, workers=workers, dry_run=dry_run,
            offline=offline, max_age=max_age, keep_fits=False, retry_quarantined=retry_quarantined,
            mast_url=mast_url, client=client, progress=progress, aperture=aperture_spec(aperture))

    def harvest_cutouts(self, targets: list[str] | str | None = None, *, from_sql: str | None = None,
                        size: int | str = 11, sectors: str | None = None,
                        aperture: str | os.PathLike[str] | object = "default", workers: int = 8,
                        dry_run: bool = False, retry_quarantined: bool = False, mast_url: str | None = None,
                        client=None, progress=None) -> HarvestReport:
        """TESScut cutouts (`size` pixels, or 'COLSxROWS') of TESS targets in every sector that has them (or
        `sectors`), kept in the lake's raw area, each with its light curve over `aperture`."""
        from .harvest import targets as t
        from .harvest.cutouts import CutoutHarvest, parse_size

        cut = parse_size(size)
        periods = t.parse_periods(["TESS"], sectors=sectors).get("TESS")
        spec = aperture_spec(aperture)
        texts = _listify(targets)
        if from_sql:
            texts += self._ids_from_sql(from_sql, ["TESS"])
        parsed = t.parse_targets(texts, ["TESS"])
        if workers < 1 or workers > 64:
            raise UsageError(f"--workers {workers} is out of range", hint="use 1 to 64")
        settings = replace(self.settings, mast_url=mast_url) if mast_url else self.settings
        client = client or self.mast_client(settings.mast_url)
        params = {"targets": texts, "size": f"{cut[0]}x{cut[1]}", "sectors": sorted(periods) if periods else None,
                  "aperture": spec.describe(), "workers": workers}
        with self.catalog.writing("harvest cutouts"):
            harvest = CutoutHarvest(self.catalog, settings, client, workers=workers, aperture=spec, progress=progress)
            report = harvest.run(parsed, cut, sectors=periods, dry_run=dry_run, retry_quarantined=retry_quarantined,
                                 parameters=params)
            if not dry_run and self.catalog.exists():
                self.catalog.publish_snapshot()
        return report

    def harvest_observations(self, *, collection: list[str] | str | None = None,
                             instrument: list[str] | str | None = None, proposal: list[str] | str | None = None,
                             target: list[str] | str | None = None, type: list[str] | str | None = None,
                             calib_level: list[int] | int | None = None,
                             cone: tuple[float, float, float] | None = None, download: list[str] | str | None = None,
                             mrp: bool = False, workers: int = 8, dry_run: bool = False, offline: bool = False,
                             max_age: str | None = None, keep_fits: bool = False, retry_quarantined: bool = False,
                             mast_url: str | None = None, client=None, progress=None) -> HarvestReport:
        """Observations of any MAST collection (HST, JWST, ...) and their products, in one search.

        Every observation goes into `observations` and every product into `products` (state known);
        products with a suffix in `download` (or MAST's minimum recommended products with `mrp`) are fetched
        and ingested: spectra, spectral time series and white-light curves become rows, images are kept.

        >>> lake.harvest_observations(collection="JWST", instrument="NIRISS/SOSS", type="timeseries",
        ...                           target="WASP-39", download="x1dints,whtlt")
        """
        from .harvest.observations import (
            ObservationQuery,
            Selection,
            parse_collections,
            parse_suffixes,
            run_observation_harvest,
        )

        try:
            levels = [int(v) for v in _items(calib_level)]
        except ValueError:
            raise UsageError(f"--calib-level {calib_level!r} is not a number", hint="use 1, 2, 3 or 4") from None
        query = ObservationQuery(collections=parse_collections(_items(collection)),
                                 instruments=_items(instrument), proposals=_items(proposal),
                                 targets=_items(target), types=[str(t).lower() for t in _items(type)],
                                 calib_levels=levels, cone=tuple(cone) if cone else None)
        return run_observation_harvest(self, query, Selection(parse_suffixes(download), mrp),
                                       command="harvest observations", workers=workers, dry_run=dry_run,
                                       offline=offline, max_age=max_age, keep_fits=keep_fits,
                                       retry_quarantined=retry_quarantined, mast_url=mast_url, client=client,
                                       progress=progress)

    def harvest_products(self, obsids: list[str] | str | None = None, *, from_sql: str | None = None,
                         suffix: list[str] | str | None = None, mrp: bool = False, workers: int = 8,
                         dry_run: bool = False, offline: bool = False, keep_fits: bool = False,
                         retry_quarantined: bool = False, mast_url: str | None = None, client=None,
                         progress=None) -> HarvestReport:
        """Products of observations named by obsid (or by SQL returning a column `obsid`), by suffix or `mrp`."""
        from .harvest.observations import ObservationQuery, Selection, parse_suffixes, run_observation_harvest

        ids = [str(o) for o in _items(obsids)]
        if from_sql:
            ids += self._obsids_from_sql(from_sql)
        if not ids:
            raise UsageError("no observations named", hint="give obsids or --from-sql returning a column obsid")
        selection = Selection(parse_suffixes(suffix), mrp)
        if not selection.fetches:
            raise UsageError("say which products to fetch", hint="give --suffix x1d,x1dints,... or --mrp")
        return run_observation_harvest(self, ObservationQuery(obsids=list(dict.fromkeys(ids))), selection,
                                       command="harvest products", workers=workers, dry_run=dry_run,
                                       offline=offline, max_age=None, keep_fits=keep_fits,
                                       retry_quarantined=retry_quarantined, mast_url=mast_url, client=client,
                                       progress=progress)

    def _obsids_from_sql(self, query: str) -> list[str]:
        result = self.sql(query)
        names = {c.lower(): c for c in result.columns}
        if "obsid" not in names:
            raise UsageError("--from-sql must return a column named obsid",
                             hint=f"it returned {', '.join(result.columns) or 'no columns'}")
        values = [str(v) for v in result.arrow().column(names["obsid"]).to_pylist() if v is not None]
        if not values:
            raise UsageError("--from-sql returned no obsid values",
                             hint="check the query with 'larun-lake sql' (harvest observations first)")
        return values

    def _harvest_products(self, product_type: str, targets: list[str] | str | None, *, from_sql: str | None,
                          mission, author, exptime, sectors, quarters, campaigns, workers: int, dry_run: bool,
                          offline: bool, max_age: str | None, keep_fits: bool, retry_quarantined: bool,
                          mast_url: str | None, client, progress, aperture=None) -> HarvestReport:
        from .harvest import targets as t
        from .harvest.lightcurves import HarvestFilter, LightCurveHarvest, parse_max_age

        command = "harvest lightcurves" if product_type == "lightcurve" else "harvest pixels"
        missions = [t.parse_mission(m) for m in _listify(mission)] or list(kinds.missions())
        authors = [t.parse_author(a, missions) for a in _listify(author)] or None
        if authors:
            missions = [m for m in missions if any(a in kinds.authors_of(m) for a in authors)]
        periods = t.parse_periods(missions, sectors=sectors, quarters=quarters, campaigns=campaigns)
        exptime = t.parse_exptime(exptime)
        texts = _listify(targets)
        if from_sql:
            texts += self._ids_from_sql(from_sql, missions)
        parsed = t.parse_targets(texts, missions)
        if workers < 1 or workers > 64:
            raise UsageError(f"--workers {workers} is out of range", hint="use 1 to 64")
        settings = replace(self.settings, mast_url=mast_url) if mast_url else self.settings
        client = client or (None if offline else self.mast_client(settings.mast_url))
        params = {"targets": texts, "missions": missions, "authors": authors, "exptime": exptime,
                  "periods": {m: sorted(p) for m, p in periods.items()} or None, "workers": workers,
                  "offline": offline, "max_age": max_age, "keep_fits": keep_fits}
        if aperture is not None:
            params["aperture"] = aperture.describe()
        fetching = not (dry_run or offline)  # a cluster only for a run that downloads
        with self.catalog.writing(command), (self._runner() if fetching else nullcontext()) as runner:
            harvest = LightCurveHarvest(self.catalog, settings, client, workers=workers, keep_fits=keep_fits,
                                        progress=progress, runner=runner, aperture=aperture or "default",
                                        command=command)
            report = harvest.run(parsed, HarvestFilter(missions, authors, exptime, periods, product_type),
                                 dry_run=dry_run, offline=offline, max_age=parse_max_age(max_age),
                                 retry_quarantined=retry_quarantined, parameters=params)
            if not dry_run and self.catalog.exists():
                self.catalog.publish_snapshot()
        return report

    def _ids_from_sql(self, query: str, missions: list[str]) -> list[str]:
        result = self.sql(query)
        names = {c.lower(): c for c in result.columns}
        column = next((names[c] for c in ("tic_id", "id", "target_id") if c in names), None)
        if column is None:
            raise UsageError("--from-sql must return a column named id, tic_id or target_id",
                             hint=f"it returned {', '.join(result.columns) or 'no columns'}")
        values = result.arrow().column(column).to_pylist()
        if not any(v is not None for v in values):
            raise UsageError(
                f"--from-sql returned no {column} values ({len(values)} rows)",
                hint="check the query with 'larun-lake sql' (harvest tic first if it selects from tic)",
            )
        if any(not isinstance(v, int) for v in values if v is not None):
            raise UsageError(f"--from-sql column {column} does not hold integer ids")
        prefix = "TIC" if column.lower() in ("tic_id", "id") or missions == ["TESS"] else None
        if prefix is None and len(missions) != 1:
            raise UsageError("--from-sql target_id values need one --mission to say what they are")
        prefix = prefix or kinds.id_prefix(missions[0])
        return [f"{prefix} {v}" for v in values if v is not None]

    def sql(self, query: str, params: list | dict | None = None) -> QueryResult:
        """Run read-only SQL; the result has .df(), .arrow(), .pl() and works after the catalog is closed."""
        return run_sql(self.catalog, query, params)

    # -- materializing sets -----------------------------------------------------------------------
    def materialize(self, sql: str, *, flux: str = "auto", quality: str | int = "default", remove_nans: bool = True,
                    normalize: bool | None = None, bin: str | float | None = None, stitch: bool = False,
                    stitch_prefer: str | list[str] | None = None, fetcher: Fetcher | None = None,
                    threads: int | None = None, memory_limit: str | None = None) -> LightCurveSet:
        """Light curves one SELECT names (lc_id, tic_id, or mission + target_id); cadences read on demand."""
        return materialize_set(self, sql, flux=flux, quality=quality, remove_nans=remove_nans, normalize=normalize,
                               bin=bin, stitch=stitch, stitch_prefer=stitch_prefer, fetcher=fetcher,
                               threads=threads, memory_limit=memory_limit)

    def lightcurve(self, target: str | int, *, sector: int | None = None, quarter: int | None = None,
                   campaign: int | None = None, author: str | None = None, exptime: float | None = None,
                   flux: str = "auto", quality: str | int = "default"):  # -> lightkurve.LightCurve
        """One light curve of a target as lightkurve gives it: every column of the lake and the header meta.

        `target`: 'TIC 25155310' (an int is a TIC id), 'KIC ...', 'EPIC ...', a JWST/HST target_name, or an
        lc_id. When several light curves match, a UsageError names the options that pick one.

        >>> lc = lake.lightcurve("TIC 25155310", sector=1)
        >>> lc.flatten().fold(period=4.18).plot()
        """
        from .materialize.by_target import Narrowing, target_lightcurves

        options = MaterializeOptions.create(flux=flux, quality=quality, remove_nans=False)
        narrowing = Narrowing(sector, quarter, campaign, author, exptime)
        return target_lightcurves(self, target, narrowing, options, one=True)[0]

    def lightcurves(self, target: str | int, *, sector: int | None = None, quarter: int | None = None,
                    campaign: int | None = None, author: str | None = None, exptime: float | None = None,
                    flux: str = "auto", quality: str | int = "default"):  # -> lightkurve.LightCurveCollection
        """Every light curve of a target the options match, as a lightkurve LightCurveCollection (see
        `lightcurve`), oldest period first."""
        import lightkurve as lk

        from .materialize.by_target import Narrowing, target_lightcurves

        options = MaterializeOptions.create(flux=flux, quality=quality, remove_nans=False)
        narrowing = Narrowing(sector, quarter, campaign, author, exptime)
        return lk.LightCurveCollection(target_lightcurves(self, target, narrowing, options, one=False))

    def pixels(self, target: str | int, *, sector: int | None = None, quarter: int | None = None,
               campaign: int | None = None, author: str | None = None, cutout_size: int | str | None = None,
               quality_bitmask: str | int = "default"):
        """A kept target pixel file or cutout as a lightkurve `TargetPixelFile` (a collection when several match).

        >>> tpf = lake.pixels("TIC 25155310", sector=1)
        """
        from .materialize.pixels import open_pixels

        return open_pixels(self, target, sector=sector, quarter=quarter, campaign=campaign, author=author,
                           cutout_size=cutout_size, quality_bitmask=quality_bitmask)

    def spectra(self, obs_id: str | None = None, *, spec_id: str | None = None, target_name: str | None = None,
                mission: str | None = None, instrument: str | None = None, spectral_order: int | None = None,
                format: str = "pandas"):
        """Extracted spectra (x1d of JWST and HST), one row per wavelength bin, with their file's facts.

        >>> lake.spectra(target_name="WASP-39", spectral_order=1)           # a pandas DataFrame
        """
        from .materialize.spectra import spectrum_frame

        return spectrum_frame(self, "spectra", obs_id=obs_id, spec_id=spec_id, target_name=target_name,
                              mission=mission, instrument=instrument, spectral_order=spectral_order, format=format)

    def spectral_timeseries(self, obs_id: str | None = None, *, spec_id: str | None = None,
                            target_name: str | None = None, mission: str | None = None,
                            instrument: str | None = None, spectral_order: int | None = None,
                            format: str = "pandas"):
        """JWST spectral time series (x1dints): one row per integration, order and wavelength bin."""
        from .materialize.spectra import spectrum_frame

        return spectrum_frame(self, "spectral_timeseries", obs_id=obs_id, spec_id=spec_id, target_name=target_name,
                              mission=mission, instrument=instrument, spectral_order=spectral_order, format=format)

    # -- quick looks (matplotlib figures; see larun_lake/plots) -----------------------------------
    def plot(self, target: str | int, *, sector: int | None = None, quarter: int | None = None,
             campaign: int | None = None, author: str | None = None, quality: str | int = "default",
             normalize: bool = False, bin: str | float | None = None):  # -> matplotlib.figure.Figure
        """One target's light curves, a panel per light curve: kept cadences, the ones `quality` drops marked,
        an optional `bin` overlay ('30min'); `target` as harvest takes it ('TIC 25155310') or a JWST name.

        >>> lake.plot("KIC 10002792", quality="hard", normalize=True).savefig("kic.svg")
        """
        from .plots import plot_lightcurves

        return plot_lightcurves(self, target, sector=sector, quarter=quarter, campaign=campaign, author=author,
                                quality=quality, normalize=normalize, bin=bin)

    def plot_coverage(self):  # -> matplotlib.figure.Figure
        """The lake's targets on the sky coloured by their number of periods, and light curves per period."""
        from .plots import plot_coverage

        return plot_coverage(self)

    def plot_set(self, name: str, *, max_lightcurves: int = 12):  # -> matplotlib.figure.Figure
        """A grid of the first `max_lightcurves` light curves of a named materialized set, as the lake gives it now."""
        from .plots import plot_set

        return plot_set(self, name, max_lightcurves=max_lightcurves)

    def schema(self, table: str | None = None) -> QueryResult:
        """Every table, view and macro of the SQL surface (or one), each column with its type, unit and meaning.

        >>> lake.schema("lightcurves").df()[["column_name", "data_type", "unit", "description"]]
        """
        from .describe import describe_schema

        return QueryResult(describe_schema(self.catalog, table))

    def forget(self, *, set: str | None = None, target: str | None = None, run: str | None = None,
               superseded: bool = False, older_than: str | None = None, dry_run: bool = False):  # -> ForgetReport
        """Take one thing out of the lake, catalog rows and data together: a named set (its output too, when
        its manifest says the set wrote it), a target's light curves ('TIC 25155310'), the light curves a run
        ingested, or superseded versions (`older_than` '30d': only those replaced that long ago).

        >>> lake.forget(target="TIC 25155310", dry_run=True).summary()
        """
        from .lake.forget import forget

        with nullcontext() if dry_run else self.catalog.writing("forget"):  # a dry run only reads
            report = forget(self.catalog, set_name=set, target=target, run_id=run, superseded=superseded,
                            older_than=older_than, dry_run=dry_run)
            if not dry_run:
                self.catalog.publish_snapshot()
        return report

    def sets(self) -> QueryResult:
        """Named materialized sets, newest first."""
        return QueryResult(list_sets(self.catalog))

    def set_status(self, name: str) -> SetStatus:
        """Re-run a set's selection: newer versions, light curves added or gone."""
        return set_status(self.catalog, name)

    def status(self) -> StatusReport:
        return lake_status(self.catalog)

    def verify(self, *, checksums: bool = True, forget_missing: bool = False) -> VerifyReport:
        with self.catalog.writing("verify"):
            report = verify_lake(self.catalog, check_checksums=checksums, forget_missing=forget_missing)
            if report.consistent:  # a damaged catalog must not replace the snapshot it may be rebuilt from
                self.catalog.publish_snapshot()
        return report

    def rebuild_catalog(self) -> RebuildReport:
        """A new catalog from the lake's latest snapshot, checked against the data files (see rebuild.py)."""
        with self.catalog.writing("rebuild-catalog"):
            return rebuild_catalog(self.catalog)

"""Observation and product rows built from the headers of light curves and target pixel files.

The layout mirrors what MAST serves for these missions:

* TESS SPOC and every HLSP: one observation per light curve; a SPOC target pixel
  file (``..._tp.fits``, subgroup ``TP``) joins the observation of the light curve
  of its target, sector and cadence, and is named after it.
* Kepler: one observation per target and cadence (``kplr..._lc_Q<18 flags>``),
  one product per quarter, quarter only in the product ``description``.
* K2: one observation per target, campaign and cadence.
* Kepler/K2 target pixel files (``..._lpd-targ.fits.gz``, subgroup ``TPF``) join
  the light curves' observation.  lightkurve and astroquery pick target pixel files
  by file name (``tp.fits``, ``targ.fits.gz``), never by the subgroup.

A light curve without a served target pixel file still lists one (and other
siblings) with no content, so that clients must filter.  Files are served with the
bytes they have: a gzipped TESS TPF stays gzipped under its ``.fits`` name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fitsinfo import FileInfo, mission_filename, read_file_info
from .schema import OBS_FIELDS, PRODUCT_FIELDS

_ALIASES = {
    "tic_id": "target_id",
    "kic_id": "target_id",
    "epic_id": "target_id",
    "sector": "season",
    "quarter": "season",
    "campaign": "season",
}
_OBS_COLUMNS = {name for name, _ in OBS_FIELDS}
_PRODUCT_COLUMNS = {name for name, _ in PRODUCT_FIELDS}


@dataclass
class Entry:
    info: FileInfo
    path: Path  # current content; replace_file() swaps it
    obs_overrides: dict[str, Any] = field(default_factory=dict)
    product_overrides: dict[str, Any] = field(default_factory=dict)


def data_uri(info: FileInfo, filename: str) -> str:
    tid = info.target_id
    if info.hlsp and info.mission == "TESS":
        tic = f"{tid:016d}"
        return (
            f"mast:HLSP/{info.hlsp}/s{info.season or 0:04d}/target/"
            f"{tic[0:4]}/{tic[4:8]}/{tic[8:12]}/{tic[12:16]}/{filename}"
        )
    if info.hlsp:
        group, rest = tid // 100000 * 100000, tid % 100000
        return f"mast:HLSP/{info.hlsp}/c{info.season or 0:02d}/{group:09d}/{rest:05d}/{filename}"
    if info.mission == "TESS":
        return f"mast:TESS/product/{filename}"
    folder = "target_pixel_files" if filename.endswith("targ.fits.gz") else "lightcurves"
    if info.mission == "Kepler":
        kid = f"{tid:09d}"
        return f"mast:KEPLER/url/missions/kepler/{folder}/{kid[:4]}/{kid}/{filename}"
    return (
        f"mast:K2/url/missions/k2/{folder}/c{info.season or 0}/"
        f"{tid // 100000 * 100000}/{tid % 100000 // 1000 * 1000:05d}/{filename}"
    )


def _served_uri(entry: Entry) -> str:
    return entry.product_overrides.get("dataURI") or data_uri(entry.info, entry.info.filename)


def _target_name(info: FileInfo) -> str:
    if info.mission == "TESS":
        return str(info.target_id)  # TESS target names are not zero-padded
    return f"{'kplr' if info.mission == 'Kepler' else 'ktwo'}{info.target_id:09d}"


def _group_key(info: FileInfo) -> tuple[Any, ...]:
    if info.hlsp or info.mission == "TESS":
        # a TESS target pixel file shares the observation of the light curve it is named after
        return ("file", info.mission, info.hlsp, re.sub(r"tp\.fits$", "lc.fits", info.filename))
    cadence = "sc" if info.exptime < 200 else "lc"
    if info.mission == "Kepler":
        return ("Kepler", info.target_id, cadence)
    return ("K2", info.target_id, info.season, cadence)


def _obs_id(infos: list[FileInfo]) -> str:
    info = infos[0]
    stem = info.filename.split(".")[0]
    if info.hlsp == "tess-spoc" and stem.endswith("_lc"):
        return stem[:-3] + "_tp"  # MAST groups TESS-SPOC HLSP light curves under the _tp observation
    if info.hlsp:
        return stem
    if info.mission == "TESS":
        return re.sub(r"[-_](lc|tp)$", "", stem)
    cadence = "sc" if info.exptime < 200 else "lc"
    if info.mission == "Kepler":
        quarters = {i.season for i in infos}
        flags = "".join("1" if q in quarters else "0" for q in range(18))
        return f"kplr{info.target_id:09d}_{cadence}_Q{flags}"
    return f"ktwo{info.target_id:09d}-c{info.season or 0:02d}_{cadence}"


def _description(info: FileInfo) -> tuple[str, str]:
    """(description, productSubGroupDescription) of the light-curve or target-pixel product."""
    if info.kind == "tp":
        return _pixel_description(info)
    if info.hlsp:
        return f"{info.hlsp.upper()} light curve", "LC"
    if info.mission == "TESS":
        return ("Fast-cadence light curves", "FAST-LC") if info.exptime < 60 else ("Light curves", "LC")
    short = info.exptime < 200
    label = "Short Cadence (CSC)" if short else "Long Cadence (CLC)"
    if info.mission == "Kepler":
        return f"Lightcurve {label} - Q{info.season}", "SLC" if short else "LLC"
    return f"Lightcurve {label.replace('(C', '(K')} - C{info.season or 0:02d}", "SLC" if short else "LLC"


def _pixel_description(info: FileInfo) -> tuple[str, str]:
    if info.mission == "TESS":
        return ("Fast-cadence target pixel files", "FAST-TP") if info.exptime < 60 else ("Target pixel files", "TP")
    label = "Short Cadence (TPS)" if info.exptime < 200 else "Long Cadence (TPL)"
    season = f"Q{info.season}" if info.mission == "Kepler" else f"C{info.season or 0:02d}"
    return f"Target Pixel {label} - {season}", "TPF"


class Catalog:
    """Thread-safe set of served files, exposed as MAST observation and product rows."""

    def __init__(self, non_lc_products: bool = True) -> None:
        self.non_lc_products = non_lc_products
        self.skipped: list[tuple[Path, str]] = []
        self._lock = threading.RLock()
        self._entries: list[Entry] = []
        self._obsids: dict[tuple[Any, ...], str] = {}
        self._next_obsid = itertools.count(90_000_001)
        self._rows: tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Path | None]] | None = None

    def add_file(self, path: str | Path, **overrides: Any) -> dict[str, Any]:
        """Serve one light curve or target pixel file; returns its product row.

        Overrides named like FileInfo fields (or ``tic_id``/``sector``/``quarter``/
        ``campaign``) change what is read from the headers before names and URIs
        are derived; observation/product column names override row values.
        """
        return self._add(read_file_info(path), path, overrides)

    def _add(self, info: FileInfo, path: str | Path, overrides: dict[str, Any]) -> dict[str, Any]:
        info_updates: dict[str, Any] = {}
        entry = Entry(info=info, path=Path(path))
        for key, value in overrides.items():
            key_info = _ALIASES.get(key, key)
            if key_info in {f.name for f in dataclasses.fields(FileInfo)} - {"path"}:
                info_updates[key_info] = value
            elif key in _OBS_COLUMNS or key in _PRODUCT_COLUMNS:
                if key in _OBS_COLUMNS:
                    entry.obs_overrides[key] = value
                if key in _PRODUCT_COLUMNS:
                    entry.product_overrides[key] = value
            else:
                raise ValueError(f"unknown override {key!r}")
        entry.info = dataclasses.replace(info, **info_updates)
        with self._lock:
            if not entry.info.filename:
                entry.info.filename = mission_filename(entry.info, self._partner_name(entry.info))
            uri = _served_uri(entry)
            if any(_served_uri(e) == uri for e in self._entries):
                raise ValueError(f"{uri} is already served; use replace_file()")
            self._entries.append(entry)
            self._rows = None
        return next(p for p in self.products() if p["dataURI"] == uri)

    def add_files(self, paths: Iterable[str | Path]) -> None:
        """Add every light curve, then every target pixel file (so each can be named after its
        light curve); other files are listed in ``skipped``."""
        found = []
        for path in paths:
            try:
                found.append((read_file_info(path), path))
            except (ValueError, OSError) as exc:
                self.skipped.append((Path(path), str(exc)))
        for info, path in sorted(found, key=lambda item: item[0].kind != "lc"):
            try:
                self._add(info, path, {})
            except (ValueError, OSError) as exc:
                self.skipped.append((Path(path), str(exc)))

    def _partner_name(self, info: FileInfo) -> str | None:
        """Served name of the SPOC light curve a TESS target pixel file goes with."""
        if info.kind != "tp" or info.mission != "TESS" or info.hlsp:
            return None
        for entry in self._entries:
            other = entry.info
            if (other.kind, other.mission, other.hlsp) == ("lc", "TESS", None) and (
                other.target_id,
                other.season,
                other.exptime,
            ) == (info.target_id, info.season, info.exptime):
                return other.filename
        return None

    def replace_file(self, uri: str, new_path: str | Path) -> None:
        """Serve new content under an existing dataURI (MAST reprocessing in place)."""
        with self._lock:
            for entry in self._entries:
                if _served_uri(entry) == uri:
                    entry.path = Path(new_path)
                    with contextlib.suppress(ValueError, OSError):
                        entry.info.procver = read_file_info(new_path).procver or entry.info.procver
                    self._rows = None
                    return
        raise KeyError(uri)

    def observations(self) -> list[dict[str, Any]]:
        return self._build()[0]

    def products(self) -> list[dict[str, Any]]:
        return self._build()[1]

    def file_for_uri(self, uri: str) -> tuple[bool, Path | None]:
        """(listed, path): listed non-LC siblings have no content (path None)."""
        files = self._build()[2]
        return uri in files, files.get(uri)

    def position(self, mission: str, target_id: int) -> tuple[float, float] | None:
        with self._lock:
            for entry in self._entries:
                info = entry.info
                if info.mission == mission and info.target_id == target_id and info.ra is not None:
                    return info.ra, info.dec  # type: ignore[return-value]
        return None

    def _build(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Path | None]]:
        with self._lock:
            if self._rows is not None:
                return self._rows
            groups: dict[tuple[Any, ...], list[Entry]] = {}
            for entry in self._entries:
                groups.setdefault(_group_key(entry.info), []).append(entry)
            observations, products, files = [], [], {}
            for key, entries in groups.items():
                if key not in self._obsids:
                    self._obsids[key] = str(next(self._next_obsid))
                obs = self._observation(entries, self._obsids[key])
                observations.append(obs)
                with_pixels = any(e.info.kind == "tp" for e in entries)
                for entry in entries:
                    for product, path in self._products(entry, obs, with_pixels):
                        products.append(product)
                        files[product["dataURI"]] = path
            self._rows = (observations, products, files)
            return self._rows

    @staticmethod
    def _observation(entries: list[Entry], obsid: str) -> dict[str, Any]:
        infos = [e.info for e in entries]
        info = infos[0]
        tess = info.mission == "TESS"
        t_min = [i.t_min for i in infos if i.t_min is not None]
        t_max = [i.t_max for i in infos if i.t_max is not None]
        row: dict[str, Any] = {
            "intentType": "science",
            "obs_collection": "HLSP" if info.hlsp else info.mission,
            "provenance_name": info.provenance,
            "instrument_name": "Photometer" if tess else "Kepler",
            "project": info.mission,
            "filters": "TESS" if tess else "KEPLER",
            "wavelength_region": "Optical",
            "target_name": _target_name(info),
            "target_classification": "",
            "obs_id": _obs_id(infos),
            "s_ra": info.ra,
            "s_dec": info.dec,
            "dataproduct_type": "timeseries",
            "proposal_pi": "",
            "calib_level": 4 if info.hlsp else 3,
            "t_min": min(t_min, default=None),
            "t_max": max(t_max, default=None),
            "t_exptime": info.exptime,
            "em_min": 600.0 if tess else 420.0,
            "em_max": 1000.0 if tess else 900.0,
            "obs_title": "",
            "t_obs_release": max(t_max) + 30.0 if t_max else None,
            "proposal_id": "",
            "proposal_type": "",
            "sequence_number": None if info.mission == "Kepler" and not info.hlsp else info.season,
            "s_region": f"CIRCLE ICRS {info.ra} {info.dec} 0.00277778" if info.ra is not None else "",
            "jpegURL": None,
            "dataURL": None,
            "dataRights": "PUBLIC",
            "mtFlag": False,
            "srcDen": None,
            "obsid": obsid,
            "objID": str(int(obsid) + 500_000_000),
        }
        for entry in entries:
            row.update(entry.obs_overrides)
        return row

    def _products(
        self, entry: Entry, obs: dict[str, Any], with_pixels: bool
    ) -> list[tuple[dict[str, Any], Path | None]]:
        info = entry.info
        description, subgroup = _description(info)
        size = entry.path.stat().st_size if entry.path.exists() else 0
        base = {
            "obsID": obs["obsid"],
            "obs_collection": obs["obs_collection"],
            "dataproduct_type": "timeseries",
            "obs_id": obs["obs_id"],
            "type": "S",
            "productType": "SCIENCE",
            "productGroupDescription": "Minimum Recommended Products",
            "productDocumentationURL": "",
            "project": obs["project"],
            "prvversion": info.procver,
            "proposal_id": "",
            "parent_obsid": obs["obsid"],
            "dataRights": "PUBLIC",
            "calib_level": obs["calib_level"],
        }
        lc = {
            **base,
            "description": description,
            "productSubGroupDescription": subgroup,
            "dataURI": _served_uri(entry),
            "productFilename": info.filename,
            "size": size,
            **entry.product_overrides,
        }
        rows: list[tuple[dict[str, Any], Path | None]] = [(lc, entry.path)]
        if self.non_lc_products and not info.hlsp and info.kind == "lc":
            for name, sub, desc, factor in self._siblings(info, description):
                if with_pixels and sub in {"TP", "TPF"}:
                    continue  # the real target pixel file is served in this observation
                sibling = {**base, "description": desc, "productSubGroupDescription": sub}
                sibling.update(productGroupDescription="", dataURI=data_uri(info, name), productFilename=name)
                sibling["size"] = int(size * factor) + 2880  # plausible, never served
                rows.append((sibling, None))
        return rows

    @staticmethod
    def _siblings(info: FileInfo, description: str) -> list[tuple[str, str, str, float]]:
        """Listed-only products next to a light curve, so clients must filter."""
        stem = info.filename.split(".")[0]
        if info.mission == "TESS":
            obs_stem = re.sub(r"[-_]lc$", "", stem)
            return [
                (f"{obs_stem}_tp.fits", "TP", "Target pixel files", 20.0),
                (f"{obs_stem}_dvt.fits", "DVT", "Data validation time series", 1.0),
            ]
        season = description.rsplit(" - ", 1)[-1]
        base = re.sub(r"_[ls]lc$", "", stem)
        return [(f"{base}_lpd-targ.fits.gz", "TPF", f"Target Pixel Long Cadence (TPL) - {season}", 8.0)]

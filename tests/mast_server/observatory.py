"""HST and JWST observations and products on the fake MAST, with their files made on demand.

The rows follow what MAST's CAOM portal lists for these collections (PROTOCOL.md section 9):

* JWST time-series observations are listed twice over: a stage-3 observation per target and
  mode (``jw02734-o002_t001_niriss_clear-gr700xd-substrip256``, calib_level 3) and a stage-2
  observation per exposure segment (``jw02734002001_04101_00001-seg001_nis``, calib_level 2).
  A stage-3 product (``..._x1dints.fits``, ``..._whtlt.ecsv``) is listed under each of them, with
  the same dataURI, which is why astroquery's ``get_unique_product_list`` dedupes on dataURI.
* HST association observations (``lbgu01010``) list the association's products and those of its
  member exposures; an exposure's product carries the exposure's obs_id (``lbgu01dfq``), as MAST
  groups downloads by it.
* Minimum Recommended Products say so in ``productGroupDescription``; ``productSubGroupDescription``
  is the upper-case file suffix; raw and per-integration products (``uncal``, ``calints``) are
  listed with sizes in the gigabytes and only made (small) when a download asks for one.

Files are written by ``tests/obsgen.py`` into a cache folder the first time a product list or a
download needs them, so the listed ``size`` is the size served.  Generation is deterministic: the
same product is the same bytes in every run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCIENCE, CALIBRATION, AUXILIARY, PREVIEW, THUMBNAIL = "SCIENCE", "CALIBRATION", "AUXILIARY", "PREVIEW", "THUMBNAIL"
MRP = "Minimum Recommended Products"
_UNCAL = 2_791_728_640  # raw ramps of one exposure segment, listed but never made full size
_CALINTS = 1_503_238_656


@dataclass(frozen=True)
class ProductSpec:
    file_name: str
    product_type: str  # productType
    description: str
    calib_level: int
    mrp: bool = False
    obs_id: str | None = None  # the dataset the file belongs to, when not the listing observation
    listed_size: int | None = None  # large raw products: listed with this size, served small
    facts: dict[str, Any] = field(default_factory=dict)  # extra generator facts (layout, orders, ...)

    @property
    def suffix(self) -> str:
        stem = self.file_name.split(".", 1)[0]
        return stem.rsplit("_", 1)[-1]


@dataclass(frozen=True)
class ObservationSpec:
    obsid: str
    collection: str  # JWST | HST
    obs_id: str
    instrument: str  # instrument_name as MAST writes it: NIRISS/SOSS, COS/FUV, ...
    filters: str  # ';'-separated elements
    target: str
    ra: float
    dec: float
    dataproduct_type: str
    calib_level: int
    proposal_id: str
    proposal_pi: str
    t_min: float  # MJD
    t_max: float
    t_exptime: float  # seconds
    em_min: float  # nm
    em_max: float
    title: str
    half_size: float  # degrees: half the side of the footprint box
    products: tuple[ProductSpec, ...]
    provenance: str = "CALJWST"
    gen: dict[str, Any] = field(default_factory=dict)  # header facts of its files (detector, exp_type, ...)
    wavelength_region: str = "INFRARED"
    target_classification: str = ""
    proposal_type: str = "GO"


def _box(ra: float, dec: float, half: float) -> str:
    """A square footprint as MAST writes s_region (corners counter-clockwise from south-east)."""
    import math

    dra = half / max(1e-6, math.cos(math.radians(dec)))
    corners = [(ra + dra, dec - half), (ra + dra, dec + half), (ra - dra, dec + half), (ra - dra, dec - half)]
    return "POLYGON ICRS " + " ".join(f"{r:.7f} {d:.7f}" for r, d in corners)


# -- the served observations ------------------------------------------------------------------------
WASP39 = (217.3266477, -3.4444994)
TRAPEZIUM = (83.8186621, -5.3896789)  # theta1 Ori C
HD209458 = (330.7950219, 18.8843175)

_SOSS3 = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"
_SOSS_SEGMENTS = ("jw02734002001_04101_00001-seg001_nis", "jw02734002001_04101_00001-seg002_nis")
_BOTS3 = "jw01366-o003_t001_nirspec_g395h-f290lp-s1600a1-sub2048"
_NRC_TSO3 = "jw01366-o004_t001_nircam_f210m-wlp8-sub64p"
_NRC_IMG3 = "jw01288-o001_t011_nircam_clear-f444w"
_NRC_IMG2 = "jw01288001001_02101_00001_nrcalong"
_MIRI_IMG3 = "jw01288-o002_t011_miri_f770w"


def _stage3_tso(obs_id: str, lc_suffix: str, orders: tuple[int, ...]) -> tuple[ProductSpec, ...]:
    lc_desc = "White-light photometry per integration" if lc_suffix == "whtlt" else "TSO aperture photometry"
    products = [
        ProductSpec(
            f"{obs_id}_{lc_suffix}.ecsv", SCIENCE, lc_desc, 3, mrp=True, obs_id=obs_id, facts={"orders": orders}
        ),
        ProductSpec(f"{obs_id}_asn.json", AUXILIARY, "Association for the stage-3 pipeline", 3, obs_id=obs_id),
    ]
    if lc_suffix == "whtlt":
        products.insert(
            0,
            ProductSpec(
                f"{obs_id}_x1dints.fits",
                SCIENCE,
                "Extracted 1-D spectra per integration",
                3,
                mrp=True,
                obs_id=obs_id,
                facts={"orders": orders, "layout": "per_order"},
            ),
        )
    return tuple(products)


def _stage2_exposure(stem: str, *, tso: bool) -> tuple[ProductSpec, ...]:
    """Products of one JWST exposure: raw (listed only), calibrated, and the extracted spectra of a TSO."""
    cal = "calints" if tso else "cal"
    out = [
        ProductSpec(f"{stem}_uncal.fits", SCIENCE, "Uncalibrated raw ramps", 1, obs_id=stem, listed_size=_UNCAL),
        ProductSpec(
            f"{stem}_{cal}.fits",
            SCIENCE,
            "Calibrated exposure" + (" per integration" if tso else ""),
            2,
            obs_id=stem,
            listed_size=_CALINTS if tso else None,
        ),
    ]
    if tso:
        out.append(
            ProductSpec(
                f"{stem}_x1dints.fits",
                SCIENCE,
                "Extracted 1-D spectra per integration (exposure segment)",
                2,
                obs_id=stem,
                facts={"orders": (1, 2), "layout": "per_integration"},
            )
        )
    return tuple(out)


def _previews(stem: str, suffix: str) -> tuple[ProductSpec, ...]:
    return (
        ProductSpec(f"{stem}_{suffix}.jpg", PREVIEW, "Preview image", 3),
        ProductSpec(f"{stem}_{suffix}_thumb.jpg", THUMBNAIL, "Preview thumbnail", 3),
    )


def _hst_spectrum(asn: str, exposures: tuple[str, ...], suffix: str, level3: str) -> tuple[ProductSpec, ...]:
    out = [
        ProductSpec(f"{asn}_{level3}.fits", SCIENCE, "Combined extracted 1-D spectrum", 3, mrp=True),
        ProductSpec(f"{asn}_asn.fits", AUXILIARY, "Association table", 1, facts={"members": exposures}),
    ]
    for exp in exposures:
        out.append(ProductSpec(f"{exp}_{suffix}.fits", SCIENCE, "Extracted 1-D spectrum (exposure)", 2, obs_id=exp))
        out.append(ProductSpec(f"{exp}_flt.fits", CALIBRATION, "Flat-fielded exposure", 2, obs_id=exp))
    return (*out, *_previews(asn, level3))


def _hst_image(asn: str, exposures: tuple[str, ...], flt: str, drz: str) -> tuple[ProductSpec, ...]:
    out = [
        ProductSpec(f"{asn}_{drz}.fits", SCIENCE, "Drizzled, combined image", 3, mrp=True),
        ProductSpec(f"{asn}_asn.fits", AUXILIARY, "Association table", 1, facts={"members": exposures}),
    ]
    out += [ProductSpec(f"{e}_{flt}.fits", SCIENCE, "Calibrated exposure", 2, obs_id=e) for e in exposures]
    return (*out, *_previews(asn, drz))


def _jwst(obsid, obs_id, instrument, filters, target, pos, dptype, level, proposal, pi, t_min, hours, exptime, em,
          title, half, products, classification="", gen=None) -> ObservationSpec:  # fmt: skip
    return ObservationSpec(
        obsid=obsid, collection="JWST", obs_id=obs_id, instrument=instrument, filters=filters, target=target,
        ra=pos[0], dec=pos[1], dataproduct_type=dptype, calib_level=level, proposal_id=proposal, proposal_pi=pi,
        t_min=t_min, t_max=t_min + hours / 24.0, t_exptime=exptime, em_min=em[0], em_max=em[1], title=title,
        half_size=half, products=products, target_classification=classification, gen=gen or {},
    )  # fmt: skip


def _hst(obsid, obs_id, instrument, filters, target, pos, dptype, proposal, pi, t_min, exptime, em, title,
         provenance, products, region="UV", gen=None) -> ObservationSpec:  # fmt: skip
    return ObservationSpec(
        obsid=obsid, collection="HST", obs_id=obs_id, instrument=instrument, filters=filters, target=target,
        ra=pos[0], dec=pos[1], dataproduct_type=dptype, calib_level=3, proposal_id=proposal, proposal_pi=pi,
        t_min=t_min, t_max=t_min + exptime / 86400.0 + 0.02, t_exptime=exptime, em_min=em[0], em_max=em[1],
        title=title, half_size=0.0125 if dptype == "image" else 0.0007, products=products, provenance=provenance,
        wavelength_region=region, gen=gen or {},
    )  # fmt: skip


# Header facts of each observing mode, in the generator's terms (tests/obsgen.py).
_SOSS = {
    "instrument": "NIRISS",
    "detector": "NIS",
    "filter": "CLEAR",
    "pupil": "GR700XD",
    "exp_type": "NIS_SOSS",
    "subarray": "SUBSTRIP256",
}
_BOTS = {
    "instrument": "NIRSPEC",
    "detector": "NRS1",
    "filter": "F290LP",
    "grating": "G395H",
    "exp_type": "NRS_BRIGHTOBJ",
    "subarray": "SUB2048",
}
_NRC_TSO = {
    "instrument": "NIRCAM",
    "detector": "NRCA3",
    "filter": "F210M",
    "pupil": "WLP8",
    "exp_type": "NRC_TSIMAGE",
    "subarray": "SUB64P",
}
_NRC_IMG = {
    "instrument": "NIRCAM",
    "detector": "NRCALONG",
    "filter": "F444W",
    "pupil": "CLEAR",
    "exp_type": "NRC_IMAGE",
    "subarray": "FULL",
    "tso": False,
}
_MIRI_IMG = {
    "instrument": "MIRI",
    "detector": "MIRIMAGE",
    "filter": "F770W",
    "exp_type": "MIR_IMAGE",
    "subarray": "FULL",
    "tso": False,
}
_COS = {"instrument": "COS", "detector": "FUV", "opt_elem": "G130M", "cenwave": 1291}
_STIS_ECHELLE = {"instrument": "STIS", "detector": "FUV-MAMA", "opt_elem": "E140M", "cenwave": 1425}
_STIS_CCD = {"instrument": "STIS", "detector": "CCD", "opt_elem": "G430L", "cenwave": 4300, "first_order": 1}
_WFC3 = {"instrument": "WFC3", "detector": "UVIS", "filter": "F656N"}
_ACS = {"instrument": "ACS", "detector": "WFC", "filter1": "F435W", "filter2": "CLEAR2L"}  # fmt: skip

_ERS = "Batalha, Natalie"
_SOSS_TITLE = "Transmission spectroscopy of WASP-39b with NIRISS/SOSS"
_ORION = "PDRs4All: radiative feedback from massive stars"
_EXOPLANET = "Star;Exoplanet"

OBSERVATIONS: tuple[ObservationSpec, ...] = (
    # JWST NIRISS/SOSS time series of WASP-39: stage 3 and its two stage-2 exposure segments
    _jwst("87602009", _SOSS3, "NIRISS/SOSS", "CLEAR;GR700XD", "WASP-39", WASP39, "timeseries", 3, "2734", _ERS,
          59787.0730, 9.2, 19_543.4, (600.0, 2800.0), _SOSS_TITLE, 0.0033,
          (*_stage3_tso(_SOSS3, "whtlt", (1, 2)), *_previews(_SOSS3, "x1dints")), _EXOPLANET, _SOSS),
    *(
        _jwst(obsid, seg, "NIRISS/SOSS", "CLEAR;GR700XD", "WASP-39", WASP39, "timeseries", 2, "2734", _ERS,
              59787.0730 + 4.6 / 24 * i, 4.6, 9_771.7, (600.0, 2800.0), _SOSS_TITLE, 0.0033,
              (*_stage2_exposure(seg, tso=True), *_stage3_tso(_SOSS3, "whtlt", (1, 2))[:2]), _EXOPLANET, _SOSS)
        for i, (obsid, seg) in enumerate(zip(("87602010", "87602011"), _SOSS_SEGMENTS, strict=True))
    ),
    # NIRSpec bright-object time series and NIRCam TSO photometry of WASP-39 (ERS 1366)
    _jwst("87600412", _BOTS3, "NIRSPEC/SLIT", "F290LP;G395H", "WASP-39", WASP39, "timeseries", 3, "1366", _ERS,
          59791.6121, 10.6, 37_624.3, (2870.0, 5270.0), "Transiting exoplanet community ERS: NIRSpec G395H", 0.0009,
          _stage3_tso(_BOTS3, "whtlt", (1,)), _EXOPLANET, _BOTS),
    _jwst("87600518", _NRC_TSO3, "NIRCAM/IMAGE", "F210M;WLP8", "WASP-39", WASP39, "timeseries", 3, "1366", _ERS,
          59798.2535, 8.1, 28_345.9, (2000.0, 2200.0), "Transiting exoplanet community ERS: NIRCam", 0.0022,
          _stage3_tso(_NRC_TSO3, "phot", (1,)), _EXOPLANET, _NRC_TSO),
    # JWST images of the Orion Bar / Trapezium
    _jwst("87633001", _NRC_IMG3, "NIRCAM/IMAGE", "CLEAR;F444W", "ORION-BAR", (83.8360, -5.4170), "image", 3, "1288",
          "Berne, Olivier", 59827.7102, 1.3, 1_030.8, (3880.0, 4990.0), _ORION, 0.036,
          (ProductSpec(f"{_NRC_IMG3}_i2d.fits", SCIENCE, "Resampled, combined image", 3, mrp=True),
           ProductSpec(f"{_NRC_IMG3}_asn.json", AUXILIARY, "Association for the stage-3 pipeline", 3),
           *_stage2_exposure(_NRC_IMG2, tso=False), *_previews(_NRC_IMG3, "i2d")), gen=_NRC_IMG),
    _jwst("87633002", _NRC_IMG2, "NIRCAM/IMAGE", "CLEAR;F444W", "ORION-BAR", (83.8360, -5.4170), "image", 2, "1288",
          "Berne, Olivier", 59827.7102, 0.4, 257.7, (3880.0, 4990.0), _ORION, 0.018,
          _stage2_exposure(_NRC_IMG2, tso=False), gen=_NRC_IMG),
    _jwst("87633017", _MIRI_IMG3, "MIRI/IMAGE", "F770W", "ORION-BAR", (83.8402, -5.4105), "image", 3, "1288",
          "Berne, Olivier", 59829.0418, 0.9, 1_465.2, (6580.0, 8680.0), _ORION, 0.017,
          (ProductSpec(f"{_MIRI_IMG3}_i2d.fits", SCIENCE, "Resampled, combined image", 3, mrp=True),
           *_previews(_MIRI_IMG3, "i2d")), gen=_MIRI_IMG),
    # HST spectra of theta1 Ori C (COS, STIS) and of HD 209458 (STIS, far from Orion)
    _hst("24139584", "lbgu01010", "COS/FUV", "G130M", "THETA1-ORI-C", TRAPEZIUM, "spectrum", "11575", "Green, James",
         55083.5167, 1_200.0, (90.0, 145.0), "COS observations of the Trapezium", "CALCOS",
         _hst_spectrum("lbgu01010", ("lbgu01dfq", "lbgu01dgq"), "x1d", "x1dsum"), gen=_COS),
    _hst("24025735", "o6d701030", "STIS/FUV-MAMA", "E140M", "HD37022", (83.81860, -5.38965), "spectrum", "8660",
         "Walborn, Nolan", 52217.4408, 2_400.0, (114.0, 173.0), "STIS echelle spectra of O stars", "CALSTIS",
         (ProductSpec("o6d701030_x1d.fits", SCIENCE, "Extracted 1-D echelle spectrum", 3, mrp=True),
          ProductSpec("o6d701030_flt.fits", CALIBRATION, "Flat-fielded exposure", 2),
          *_previews("o6d701030", "x1d")), gen=_STIS_ECHELLE),
    _hst("24099012", "o6n301010", "STIS/CCD", "G430L", "HD209458", HD209458, "spectrum", "9447", "Charbonneau, David",
         52393.2871, 1_900.0, (290.0, 570.0), "Transit spectroscopy of HD 209458b", "CALSTIS",
         _hst_spectrum("o6n301010", ("o6n301x2q",), "x1d", "sx1"), region="OPTICAL", gen=_STIS_CCD),
    # HST images of the Orion Nebula (WFC3/UVIS, ACS/WFC)
    _hst("24156270", "ibxk01010", "WFC3/UVIS", "F656N", "ORION-NEBULA", (83.8221, -5.3911), "image", "12410",
         "Robberto, Massimo", 56001.1093, 1_400.0, (654.0, 658.0), "Orion Nebula in H-alpha", "CALWF3",
         _hst_image("ibxk01010", ("ibxk01a1q", "ibxk01a2q"), "flt", "drz"), region="OPTICAL", gen=_WFC3),
    _hst("24012288", "j8oc01010", "ACS/WFC", "F435W;CLEAR2L", "ORION-NEBULA", (83.8050, -5.4020), "image", "10246",
         "Robberto, Massimo", 53643.9032, 840.0, (360.0, 480.0), "HST Treasury Program on the Orion Nebula Cluster",
         "CALACS", _hst_image("j8oc01010", ("j8oc01eoq", "j8oc01erq"), "flc", "drc"), region="OPTICAL", gen=_ACS),
)  # fmt: skip


def _data_uri(collection: str, file_name: str) -> str:
    return f"mast:{collection}/product/{file_name}"


class ObservatoryCatalog:
    """The HST/JWST observation and product rows, and their files made on first use in ``cache_dir``."""

    def __init__(self, cache_dir: str | Path | None = None, observations: tuple[ObservationSpec, ...] = OBSERVATIONS):
        if cache_dir is None:
            holder = tempfile.TemporaryDirectory(prefix="mast-observatory-")
            weakref.finalize(self, holder.cleanup)
            cache_dir = holder.name
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.specs = observations
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._by_uri: dict[str, tuple[ObservationSpec, ProductSpec]] = {}
        by_obs_id = {o.obs_id: o for o in observations}
        for obs in observations:
            for prod in obs.products:
                # a shared product belongs to the observation named by its obs_id, else to its first lister
                owner = by_obs_id.get(prod.obs_id or obs.obs_id, obs)
                self._by_uri.setdefault(_data_uri(obs.collection, prod.file_name), (owner, prod))

    # -- rows -------------------------------------------------------------------------------------
    def observations(self) -> list[dict[str, Any]]:
        return [self._observation(o) for o in self.specs]

    def products(self, obsids: set[str] | None = None) -> list[dict[str, Any]]:
        """Product rows of the observations asked for (all when None); small files are made here."""
        return [self._product(o, p) for o in self.specs if obsids is None or o.obsid in obsids for p in o.products]

    def file_for_uri(self, uri: str) -> tuple[bool, Path | None]:
        """(listed, path) of a product, making its file now if needed (large ones small)."""
        found = self._by_uri.get(uri)
        if found is None:
            return False, None
        return True, self._ensure(*found)

    def uri_for(self, file_name: str) -> str:
        """dataURI of a listed product, by file name (no file is made)."""
        name = Path(file_name).name
        for uri, (_, prod) in self._by_uri.items():
            if prod.file_name == name:
                return uri
        raise KeyError(file_name)

    def spec_of(self, file_name: str) -> tuple[ObservationSpec, ProductSpec]:
        """The owning observation and the product spec of a listed file."""
        return self._by_uri[self.uri_for(file_name)]

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _observation(o: ObservationSpec) -> dict[str, Any]:
        mrp = next((p for p in o.products if p.mrp), None)
        preview = next((p for p in o.products if p.product_type == PREVIEW), None)
        return {
            "intentType": "science",
            "obs_collection": o.collection,
            "provenance_name": o.provenance,
            "instrument_name": o.instrument,
            "project": o.collection,
            "filters": o.filters,
            "wavelength_region": o.wavelength_region,
            "target_name": o.target,
            "target_classification": o.target_classification,
            "obs_id": o.obs_id,
            "s_ra": o.ra,
            "s_dec": o.dec,
            "dataproduct_type": o.dataproduct_type,
            "proposal_pi": o.proposal_pi,
            "calib_level": o.calib_level,
            "t_min": o.t_min,
            "t_max": o.t_max,
            "t_exptime": o.t_exptime,
            "em_min": o.em_min,
            "em_max": o.em_max,
            "obs_title": o.title,
            "t_obs_release": round(o.t_max + (0.0 if o.proposal_id in {"1366", "2734"} else 365.0), 5),
            "proposal_id": o.proposal_id,
            "proposal_type": o.proposal_type,
            "sequence_number": None,
            "s_region": _box(o.ra, o.dec, o.half_size),
            "jpegURL": _data_uri(o.collection, preview.file_name) if preview else None,
            "dataURL": _data_uri(o.collection, mrp.file_name) if mrp else None,
            "dataRights": "PUBLIC",
            "mtFlag": False,
            "srcDen": 5885.0 if o.dataproduct_type == "image" else None,
            "obsid": o.obsid,
            "objID": str(int(o.obsid) + 1_000_000_000),
        }

    def _product(self, o: ObservationSpec, p: ProductSpec) -> dict[str, Any]:
        uri = _data_uri(o.collection, p.file_name)
        owner, _ = self._by_uri[uri]  # the observation a shared (stage-3) product comes from
        size = p.listed_size if p.listed_size is not None else self._ensure(owner, p).stat().st_size
        return {
            "obsID": o.obsid,
            "obs_collection": o.collection,
            "dataproduct_type": o.dataproduct_type,
            "obs_id": p.obs_id or owner.obs_id,
            "description": p.description,
            "type": "S" if p.product_type == SCIENCE else "C",
            "dataURI": uri,
            "productType": p.product_type,
            "productGroupDescription": MRP if p.mrp else None,
            "productSubGroupDescription": p.suffix.upper(),
            "productDocumentationURL": "",
            "project": "CALJWST" if o.collection == "JWST" else o.provenance,
            "prvversion": "1.11.4" if o.collection == "JWST" else "3.4.3",
            "proposal_id": o.proposal_id,
            "productFilename": p.file_name,
            "size": size,
            "parent_obsid": owner.obsid,
            "dataRights": "PUBLIC",
            "calib_level": p.calib_level,
        }

    def _ensure(self, o: ObservationSpec, p: ProductSpec) -> Path:
        path = self.cache_dir / p.file_name
        with self._lock:  # one writer at a time; later callers see the finished file
            if not path.exists():
                scratch = Path(tempfile.mkdtemp(prefix=".making-", dir=self.cache_dir))
                try:
                    make_file(p.file_name, scratch / p.file_name, _facts(o, p)).replace(path)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
        return path


def _facts(o: ObservationSpec, p: ProductSpec) -> dict[str, Any]:
    """What the generator is told about a product: the observation's catalog values, its mode, the product's own."""
    facts: dict[str, Any] = {"target": o.target, "ra": o.ra, "dec": o.dec, "program": o.proposal_id, **o.gen}
    if o.collection == "JWST":
        facts["t0_mjd"] = o.t_min
    else:
        facts.update(expstart=o.t_min, exptime=o.t_exptime)
    return {**facts, **p.facts}


def make_file(file_name: str, dest: Path, facts: dict[str, Any]) -> Path:
    """Write one product: previews and association files here, everything else by the format generators."""
    if file_name.endswith(".jpg"):
        return _jpeg(dest, 64 if file_name.endswith("_thumb.jpg") else 256)
    if file_name.endswith(".json"):  # a stage-3 association: which exposures make the product
        product = file_name.removesuffix("_asn.json")
        members = [{"expname": f"{product}_exp{i}_calints.fits", "exptype": "science"} for i in (1, 2)]
        asn = {"asn_type": "tso3", "asn_rule": "candidate_Asn_Lv3TSO", "program": facts["program"],
               "target": facts["target"], "products": [{"name": product, "members": members}]}  # fmt: skip
        dest.write_text(json.dumps(asn, indent=2))
        return dest
    if file_name.endswith("_asn.fits"):
        return _hst_association(dest, facts)
    from tests.obsgen import make_product

    return Path(make_product(file_name, dest, **facts))


def _jpeg(dest: Path, side: int) -> Path:
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:side, 0:side]
    pixels = (127 + 120 * np.sin(x / 9.0) * np.cos(y / 7.0)).astype("uint8")
    with dest.open("wb") as fh:
        Image.fromarray(pixels, mode="L").save(fh, format="JPEG", quality=85)
    return dest


def _hst_association(dest: Path, facts: dict[str, Any]) -> Path:
    """An HST association table: the exposures (EXP-*) and the product (PROD-*) of one dataset."""
    from astropy.io import fits

    root = dest.name.removesuffix("_asn.fits")
    members = [m for m in facts.get("members", ()) if m != root]
    names = [m.upper() for m in members] + [root.upper()]
    kinds = ["EXP-FP"] * len(members) + ["PROD-FP"]
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("MEMNAME", "14A", array=names),
            fits.Column("MEMTYPE", "14A", array=kinds),
            fits.Column("MEMPRSNT", "L", array=[True] * len(names)),
        ],
        name="ASN",
    )
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="HST", ROOTNAME=root, ASN_ID=root.upper(), ASN_TAB=dest.name)
    primary.header.update(TARGNAME=facts["target"], PROPOSID=int(facts["program"]))
    fits.HDUList([primary, table]).writeto(dest)
    return dest

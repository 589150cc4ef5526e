"""Column schemas and column configs served by the fake MAST portal.

Field types follow MAST's own JSON (`fields` entries); the client maps them
through ``astroquery.mast.utils.parse_type``.  Column configs only carry the
keys astroquery reads: ``vot.datatype``/``type`` (continuous vs discrete
filters), ``separator`` and a display ``text``.
"""

from __future__ import annotations

from typing import Any

# Observation (CAOM) columns, in the order MAST returns them.
OBS_FIELDS: list[tuple[str, str]] = [
    ("intentType", "string"),
    ("obs_collection", "string"),
    ("provenance_name", "string"),
    ("instrument_name", "string"),
    ("project", "string"),
    ("filters", "string"),
    ("wavelength_region", "string"),
    ("target_name", "string"),
    ("target_classification", "string"),
    ("obs_id", "string"),
    ("s_ra", "float"),
    ("s_dec", "float"),
    ("dataproduct_type", "string"),
    ("proposal_pi", "string"),
    ("calib_level", "int"),
    ("t_min", "float"),
    ("t_max", "float"),
    ("t_exptime", "float"),
    ("em_min", "float"),
    ("em_max", "float"),
    ("obs_title", "string"),
    ("t_obs_release", "float"),
    ("proposal_id", "string"),
    ("proposal_type", "string"),
    ("sequence_number", "int"),
    ("s_region", "string"),
    ("jpegURL", "string"),
    ("dataURL", "string"),
    ("dataRights", "string"),
    ("mtFlag", "boolean"),
    ("srcDen", "float"),
    ("obsid", "string"),  # digits, but typed string: astroquery comma-joins it
    ("objID", "string"),
]

DISTANCE_FIELD = ("distance", "float")  # arcsec; only on positional queries
SELECTED_FIELD = ("_selected_", "boolean")  # MAST sends it; astroquery drops it

PRODUCT_FIELDS: list[tuple[str, str]] = [
    ("obsID", "string"),
    ("obs_collection", "string"),
    ("dataproduct_type", "string"),
    ("obs_id", "string"),
    ("description", "string"),
    ("type", "string"),
    ("dataURI", "string"),
    ("productType", "string"),
    ("productGroupDescription", "string"),
    ("productSubGroupDescription", "string"),
    ("productDocumentationURL", "string"),
    ("project", "string"),
    ("prvversion", "string"),
    ("proposal_id", "string"),
    ("productFilename", "string"),
    ("size", "int"),
    ("parent_obsid", "string"),
    ("dataRights", "string"),
    ("calib_level", "int"),
]

# TIC v8 columns as MAST types them (ID is a string there).
_TIC_SPEC = """
ID:string version:string HIP:int TYC:string UCAC:string TWOMASS:string SDSS:string ALLWISE:string
GAIA:string APASS:string KIC:int objType:string typeSrc:string ra:float dec:float POSflag:string
pmRA:float e_pmRA:float pmDEC:float e_pmDEC:float PMflag:string plx:float e_plx:float PARflag:string
gallong:float gallat:float eclong:float eclat:float Bmag:float e_Bmag:float Vmag:float e_Vmag:float
umag:float e_umag:float gmag:float e_gmag:float rmag:float e_rmag:float imag:float e_imag:float
zmag:float e_zmag:float Jmag:float e_Jmag:float Hmag:float e_Hmag:float Kmag:float e_Kmag:float
TWOMflag:string prox:float w1mag:float e_w1mag:float w2mag:float e_w2mag:float w3mag:float
e_w3mag:float w4mag:float e_w4mag:float GAIAmag:float e_GAIAmag:float Tmag:float e_Tmag:float
TESSflag:string SPFlag:string Teff:float e_Teff:float logg:float e_logg:float MH:float e_MH:float
rad:float e_rad:float mass:float e_mass:float rho:float e_rho:float lumclass:string lum:float
e_lum:float d:float e_d:float ebv:float e_ebv:float numcont:int contratio:float disposition:string
duplicate_id:string priority:float objID:string
"""
TIC_FIELDS: list[tuple[str, str]] = [(item.split(":")[0], item.split(":")[1]) for item in _TIC_SPEC.split()]
TIC_DISTANCE_FIELD = ("dstArcSec", "float")

NUMERIC_TYPES = {"float", "double", "int", "long", "short", "number", "decimal"}

_SEPARATED = {"obs_collection", "project", "provenance_name", "filters", "wavelength_region", "target_classification"}
_LABELS = {
    "obs_collection": "Mission",
    "provenance_name": "Provenance Name",
    "project": "Project",
    "target_name": "Target Name",
    "obs_id": "Observation ID",
    "s_ra": "RA",
    "s_dec": "Dec",
    "t_min": "Start Time",
    "t_max": "End Time",
    "t_exptime": "Exposure Length",
    "dataproduct_type": "Product Type",
    "sequence_number": "Sequence Number",
    "obsid": "Product Group ID",
    "distance": 'Distance (")',
    "ID": "TIC ID",
    "Tmag": "TESS Mag.",
    "Teff": "T_eff",
    "ra": "RA",
    "dec": "Dec",
}
_VOT = {"string": "char", "float": "double", "int": "int", "boolean": "boolean"}


def infer_type(value: Any) -> str:
    """MAST field type for a Python value found in user-supplied rows."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def caom_column_config() -> dict[str, dict[str, Any]]:
    """``Mast.Caom.Cone`` config: every observation column plus ``distance``.

    ``provenance_name`` and ``sequence_number`` are missing from astroquery's
    recorded config but lightkurve filters on them, so they are included.
    ``t_exptime`` is ``double`` so exposure filters are continuous (min/max).
    """
    config: dict[str, dict[str, Any]] = {
        "_selected_": {"text": "selected", "add": True, "type": "boolean", "hidden": True},
    }
    for name, ftype in [*OBS_FIELDS, DISTANCE_FIELD]:
        entry: dict[str, Any] = {"text": _LABELS.get(name, name), "vot.ID": name, "vot.name": name}
        if ftype == "boolean":
            entry["type"] = "boolean"
        else:
            entry["vot.datatype"] = _VOT[ftype]
        if name in {"obsid", "objID"}:
            entry["vot.datatype"] = "long"
        if name == "distance":
            entry["vot.datatype"] = "float"
        if name in _SEPARATED:
            entry["separator"] = ";"
        config[name] = entry
    return config


def products_column_config() -> dict[str, dict[str, Any]]:
    """``Mast.Caom.Products`` config (display metadata only; no filters use it)."""
    return {name: {"text": name, "vot.datatype": _VOT[ftype]} for name, ftype in PRODUCT_FIELDS}


def tic_column_config(fields: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """TIC cone config shaped like MAST's: no datatypes, so filters are discrete
    unless the ``Mast.Catalogs.All.Tic`` histograms mark a column continuous."""
    config: dict[str, dict[str, Any]] = {
        "_selected_": {"add": True, "hidden": True, "text": "selected", "type": "boolean"},
    }
    for order, (name, _ftype) in enumerate(fields):
        entry: dict[str, Any] = {"text": _LABELS.get(name, name), "order": order}
        if name in {"ID", "GAIA", "KIC", "HIP"}:
            entry.update({"autoFacetRule": "never", "excludeFromCharts": True})
        config[name] = entry
    return config

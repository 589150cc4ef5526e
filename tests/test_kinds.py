"""The kind registry: every registered kind round-trips a real file through import, SQL and materialize."""

from __future__ import annotations

import csv
import hashlib
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake, kinds
from larun_lake.readers.fitsfile import open_fits

from .conftest import FIXTURES, K2_C4, KEPLER_Q2, QLP_S24, SPOC_S1, TESS_SPOC_FFI, TPF_GZ

# One real MAST file per registered kind. A kind added to the registry must add its file here, or to
# MADE_OF when the fixtures hold none.
FIXTURE_OF = {
    "spoc": SPOC_S1,
    "tess-spoc": TESS_SPOC_FFI,
    "qlp": QLP_S24,
    "kepler": KEPLER_Q2,
    "k2": K2_C4,
    "spoc-tpf": TPF_GZ,  # the first cadences of a real SPOC target pixel file (renamed by lightkurve's tests)
}


def _astroquery_cutout(root: Path) -> Path:
    """astroquery's own TESScut test file: a real 2018 cutout."""
    import zipfile
    from importlib import resources

    zipped = resources.files("astroquery.mast.tests").joinpath("data", "astrocut_107.27_-70.0_5x5.zip")
    with resources.as_file(zipped) as path, zipfile.ZipFile(path) as z:
        return Path(z.extract(z.namelist()[0], root))


# Kinds the fixtures hold no real file of: files in the real format, made from the real K2 pixel
# file's headers (tests/pixelgen.py), and a real cutout shipped with astroquery.
MADE_OF = {
    "kepler-tpf": lambda root: _pixelgen().make_kepler_tpf(root, 10002792, 2, n_cadences=300, seed=1),
    "k2-tpf": lambda root: _pixelgen().make_k2_tpf(root, 211117077, 4, n_cadences=300, seed=2),
    "tesscut": _astroquery_cutout,
}


def _pixelgen():
    from tests import pixelgen

    return pixelgen


@pytest.fixture(scope="module")
def kind_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kind_files")
    return {**FIXTURE_OF, **{name: make(root) for name, make in MADE_OF.items()}}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_rows(path: Path) -> int:
    with fits.open(path) as hdus:
        tables = [h for h in hdus[1:] if isinstance(h, fits.BinTableHDU)]
        table = next((h for h in tables if h.name == "LIGHTCURVE"), tables[0])
        return int(table.header["NAXIS2"])


def _lk_read(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
        import lightkurve as lk

        return lk.read(str(path))


def test_every_kind_has_a_fixture_listed_in_the_manifest() -> None:
    assert set(FIXTURE_OF) | set(MADE_OF) == {k.name for k in kinds.KINDS}
    assert not set(FIXTURE_OF) & set(MADE_OF)
    with open(FIXTURES / "MANIFEST.tsv", newline="") as f:
        listed = {row["relpath"]: row["sha256"] for row in csv.DictReader(f, delimiter="\t")}
    for path in FIXTURE_OF.values():
        assert listed[path.relative_to(FIXTURES).as_posix()] == _sha(path)


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_fixture_is_detected_as_its_kind(kind: kinds.Kind, kind_files: dict[str, Path]) -> None:
    assert kinds.detect(open_fits(kind_files[kind.name])) is kind


@pytest.fixture(scope="module")
def kinds_lake(tmp_path_factory: pytest.TempPathFactory, kind_files: dict[str, Path]) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("kinds") / "lake")
    report = lake.import_files([kind_files[k.name] for k in kinds.KINDS if k.name in kind_files])
    assert report.ingested == len(kind_files), report.problems
    return lake


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_kind_round_trips_through_import_sql_and_materialize(kinds_lake: Lake, kind: kinds.Kind,
                                                            kind_files: dict[str, Path]) -> None:
    path = kind_files[kind.name]
    rows = kinds_lake.sql(
        "SELECT lc_id, n_cadences FROM lightcurves WHERE mission = ? AND author = ? "
        "AND coalesce(pixel_sha256, file_sha256) = ?",  # a pixel file's light curve names the file it was made from
        [kind.mission, kind.author, _sha(path)],
    ).fetchall()
    assert len(rows) == 1, rows
    lc_id, n_cadences = rows[0]
    assert n_cadences == _table_rows(path)
    counts = kinds_lake.sql(
        "SELECT count(*), count(flux), count(pdcsap_flux) FROM cadences WHERE lc_id = ?", [lc_id]
    ).fetchall()[0]
    pdcsap = kind.flux_column == "PDCSAP_FLUX"
    assert counts == (n_cadences, counts[1], counts[1] if pdcsap else 0)

    frame = kinds_lake.materialize(f"SELECT lc_id FROM lightcurves WHERE lc_id = '{lc_id}'").to_pandas()
    assert list(frame["lc_id"].unique()) == [lc_id]
    ref = _lk_read(path)
    ref = (ref.to_lightcurve() if kind.product_type != "lightcurve" else ref).remove_nans()
    np.testing.assert_array_equal(frame["time"].to_numpy(), ref.time.value)
    np.testing.assert_array_equal(frame["flux"].to_numpy(), np.asarray(ref.flux.value))


def test_registry_lookups_agree_with_the_declarations(kind_files: dict[str, Path]) -> None:
    names = [k.name for k in kinds.KINDS]
    assert len(set(names)) == len(names)
    assert len({(k.mission, k.author, k.product_type) for k in kinds.KINDS}) == len(kinds.KINDS)
    for mission in kinds.missions():
        # Target and period naming belong to the mission: all its kinds must declare the same.
        facts = {
            (k.target_prefix, k.target_keyword, k.mast_target_prefix, k.period_keyword, k.period_prefix, k.telescope)
            for k in kinds.KINDS
            if k.mission == mission
        }
        assert len(facts) == 1, (mission, facts)
    assert kinds.authors_of("TESS") == ("SPOC", "TESS-SPOC", "QLP")
    assert kinds.collection_of("QLP") == "HLSP"
    assert kinds.id_prefix("K2") == "EPIC" and kinds.mission_of_prefix("kic") == "Kepler"
    assert kinds.pdcsap_authors() == ("SPOC", "TESS-SPOC", "Kepler", "K2")
    assert all(pickle.loads(pickle.dumps(k)) is k for k in kinds.KINDS)
    assert kinds.listed_kind("TESS", "SPOC", "tess2018206045859-s0001-0000000025155310-0120-s_tp.fits").name == "spoc-tpf"
    assert kinds.listed_kind("TESS", "SPOC", "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits").name == "spoc"
    for kind in kinds.KINDS:
        if not kind.file_patterns or kind_files[kind.name] == TPF_GZ:
            continue  # cutouts are named by position; the real pixel fixture was renamed by lightkurve's tests
        match = kind.name_match(kind_files[kind.name].name)
        assert match is not None and int(match["target"]) == open_fits(kind_files[kind.name]).hdus[0].header.get(
            kind.target_keyword
        )

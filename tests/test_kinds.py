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

from .conftest import FIXTURES, K2_C4, KEPLER_Q2, QLP_S24, SPOC_S1, TESS_SPOC_FFI

# One real MAST file per registered kind. A kind added to the registry must add its file here.
FIXTURE_OF = {
    "spoc": SPOC_S1,
    "tess-spoc": TESS_SPOC_FFI,
    "qlp": QLP_S24,
    "kepler": KEPLER_Q2,
    "k2": K2_C4,
}


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
    assert set(FIXTURE_OF) == {k.name for k in kinds.KINDS}
    with open(FIXTURES / "MANIFEST.tsv", newline="") as f:
        listed = {row["relpath"]: row["sha256"] for row in csv.DictReader(f, delimiter="\t")}
    for path in FIXTURE_OF.values():
        assert listed[path.relative_to(FIXTURES).as_posix()] == _sha(path)


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_fixture_is_detected_as_its_kind(kind: kinds.Kind) -> None:
    assert kinds.detect(open_fits(FIXTURE_OF[kind.name])) is kind


@pytest.fixture(scope="module")
def kinds_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("kinds") / "lake")
    report = lake.import_files([FIXTURE_OF[k.name] for k in kinds.KINDS if k.name in FIXTURE_OF])
    assert report.ingested == len(FIXTURE_OF)
    return lake


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_kind_round_trips_through_import_sql_and_materialize(kinds_lake: Lake, kind: kinds.Kind) -> None:
    path = FIXTURE_OF[kind.name]
    rows = kinds_lake.sql(
        "SELECT lc_id, n_cadences FROM lightcurves WHERE mission = ? AND author = ? AND file_sha256 = ?",
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
    ref = _lk_read(path).remove_nans()
    np.testing.assert_array_equal(frame["time"].to_numpy(), ref.time.value)
    np.testing.assert_array_equal(frame["flux"].to_numpy(), np.asarray(ref.flux.value))


def test_registry_lookups_agree_with_the_declarations() -> None:
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
    for kind in kinds.KINDS:
        match = kind.name_match(FIXTURE_OF[kind.name].name)
        assert match is not None and int(match["target"]) == open_fits(FIXTURE_OF[kind.name]).hdus[0].header.get(
            kind.target_keyword
        )

"""Several copies of one light curve in an import: content decides which is current, never the name."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake

from .conftest import SPOC_S1, run_cli

LC_ID = "TESS:SPOC:25155310:s0001:120"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _first_finite_row() -> int:
    return int(np.flatnonzero(np.isfinite(fits.getdata(SPOC_S1, 1)["PDCSAP_FLUX"]))[0])


def _bit_flipped(src: Path, dest: Path) -> Path:
    """A copy with one bit changed in a flux value: the same version, headers intact, CHECKSUM failing."""
    data = bytearray(src.read_bytes())
    with fits.open(src) as hdul:
        table = hdul[1]
        row = _first_finite_row()
        offset = table.fileinfo()["datLoc"] + row * table.data.dtype.itemsize
        offset += table.data.dtype.fields["PDCSAP_FLUX"][1]
    data[offset + 1] ^= 0x04
    dest.write_bytes(bytes(data))
    assert fits.getdata(dest, 1)["PDCSAP_FLUX"][row] != fits.getdata(src, 1)["PDCSAP_FLUX"][row]
    return dest


def _first_good_flux(lake: Path) -> float:
    cadenceno = int(fits.getdata(SPOC_S1, 1)["CADENCENO"][_first_finite_row()])
    return Lake(lake).sql("SELECT flux FROM cadences WHERE cadenceno = ?", [cadenceno]).fetchall()[0][0]


@pytest.mark.parametrize("name", ["0 damaged copy.fits", "zz damaged copy.fits"])
def test_a_copy_whose_checksum_fails_never_becomes_current(tmp_path: Path, name: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    good = Path(shutil.copy(SPOC_S1, src))
    flipped = _bit_flipped(SPOC_S1, src / name)
    lake = tmp_path / "lake"

    result = run_cli("--lake", str(lake), "import", str(src))

    assert result.returncode == 0, result.stderr
    assert f"warning: {flipped}: FITS CHECKSUM fails" in result.stderr
    current = Lake(lake).sql("SELECT file_sha256, file_name, checksum_ok FROM lightcurves").fetchall()
    assert current == [(_sha(good), SPOC_S1.name, True)]
    assert _first_good_flux(lake) == fits.getdata(SPOC_S1, 1)["PDCSAP_FLUX"][_first_finite_row()]
    states = dict(Lake(lake).sql("SELECT file_name, state FROM products").fetchall())
    assert states == {SPOC_S1.name: "ingested", name: "superseded"}


def test_an_intact_copy_replaces_a_damaged_current_one(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    flipped = _bit_flipped(SPOC_S1, tmp_path / SPOC_S1.name)
    lake.import_files([flipped])
    assert lake.sql("SELECT checksum_ok FROM lightcurves").fetchall() == [(False,)]

    report = lake.import_files([SPOC_S1])

    assert (report.ingested, report.superseded) == (1, 1)
    assert lake.sql("SELECT file_sha256, checksum_ok FROM lightcurves").fetchall() == [(_sha(SPOC_S1), True)]
    assert _first_good_flux(lake.path) == fits.getdata(SPOC_S1, 1)["PDCSAP_FLUX"][_first_finite_row()]


@pytest.mark.parametrize("together", [True, False], ids=["one-import", "copy-imported-first"])
def test_a_renamed_identical_copy_keeps_the_mast_product_name(tmp_path: Path, together: bool) -> None:
    src = tmp_path / "in"
    src.mkdir()
    original = Path(shutil.copy(SPOC_S1, src))
    renamed = Path(shutil.copy(SPOC_S1, src / "my star (copy).fits"))  # sorts before the MAST name
    lake = Lake(tmp_path / "lake")

    if together:
        report = lake.import_files([src])
        assert (report.ingested, report.unchanged) == (1, 1)
    else:
        lake.import_files([renamed])
        assert lake.import_files([original]).unchanged == 1

    rows = lake.sql("SELECT file_name, source_path FROM lightcurves").fetchall()
    assert rows == [(SPOC_S1.name, str(original))]
    products = lake.sql("SELECT local_path, state, lc_id FROM products ORDER BY local_path").fetchall()
    assert products == [(str(renamed), "ingested", LC_ID), (str(original), "ingested", LC_ID)]
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(20076,)]

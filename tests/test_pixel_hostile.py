"""Pixel files under hostile and careless use: the lake's kept copies are never replaced by another file, and a
damaged data file of pixel light curves is rewritten from the pixel files, whatever aperture made them."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import lightkurve as lk
import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake
from tests.pixelgen import make_spoc_tpf


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tpf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_spoc_tpf(tmp_path_factory.mktemp("tpf"), 100000001, 3, n_cadences=300, seed=1)


def _edited_copy(path: Path, folder: Path) -> Path:
    """The same product under the same name, one pixel value changed after the archive wrote it."""
    folder.mkdir(parents=True)
    copy = folder / path.name
    with fits.open(path) as hdul:
        hdul[1].data["FLUX"][5, 5, 5] += 1000.0
        hdul.writeto(copy)
    return copy


def test_a_file_of_the_same_name_never_replaces_a_kept_pixel_file(tpf: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    assert lake.import_files([tpf]).ingested == 1
    edited = _edited_copy(tpf, tmp_path / "edited")
    report = lake.import_files([edited])
    assert report.ingested == 1 and "an intact copy stays current" in report.problems[0][2]
    # Every version's kept file holds that version's bytes; the intact one is what pixel_files and pixels() give.
    kept = dict(lake.sql("SELECT file_sha256, raw_path FROM pixel_file_versions").fetchall())
    assert set(kept) == {_sha(tpf), _sha(edited)}
    for sha, rel in kept.items():
        assert _sha(lake.path / rel) == sha
    assert lake.sql("SELECT file_sha256 FROM pixel_files").fetchall() == [(_sha(tpf),)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = lk.read(str(tpf))
    assert np.array_equal(lake.pixels("TIC 100000001", sector=3).flux.value, original.flux.value, equal_nan=True)


def _damage(lake: Lake) -> list[str]:
    rels = [r for (r,) in lake.sql("SELECT DISTINCT data_file FROM lightcurves").fetchall()]
    for rel in rels:
        path = lake.path / rel
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    return rels


def test_reimport_rewrites_a_damaged_data_file_holding_light_curves_of_several_apertures(
    tpf: Path, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([tpf])
    lake.import_files([tpf], aperture="all")
    sums = (
        "SELECT lc_id, count(*), sum(CASE WHEN isfinite(flux) THEN flux::DECIMAL(38, 4) END) FROM cadences "
        "GROUP BY 1 ORDER BY 1"
    )
    expected = lake.sql(sums).fetchall()
    assert len(expected) == 2
    assert len(_damage(lake)) == 1  # both light curves share one data file
    assert not lake.verify().consistent
    # Bringing the file again with the default aperture rewrites the data file: the other aperture's light
    # curve is made again from the same file, not reported missing.
    report = lake.import_files([tpf])
    assert report.ok and report.failed == 0, report.problems
    assert [p[1] for p in report.problems] == ["repaired"]
    assert lake.sql(sums).fetchall() == expected
    assert lake.verify().consistent


def test_the_kept_copy_repairs_when_the_imported_file_is_gone(tpf: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    gone = make_spoc_tpf(tmp_path / "gone", 100000002, 3, n_cadences=300, seed=2)
    lake.import_files([tpf, gone])  # one data file for the sector's two light curves
    sums = (
        "SELECT lc_id, count(*), sum(CASE WHEN isfinite(flux) THEN flux::DECIMAL(38, 4) END) FROM cadences GROUP BY 1"
    )
    expected = sorted(lake.sql(sums).fetchall())
    gone.unlink()
    assert len(_damage(lake)) == 1
    report = lake.import_files([tpf])
    assert report.ok and [p[1] for p in report.problems] == ["repaired"], report.problems
    assert sorted(lake.sql(sums).fetchall()) == expected


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from tests.mast_server import MastServer

    tpf = make_spoc_tpf(tmp_path_factory.mktemp("served"), 25155310, 1, n_cadences=300, seed=3)
    with MastServer(fits_files=[tpf]) as srv:
        srv.add_star(25155310, 64.525833, -63.615669)
        yield srv


@pytest.mark.slow
def test_harvesting_pixels_again_repairs_a_damaged_data_file_and_keeps_the_pixel_file(
    server, clean_mast_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARUN_LAKE_MAST_URL", server.url)
    monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
    lake = Lake(tmp_path / "lake")
    assert lake.harvest_pixels("TIC 25155310", mission="TESS", author="SPOC").ingested == 1
    sums = (
        "SELECT lc_id, count(*), sum(CASE WHEN isfinite(flux) THEN flux::DECIMAL(38, 4) END) FROM cadences GROUP BY 1"
    )
    expected = lake.sql(sums).fetchall()
    (raw,) = lake.sql("SELECT raw_path FROM pixel_files").fetchall()[0]
    _damage(lake)
    again = lake.harvest_pixels("TIC 25155310", mission="TESS", author="SPOC")
    assert again.ok, again.problems
    assert lake.sql(sums).fetchall() == expected
    assert lake.verify().consistent
    assert (lake.path / raw).is_file()  # the download was the kept file itself: it stays

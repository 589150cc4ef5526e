"""The synthetic target pixel files of tests/pixelgen.py must look like the real MAST products they copy."""

from __future__ import annotations

import gzip
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake.readers.fitsfile import open_fits
from tests.fitsgen import DEFAULT_TEMPLATE_DIR
from tests.pixelgen import K2_TPF_TEMPLATE, SPOC_TPF_TEMPLATE, make_k2_tpf, make_kepler_tpf, make_spoc_tpf

VOLATILE = {"CHECKSUM", "DATASUM", "HISTORY", "COMMENT"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tpf")
    return {
        "spoc": make_spoc_tpf(root, 261136679, 5, n_cadences=1000, seed=7),
        "kepler": make_kepler_tpf(root, 8462852, 16, n_cadences=800, seed=7),
        "kepler-sc": make_kepler_tpf(root, 8462852, 16, n_cadences=900, short_cadence=True, seed=7),
        "k2": make_k2_tpf(root, 211945201, 5, n_cadences=700, seed=7),
    }


def test_mast_names(generated: dict[str, Path]) -> None:
    assert {k: p.name for k, p in generated.items()} == {
        "spoc": "tess2018319095959-s0005-0000000261136679-0125-s_tp.fits",
        "kepler": "kplr008462852-2013098041711_lpd-targ.fits.gz",
        "kepler-sc": "kplr008462852-2013098041711_spd-targ.fits.gz",
        "k2": "ktwo211945201-c05_lpd-targ.fits.gz",
    }


def test_checksums_are_valid_for_astropy_and_the_lake(generated: dict[str, Path]) -> None:
    for path in generated.values():
        assert open_fits(path).checksum_ok is True
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # astropy warns on a bad CHECKSUM or DATASUM
            with fits.open(path, checksum=True) as hdul:
                for hdu in hdul:
                    assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1


def test_template_headers_are_kept_and_identity_updated(generated: dict[str, Path]) -> None:
    with fits.open(DEFAULT_TEMPLATE_DIR / SPOC_TPF_TEMPLATE) as real, fits.open(generated["spoc"]) as ours:
        for i in range(4):
            assert set(real[i].header) - VOLATILE <= set(ours[i].header), i
        assert [c.name for c in real[1].columns] == [c.name for c in ours[1].columns]
        assert [c.format for c in real[1].columns] == [c.format for c in ours[1].columns]
        assert ours[1].header["TDIM5"] == "(11,11)"
        for hdu in (ours[0], ours[1], ours[2]):
            assert hdu.header["TICID"] == 261136679 and hdu.header["OBJECT"] == "TIC 261136679"
        assert ours[0].header["SECTOR"] == 5 and ours[1].header["TIMEDEL"] == pytest.approx(120 / 86400)
        assert ours[1].header["1CRV5P"] == ours[2].header["CRVAL1P"]
    with fits.open(DEFAULT_TEMPLATE_DIR / K2_TPF_TEMPLATE) as real, fits.open(generated["k2"]) as ours:
        assert set(real[0].header) - VOLATILE <= set(ours[0].header)
        assert ours[0].header["CAMPAIGN"] == 5 and ours[0].header["KEPLERID"] == 211945201
        assert "TargetPixelExporter" in ours[0].header["CREATOR"]
        assert [c.name for c in ours[1].columns][8:10] == ["COSMIC_RAYS", "QUALITY"]
        assert ours[1].header["EXTNAME"] == "PIXELS" and ours[1].header["TDIM5"] == "(15,14)"


def test_pixels_look_like_a_pipeline_product(generated: dict[str, Path]) -> None:
    for kind, path in generated.items():
        with fits.open(path) as hdul:
            data, aperture = hdul[1].data, hdul[2].data
            assert aperture.dtype.kind == "i"
            optimal = (aperture & 2) > 0
            assert 4 <= optimal.sum() < aperture.size / 2, kind
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the corner pixel is never collected
                median = np.nanmedian(data["FLUX"], axis=0)
            brightest = np.unravel_index(np.nanargmax(median), aperture.shape)
            assert optimal[brightest], kind
            assert np.isnan(data["FLUX"][:, aperture == 0]).all()  # not-collected pixels
            assert np.isnan(data["TIME"]).any() and (data["QUALITY"] != 0).any()
            assert set(np.unique(aperture)) <= ({0, 257, 261, 267} if kind == "spoc" else {0, 1, 3})


def test_faults(tmp_path: Path) -> None:
    with fits.open(make_spoc_tpf(tmp_path, 1, 1, n_cadences=200, aperture=False)) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "PIXELS", "TARGET COSMIC RAY"]
        assert hdul[0].header["NEXTEND"] == 2
    cut = make_k2_tpf(tmp_path, 2, 5, n_cadences=200, truncate_to=10000)
    assert len(gzip.decompress(cut.read_bytes())) == 10000


def test_an_18000_cadence_spoc_file_is_written_well_under_a_second(tmp_path: Path) -> None:
    make_spoc_tpf(tmp_path / "warm", 1, 1, n_cadences=18000)  # templates are read once
    seconds = []
    for i in range(3):
        start = time.perf_counter()
        path = make_spoc_tpf(tmp_path, 1000 + i, 1, n_cadences=18000, seed=i)
        seconds.append(time.perf_counter() - start)
    print(f"18,000 x 11 x 11 SPOC TPF ({path.stat().st_size / 1e6:.0f} MB): best {min(seconds):.2f} s")
    assert min(seconds) < 0.8

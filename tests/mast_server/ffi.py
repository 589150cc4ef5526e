"""Synthetic TESS full-frame-image cubes, made with astrocut's own cube factory.

Each sector is a small CCD image (a few dozen pixels a side) pointed so that the
chosen stars fall on it: a flat sky with noise plus a Gaussian image per star, in
the header layout astrocut's test FFIs use (SIP WCS, TSTART/TSTOP, CAMERA/CCD)
with TELESCOP='TESS' added, so that astrocut cuts them and lightkurve reads the
cutouts as TESS target pixel files.  The FFIs are written to a scratch folder,
cubed with ``CubeFactory.make_cube`` and deleted; only the cubes are kept.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

PIXEL_SCALE = 21.0 / 3600  # degrees per TESS pixel
TJD_ZERO = 2457000.0


@dataclass(frozen=True)
class Star:
    tic: int
    ra: float
    dec: float
    flux: float  # e-/s summed over the star's image


@dataclass(frozen=True)
class SectorSpec:
    """One cube: which sector/camera/CCD, where the image centre points, how many FFIs."""

    sector: int
    camera: int
    ccd: int
    ra: float  # sky position of the image centre
    dec: float
    roll: float = 0.0  # degrees
    size: int = 48  # image side in pixels
    n_ffis: int = 60
    tstart: float = 1325.3  # TJD of the first FFI
    exptime: float = 1800.0  # seconds between FFIs

    @property
    def name(self) -> str:
        return f"tess-s{self.sector:04d}-{self.camera}-{self.ccd}"


# TIC 25155310 is the fixtures' SPOC target (sector 1 light curve and target pixel file); the two
# others exist only in these cubes ("FFI-only" stars). The faint neighbour sits 4 px from the target.
STARS = (
    Star(25155310, 63.37389, -69.226789, 60000.0),
    Star(1_200_000_001, 63.45, -69.20, 30000.0),
    Star(1_200_000_002, 63.30, -69.24, 8000.0),
)
SECTORS = (
    SectorSpec(1, 4, 1, 63.38, -69.22, roll=0.0, tstart=1325.30),
    SectorSpec(2, 4, 1, 63.30, -69.25, roll=25.0, tstart=1354.10),
    SectorSpec(3, 4, 2, 63.50, -69.18, roll=50.0, tstart=1385.95),
)


def sector_wcs(spec: SectorSpec) -> fits.Header:
    """WCS keywords of a sector's image: TAN-SIP (no distortion terms) with the centre at (ra, dec)."""
    angle = np.radians(spec.roll)
    cd = PIXEL_SCALE * np.array([[-np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    header = fits.Header()
    header.update(
        {
            "RADESYS": "ICRS",
            "EQUINOX": 2000.0,
            "WCSAXES": 2,
            "CTYPE1": "RA---TAN-SIP",
            "CTYPE2": "DEC--TAN-SIP",
            "CRVAL1": spec.ra,
            "CRVAL2": spec.dec,
            "CRPIX1": (spec.size + 1) / 2,
            "CRPIX2": (spec.size + 1) / 2,
            "CD1_1": cd[0, 0],
            "CD1_2": cd[0, 1],
            "CD2_1": cd[1, 0],
            "CD2_2": cd[1, 1],
            "A_ORDER": 2,
            "B_ORDER": 2,
            "AP_ORDER": 2,
            "BP_ORDER": 2,
        }
    )
    return header


def footprint_contains(spec: SectorSpec, ra: float, dec: float) -> bool:
    """Whether (ra, dec) falls on a pixel of the sector's image."""
    with np.errstate(all="ignore"):
        x, y = WCS(sector_wcs(spec)).all_world2pix([[ra, dec]], 0)[0]
    return bool(-0.5 <= x < spec.size - 0.5 and -0.5 <= y < spec.size - 0.5)


def footprint_corners(spec: SectorSpec) -> list[tuple[float, float]]:
    """Sky positions of the image's outer corners, in order."""
    edge = spec.size - 0.5
    pixels = [[-0.5, -0.5], [edge, -0.5], [edge, edge], [-0.5, edge]]
    return [(float(r), float(d)) for r, d in WCS(sector_wcs(spec)).all_pix2world(pixels, 0)]


def _sky_image(spec: SectorSpec, stars: tuple[Star, ...], rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0 : spec.size, 0 : spec.size]
    image = np.full((spec.size, spec.size), 120.0)
    wcs = WCS(sector_wcs(spec))
    sigma = 0.9
    for star in stars:
        x, y = wcs.all_world2pix([[star.ra, star.dec]], 0)[0]
        if -5 < x < spec.size + 5 and -5 < y < spec.size + 5:
            image += star.flux / (2 * np.pi * sigma**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return image + rng.normal(0.0, 2.0, image.shape)


def _card(key: str, value: bool | float | int | str) -> str:
    """One 80-character header card in FITS fixed format."""
    if isinstance(value, bool):
        text = f"{key:<8}= {'T' if value else 'F':>20}"
    elif isinstance(value, str):
        text = f"{key:<8}= '{value:<8}'"
    elif isinstance(value, int):
        text = f"{key:<8}= {value:>20d}"
    else:
        text = f"{key:<8}= {value:>20.13G}"
    return f"{text:<80}"


def _block(header: str, data: bytes = b"") -> bytes:
    """A header (cards, END added) and its data, each padded to whole 2880-byte records."""
    text = header + f"{'END':<80}"
    text += " " * (-len(text) % 2880)
    return text.encode("ascii") + data + b"\0" * (-len(data) % 2880)


def _write_ffis(spec: SectorSpec, stars: tuple[Star, ...], directory: Path, seed: int) -> list[str]:
    """FFIs written as raw FITS records: building astropy headers card by card for every file costs
    seconds per sector, while only the time cards change from one FFI to the next."""
    rng = np.random.default_rng(seed)
    base = _sky_image(spec, stars, rng)
    wcs_cards = "".join(card.image for card in sector_wcs(spec).cards)
    shape_cards = "".join(
        _card(k, v)
        for k, v in [
            ("XTENSION", "IMAGE"),
            ("BITPIX", -32),
            ("NAXIS", 2),
            ("NAXIS1", spec.size),
            ("NAXIS2", spec.size),
            ("PCOUNT", 0),
            ("GCOUNT", 1),
        ]
    )
    primary_cards = "".join(
        _card(k, v)
        for k, v in [
            ("SIMPLE", True),
            ("BITPIX", 8),
            ("NAXIS", 0),
            ("EXTEND", True),
            ("TELESCOP", "TESS"),
            ("INSTRUME", "TESS Photometer"),
        ]
    )
    cadence = spec.exptime / 86400.0
    files = []
    for i in range(spec.n_ffis):
        start = spec.tstart + i * cadence
        times = "".join(
            _card(k, v)
            for k, v in [
                ("TSTART", start),
                ("TSTOP", start + cadence),
                ("DATE-OBS", Time(TJD_ZERO + start, format="jd").isot + "Z"),
                ("DATE-END", Time(TJD_ZERO + start + cadence, format="jd").isot + "Z"),
                ("BARYCORR", 5.0e-3),
                ("DQUALITY", 0),
                ("FFIINDEX", 100_000 * spec.sector + i),
                ("CAMERA", spec.camera),
                ("CCD", spec.ccd),
            ]
        )
        image = (base + rng.normal(0.0, 2.0, base.shape)).astype(">f4")
        uncert = np.sqrt(np.abs(image)).astype(">f4")
        ext = f"CAMERA.CCD {spec.camera}.{spec.ccd}"
        raw = (
            _block(primary_cards + times)
            + _block(shape_cards + _card("EXTNAME", f"{ext} cal") + times + wcs_cards, image.tobytes())
            + _block(shape_cards + _card("EXTNAME", f"{ext} uncert") + times + wcs_cards, uncert.tobytes())
        )
        path = directory / f"tess{i:04d}-s{spec.sector:04d}-{spec.camera}-{spec.ccd}-ffic.fits"
        path.write_bytes(raw)
        files.append(str(path))
    return files


def make_cube(spec: SectorSpec, directory: str | Path, stars: tuple[Star, ...] = STARS, seed: int = 0) -> Path:
    """Write ``<directory>/<tess-sSSSS-C-D>-cube.fits`` for one sector; the name gives the cutouts' sectorName."""
    from astrocut import CubeFactory

    directory = Path(directory)
    scratch = directory / f"{spec.name}-ffis"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        files = _write_ffis(spec, stars, scratch, seed + spec.sector)
        cube = directory / f"{spec.name}-cube.fits"
        CubeFactory().make_cube(files, str(cube), sector=spec.sector, verbose=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return cube


def make_cubes(
    directory: str | Path, sectors: tuple[SectorSpec, ...] = SECTORS, stars: tuple[Star, ...] = STARS
) -> dict[SectorSpec, Path]:
    return {spec: make_cube(spec, directory, stars) for spec in sectors}

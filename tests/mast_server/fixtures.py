"""Content to serve in tests: synthetic TIC rows built around the real fixture targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from astropy.io import fits

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def spoc_fixture_files(fixtures: Path = FIXTURES) -> list[Path]:
    return sorted([*(fixtures / "tess_spoc").glob("*.fits"), *(fixtures / "tess_spoc_renamed").glob("*.fits")])


def make_tic_rows(n_random: int = 200, seed: int = 1) -> pd.DataFrame:
    """Synthetic TIC: every TESS fixture target with its header values, a cluster
    around TIC 25155310 for cone searches, and random stars elsewhere."""
    rows: dict[int, dict[str, Any]] = {}
    for path in spoc_fixture_files() + sorted((FIXTURES / "tess_hlsp").glob("*.fits")):
        header = fits.getheader(path)
        tic = int(str(header["TICID"]).strip())
        rows.setdefault(
            tic,
            {
                "ID": tic,
                "ra": header["RA_OBJ"],
                "dec": header["DEC_OBJ"],
                "Tmag": header.get("TESSMAG"),
                "Teff": header.get("TEFF"),
                "logg": header.get("LOGG"),
                "rad": header.get("RADIUS"),
                "mass": None,
                "GAIA": None,
                "KIC": None,
                "objType": "STAR",
                "lumclass": "DWARF",
            },
        )
    rng = np.random.default_rng(seed)
    center = rows[25155310]
    for i in range(n_random):
        near = i < 12
        ra = center["ra"] + rng.uniform(-0.6, 0.6) if near else rng.uniform(0, 360)
        dec = center["dec"] + rng.uniform(-0.25, 0.25) if near else np.degrees(np.arcsin(rng.uniform(-1, 1)))
        rows[1_000_000_000 + i] = {
            "ID": 1_000_000_000 + i,
            "ra": float(ra),
            "dec": float(dec),
            "Tmag": float(rng.uniform(6, 16)),
            "Teff": float(rng.uniform(3000, 9000)),
            "logg": float(rng.uniform(3.5, 5.0)),
            "rad": float(rng.uniform(0.2, 3.0)),
            "mass": float(rng.uniform(0.2, 2.0)),
            "GAIA": str(4_000_000_000_000 + i),
            "KIC": int(rng.integers(1, 13_000_000)) if i % 5 == 0 else None,
            "objType": "STAR" if i % 17 else "EXTENDED",
            "lumclass": "GIANT" if i % 3 == 0 else "DWARF",
        }
    return pd.DataFrame(list(rows.values()))


def bare_tic_rows() -> pd.DataFrame:
    """Faint stars as the TIC lists many: position and Tmag only, so Teff, logg, rad, mass and d are
    null in every row a query for them returns. One neighbour in the same HEALPix pixel has values."""
    bare = [
        {"ID": 1_100_000_001, "ra": 100.0, "dec": -30.0, "Tmag": 15.1},
        {"ID": 1_100_000_002, "ra": 100.01, "dec": -30.01, "Tmag": 15.7},
    ]
    neighbour = {
        "ID": 1_100_000_003,
        "ra": 100.02,
        "dec": -30.0,
        "Tmag": 11.2,
        "Teff": 3312.0,
        "logg": 4.9,
        "rad": 0.31,
        "mass": 0.29,
        "d": 18.4,
    }
    return pd.DataFrame([*bare, neighbour])

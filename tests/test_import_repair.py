"""Re-importing light curves whose data file was damaged or deleted behind the lake's back repairs the lake."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake

from .conftest import QLP_S24, SPOC_S1, SPOC_S1_OLD, run_cli

SPOC_PARTITION = "cadences/mission=TESS/author=SPOC/period=s0001"


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "bytes-changed":  # same size, different bytes (a bad disk block, an editor)
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
        path.write_bytes(bytes(data))
    elif how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 3]))
    else:
        path.unlink()


def _flux_of(lake: Lake, src: Path, tic: int) -> tuple[np.ndarray, np.ndarray]:
    got = (
        lake.sql("SELECT flux FROM cadences WHERE target_id = ? AND author = 'SPOC' ORDER BY cadenceno", [tic])
        .df()["flux"]
        .to_numpy()
    )
    return got, fits.getdata(src, 1)["PDCSAP_FLUX"]


@pytest.mark.slow
@pytest.mark.parametrize(("how", "reimport"), [("bytes-changed", "all"), ("truncated", "all"), ("deleted", "one")])
def test_reimport_rewrites_a_damaged_data_file(tmp_path: Path, how: str, reimport: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    files = [Path(shutil.copy(p, src)) for p in (SPOC_S1, SPOC_S1_OLD, QLP_S24)]
    lake = Lake(tmp_path / "lake")
    lake.import_files([src])
    (data_file,) = (tmp_path / "lake" / SPOC_PARTITION).glob("*.parquet")  # both SPOC light curves live here
    qlp_before = {p: p.read_bytes() for p in (tmp_path / "lake" / "cadences").rglob("*QLP*/**/*.parquet")}
    _damage(data_file, how)

    # Re-importing one of its light curves is enough: the other is read again from the path the catalog kept.
    again = files if reimport == "all" else [files[0]]
    result = run_cli("--lake", str(lake.path), "import", *map(str, again))

    assert result.returncode == 0, result.stderr
    rel = data_file.relative_to(lake.path).as_posix()
    assert f"repaired: {rel}: damaged data file" in result.stderr
    verify = lake.verify()
    assert verify.consistent and not (verify.corrupt or verify.missing or verify.repairs), verify
    for path, tic in ((SPOC_S1, 25155310), (SPOC_S1_OLD, 358108509)):
        got, expected = _flux_of(lake, path, tic)
        np.testing.assert_array_equal(got, expected.astype(got.dtype))
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(3,)]
    assert not data_file.exists()
    assert {p: p.read_bytes() for p in qlp_before} == qlp_before  # other partitions untouched


def test_a_damaged_file_that_cannot_be_made_whole_is_reported_and_left_alone(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    spoc, other = (Path(shutil.copy(p, src)) for p in (SPOC_S1, SPOC_S1_OLD))
    lake = Lake(tmp_path / "lake")
    lake.import_files([src])
    (data_file,) = (lake.path / SPOC_PARTITION).glob("*.parquet")
    _damage(data_file, "truncated")
    other.unlink()  # the other light curve in that data file is nowhere to be found

    report = lake.import_files([spoc])

    assert report.failed == 1 and not report.ok
    rel = data_file.relative_to(lake.path).as_posix()
    ((where, state, reason),) = report.problems
    assert (where, state) == (rel, "failed")
    assert "1 of its 2 light curves were not found" in reason
    assert data_file.exists() and lake.verify().corrupt == [rel]  # still there for verify to report

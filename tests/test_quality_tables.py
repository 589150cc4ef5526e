"""The shipped quality tables are lightkurve's, and no everyday command pays for importing lightkurve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from larun_lake import Lake, quality, quality_tables

from .conftest import REPO, run_cli

SAMPLES = REPO / "data" / "samples"

# Runs the real entry point and reports, when the process ends, whether lightkurve was ever imported.
_PROBE = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write(f'\\nlightkurve imported: {\"lightkurve\" in sys.modules}\\n'))\n"
    "sys.argv = ['larun-lake', *sys.argv[1:]]\n"
    "runpy.run_module('larun_lake', run_name='__main__')\n"
)


def test_shipped_tables_equal_those_generated_from_lightkurve() -> None:
    generated = quality_tables.generate()
    shipped = json.loads(quality.tables_text())
    assert shipped == generated
    assert quality.tables_text() == quality_tables.render(generated)  # the committed file is the generator's output


def test_shipped_masks_are_lightkurves_presets() -> None:
    from lightkurve.utils import KeplerQualityFlags, TessQualityFlags

    assert quality.bitmask_for("TESS", "SPOC", "default") == TessQualityFlags.DEFAULT_BITMASK
    assert quality.bitmask_for("TESS", "TESS-SPOC", "hardest") == TessQualityFlags.HARDEST_BITMASK
    assert quality.bitmask_for("TESS", "QLP", "hard", 24) == TessQualityFlags.HARD_BITMASK | 2**12
    assert quality.bitmask_for("TESS", "QLP", "hard", 60) == TessQualityFlags.HARD_BITMASK | 2**30
    assert quality.bitmask_for("Kepler", "Kepler", "hard") == KeplerQualityFlags.HARD_BITMASK
    assert quality.bitmask_for("K2", "K2", "default") == KeplerQualityFlags.DEFAULT_BITMASK
    names = {(r.mission, r.author, r.value): r.name for r in quality.bit_rows()}
    assert names[("TESS", "SPOC", TessQualityFlags.ManualExclude)] == "ManualExclude"
    assert names[("Kepler", "Kepler", KeplerQualityFlags.ApertureCosmic)] == "ApertureCosmic"


def _probe(*args: str) -> tuple[subprocess.CompletedProcess, bool]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
    marker = [line for line in proc.stderr.splitlines() if line.startswith("lightkurve imported: ")]
    assert marker, proc.stderr
    return proc, marker[-1].endswith("True")


@pytest.mark.slow
def test_everyday_commands_never_import_lightkurve(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    for args in (
        ["import", str(SAMPLES)],  # creates the lake and its quality tables
        ["status"],
        ["sql", "SELECT author, quality_bitmask(mission, author, 'hard', 24) FROM lightcurves"],
        ["verify"],
    ):
        proc, imported = _probe("--lake", lake, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert not imported, f"larun-lake {args[0]} imported lightkurve"


def test_new_lake_holds_the_shipped_quality_tables(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SAMPLES / "ktwo211117077-c04_llc.fits"])
    bits = lake.sql("SELECT * FROM quality_bits").fetchall()
    masks = lake.sql("SELECT * FROM quality_masks").fetchall()
    assert bits == [tuple(vars(r).values()) for r in quality.bit_rows()]
    assert masks == [tuple(vars(r).values()) for r in quality.mask_rows()]


def test_version_option_prints_what_runs_record(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SAMPLES / "ktwo211117077-c04_llc.fits"])
    result = lake.sql("SELECT * FROM runs")
    recorded = dict(zip(result.columns, result.fetchall()[0], strict=True))
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    printed = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert proc.stdout.splitlines()[0].startswith("larun-lake ")
    columns = [c for c in recorded if c.endswith("_version")]
    assert len(columns) == 8
    for column in columns:
        name = column.removesuffix("_version").replace("_", "-")
        assert printed[name] == recorded[column], column

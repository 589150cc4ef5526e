"""The described schema (`larun-lake schema`, Lake.schema) and the time system of materialized output."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from typer.testing import CliRunner

from larun_lake import Lake, UsageError, cli
from larun_lake.schema import tic_columns
from larun_lake.sqlfiles import load_sql

from . import obsgen
from .conftest import REPO

SAMPLES = REPO / "data" / "samples"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The shipped samples (TESS SPOC, TESS-SPOC, QLP, Kepler, K2) and a JWST white-light curve (two orders)."""
    root = tmp_path_factory.mktemp("schema")
    obsgen.make_product(obsgen.JWST_TSO_WHTLT, root / "jwst")
    lake = Lake(root / "lake")
    report = lake.import_files([SAMPLES, root / "jwst"])
    assert report.ingested == 7 and report.ok, report.problems
    return lake


def _surface_columns(lake: Lake) -> set[tuple[str, str]]:
    """(table, column) of every catalog table and TEMP view a connection of the lake has, as DuckDB lists them
    (the *_rows views are the code's sources under cadences, tic, spectra and spectral_timeseries)."""
    with lake.catalog.read(sandbox=False) as con:
        rows = con.execute(
            "SELECT c.table_name, c.column_name FROM duckdb_columns() c "
            "WHERE (c.database_name = 'lake' AND c.schema_name = 'main') OR (c.database_name = 'temp' "
            "AND c.table_name IN (SELECT view_name FROM duckdb_views() WHERE temporary) "
            "AND NOT suffix(c.table_name, '_rows'))"
        ).fetchall()
    return set(rows)


def test_every_column_of_every_table_and_view_has_a_description(lake: Lake) -> None:
    described = lake.schema().df()
    columns = described[described["column_name"].notna()]
    assert set(zip(columns["table_name"], columns["column_name"], strict=True)) == _surface_columns(lake)
    missing = columns[columns["description"].isna()]
    assert missing.empty, f"columns without a description: {missing[['table_name', 'column_name']].values.tolist()}"
    tables = described.drop_duplicates("table_name")
    assert tables["table_description"].notna().all(), tables[tables["table_description"].isna()]["table_name"]
    assert {
        "lightcurves",
        "cadences",
        "spectra",
        "spectral_timeseries",
        "spectrum_files",
        "images",
        "pixel_files",
        "tic",
        "superseded_lightcurves",
        "observations",
        "products",
        "runs",
    } <= set(tables["table_name"])
    macros = described[described["table_type"].isin(["macro", "table_macro"])]
    assert {"bjd", "quality_bitmask", "tic_cone", "images_cone"} <= set(macros["table_name"])
    assert macros["table_description"].notna().all()
    units = dict(zip(zip(columns["table_name"], columns["column_name"], strict=True), columns["unit"], strict=True))
    assert units["cadences", "time"] == "d" and units["lightcurves", "ra"] == "deg"
    assert units["lightcurves", "exptime_s"] == "s" and units["observations", "em_min"] == "nm"


def test_every_tic_column_mast_declares_is_described_and_no_description_is_stale(lake: Lake) -> None:
    """The lake has no TIC rows here, so its tic view is a stand-in: check the columns MAST declares."""
    with lake.catalog.read(sandbox=False) as con:
        con.execute(load_sql("schema/descriptions.sql"))
        described = {
            (t, c.lower()) for t, c in con.execute("SELECT table_name, column_name FROM schema_columns").fetchall()
        }
        shared = dict(con.execute("SELECT table_name, columns_of FROM schema_tables").fetchall())
    tic = {("tic", name.lower()) for name in [*tic_columns(), "hpx"]}
    assert tic <= described
    present = {(t, c.lower()) for t, c in _surface_columns(lake)} | tic
    present |= {(shared[t], c) for t, c in present if shared.get(t)}
    assert described <= present, f"descriptions of columns no table has: {sorted(described - present)}"


def test_schema_command_prints_a_table_with_types_units_and_meanings(lake: Lake) -> None:
    runner = CliRunner()
    base = ["--lake", str(lake.path), "schema"]
    result = runner.invoke(cli.app, [*base, "lightcurves"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("lightcurves (view): The current version of each light curve")
    bjdrefi = next(line.split() for line in lines if line.split()[0] == "bjdrefi")
    assert bjdrefi[1:3] == ["INTEGER", "d"] and "BJD_TDB" in " ".join(bjdrefi)
    assert len(lines) == 1 + len(lake.sql("DESCRIBE lightcurves"))
    result = runner.invoke(cli.app, [*base, "cadences", "--format", "json"])
    rows = json.loads(result.output)
    assert [r["column_name"] for r in rows] == lake.sql("DESCRIBE cadences").df()["column_name"].tolist()
    result = runner.invoke(cli.app, [*base, "no_such_table"])
    assert result.exit_code == 2 and "no table, view or macro named 'no_such_table'" in result.output
    with pytest.raises(UsageError):
        lake.schema("no_such_table")


def test_materialized_parquet_and_manifest_carry_each_time_system(lake: Lake, tmp_path: Path) -> None:
    lcs = lake.materialize("SELECT lc_id FROM lightcurves")
    written = lcs.write(tmp_path / "all.parquet")
    stored = pq.read_schema(written.path).metadata[b"larun_lake.time_systems"]
    systems = {(s["mission"], s["author"]): s for s in json.loads(stored)}
    assert {k: (s["time_system"], s["bjdrefi"], s["bjdreff"]) for k, s in systems.items()} == {
        ("TESS", "SPOC"): ("BTJD", 2457000, 0.0),
        ("TESS", "TESS-SPOC"): ("BTJD", 2457000, 0.0),
        ("TESS", "QLP"): ("BTJD", 2457000, 0.0),
        ("Kepler", "Kepler"): ("BKJD", 2454833, 0.0),
        ("K2", "K2"): ("BKJD", 2454833, 0.0),
        ("JWST", "JWST"): ("BJD_TDB", 2400000, 0.5),
    }
    manifest = json.loads(Path(written.manifest_path).read_text())
    assert manifest["time_systems"] == json.loads(stored)
    # time + bjdrefi + bjdreff is the file's BJD_TDB.
    frame = pq.read_table(written.path, filters=[("mission", "=", "JWST")]).to_pandas()
    jwst = systems["JWST", "JWST"]
    whtlt = Table.read(next((lake.path.parent / "jwst").glob("*whtlt.ecsv")), format="ascii.ecsv")
    first = frame.sort_values("time")["time"].iloc[0] + jwst["bjdrefi"] + jwst["bjdreff"]
    assert abs(first - (float(whtlt["BJD_TDB"][0]) + 2400000.5)) < 1e-6
    nested = lcs.write(tmp_path / "nested.parquet", format="parquet-nested", name="nested")
    assert pq.read_schema(nested.path).metadata[b"larun_lake.time_systems"] == stored

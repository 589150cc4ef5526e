"""The larun-lake command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from larun_lake.cli import app
from larun_lake.sqlfiles import list_sql, load_sql

from .conftest import FIXTURES, KEPLER_Q2, REPO, SPOC_S1, run_cli


def test_every_command_has_help() -> None:
    import typer.main

    def check(command, path: str) -> int:
        assert command.help, f"command {path} has no help text"
        for param in command.params:
            assert getattr(param, "help", None), f"{path} --{param.name} has no help"
        subcommands = getattr(command, "commands", {})
        return 1 + sum(check(sub, f"{path} {name}") for name, sub in subcommands.items())

    n = check(typer.main.get_command(app), "larun-lake")
    assert n >= 12  # import, status, sql, verify, harvest tic/lightcurves, materialize, sets list/show, ...


def test_import_status_sql_round_trip(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    proc = run_cli("--lake", lake, "import", str(SPOC_S1), str(FIXTURES / "kepler"))
    assert proc.returncode == 0, proc.stderr
    assert "3 ingested" in proc.stderr
    proc = run_cli("--lake", lake, "status")
    assert proc.returncode == 0
    assert "3 light curves" in proc.stdout and "Kepler" in proc.stdout and "ingested 3" in proc.stdout
    proc = run_cli(
        "--lake", lake, "sql", "SELECT target_id, period FROM lightcurves ORDER BY period", "--format", "csv"
    )
    assert proc.stdout.splitlines() == ["target_id,period", "10002792,q02", "10002792,q05", "25155310,s0001"]


def test_lake_from_environment_and_default(tmp_path: Path) -> None:
    env_lake = tmp_path / "envlake"
    assert run_cli("import", str(KEPLER_Q2), env={"LARUN_LAKE": str(env_lake)}).returncode == 0
    assert (env_lake / "catalog.duckdb").is_file()
    assert run_cli("import", str(KEPLER_Q2), cwd=tmp_path).returncode == 0
    assert (tmp_path / "data" / "lake" / "catalog.duckdb").is_file()


def test_sql_file_formats(fixture_lake: Path, tmp_path: Path) -> None:
    query = tmp_path / "q.sql"
    query.write_text("SELECT lc_id, n_good FROM lightcurves WHERE mission = 'K2' ORDER BY lc_id")
    proc = run_cli("--lake", str(fixture_lake), "sql", "--file", str(query), "--format", "json")
    assert proc.returncode == 0
    assert '"lc_id": "K2:K2:200071160:c91:1800"' in proc.stdout
    out = tmp_path / "out.parquet"
    proc = run_cli("--lake", str(fixture_lake), "sql", "--file", str(query), "--format", "parquet", "-o", str(out))
    assert proc.returncode == 0
    assert pq.read_table(out).to_pylist() == [
        {"lc_id": "K2:K2:200071160:c91:1800", "n_good": 1233},
        {"lc_id": "K2:K2:211117077:c04:1800", "n_good": 3282},
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sql", "DELETE FROM products"], 2, "refused: DELETE"),
        (["sql", "SELEC 1"], 2, "malformed SQL"),
        (["sql", "SELECT nope FROM lightcurves"], 2, "query failed"),
        (["sql"], 2, "give one of: a query, --file FILE or --example NAME"),
        (["sql", "--example", "nope"], 2, "no example named 'nope' (one of coverage_by_period,"),
        (["sql", "SELECT 1", "--format", "xml"], 2, "unknown --format"),
        (["sql", "--file", "/no/such.sql"], 2, "cannot read SQL file"),
        (["import", "/no/such/folder"], 2, "/no/such/folder: no such file or folder"),
        (["import", str(FIXTURES / "mast_json")], 2, "no FITS files found"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(fixture_lake: Path, args: list[str], code: int, message: str) -> None:
    proc = run_cli("--lake", str(fixture_lake), *args)
    assert proc.returncode == code, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert message in lines[0], proc.stderr
    assert all(line.startswith("    ") for line in lines[1:]), proc.stderr  # DuckDB's detail, indented
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [["status"], ["sql", "SELECT 1"], ["verify"]])
def test_commands_refuse_a_folder_that_is_not_a_lake(tmp_path: Path, command: list[str]) -> None:
    proc = run_cli("--lake", str(tmp_path / "missing"), *command)
    assert proc.returncode == 3
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "missing").exists()


def test_import_with_bad_files_exits_1_with_summary(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    (src / "broken_lc.fits").write_bytes(KEPLER_Q2.read_bytes()[:50_000])
    proc = run_cli("--lake", str(tmp_path / "lake"), "import", str(src))
    assert proc.returncode == 1
    assert f"quarantined: {src / 'broken_lc.fits'}: truncated" in proc.stderr
    assert "1 ingested" in proc.stderr and "1 quarantined" in proc.stderr


def test_skipped_files_do_not_fail_the_import(tmp_path: Path) -> None:
    proc = run_cli("--lake", str(tmp_path / "lake"), "import", str(FIXTURES / "truncated" / "tess25155310-s01-first-cadences.fits.gz"),
                   str(FIXTURES / "truncated" / "test_TESS_interact_generated_custom-lc.fits"))
    assert proc.returncode == 0, proc.stderr
    assert "1 ingested" in proc.stderr and "1 skipped" in proc.stderr


# -- shipped examples, from any folder ------------------------------------------------------------
def test_sql_example_runs_outside_the_repository(fixture_lake: Path, tmp_path: Path) -> None:
    by_name = run_cli("--lake", str(fixture_lake), "sql", "--example", "quiet_stars", "--format", "csv", cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    by_file = run_cli(
        "--lake", str(fixture_lake), "sql", "--file", str(REPO / "sql/examples/quiet_stars.sql"), "--format", "csv"
    )
    assert by_name.stdout == by_file.stdout
    assert by_name.stdout.splitlines()[0] == "target_id,mission,author,period,n_good,cdpp_1h,tmag"
    assert len(by_name.stdout.splitlines()) > 2


@pytest.mark.parametrize("args", [["sql", "--example", "list"], ["sql", "--list-examples"]])
def test_examples_are_listed_with_what_they_do(tmp_path: Path, args: list[str]) -> None:
    proc = run_cli("--lake", str(tmp_path / "no-lake-needed"), *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert sorted(listed) == sorted(Path(name).stem for name in list_sql("examples"))
    assert "The quietest stars" in listed["quiet_stars"]
    assert "larun-lake" not in listed["materialize_bright_spoc"]  # the usage lines are left out


@pytest.mark.slow
def test_materialize_example_runs_outside_the_repository(lake_copy: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "--lake",
        str(lake_copy),
        "materialize",
        "--example",
        "materialize_targets",
        "--out",
        "stars.parquet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    targets = pq.read_table(tmp_path / "stars.parquet", columns=["target_id"]).column("target_id").to_pylist()
    assert set(targets) == {25155310, 39903405, 10002792}


def test_readme_tour_uses_examples_by_name() -> None:
    readme = (REPO / "README.md").read_text()
    assert "--file sql/examples" not in readme
    for name in re.findall(r"--example ([a-z_]+)", readme):
        assert load_sql(f"examples/{name}.sql")


# -- table output ---------------------------------------------------------------------------------
def _table_cells(stdout: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("│").split("│")] for line in stdout.splitlines() if line.startswith("│")
    ]


def test_table_keeps_the_digits_of_times(fixture_lake: Path) -> None:
    query = (
        "SELECT c.time, c.time + l.bjdrefi + l.bjdreff AS bjd, c.flux FROM cadences c JOIN lightcurves l "
        "USING (lc_id) WHERE c.lc_id = 'TESS:SPOC:25155310:s0001:120' ORDER BY c.time LIMIT 3"
    )
    table = run_cli("--lake", str(fixture_lake), "sql", query)
    as_csv = run_cli("--lake", str(fixture_lake), "sql", query, "--format", "csv")
    assert table.returncode == 0 and as_csv.returncode == 0, table.stderr
    rows = _table_cells(table.stdout)
    times = [row[0] for row in rows]
    assert len(set(times)) == 3  # cadences 2 minutes apart print differently
    for row, expected in zip(rows, list(csv.DictReader(io.StringIO(as_csv.stdout))), strict=True):
        assert float(row[0]) == float(expected["time"])  # shortest text that reads back as the same double
        assert float(row[1]) == float(expected["bjd"])
        assert row[1].startswith("24583") and "e" not in row[1]  # a BJD, not 2.45833e+06
    assert rows[1][2] == "9262.704"  # float32 flux: its own shortest digits, not float64 noise


def test_wide_results_print_one_block_per_row(fixture_lake: Path) -> None:
    from larun_lake import Lake

    query = "SELECT * FROM lightcurves ORDER BY lc_id LIMIT 2"
    proc = run_cli("--lake", str(fixture_lake), "sql", query)
    assert proc.returncode == 0, proc.stderr
    assert "│" not in proc.stdout  # no grid squeezed into one-character columns
    lines = proc.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("-[ row ")]
    assert [lines[i].split()[2] for i in starts] == ["1", "2"]
    first = dict(line.split(" | ", 1) for line in lines[starts[0] + 1 : starts[1]])
    expected = Lake(fixture_lake).sql(query).arrow().slice(0, 1).to_pylist()[0]
    assert [name.strip() for name in first] == list(expected)
    values = {name.strip(): value for name, value in first.items()}
    assert values["lc_id"] == expected["lc_id"] and values["file_sha256"] == expected["file_sha256"]

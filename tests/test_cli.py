"""The larun-lake command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from larun_lake.cli import app

from .conftest import FIXTURES, KEPLER_Q2, SPOC_S1, run_cli


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
    proc = run_cli("--lake", lake, "sql", "SELECT target_id, period FROM lightcurves ORDER BY period", "--format", "csv")
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
    assert pq.read_table(out).to_pylist() == [{"lc_id": "K2:K2:200071160:c91:1800", "n_good": 1233},
                                              {"lc_id": "K2:K2:211117077:c04:1800", "n_good": 3282}]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["sql", "DELETE FROM products"], 2, "refused: DELETE"),
    (["sql", "SELEC 1"], 2, "malformed SQL"),
    (["sql", "SELECT nope FROM lightcurves"], 2, "query failed"),
    (["sql"], 2, "give either a query or --file"),
    (["sql", "SELECT 1", "--format", "xml"], 2, "unknown --format"),
    (["sql", "--file", "/no/such.sql"], 2, "cannot read SQL file"),
    (["import", "/no/such/folder"], 2, "/no/such/folder: no such file or folder"),
    (["import", str(FIXTURES / "mast_json")], 2, "no FITS files found"),
])
def test_bad_input_gives_one_line_and_exit_code(fixture_lake: Path, args: list[str], code: int, message: str) -> None:
    proc = run_cli("--lake", str(fixture_lake), *args)
    assert proc.returncode == code, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], proc.stderr
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
    proc = run_cli("--lake", str(tmp_path / "lake"), "import", str(FIXTURES / "truncated"))
    assert proc.returncode == 0
    assert "3 skipped" in proc.stderr

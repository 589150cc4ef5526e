"""The CLI's error boundary, run as a user runs it: one line on stderr, the right exit code, no traceback
unless --debug asks for one (and then the same exit code)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from larun_lake import cli_output as ui
from larun_lake.errors import EXIT_INTERNAL, EXIT_LAKE, EXIT_USAGE

from .conftest import KEPLER_Q2, run_cli

SELECT_ALL = "SELECT lc_id FROM lightcurves"


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_one_line(proc: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """One 'error:' line (DuckDB's indented detail lines may follow it), the exit code, no traceback."""
    lines = error_lines(proc)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines and lines[0].startswith("error: "), proc.stderr
    assert all(line.startswith("    ") for line in lines[1:]), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr
    return lines[0]


@pytest.fixture
def regular_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.fixture
def latin1_sql(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT lc_id FROM lightcurves -- étoile\n".encode("latin-1"))
    return path


# -- configuration from the environment: exit 3 --------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LARUN_LAKE_WAIT", "abc"),
        ("LARUN_LAKE_TIMEOUT", "abc"),
        ("LARUN_LAKE_WAIT", "-5"),
        ("LARUN_LAKE_TIMEOUT", "0"),
        ("LARUN_LAKE_WORKERS", "many"),
    ],
)
def test_malformed_environment_variable_is_a_configuration_error(fixture_lake: Path, variable: str, value: str) -> None:
    proc = run_cli("--lake", str(fixture_lake), "status", env={variable: value})
    assert_one_line(proc, EXIT_LAKE, f"{variable}={value!r}")


def test_the_flag_wins_over_a_malformed_environment_variable(fixture_lake: Path) -> None:
    proc = run_cli("--lake", str(fixture_lake), "--wait", "1", "status", env={"LARUN_LAKE_WAIT": "abc"})
    assert proc.returncode == 0, proc.stderr


# -- usage: exit 2 --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--wait", "-5", "status"], "--wait -5 must be at least 0"),
        (["--wait", "nan", "status"], "--wait nan is not a finite number"),
        (["--wait", "abc", "status"], "'--wait'"),
        (["--bogus", "status"], "No such option: --bogus (see 'larun-lake --help')"),
        (["sql", "--max-rows", "x", "SELECT 1"], "(see 'larun-lake sql --help')"),
        (["materialize", SELECT_ALL, "--memory-limit", "lots", "--out", "x.parquet"], "--memory-limit 'lots'"),
        (["materialize", SELECT_ALL, "--memory-limit", "0GB", "--out", "x.parquet"], "--memory-limit '0GB'"),
    ],
)
def test_usage_errors_exit_2(fixture_lake: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    proc = run_cli("--lake", str(fixture_lake), *args, cwd=tmp_path)
    assert_one_line(proc, EXIT_USAGE, fragment)
    assert not (tmp_path / "x.parquet").exists()


@pytest.mark.parametrize("command", ["sql", "materialize"])
def test_non_utf8_sql_file_is_a_usage_error(fixture_lake: Path, latin1_sql: Path, tmp_path: Path, command: str) -> None:
    extra = ["--out", str(tmp_path / "x.parquet")] if command == "materialize" else []
    proc = run_cli("--lake", str(fixture_lake), command, "--file", str(latin1_sql), *extra)
    assert_one_line(proc, EXIT_USAGE, f"{latin1_sql}: not UTF-8 text (byte 0xe9 at offset 33)")


# -- paths that cannot be written: exit 3 ---------------------------------------------------------
def test_lake_path_that_cannot_be_created(tmp_path: Path, regular_file: Path) -> None:
    proc = run_cli("--lake", "/proc/larun-lake-test", "import", str(KEPLER_Q2))
    assert_one_line(proc, EXIT_LAKE, "/proc/larun-lake-test: No such file or directory")
    proc = run_cli("--lake", str(regular_file / "lake"), "import", str(KEPLER_Q2))
    assert_one_line(proc, EXIT_LAKE, f"{regular_file / 'lake'}: Not a directory")


def test_sql_output_that_cannot_be_written(fixture_lake: Path, regular_file: Path) -> None:
    out = regular_file / "rows.csv"
    proc = run_cli("--lake", str(fixture_lake), "sql", "SELECT 1 AS x", "--format", "csv", "--output", str(out))
    assert_one_line(proc, EXIT_LAKE, f"{out}: Not a directory")


@pytest.mark.slow
def test_materialize_out_that_cannot_be_written(lake_copy: Path, regular_file: Path) -> None:
    proc = run_cli("--lake", str(lake_copy), "materialize", SELECT_ALL, "--out", str(regular_file / "set.parquet"))
    assert_one_line(proc, EXIT_LAKE, str(regular_file))
    assert regular_file.read_text() == "not a folder\n"
    proc = run_cli("--lake", str(lake_copy), "materialize", SELECT_ALL, "--out", "/proc/larun-lake-test/set.parquet")
    assert_one_line(proc, EXIT_LAKE, "/proc/larun-lake-test")


# -- --debug shows the traceback and keeps the exit code ------------------------------------------
@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (["status"], {"LARUN_LAKE_WAIT": "abc"}, EXIT_LAKE),
        (["--wait", "-5", "status"], {}, EXIT_USAGE),
        (["sql", "SELEC 1"], {}, EXIT_USAGE),
        (["sql", "--file", "/no/such.sql"], {}, EXIT_USAGE),
    ],
)
def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    fixture_lake: Path, args: list[str], env: dict, code: int
) -> None:
    plain = run_cli("--lake", str(fixture_lake), *args, env=env)
    debug = run_cli("--debug", "--lake", str(fixture_lake), *args, env=env)
    line = assert_one_line(plain, code)
    assert debug.returncode == code, debug.stderr
    assert "Traceback" in debug.stderr
    debug_lines = error_lines(debug)
    assert debug_lines[-len(error_lines(plain)) :] == error_lines(plain)
    assert line in debug_lines


# -- a bug in LARUN Lake: its own exit code and how to report it ---------------------------------
def _run_with_a_bug(lake: Path, *args: str) -> subprocess.CompletedProcess:
    """`larun-lake --lake LAKE [args] status` in a real process whose Lake.status has a bug."""
    code = (
        "import sys, larun_lake.api, larun_lake.cli\n"
        "def broken(self): return {}['missing key']\n"
        "larun_lake.api.Lake.status = broken\n"
        "larun_lake.cli.main(sys.argv[1:])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args, "--lake", str(lake), "status"], capture_output=True, text=True, timeout=120
    )


def test_internal_error_has_its_own_exit_code_and_says_how_to_report_it(fixture_lake: Path) -> None:
    proc = _run_with_a_bug(fixture_lake)
    assert EXIT_INTERNAL not in (0, 1, 2, 3, 4, 130)
    line = assert_one_line(proc, EXIT_INTERNAL, "internal error: KeyError: 'missing key'")
    assert "--debug" in line and "issue" in line and "traceback" in line
    debug = _run_with_a_bug(fixture_lake, "--debug")
    assert debug.returncode == EXIT_INTERNAL
    assert "Traceback" in debug.stderr and "in broken" in debug.stderr


# -- SQL errors keep DuckDB's detail, printed as text ---------------------------------------------
@pytest.mark.parametrize(
    ("query", "first", "detail"),
    [
        ("SELECT * FROM lightcurve", "Table with name lightcurve does not exist", 'Did you mean "lightcurves"?'),
        ("SELECT lc_idd FROM lightcurves", 'Referenced column "lc_idd" not found', '"lc_id"'),
        ("SELECT abss(1)", "Scalar Function with name abss does not exist", 'Did you mean "abs"?'),
    ],
)
def test_sql_errors_keep_duckdbs_suggestions(fixture_lake: Path, query: str, first: str, detail: str) -> None:
    proc = run_cli("--lake", str(fixture_lake), "sql", query)
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    head, *rest = error_lines(proc)
    assert head.startswith("error: query failed: ") and first in head
    assert rest and all(line.startswith("    ") for line in rest), proc.stderr
    assert any(detail in line for line in rest), proc.stderr


def test_syntax_error_keeps_the_position_marker_under_the_token(fixture_lake: Path) -> None:
    proc = run_cli("--lake", str(fixture_lake), "sql", "SELECT '[/]' AS tag, 1 +")
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    head, marker_line, caret_line = error_lines(proc)
    assert head.startswith("error: malformed SQL: ") and "syntax error" in head
    # the user's text is printed as typed (square brackets are not console markup) ...
    assert marker_line == "    LINE 1: SELECT '[/]' AS tag, 1 +"
    # ... and the caret still points at the offending '+'
    assert caret_line.strip() == "^" and caret_line.index("^") == marker_line.index("+")


def test_row_limit_note_names_only_options_the_command_has(fixture_lake: Path, capsys) -> None:
    proc = run_cli("--lake", str(fixture_lake), "sql", "SELECT lc_id FROM lightcurves", "--max-rows", "1")
    assert proc.returncode == 0
    assert "(1 shown; use --max-rows or --format csv)" in proc.stderr
    # `status` has neither --max-rows nor --format: without a hint from the command, none is printed
    ui.print_rows(pa.table({"x": [1, 2, 3]}), "table", max_rows=2)
    note = capsys.readouterr().err
    assert "3 rows (2 shown)" in note and "--" not in note


def _options_of(*command: str) -> set[str]:
    import typer.main

    from larun_lake.cli import app

    node = typer.main.get_command(app)
    for name in command:
        node = node.commands[name]
    return {opt for param in node.params for opt in param.opts if opt.startswith("--")}


@pytest.mark.slow
def test_mast_unreachable_during_fetch_missing_names_no_option_materialize_lacks(
    lake_copy: Path, tmp_path: Path
) -> None:
    proc = run_cli(
        "--lake",
        str(lake_copy),
        "materialize",
        "SELECT 'TESS' AS mission, 99 AS target_id",
        "--fetch-missing",
        "--out",
        str(tmp_path / "x.parquet"),
        env={"LARUN_LAKE_MAST_URL": "http://127.0.0.1:9", "LARUN_LAKE_TIMEOUT": "2"},
    )
    line = assert_one_line(proc, 4, "MAST unreachable at http://127.0.0.1:9", "LARUN_LAKE_MAST_URL")
    named = set(re.findall(r"--[a-z][a-z-]*", line.replace("a harvest command's --mast-url", "")))
    assert named <= _options_of("materialize") | {"--lake", "--wait", "--debug", "--quiet"}, line

"""--json on import, harvest, verify, status, materialize and sets; help text in words; --version; completion.

The commands run in process (Typer's CliRunner, or `cli.main` for what only the console script does),
on one small lake made from data/samples plus a truncated file, and on the loopback MAST server.
"""

from __future__ import annotations

import json
import re
import shutil
from importlib.metadata import version
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer.main
from typer.testing import CliRunner

from larun_lake import Lake, cli
from tests.mast_server import MastServer
from tests.mast_server.fixtures import make_tic_rows

from .conftest import FIXTURES, SPOC_S1

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
README_JSON = (REPO / "README.md").read_text(encoding="utf-8").split("## Scripting: `--json`", 1)[1].split("\n## ")[0]
COMMON_KEYS = ["command", "run_id", "ok", "exit_code", "counts", "problems", "timings"]
STATE_COUNTS = {"ingested", "unchanged", "superseded", "skipped", "failed", "quarantined", "cadences"}
HARVEST_FIELDS = {
    "n_products",
    "n_to_fetch",
    "bytes_to_fetch",
    "in_lake",
    "downloaded",
    "reused",
    "bytes_downloaded",
    "metadata_requests",
    "download_requests",
    "dry_run",
    "offline",
}


def run_json(*args: str):
    """Run the CLI in process with --json; the whole of stdout must be one JSON object."""
    result = CliRunner().invoke(cli.app, [*args, "--json"])
    try:
        payload = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not one JSON object: {result.stdout!r} (stderr: {result.stderr!r})") from None
    assert list(payload)[: len(COMMON_KEYS)] == COMMON_KEYS, list(payload)
    assert payload["exit_code"] == result.exit_code and payload["ok"] == (result.exit_code == 0)
    assert payload["timings"]["seconds"] > 0
    assert all(set(p) == {"item", "state", "reason"} for p in payload["problems"])
    undocumented = {key for key in [*payload, *payload["counts"]] if f"`{key}`" not in README_JSON}
    assert not undocumented, f"keys missing from README's --json tables: {undocumented}"
    return result, payload


def one(lake: Path, query: str):
    return Lake(lake).sql(query).fetchall()[0][0]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """data/samples plus a truncated light curve, imported once with --json: (lake, bad file, stderr, payload)."""
    root = tmp_path_factory.mktemp("json")
    bad = root / "cut_lc.fits"
    bad.write_bytes(SPOC_S1.read_bytes()[:20_000])
    lake = root / "lake"
    result, payload = run_json("--lake", str(lake), "import", str(SAMPLES), str(bad))
    return lake, bad, result.stderr, payload


def test_import_json_counts_what_the_lake_holds(imported) -> None:
    lake, bad, stderr, payload = imported
    assert payload["command"] == "import" and payload["exit_code"] == 1  # one file quarantined
    assert payload["run_id"] == one(lake, "SELECT run_id FROM runs")
    counts = payload["counts"]
    assert set(counts) == STATE_COUNTS
    assert counts["ingested"] == one(lake, "SELECT count(*) FROM lightcurves") == 5
    assert counts["cadences"] == one(lake, "SELECT count(*) FROM cadences")
    assert counts["quarantined"] == one(lake, "SELECT count(*) FROM products WHERE state = 'quarantined'") == 1
    assert counts["unchanged"] == counts["superseded"] == counts["failed"] == counts["skipped"] == 0
    [problem] = payload["problems"]
    assert problem["item"] == str(bad) and problem["state"] == "quarantined" and "truncated" in problem["reason"]
    samples = sorted(SAMPLES.glob("*.fits"))
    assert payload["n_files"] == len(samples) + 1
    assert payload["bytes_read"] == sum(p.stat().st_size for p in [*samples, bad])
    assert "ingested (" not in stderr and "quarantined:" not in stderr  # the human summary is not printed
    # The same files again: nothing new, exit 0.
    result, again = run_json("--lake", str(lake), "import", str(SAMPLES))
    assert result.exit_code == 0 and again["ok"] is True and again["problems"] == []
    assert again["counts"]["unchanged"] == 5 and again["counts"]["ingested"] == 0
    assert again["run_id"] != payload["run_id"] and one(lake, "SELECT count(*) FROM runs") == 2


def test_status_json(imported) -> None:
    lake = imported[0]
    _, payload = run_json("--lake", str(lake), "status")
    assert payload["command"] == "status" and payload["exit_code"] == 0 and payload["run_id"] is None
    assert payload["counts"]["lightcurves"] == one(lake, "SELECT count(*) FROM lightcurves") == 5
    states = dict(Lake(lake).sql("SELECT state, count(*) FROM products GROUP BY state").fetchall())
    assert payload["products"] == states and states["quarantined"] == 1
    assert {row["mission"] for row in payload["by_kind"]} == {"TESS", "Kepler", "K2"}
    assert payload["disk_bytes"]["cadences"] > 0 and payload["last_run"]["command"] == "import"


def test_verify_json_consistent_then_damaged(imported, tmp_path: Path) -> None:
    _, payload = run_json("--lake", str(imported[0]), "verify")
    assert payload["exit_code"] == 0 and payload["consistent"] is True and payload["problems"] == []
    assert payload["counts"]["checked_files"] == 5 and payload["counts"]["repairs"] == 0
    lake = tmp_path / "lake"
    shutil.copytree(imported[0], lake)
    rel = one(lake, "SELECT data_file FROM lightcurves WHERE mission = 'K2'")
    (lake / rel).unlink()
    result, payload = run_json("--lake", str(lake), "verify")
    assert result.exit_code == 1 and payload["consistent"] is False
    assert payload["counts"]["missing"] == 1 and payload["missing"] == [rel]
    assert payload["problems"] == [
        {
            "item": rel,
            "state": "missing",
            "reason": "data file gone: run verify --forget-missing, then import or harvest again",
        }
    ]
    assert "missing:" not in result.stderr  # the human lines are not printed


def test_materialize_and_sets_json(imported, tmp_path: Path) -> None:
    lake = str(imported[0])
    out = tmp_path / "sets" / "tess.parquet"
    _, made = run_json(
        "--lake", lake, "materialize", "SELECT lc_id FROM lightcurves WHERE mission = 'TESS'", "--out", str(out)
    )
    assert made["command"] == "materialize" and made["exit_code"] == 0
    rows = pq.read_metadata(out).num_rows
    assert made["set"] == "tess" and made["out"] == str(out) and made["format"] == "parquet"
    assert made["n_lightcurves"] == made["counts"]["lightcurves"] == 3
    assert made["rows"] == made["counts"]["rows"] == rows > 0
    assert Path(made["manifest"]).is_file() and made["warnings"] == []
    _, listed = run_json("--lake", lake, "sets", "list")
    assert listed["counts"] == {"sets": 1} and listed["sets"][0]["name"] == "tess"
    assert listed["sets"][0]["n_rows"] == rows and listed["sets"][0]["content_hash"] == made["content_hash"]
    result, shown = run_json("--lake", lake, "sets", "show", "tess")
    assert result.exit_code == 0 and shown["command"] == "sets show"
    assert shown["changed"] is False and shown["current_hash"] == made["content_hash"]
    assert shown["counts"] == {"superseded": 0, "added": 0, "removed": 0}
    out.unlink()  # the set's output is gone: the set has changed, exit 1, and says why
    result, shown = run_json("--lake", lake, "sets", "show", "tess")
    assert result.exit_code == 1 and shown["output_gone"] is True
    assert shown["problems"] == [
        {"item": str(out), "state": "missing", "reason": "the set's output is no longer there"}
    ]


# -- harvest over the loopback MAST server -------------------------------------------------------
@pytest.fixture
def mast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with MastServer(fits_dir=[FIXTURES / "tess_spoc"], tic_rows=make_tic_rows()) as server:
        monkeypatch.setenv("LARUN_LAKE_MAST_URL", server.url)
        monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield server


def test_harvest_json_dry_run_then_run_with_a_quarantined_product(mast: MastServer, tmp_path: Path) -> None:
    flipped = tmp_path / "flipped_lc.fits"
    data = bytearray(SPOC_S1.read_bytes())
    data[-20000] ^= 0x01  # CHECKSUM no longer holds: fetched twice, then quarantined
    flipped.write_bytes(bytes(data))
    bad = mast.add_file(flipped, tic_id=25155310, sector=77)
    lake = tmp_path / "lake"
    base = ["--lake", str(lake), "harvest", "lightcurves", "--targets", "TIC 25155310", "--author", "SPOC"]
    result, plan = run_json(*base, "--dry-run")
    assert result.exit_code == 0 and plan["command"] == "harvest lightcurves" and plan["dry_run"] is True
    assert plan["run_id"] is None and set(plan) >= HARVEST_FIELDS
    assert plan["n_products"] == plan["n_to_fetch"] == 2 and mast.count("download") == 0  # sectors 1 and 77
    sizes = {mast.uri_for(SPOC_S1.name): SPOC_S1.stat().st_size, bad["dataURI"]: flipped.stat().st_size}
    assert plan["bytes_to_fetch"] == sum(sizes.values())

    mast.reset_counts()
    result, done = run_json(*base)
    assert result.exit_code == 1 and done["ok"] is False and done["dry_run"] is False
    assert done["run_id"] == one(lake, "SELECT run_id FROM runs")
    assert set(done["counts"]) == STATE_COUNTS
    assert done["counts"]["ingested"] == one(lake, "SELECT count(*) FROM lightcurves") == 1
    assert done["counts"]["cadences"] == one(lake, "SELECT count(*) FROM cadences")
    assert done["counts"]["quarantined"] == 1
    assert done["problems"] == [
        {"item": bad["dataURI"], "state": "quarantined", "reason": "FITS checksum mismatch after a second download"}
    ]
    assert done["downloaded"] == done["download_requests"] == mast.count("download") == 3  # the bad file twice
    assert done["bytes_downloaded"] == sum(sizes.values()) + sizes[bad["dataURI"]]
    assert 0 < done["metadata_requests"] <= 4


def test_harvest_tic_json_reports_ids_mast_does_not_know(mast: MastServer, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result, payload = run_json("--lake", str(lake), "harvest", "tic", "--ids", "25155310,999999999")
    assert result.exit_code == 1 and payload["command"] == "harvest tic"
    assert payload["counts"] == {"fetched": 1, "new": 1, "replaced": 0, "not_found": 1}
    assert payload["problems"] == [
        {"item": "TIC 999999999", "state": "not_found", "reason": "MAST returned no row for this TIC id"}
    ]
    assert payload["run_id"] == one(lake, "SELECT run_id FROM runs") and one(lake, "SELECT count(*) FROM tic") == 1
    assert payload["metadata_requests"] >= 1 and payload["not_found"] == [999999999]


# -- errors, --version and completion through the console script's entry point ---------------------
def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        cli.main(list(args))
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


@pytest.mark.parametrize(
    ("args", "command", "code", "message"),
    [
        (["status"], "status", 3, "does not exist"),  # not a lake
        (["sets", "show", "nope"], "sets show", 2, "no materialized set named 'nope'"),
        (["import"], "import", 2, "Missing argument 'PATH'"),  # never reaches the command
    ],
)
def test_errors_with_json_keep_the_exit_code_and_print_an_error_object(
    imported, capsys: pytest.CaptureFixture, tmp_path: Path, args: list[str], command: str, code: int, message: str
) -> None:
    lake = tmp_path / "no-lake" if command == "status" else imported[0]
    exit_code, out, err = run_main(capsys, "--lake", str(lake), *args, "--json")
    assert exit_code == code
    payload = json.loads(out)
    assert payload == {"command": command, "ok": False, "exit_code": code, "error": payload["error"]}
    assert message in payload["error"]
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and message in err


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.splitlines()[0] == f"larun-lake {version('larun-lake')}"


def test_shell_completion_script_and_completions(capsys: pytest.CaptureFixture, monkeypatch) -> None:
    code, out, _ = run_main(capsys, "--show-completion", "bash")
    assert code == 0 and "_LARUN_LAKE_COMPLETE=complete_bash" in out and "complete " in out
    monkeypatch.setenv("_LARUN_LAKE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "larun-lake harvest lightcurves --ta")
    monkeypatch.setenv("COMP_CWORD", "3")
    code, out, _ = run_main(capsys)
    assert code == 0 and out.split() == ["--targets", "--targets-file"]


# -- help text in words --------------------------------------------------------------------------
def _commands(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


JSON_COMMANDS = {
    ("import",),
    ("status",),
    ("verify",),
    ("materialize",),
    ("sets", "list"),
    ("sets", "show"),
    *(("harvest", sub) for sub in ("tic", "lightcurves", "pixels", "cutouts", "observations", "products")),
}
METAVAR = re.compile(r"[A-Za-z][A-Za-z ,|]*(\.\.\.)?|ID,\.\.\.")  # PATH, RA DEC RADIUS, PATH|URL, PATH...


def test_help_of_every_command_names_values_in_words() -> None:
    root = typer.main.get_command(cli.app)
    runner = CliRunner()
    seen = set()
    for path, command in _commands(root):
        seen.add(path)
        result = runner.invoke(cli.app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        text = result.stdout
        for artefact in ("list[", "str]", "<str", "<int", "<float", "<path", "<bool", "{", "}"):
            assert artefact not in text, (path, artefact, text)
        usage = text.splitlines()[0]
        assert usage.startswith("Usage: ") and "<" not in usage, usage
        for param in command.params:
            if param.param_type_name == "argument" or not getattr(param, "is_flag", False):
                assert param.metavar and METAVAR.fullmatch(param.metavar), (path, param.name, param.metavar)
                assert param.metavar in text, (path, param.metavar)
        if path in JSON_COMMANDS:
            assert "--json" in text, path
    assert seen >= JSON_COMMANDS
    assert "PATH..." in runner.invoke(cli.app, ["import", "--help"]).stdout.splitlines()[0]
    assert "--cone RA DEC RADIUS" in runner.invoke(cli.app, ["harvest", "tic", "--help"]).stdout

"""The installed (non-editable) package carries every SQL file and its data files, and loads them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.mark.slow
def test_sql_and_data_files_ship_inside_the_wheel(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    expected = sorted(p.relative_to(REPO / "sql").as_posix() for p in (REPO / "sql").rglob("*.sql"))
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "import larun_lake.sqlfiles as s;"
        "assert 'site' in str(s.sql_root()), s.sql_root();"
        "names = s.list_sql(); [s.load_sql(n) for n in names];"
        "import larun_lake.quality as q; assert 'site' in q.__file__ and len(q.mask_rows()) == 38 and q.bit_rows();"
        "print(json.dumps(names))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import json

    assert json.loads(proc.stdout.strip().splitlines()[-1]) == expected

"""Load the SQL files of the top-level sql/ folder (shipped inside the package as larun_lake/sql)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


@cache
def sql_root() -> Traversable:
    """The installed copy (wheel) if present, else the source checkout's sql/ (editable installs)."""
    packaged = resources.files("larun_lake") / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "sql"


def load_sql(name: str) -> str:
    """Text of sql/<name> (e.g. 'views.sql', 'examples/quiet_stars.sql')."""
    node = sql_root()
    for part in name.split("/"):
        node = node / part
    if not node.is_file():
        raise FileNotFoundError(f"no SQL file {name!r} in {sql_root()}")
    text = node.read_text(encoding="utf-8")
    return _fill(text, name) if "{{" in text else text


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _fill(text: str, name: str) -> str:
    """Replace {{name}} placeholders with what the code knows (e.g. the product kinds' lists)."""
    from .kinds import sql_values  # only the few files with placeholders need the kinds

    values = sql_values()

    def value(match: re.Match) -> str:
        if match[1] not in values:
            raise KeyError(f"SQL file {name!r} uses an unknown placeholder {match[0]}")
        return values[match[1]]

    return _PLACEHOLDER.sub(value, text)


def list_sql(folder: str = "") -> list[str]:
    """Names of the .sql files under sql/<folder>, sorted, relative to sql/."""
    node = sql_root()
    prefix = ""
    for part in filter(None, folder.split("/")):
        node = node / part
        prefix += part + "/"
    out: list[str] = []
    for child in node.iterdir():
        if child.is_dir():
            out.extend(list_sql(prefix + child.name))
        elif child.name.endswith(".sql"):
            out.append(prefix + child.name)
    return sorted(out)

"""Where a command's SQL comes from: the argument, --file (a path, or - for stdin) or --example NAME.

Examples are the shipped sql/examples files, found inside the installed package, so
`--example NAME` works from any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import cli_output as ui
from .errors import UsageError
from .sqlfiles import list_sql, load_sql


def example_names() -> list[str]:
    return [Path(name).stem for name in list_sql("examples")]


def example_summary(name: str) -> str:
    """The example's leading comment, without the command lines it quotes."""
    words = []
    for line in load_sql(f"examples/{name}.sql").splitlines():
        if not line.startswith("--"):
            break
        text = line[2:]
        if text.startswith("   "):  # an indented usage line such as '--   larun-lake materialize ...'
            continue
        words.append(text.strip())
    return " ".join(words)


def print_examples() -> None:
    names = example_names()
    width = max(map(len, names), default=0)
    for name in names:
        ui.out.print(f"{name:<{width}}  {example_summary(name)}", highlight=False, markup=False, soft_wrap=True)


def sql_text(query: str | None, file: Path | None, example: str | None, *, what: str, command: str) -> str:
    """The SQL to run; exactly one of the three sources must be given."""
    if sum(source is not None for source in (query, file, example)) != 1:
        raise UsageError(
            f"give one of: a {what}, --file FILE or --example NAME (not both, not neither)",
            hint=f"larun-lake {command} 'SELECT ...'",
        )
    if example is not None:
        return _example_text(example)
    if file is None:
        return query or ""
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{file}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            hint="save the SQL file as UTF-8",
        ) from exc
    except OSError as exc:
        raise UsageError(f"{file}: cannot read SQL file ({exc.strerror})", hint="check the path") from exc


def _example_text(name: str) -> str:
    stem = Path(name).stem if name.endswith(".sql") else name
    names = example_names()
    if stem not in names:
        raise UsageError(f"no example named {name!r}", hint=f"one of {', '.join(names)}")
    return load_sql(f"examples/{stem}.sql")

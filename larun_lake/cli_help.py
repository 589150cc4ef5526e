"""Help text in words: every option and argument shows a metavar such as PATH, N or RA DEC RADIUS.

Left alone, Typer shows Python types (`<list[str]>`, `<float,float,float>...`) and wraps required
arguments in braces (`{paths}...`). The root command group (`HumanGroup`) fills in, for every
parameter of every command without a metavar of its own, a name from METAVARS (by parameter name,
so an option reads the same in every command) or else from its type, and prints arguments the
usual way: PATH... when required, [SQL] when optional.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import get_args

from typer.core import TyperArgument, TyperGroup

# Parameter name (as in the Python signature) -> metavar.
METAVARS = {
    "aperture": "APERTURE",
    "author": "AUTHOR",
    "bin": "WIDTH",
    "calib_level": "LEVEL",
    "campaigns": "RANGES",
    "catalog": "PATH",
    "collection": "COLLECTION",
    "cone": "RA DEC RADIUS",
    "download": "SUFFIXES",
    "example": "NAME",
    "executor": "local|dask",
    "exptime": "SECONDS",
    "file": "PATH",
    "flux": "COLUMN",
    "fmt": "FORMAT",
    "from_sql": "SQL",
    "ids": "ID,...",
    "ids_file": "PATH",
    "instrument": "INSTRUMENT",
    "lake": "PATH|URL",
    "mast_url": "URL",
    "max_age": "AGE",
    "max_rows": "N",
    "memory_limit": "SIZE",
    "mission": "MISSION",
    "name": "NAME",
    "obsid": "OBSID",
    "out": "PATH|URL",
    "output": "PATH",
    "paths": "PATH...",
    "proposal": "ID",
    "quality": "PRESET|BITMASK",
    "quarters": "RANGES",
    "query": "SQL",
    "scheduler": "ADDRESS",
    "sectors": "RANGES",
    "size": "PIXELS",
    "suffix": "SUFFIXES",
    "target": "NAME",
    "targets": "TARGET",
    "targets_file": "PATH",
    "threads": "N",
    "type": "TYPE",
    "wait": "SECONDS",
    "where": "CRITERIA",
    "workers": "N",
}
_BY_TYPE = {str: "TEXT", int: "N", float: "NUMBER"}


class HumanArgument(TyperArgument):
    """An argument shown by its metavar alone, in the usage line and in the Arguments list."""

    def display_type_rich(self, ctx) -> None:
        return None  # the metavar already says what to give

    def get_error_hint(self) -> str:
        return f"'{(self.metavar or self.name.upper()).removesuffix('...')}'"

    def get_usage_pieces(self, ctx) -> list[str]:
        name = self.metavar or self.name.upper()
        return [name if self.required else f"[{name}]"]


class HumanGroup(TyperGroup):
    """The root command: gives every parameter below it a metavar in words (see the module's note)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        humanize(self)


def humanize(command) -> None:
    for param in command.params:
        if getattr(param, "is_flag", False) or param.param_type_name not in ("option", "argument"):
            continue
        if param.metavar is None:
            param.metavar = metavar_for(param)
        if isinstance(param, TyperArgument):
            param.__class__ = HumanArgument
    for sub in getattr(command, "commands", {}).values():
        humanize(sub)


def metavar_for(param) -> str:
    if param.name in METAVARS:
        return METAVARS[param.name]
    annotation = param.type_descriptor.annotation
    kinds = get_args(annotation) or (annotation,)  # list[str] -> str; tuple[float, float] -> both
    words = [
        _BY_TYPE.get(kind, "PATH" if isinstance(kind, type) and issubclass(kind, PurePath) else "VALUE")
        for kind in kinds
    ]
    text = " ".join(words) if param.nargs > 1 else words[0]
    return text + "..." if param.param_type_name == "argument" and param.nargs == -1 else text

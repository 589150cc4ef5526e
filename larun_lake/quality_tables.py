"""Generate the shipped quality tables (larun_lake/data/quality_tables.json) from lightkurve.

The masks must be exactly lightkurve's, so they are generated from its flag classes rather
than typed by hand; they ship as data because importing lightkurve takes seconds, and no
command but writing lightkurve files should pay for that. After a lightkurve upgrade run

    python -m larun_lake.quality_tables

and commit the file if it changed (a test regenerates it and compares).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from .kinds import KINDS
from .quality import PRESETS, TABLES_PATH


def _flag_class(name: str) -> type:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
        from lightkurve import utils

    return getattr(utils, name)


def _flag_names(cls: type) -> dict[int, str]:
    return {
        v: k for k, v in vars(cls).items() if isinstance(v, int) and not k.isupper() and v > 0 and (v & (v - 1)) == 0
    }


def mask_rows() -> list[dict]:
    """Every (mission, author, preset[, sector range]) bitmask, as lightkurve applies them."""
    rows: list[dict] = []
    for kind in KINDS:
        cls = _flag_class(kind.quality_flags)
        for preset in PRESETS:
            base = cls.OPTIONS[preset]
            hard = preset in ("hard", "hardest") and kind.low_precision_bits
            for lo, hi, extra in kind.low_precision_bits if hard else ((None, None, 0),):
                rows.append(
                    {
                        "mission": kind.mission,
                        "author": kind.author,
                        "preset": preset,
                        "sector_min": lo,
                        "sector_max": hi,
                        "bitmask": base | extra,
                    }
                )
    return rows


def bit_rows() -> list[dict]:
    """One row per QUALITY bit per product kind, with its preset membership."""
    rows: list[dict] = []
    for kind in KINDS:
        cls = _flag_class(kind.quality_flags)
        names = _flag_names(cls)
        for value, description in sorted(cls.STRINGS.items()):
            rows.append(
                {
                    "mission": kind.mission,
                    "author": kind.author,
                    "bit": value.bit_length() - 1,
                    "value": value,
                    "name": names.get(value, f"bit{value}"),
                    "description": description,
                    "in_default": bool(value & cls.DEFAULT_BITMASK),
                    "in_hard": bool(value & cls.HARD_BITMASK),
                    "in_hardest": bool(value & cls.HARDEST_BITMASK),
                    "sector_min": None,
                    "sector_max": None,
                }
            )
        for lo, hi, extra in kind.low_precision_bits:
            rows.append(
                {
                    "mission": kind.mission,
                    "author": kind.author,
                    "bit": extra.bit_length() - 1,
                    "value": extra,
                    "name": "LowPrecision",
                    "description": f"{kind.author} low-precision point",
                    "in_default": False,
                    "in_hard": True,
                    "in_hardest": True,
                    "sector_min": lo,
                    "sector_max": hi,
                }
            )
    return rows


def generate() -> dict:
    return {"bits": bit_rows(), "masks": mask_rows()}


def render(tables: dict) -> str:
    """The file's text: one row a line, so that a changed bit shows as a one-line diff."""
    parts = []
    for key in ("bits", "masks"):
        rows = ",\n".join("    " + json.dumps(row) for row in tables[key])
        parts.append(f'  "{key}": [\n{rows}\n  ]')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else TABLES_PATH
    path.write_text(render(generate()), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

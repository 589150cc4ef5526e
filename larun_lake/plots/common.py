"""What every plot shares: headless figures, colours, labels, and writing a figure to a user's file.

Figures are made with matplotlib's object API on the Agg canvas, never through pyplot: nothing needs
a display, and no global figure registry keeps them alive after the caller drops them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from ..lake import files
from ..lake.outputs import check_output, remove_stale_temporaries, temporary_beside

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg", "pdf")
DEFAULT_DPI = 100

GOOD = "#1f4e79"  # cadences the quality preset keeps
FLAGGED = "#d62728"  # cadences the preset drops
BINNED = "#ff7f0e"

# Panel labels for the period keys of the lake (s0024, q02, c04, p02734).
_PERIOD_WORDS = {"s": "sector", "q": "quarter", "c": "campaign", "p": "proposal"}


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by Agg, whatever backend the session has selected."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def element_id(lc_id: str, layer: str | None = None) -> str:
    """An id for a light curve's panel (or one layer of it: good, flagged, binned), unique in the figure and
    valid in SVG, where matplotlib writes it as the group's id: 'TESS:SPOC:5:s0001:120' -> 'lc-TESS-SPOC-5-s0001-120'."""
    base = "lc-" + re.sub(r"[^A-Za-z0-9_.-]", "-", lc_id)
    return f"{base}-{layer}" if layer else base


def robust_limits(values: np.ndarray, *, pad: float = 0.5) -> tuple[float, float] | None:
    """y limits around the bulk of `values` (0.05 to 99.95 percentiles, widened by `pad` of that span), so that
    a few outliers do not flatten a light curve; None when there is nothing finite to scale to."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return None
    lo, hi = (float(v) for v in np.percentile(finite, [0.05, 99.95]))
    margin = pad * (hi - lo) or 0.01 * abs(hi) or 1.0
    return lo - margin, hi + margin


def period_label(period: str) -> str:
    """'s0024' -> 'sector 24', 'q02' -> 'quarter 2', 'p02734' -> 'proposal 2734'."""
    m = re.fullmatch(r"([a-z])(\d+)", period or "")
    if not m or m[1] not in _PERIOD_WORDS:
        return period
    return f"{_PERIOD_WORDS[m[1]]} {int(m[2])}"


def output_format(path: str | os.PathLike[str]) -> str:
    """The figure format an output's extension names; anything else is a usage error."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        named = f"extension .{suffix}" if suffix else "no extension"
        raise UsageError(f"--out {path} has {named}", hint=f"end the file name with .{', .'.join(FORMATS)}")
    return suffix


def check_figure_output(lake_root: Path, path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Refuse, before any drawing, an output of unknown format, inside the lake, or over an existing file
    without `overwrite` (the same rules as every other output of the lake's commands)."""
    output_format(path)
    return check_output(lake_root, Path(path), overwrite=overwrite, option="--out")


def save_figure(
    fig: Figure, lake_root: Path, path: str | os.PathLike[str], *, overwrite: bool = False, dpi: int = DEFAULT_DPI
) -> Path:
    """Write `fig` in the format its extension names, under a temporary name renamed into place."""
    target = check_figure_output(lake_root, path, overwrite=overwrite)
    if not (10 <= dpi <= 1200):
        raise UsageError(f"--dpi {dpi} is out of range", hint="use 10 to 1200 (80 to 150 suits a screen)")
    remove_stale_temporaries(target)
    tmp = temporary_beside(target)
    try:
        files.make_dirs(target.parent)
        fig.savefig(tmp, format=output_format(target), dpi=dpi, metadata=_metadata(output_format(target)))
        files.publish(tmp, target)
    finally:
        files.remove_any(tmp)
    return target


def _metadata(fmt: str) -> dict[str, str | None]:
    """No creation date in SVG/PDF output, so that the same plot of the same lake gives the same bytes."""
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}

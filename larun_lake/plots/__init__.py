"""Quick looks at a lake with matplotlib, drawn headless (Agg):

lc.py        one target's light curves, a panel per light curve, flagged cadences marked, binned overlay
coverage.py  the lake's targets on the sky and its light curves per period and author
setgrid.py   a grid of a materialized set's light curves
common.py    figures, colours, and writing a figure (png/svg/pdf by extension) outside the lake
"""

from __future__ import annotations

from .common import DEFAULT_DPI, FORMATS, check_figure_output, save_figure
from .coverage import plot_coverage
from .lc import plot_lightcurves
from .setgrid import plot_grid, plot_set

__all__ = [
    "DEFAULT_DPI",
    "FORMATS",
    "check_figure_output",
    "plot_coverage",
    "plot_grid",
    "plot_lightcurves",
    "plot_set",
    "save_figure",
]

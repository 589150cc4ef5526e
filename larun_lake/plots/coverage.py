"""`plot coverage`: what the lake holds, as a sky map of its targets and light curves per period and author."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from ..sqlfiles import load_sql
from .common import new_figure

if TYPE_CHECKING:
    import pyarrow as pa
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..api import Lake

MAX_TICK_LABELS = 60  # beyond this many periods, label every n-th bar only


def coverage_tables(lake: Lake) -> tuple[pa.Table, pa.Table]:
    """(one row per target with ra, dec, n_periods; light curves per mission, period and author)."""
    targets = lake.sql(load_sql("plots/coverage_targets.sql")).arrow()
    periods = lake.sql(load_sql("plots/coverage_periods.sql")).arrow()
    if targets.num_rows == 0:
        raise UsageError("the lake holds no light curves yet", hint="import or harvest some first")
    return targets, periods


def plot_coverage(lake: Lake) -> Figure:
    """Targets on the sky (Mollweide, RA increasing to the left) coloured by their number of periods,
    above a bar chart of light curves per sector/quarter/campaign, stacked by author."""
    targets, periods = coverage_tables(lake)
    fig = new_figure(10.0, 9.0)
    grid = fig.add_gridspec(2, 1, height_ratios=[1.5, 1.0])
    sky = fig.add_subplot(grid[0], projection="mollweide")
    bars = fig.add_subplot(grid[1])
    draw_sky(fig, sky, targets)
    draw_bars(bars, periods)
    n_lc = sum(periods.column("n_lightcurves").to_pylist())
    fig.suptitle(f"lake coverage: {targets.num_rows} targets, {n_lc} light curves", fontsize=11)
    return fig


def draw_sky(fig: Figure, ax: Axes, targets: pa.Table) -> None:
    from matplotlib.ticker import MaxNLocator

    ra = np.array(targets.column("ra").to_pylist(), dtype=float)
    dec = np.array(targets.column("dec").to_pylist(), dtype=float)
    n_periods = np.array(targets.column("n_periods").to_pylist(), dtype=float)
    placed = np.isfinite(ra) & np.isfinite(dec)
    # Astronomers' convention: RA grows to the left, 0h in the middle.
    lon = -np.radians(((ra[placed] + 180.0) % 360.0) - 180.0)
    points = ax.scatter(
        lon,
        np.radians(dec[placed]),
        c=n_periods[placed],
        cmap="viridis",
        s=18,
        vmin=1,
        vmax=max(2.0, float(n_periods.max())),
        edgecolors="black",
        linewidths=0.3,
        gid="targets",
    )
    degrees = np.arange(-150, 151, 30)
    ax.set_xticks(np.radians(degrees))
    ax.set_xticklabels([f"{(-d % 360) // 15}h" for d in degrees], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, linewidth=0.4, alpha=0.6)
    unplaced = int((~placed).sum())
    note = f" ({unplaced} without coordinates)" if unplaced else ""
    ax.set_title(f"{int(placed.sum())} targets on the sky (RA, Dec){note}", fontsize=9)
    bar = fig.colorbar(points, ax=ax, orientation="horizontal", shrink=0.4, pad=0.04, aspect=30)
    bar.set_label("periods (sectors, quarters, campaigns)", fontsize=8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    bar.ax.tick_params(labelsize=7)


def draw_bars(ax: Axes, periods: pa.Table) -> None:
    rows = periods.to_pylist()
    slots = list(dict.fromkeys((r["mission"], r["period"]) for r in rows))
    position = {slot: i for i, slot in enumerate(slots)}
    authors = list(dict.fromkeys(sorted(r["author"] for r in rows)))
    bottom = np.zeros(len(slots))
    colours = _colours(len(authors))
    for author, colour in zip(authors, colours, strict=True):
        heights = np.zeros(len(slots))
        for r in rows:
            if r["author"] == author:
                heights[position[(r["mission"], r["period"])]] = r["n_lightcurves"]
        ax.bar(
            np.arange(len(slots)),
            heights,
            bottom=bottom,
            color=colour,
            label=author,
        )
        bottom += heights
    step = max(1, -(-len(slots) // MAX_TICK_LABELS))
    ax.set_xticks(np.arange(0, len(slots), step))
    ax.set_xticklabels([f"{m} {p}" for m, p in slots[::step]], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(slots) - 0.4)
    ax.set_ylabel("light curves", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(title="author", fontsize=7, title_fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("light curves per sector / quarter / campaign, by author", fontsize=9)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]

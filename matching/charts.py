"""Report charts rendered with matplotlib (Agg, no display): gap heatmap, gap bars and the IPA scatter, as PNG or SVG.

Pure functions from labels and numbers to bytes (no Django). Output is deterministic: the same data gives the same
bytes (no date or software metadata, fixed SVG id salt), and SVG keeps its text as text so labels stay searchable.
Figures are built with `matplotlib.figure.Figure`, never pyplot, so no global figure state is shared between
requests.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import colormaps, rc_context  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 110
FONT_SIZE = 9
CELL_WIDTH_IN = 0.95
CELL_HEIGHT_IN = 0.42
EMPTY_CELL_COLOUR = "#eeeeee"
BAR_COLOUR = "#e34a33"
MAX_COLUMNS = 12
_RC = {
    "svg.hashsalt": "ancrage",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "path.simplify": True,
}
# Long official names make unreadable axes; these abbreviations are the ones French administrations use.
_ABBREVIATIONS = (
    ("Communauté d'agglomération", "CA"),
    ("Communauté de communes", "CC"),
    ("Communauté urbaine", "CU"),
)


def short_label(label: str, width: int = 22, max_lines: int = 3) -> str:
    """Abbreviate intercommunality kinds and wrap on words, on at most `max_lines` lines (ellipsis past that)."""
    for long, short in _ABBREVIATIONS:
        if label.startswith(long):
            label = short + label[len(long) :]
    lines = textwrap.wrap(label, width=width, break_long_words=False) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


def _save(figure: Figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    with rc_context(_RC):
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata, bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def _wrapped_title(title: str, width_in: float) -> str:
    # Never inside a hyphenated token: run ids (UUIDs) in titles and source lines must stay whole and searchable
    # (textwrap splits after a hyphen that follows a letter, so whether an id broke depended on its random digits).
    return "\n".join(textwrap.wrap(title, width=max(40, int(width_in * 11)), break_on_hyphens=False))


def _legend_lines(legend: str) -> str:
    """'Écart pondéré (importance × …)' -> two lines, cut before the parenthesis so the formula stays whole."""
    head, paren, tail = legend.partition(" (")
    return f"{head}\n({tail}" if paren else legend


def _text_colour(value: float, norm: Normalize, cmap) -> str:
    red, green, blue, _ = cmap(norm(value))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "black" if luminance > 0.5 else "white"


def gap_heatmap(
    *,
    title: str,
    row_title: str,
    col_title: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    legend: str,
    empty_note: str,
    fmt: str = "png",
) -> bytes:
    """A heatmap of total gap: one row per first-dimension value, one column per second; None = no need (grey,
    explained by `empty_note` under the chart).

    When the second dimension has more than MAX_COLUMNS values and more than the first, the matrix is transposed:
    long lists read well down the page, not across it.
    """
    if len(col_labels) > MAX_COLUMNS and len(col_labels) > len(row_labels):
        row_title, col_title = col_title, row_title
        row_labels, col_labels = col_labels, row_labels
        values = [list(column) for column in zip(*values, strict=True)] if values else []
    n_rows, n_cols = len(row_labels), len(col_labels)
    data = np.array([[math.nan if value is None else value for value in row] for row in values], dtype=float)
    if data.size == 0:
        data = np.full((max(n_rows, 1), max(n_cols, 1)), math.nan)
    masked = np.ma.masked_invalid(data)
    with rc_context(_RC):
        # Size from the number of cells so that labels and annotations never overlap; capped to stay printable.
        width = min(2.6 + CELL_WIDTH_IN * max(n_cols, 1) + 1.4, 30)
        height = min(1.6 + CELL_HEIGHT_IN * max(n_rows, 1) + 1.2, 30)
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.add_subplot()
        cmap = colormaps["YlOrRd"].with_extremes(bad=EMPTY_CELL_COLOUR)
        top = float(np.nanmax(data)) if np.isfinite(data).any() else 1.0
        norm = Normalize(vmin=0.0, vmax=top if top > 0 else 1.0)
        image = axes.imshow(masked, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        axes.set_xticks(range(n_cols), [short_label(label, width=16) for label in col_labels])
        axes.set_yticks(range(n_rows), [short_label(label, width=34, max_lines=2) for label in row_labels])
        axes.xaxis.tick_top()
        axes.xaxis.set_label_position("top")
        axes.tick_params(axis="x", labelsize=FONT_SIZE - 1, length=0)
        axes.tick_params(axis="y", length=0)
        axes.set_xlabel(col_title, fontweight="bold", labelpad=8)
        axes.set_ylabel(row_title, fontweight="bold")
        # White grid lines between cells make rows easy to follow.
        axes.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
        axes.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
        axes.grid(which="minor", color="white", linewidth=1.5)
        axes.tick_params(which="minor", length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        annotation_size = FONT_SIZE - 1 if n_cols <= 12 else FONT_SIZE - 2
        for i in range(n_rows):
            for j in range(n_cols):
                value = data[i, j]
                if math.isnan(value):
                    axes.text(j, i, "–", ha="center", va="center", color="#999999", fontsize=annotation_size)
                else:
                    axes.text(
                        j,
                        i,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=annotation_size,
                        color=_text_colour(value, norm, cmap),
                    )
        colourbar = figure.colorbar(image, ax=axes, shrink=min(1.0, max(0.4, 6 / max(n_rows, 1))), pad=0.02)
        colourbar.set_label(_legend_lines(legend), fontsize=FONT_SIZE)
        figure.suptitle(_wrapped_title(title, width), fontsize=FONT_SIZE + 3, fontweight="bold")
        figure.text(
            0.0,
            0.0,
            empty_note,
            fontsize=FONT_SIZE - 1,
            color="#555555",
        )
        return _save(figure, fmt)


def gap_bars(
    *, title: str, row_title: str, row_labels: Sequence[str], values: Sequence[float], legend: str, fmt: str = "png"
) -> bytes:
    """A horizontal bar chart of total gap per group, largest at the top, each bar annotated with its value."""
    n_rows = len(row_labels)
    with rc_context(_RC):
        width = 8.5
        height = min(1.6 + 0.38 * max(n_rows, 1), 30)
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.add_subplot()
        positions = np.arange(n_rows)
        top = max(values, default=0.0) or 1.0
        axes.barh(positions, values, color=BAR_COLOUR, height=0.7)
        axes.set_ylim(n_rows - 0.5, -0.5)
        axes.set_yticks(positions, [short_label(label, width=34, max_lines=2) for label in row_labels])
        axes.set_xlim(0, top * 1.15)
        for position, value in zip(positions, values, strict=True):
            axes.text(value + top * 0.01, position, f"{value:.2f}", va="center", fontsize=FONT_SIZE - 1)
        axes.set_xlabel(legend)
        axes.set_ylabel(row_title, fontweight="bold")
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        figure.suptitle(_wrapped_title(title, width), fontsize=FONT_SIZE + 3, fontweight="bold")
        return _save(figure, fmt)


QUADRANT_COLOURS = {
    "concentrate-here": "#d7301f",
    "keep-up-the-good-work": "#1a9850",
    "low-priority": "#7f7f7f",
    "possible-overkill": "#2c7bb6",
}


def ipa_scatter(
    *,
    title: str,
    importance: Sequence[float],
    satisfaction: Sequence[float],
    quadrants: Sequence[str],
    importance_cross: float,
    satisfaction_cross: float,
    quadrant_labels: dict[str, str],
    crosshair_label: str,
    satisfaction_axis: str,
    importance_axis: str,
    diagonal_label: str,
    fmt: str = "png",
) -> bytes:
    """The classic IPA grid: satisfaction (performance) on x, importance on y, crosshairs and the four quadrants.

    Every text is the caller's (the chart is drawn in the language of the request)."""
    with rc_context(_RC):
        figure = Figure(figsize=(8.5, 7.5), layout="constrained")
        axes = figure.add_subplot()
        # A small margin so that points at 0 or 1 are not cut in half by the frame.
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.02)
        for code, colour in QUADRANT_COLOURS.items():
            points = [(s, i) for s, i, q in zip(satisfaction, importance, quadrants, strict=True) if q == code]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.scatter(
                    xs,
                    ys,
                    s=28,
                    color=colour,
                    alpha=0.75,
                    edgecolors="white",
                    linewidths=0.5,
                    label=f"{quadrant_labels[code]} ({len(points)})",
                )
        if not (math.isnan(importance_cross) or math.isnan(satisfaction_cross)):
            axes.axhline(importance_cross, color="#333333", linewidth=1.2, linestyle="--")
            axes.axvline(satisfaction_cross, color="#333333", linewidth=1.2, linestyle="--")
            # Quadrant names in the corners of the grid, in Martilla & James' layout.
            # A white box keeps the names readable over the points.
            corner = {
                "fontsize": FONT_SIZE + 1,
                "fontweight": "bold",
                "zorder": 5,
                "bbox": {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
            }
            axes.text(0.02, 0.98, quadrant_labels["concentrate-here"], ha="left", va="top",
                      color=QUADRANT_COLOURS["concentrate-here"], transform=axes.transAxes, **corner)  # fmt: skip
            axes.text(0.98, 0.98, quadrant_labels["keep-up-the-good-work"], ha="right", va="top",
                      color=QUADRANT_COLOURS["keep-up-the-good-work"], transform=axes.transAxes, **corner)  # fmt: skip
            axes.text(0.02, 0.02, quadrant_labels["low-priority"], ha="left", va="bottom",
                      color=QUADRANT_COLOURS["low-priority"], transform=axes.transAxes, **corner)  # fmt: skip
            axes.text(0.98, 0.02, quadrant_labels["possible-overkill"], ha="right", va="bottom",
                      color=QUADRANT_COLOURS["possible-overkill"], transform=axes.transAxes, **corner)  # fmt: skip
        axes.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=0.8, linestyle=":", label=diagonal_label)
        axes.set_xlabel(satisfaction_axis)
        axes.set_ylabel(importance_axis)
        axes.grid(color="#eeeeee", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False, fontsize=FONT_SIZE)
        figure.suptitle(title, fontsize=FONT_SIZE + 3, fontweight="bold")
        axes.set_title(crosshair_label, fontsize=FONT_SIZE, color="#555555")
        return _save(figure, fmt)

"""The map of the gap by territory, rendered with matplotlib in the house chart style (`matching.charts`): filled
polygons where contours are known, proportional circles at centroids elsewhere, a legend, a scale bar, a north
arrow, a title and a source line. PNG or SVG.

Pure (no Django): inputs are polygons, centroids and values; every human-readable text is a parameter, so the caller
translates it. Coordinates are WGS 84 longitude/latitude, drawn in an equirectangular projection scaled by the
cosine of the mean latitude (distances within a département stay true to about 1%, without pyproj).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from matching.charts import _RC, EMPTY_CELL_COLOUR, FONT_SIZE, _legend_lines, _save, _wrapped_title, short_label

KM_PER_DEGREE = 111.32  # of latitude (and of longitude at the equator)
BORDER_COLOUR = "#333333"
CIRCLE_MAX_POINTS2 = 900.0  # marker area (points²) of the largest circle
NOT_PLACED_MAX = 12  # territories listed by name under the map; more are counted

Ring = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class MapArea:
    """One territory of the map: its value (None = no need there), its polygons (outer rings, lon/lat) when its
    contour is known, else its centroid (lon, lat) when known; `group` is the code of the wider unit whose border
    is drawn thicker (the EPCI of a commune)."""

    code: str
    label: str
    value: float | None
    polygons: Sequence[Ring] = ()
    centroid: tuple[float, float] | None = None
    group: str = ""


@dataclass(frozen=True)
class MapTexts:
    """Every text the map shows (translated by the caller); `{km}` in `scale` is replaced by the bar's length."""

    title: str
    legend: str
    circles: str
    no_need: str
    not_placed: str
    source: str
    scale: str = "{km} km"
    north: str = "N"
    extra_lines: Sequence[str] = field(default_factory=tuple)


def _project(points: Iterable[tuple[float, float]], cos_lat: float) -> np.ndarray:
    array = np.asarray(list(points), dtype=float).reshape(-1, 2)
    return np.column_stack((array[:, 0] * cos_lat, array[:, 1]))


def group_borders(areas: Sequence[MapArea]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The edges of the areas' polygons that border another group or the outside: the outline of each group
    without computing unions. Contours that share their vertices (a topology, as Admin Express' simplified
    communes) give exact borders."""
    edges: dict[frozenset, set[str]] = {}
    counts: Counter = Counter()
    ends: dict[frozenset, tuple] = {}
    for area in areas:
        for ring in area.polygons:
            for start, end in zip(ring, ring[1:], strict=False):
                key = frozenset((tuple(start), tuple(end)))
                if len(key) < 2:
                    continue
                counts[key] += 1
                edges.setdefault(key, set()).add(area.group)
                ends[key] = (tuple(start), tuple(end))
    return [ends[key] for key, groups in edges.items() if counts[key] == 1 or len(groups) > 1]


def _nice_km(span_km: float) -> float:
    """A round length near a fifth of the map's width: 1, 2, 5, 10, 20, 50... km."""
    target = max(span_km / 5, 0.1)
    power = 10 ** math.floor(math.log10(target))
    return max((step * power for step in (1, 2, 5, 10) if step * power <= target), default=power)


def _format_number(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


SEQUENTIAL_COLOURS = "YlOrRd"  # a gap: 0 (pale) to the largest (dark red)
DIVERGING_COLOURS = "RdBu_r"  # a change of gap: shrank (blue), 0 (white), grew (red)


def gap_map(
    *,
    areas: Sequence[MapArea],
    texts: MapTexts,
    fmt: str = "png",
    decimal_comma: bool = True,
    diverging: bool = False,
) -> bytes:
    """The map: areas with polygons filled by their value (grey without need), thin white borders between areas and
    thick ones between groups; areas with only a centroid as circles whose surface is proportional to the value
    (to its absolute value when `diverging`); areas with neither listed under the map. `diverging` (values of both
    signs, a change): a blue-white-red scale symmetric around 0, so 0 is white and the two directions compare."""
    number = _format_number if decimal_comma else (lambda value: f"{value:.2f}")
    values = [abs(area.value) for area in areas if area.value is not None]
    top = max(values, default=0.0) or 1.0
    norm = Normalize(vmin=-top if diverging else 0.0, vmax=top)
    cmap = colormaps[DIVERGING_COLOURS if diverging else SEQUENTIAL_COLOURS]
    drawn = [area for area in areas if area.polygons]
    circled = [area for area in areas if not area.polygons and area.centroid and area.value is not None]
    not_placed = [area for area in areas if not area.polygons and not area.centroid and area.value is not None]
    points = [point for area in drawn for ring in area.polygons for point in ring]
    points += [area.centroid for area in circled]
    lat0 = float(np.mean([lat for _lon, lat in points])) if points else 46.0
    cos_lat = math.cos(math.radians(lat0))
    with rc_context(_RC):
        width = 8.5
        figure = Figure(figsize=(width, 9.0), layout="constrained")
        axes = figure.add_subplot()
        axes.set_aspect("equal")
        axes.set_axis_off()
        if drawn:
            polygons = [_project(ring, cos_lat) for area in drawn for ring in area.polygons]
            colours = [
                EMPTY_CELL_COLOUR if area.value is None else cmap(norm(area.value))
                for area in drawn
                for _ring in area.polygons
            ]
            axes.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors="white", linewidths=0.4))
            borders = [_project(segment, cos_lat) for segment in group_borders(drawn)]
            axes.add_collection(LineCollection(borders, colors=BORDER_COLOUR, linewidths=1.4, capstyle="round"))
        if circled:
            xy = _project((area.centroid for area in circled), cos_lat)
            sizes = [CIRCLE_MAX_POINTS2 * abs(area.value) / top for area in circled]
            axes.scatter(xy[:, 0], xy[:, 1], s=sizes, c=[cmap(norm(area.value)) for area in circled],
                         edgecolors=BORDER_COLOUR, linewidths=0.6, alpha=0.9, zorder=3)  # fmt: skip
            for area, (x, y) in zip(circled, xy, strict=True):
                axes.annotate(short_label(area.label, width=18, max_lines=2), (x, y), xytext=(0, -12),
                              textcoords="offset points", ha="center", va="top", fontsize=FONT_SIZE - 2)  # fmt: skip
        if points:
            projected = _project(points, cos_lat)
            (x_min, y_min), (x_max, y_max) = projected.min(axis=0), projected.max(axis=0)
            pad = max(x_max - x_min, y_max - y_min, 0.05) * 0.06
            axes.set_xlim(x_min - pad, x_max + pad)
            axes.set_ylim(y_min - pad * 1.8, y_max + pad)
            _scale_bar(axes, x_min, y_min - pad * 1.2, (x_max - x_min) * KM_PER_DEGREE, texts.scale)
            _north_arrow(axes, x_max, y_max, pad, texts.north)
        else:
            axes.set_xlim(0, 1)
            axes.set_ylim(0, 1)
        mappable = figure.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=axes, orientation="horizontal", shrink=0.6, pad=0.02, aspect=35
        )
        mappable.set_label(_legend_lines(texts.legend), fontsize=FONT_SIZE)
        mappable.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: number(value)))
        handles = (
            [Patch(facecolor=EMPTY_CELL_COLOUR, edgecolor="white", label=texts.no_need)]
            if any(area.value is None for area in drawn)
            else []
        )
        if circled:
            for fraction in (1.0, 0.5, 0.1):
                handles.append(
                    axes.scatter(
                        [],
                        [],
                        s=CIRCLE_MAX_POINTS2 * fraction,
                        facecolors="none",
                        edgecolors=BORDER_COLOUR,
                        label=number(top * fraction),
                    )  # fmt: skip
                )
        if handles:
            figure.legend(
                handles=handles,
                title=texts.circles if circled else None,
                loc="outside right upper",
                frameon=False,
                fontsize=FONT_SIZE - 1,
                title_fontsize=FONT_SIZE - 1,
                labelspacing=2.0 if circled else 0.5,
                handletextpad=1.6,
                borderpad=1.2,
            )
        # Narrower beside the legend, which stands outside the axes at the upper right, level with the title.
        title_width = width * 0.7 if handles else width
        figure.suptitle(_wrapped_title(texts.title, title_width), fontsize=FONT_SIZE + 3, fontweight="bold")
        lines = list(texts.extra_lines)
        if not_placed:
            names = ", ".join(f"{area.label} ({number(area.value)})" for area in not_placed[:NOT_PLACED_MAX])
            more = len(not_placed) - NOT_PLACED_MAX
            lines.append(f"{texts.not_placed} {names}" + (f" (+{more})" if more > 0 else ""))
        lines.append(texts.source)
        figure.text(0.0, 0.0, "\n".join(_wrapped_title(line, width * 1.15) for line in lines),
                    fontsize=FONT_SIZE - 1, color="#555555", va="top")  # fmt: skip
        return _save(figure, fmt)


def _scale_bar(axes, x: float, y: float, span_km: float, label: str) -> None:
    km = _nice_km(span_km)
    length = km / KM_PER_DEGREE  # projected units are degrees of latitude
    axes.plot([x, x + length], [y, y], color=BORDER_COLOUR, linewidth=2.5, solid_capstyle="butt")
    km_text = f"{km:g}"
    axes.text(x + length / 2, y, label.format(km=km_text), ha="center", va="bottom", fontsize=FONT_SIZE - 1)


def _north_arrow(axes, x: float, y: float, pad: float, label: str) -> None:
    axes.annotate(label, xy=(x, y), xytext=(x, y - pad * 2.2), ha="center", va="center", fontsize=FONT_SIZE,
                  fontweight="bold", arrowprops={"arrowstyle": "-|>", "color": BORDER_COLOUR})  # fmt: skip


def areas_from_values(
    *,
    values: Mapping[str, float],
    labels: Mapping[str, str],
    polygons: Mapping[str, Sequence[Ring]],
    centroids: Mapping[str, tuple[float, float] | None],
    groups: Mapping[str, str] | None = None,
) -> list[MapArea]:
    """MapAreas of every code with polygons (valued or not) and of every valued code (placed or not)."""
    groups = groups or {}
    codes = list(dict.fromkeys([*polygons, *values]))
    return [
        MapArea(
            code=code,
            label=labels.get(code, code),
            value=values.get(code),
            polygons=polygons.get(code, ()),
            centroid=None if polygons.get(code) else centroids.get(code),
            group=groups.get(code, code),
        )
        for code in codes
    ]

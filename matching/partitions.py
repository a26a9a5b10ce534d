"""Territorial partitioning of the offer index: which offers a need of a given area could score on geography, so a
run's retrieval skips the places too far away to matter (NumPy and SciPy, no Django).

The offers are split into blocks of positions: per cell of a latitude/longitude grid (`CELL_DEGREES`), the offers
with coordinates there; per département, the offers whose service area lies there or reaches it; and one block of
*wide* offers that every need searches. A need of area A searches:

- the cells *near* A: a lower bound of the distance between A's commune centroids (what `engine._geography`
  measures against) and the bounding box of the cell's offers is at most `geography_cutoff_km`, the distance beyond
  which the geography factor falls below `GEOGRAPHY_FLOOR`, or at most `ANCHOR_KM` (an offer located in A is within
  `ANCHOR_KM` of its commune's centroid, one of A's points, so its cell is always searched);
- the service-area blocks of A's own départements (an offer serving a territory that overlaps A is inside A,
  factor 1, wherever it is located);
- the wide block.

Every offer is placed by what can make its factor reach the floor for A: it goes to the cell of its coordinates
when it has some (reached by the needs within the cutoff of them), and to the service-area blocks of every
département its service area covers (each département of a région it serves) and, unless it is *located*, of its
commune's département (reached by the needs inside them, factor 1). An offer is located when its coordinates are
within `ANCHOR_KM` of its commune's centroid: its cell then stands for its commune. Outside those blocks, an offer
is outside A and its factor is 0 (no coordinates) or below the floor (coordinates beyond the cutoff). Only the
offers whose service area covers every département (France) or cannot be resolved to départements (a territory
filed under none), or whose commune is filed under no département, stay in the wide block: they are inside nearly
every area, and copying them into a hundred département blocks would multiply the cached blocks' memory. An offer
without coordinates, commune nor service area is in no block: its factor is 0 for every area, and only the needs
that search everything (below) meet it. Before this, every offer not located or serving a territory wider than a
département was in the wide block, searched by every need although, for a need of Hauts-de-France, a remote offer
serving only Bretagne or an offer in Paris serving Île-de-France scores 0: offers searched per need, national over
région-only catalogue, at 1,000,000 synthetic offers (bench/bench_partition.py), went from 1.786 to 1.683 for
Hauts-de-France, 1.436 to 1.199 for Bretagne, 1.134 to 1.064 for Auvergne-Rhône-Alpes.

So a need no longer reaches exactly the offers whose geography factor for its area is below the floor (0 for most,
the rest are placed beyond the cutoff): they could only take a text candidate slot away from an offer that can
serve the need, their fit being at most the floor. Needs without an area, or whose area has no known centroid
(distances unknown: the neutral factor), search everything, and so do the areas whose blocks hold more than
`WHOLE_SEARCH_SHARE` of the catalogue (cheaper than searching them one by one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from api.geo import EARTH_RADIUS_KM
from matching.scoring import haversine_km
from offers.territory_paths import (
    CUSTOM_PREFIX,
    PREFIX_BY_KIND,
    SEPARATOR,
    area_paths,
    path_last_segment,
    path_upto,
)

__all__ = [
    "ANCHOR_KM",
    "CELL_DEGREES",
    "GEOGRAPHY_FLOOR",
    "WHOLE_SEARCH_SHARE",
    "OfferPartitions",
    "PartitionSelection",
    "bbox_distance_lower_km",
    "geography_cutoff_km",
    "offer_partitions",
    "offer_partitions_build",
    "points_box_distance_lower_km",
]

# Geography factor below which an offer is not worth a text candidate slot: its fit is at most 0.01, nothing that
# counts towards a need's coverage (threshold 0.5). With the default exponential decay of 15 km the cutoff is 69 km
# (about an hour's drive; gaussian: 45 km; linear: 15 km, where the factor reaches 0), so neighbouring départements
# stay searched and the rest of France does not. On the national synthetic catalogue (bench/bench_partition.py, the
# needs of Hauts-de-France, 50,000 offers), a need searched 1.99 times the région's offers at 0.001 (104 km) and 1.55
# times at 0.01; the extra offers are its neighbours' (Île-de-France), which a région-only index would wrongly miss.
GEOGRAPHY_FLOOR = 0.01

# Above this share of the catalogue, an area's selected blocks are not worth searching one by one: one search of the
# whole catalogue costs little more, without the merge of the blocks' top k nor a cached block per row set (chosen
# when each block search copied and transposed its rows: on a région-only index, where a région's needs select most
# of it, searching by blocks was then slower than searching it whole).
WHOLE_SEARCH_SHARE = 0.5

# Located offers are grouped by cells of this many degrees (about 55 x 37 km in metropolitan France): a département's
# bounding box is too coarse (on the national synthetic catalogue a Hauts-de-France need searched 1.82 times the
# région's offers with département blocks, 1.55 times with half-degree cells, 1.12 for the exact set), and smaller
# cells mean more blocks to merge per need (21 at half a degree).
CELL_DEGREES = 0.5
# An offer farther than this from its commune's centroid (a wrong geocode, a huge commune) is not *located*: its
# commune's département block stands for its commune, so the cell of an offer located in an area is always within
# this distance of one of the area's centroids.
ANCHOR_KM = 25.0

_EPCI, _COMMUNE = PREFIX_BY_KIND["epci"], PREFIX_BY_KIND["commune"]
_PARTITIONS_ATTRIBUTE = "_territorial_partitions"
_TERRITORIES_ATTRIBUTE = "_partition_territories"


def geography_cutoff_km(*, decay_km: float, decay_kind: str, floor: float = GEOGRAPHY_FLOOR) -> float:
    """The distance beyond which `scoring.geography_factor` of an offer outside the area is below `floor`."""
    if not 0.0 < floor < 1.0:
        raise ValueError(f"floor must be in (0, 1), got {floor!r}")
    if not decay_km > 0:
        raise ValueError(f"decay_km must be > 0, got {decay_km!r}")
    if decay_kind == "exponential":
        return decay_km * -math.log(floor)
    if decay_kind == "gaussian":
        return decay_km * math.sqrt(-2.0 * math.log(floor))
    if decay_kind == "linear":
        return decay_km * (1.0 - floor)
    raise ValueError(f"unknown decay kind {decay_kind!r}")


def _longitude_gap(box_a: np.ndarray, box_b: np.ndarray) -> float:
    """Smallest longitude difference (degrees, 0..180) between two longitude intervals, across the antimeridian."""
    (a_low, a_high), (b_low, b_high) = box_a, box_b
    if a_low <= b_high and b_low <= a_high:
        return 0.0
    direct = b_low - a_high if b_low > a_high else a_low - b_high
    return min(direct, 360.0 - (max(a_high, b_high) - min(a_low, b_low)), 180.0)


def bbox_distance_lower_km(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """A lower bound of the great-circle distance between any point of two latitude/longitude boxes
    `(lat_min, lat_max, lon_min, lon_max)` (degrees).

    Haversine: ``h = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)`` grows with |Δφ| and |Δλ|, and cos φ is smallest at the
    box latitude farthest from the equator, so the smallest gaps and those cosines bound h from below.
    """
    a, b = np.asarray(box_a, np.float64), np.asarray(box_b, np.float64)
    lat_gap = max(0.0, b[0] - a[1], a[0] - b[1])
    lon_gap = _longitude_gap(a[2:4], b[2:4])
    cos_a = math.cos(math.radians(max(abs(a[0]), abs(a[1]))))
    cos_b = math.cos(math.radians(max(abs(b[0]), abs(b[1]))))
    h = math.sin(math.radians(lat_gap) / 2) ** 2 + cos_a * cos_b * math.sin(math.radians(lon_gap) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


@dataclasses.dataclass(frozen=True)
class PartitionSelection:
    """What the needs of one area search: block numbers (into `OfferPartitions.blocks`), or everything."""

    everything: bool
    blocks: tuple[int, ...] = ()


@dataclasses.dataclass
class OfferPartitions:
    """The offers of one index state split into blocks of sorted positions (see the module docstring).

    `blocks[0]` is the wide block; cell `c` has its located offers in block `cell_block[c]`, within the box
    `cell_boxes[c]`; département `d` (in `departement_paths` order) has its service-area block at `serving_block[d]`
    (-1 when it has none).
    """

    size: int
    departement_paths: list[str]
    blocks: list[np.ndarray]
    cell_boxes: np.ndarray  # (cells, 4) lat_min, lat_max, lon_min, lon_max of the cell's offers
    cell_block: np.ndarray
    serving_block: np.ndarray
    segment_departements: dict[str, frozenset[int]]  # EPCI/commune/custom segment -> départements holding it
    _selections: dict[tuple[str, float], PartitionSelection] = dataclasses.field(default_factory=dict, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def wide(self) -> np.ndarray:
        return self.blocks[0]

    def own_departements(self, area: str) -> set[int]:
        """Départements overlapping the area: on one of its prefixes (above or below it), or holding one of its
        EPCI, commune or custom segments (a commune filed under the other side of a straddling EPCI)."""
        own: set[int] = set()
        for prefix in area_paths(area):
            for number, path in enumerate(self.departement_paths):
                if path.startswith(prefix) or prefix.startswith(path):
                    own.add(number)
            for part in prefix.split(SEPARATOR):
                if part[:1] in (_EPCI, _COMMUNE, CUSTOM_PREFIX):
                    own |= self.segment_departements.get(part, frozenset())
        return own

    def select(self, area: str, points: np.ndarray | None, cutoff_km: float) -> PartitionSelection:
        """The blocks a need of `area` searches, given the area's known commune centroids ((n, 2), None when none
        is known: every distance is then unknown, so every offer may score)."""
        if not area or points is None or not np.isfinite(cutoff_km):
            return PartitionSelection(everything=True)
        key = (area, float(cutoff_km))
        with self._lock:
            cached = self._selections.get(key)
        if cached is not None:
            return cached
        own = self.own_departements(area)
        reach = max(cutoff_km, ANCHOR_KM)
        near = points_box_distance_lower_km(points, self.cell_boxes) <= reach if self.cell_block.size else []
        blocks = {0} | {int(block) for block in self.cell_block[near]}
        blocks.update(int(self.serving_block[number]) for number in own if self.serving_block[number] >= 0)
        blocks = {block for block in blocks if self.blocks[block].size}  # the wide block may be empty
        used = [block for block in range(len(self.blocks)) if self.blocks[block].size]
        selected = sum(int(self.blocks[block].size) for block in blocks)
        selection = (
            PartitionSelection(everything=True)
            if blocks.issuperset(used) or selected > WHOLE_SEARCH_SHARE * self.size
            else PartitionSelection(everything=False, blocks=tuple(sorted(blocks)))
        )
        with self._lock:
            self._selections[key] = selection
        return selection


def _departement_of(path: str) -> str | None:
    return path_upto(path, "departement")


@dataclasses.dataclass(frozen=True)
class _Territories:
    """What the partitions need of the territories, the same for every index state of one taxonomy."""

    departement_paths: list[str]
    territory_departement: np.ndarray  # département number each territory is filed under, -1 for none
    unresolved: np.ndarray  # a service area naming it does not resolve to départements (a territory under none)
    covered_indptr: np.ndarray  # territory t covers départements covered[covered_indptr[t]:covered_indptr[t + 1]]
    covered: np.ndarray  # (a région's: each of its départements; none when unresolved)
    segment_departements: dict[str, frozenset[int]]


def _territories_build(taxonomy) -> _Territories:
    paths = [str(path) for path in taxonomy.territory_paths]
    areas = list(taxonomy.territory_areas) or paths
    departement_paths = sorted({d for path in paths if (d := _departement_of(path))})
    number_of = {path: number for number, path in enumerate(departement_paths)}
    territory_departement = np.array([number_of.get(_departement_of(path) or "", -1) for path in paths], np.int64)
    covered: list[tuple[int, ...] | None] = []
    segment_departements: dict[str, set[int]] = defaultdict(set)
    for position, (path, area) in enumerate(zip(paths, areas, strict=True)):
        prefixes = area_paths(area) or [path]
        numbers: set[int] = set()
        resolved = True
        for prefix in prefixes:
            departement = _departement_of(prefix)
            # A prefix above the départements (a région, the country) covers those filed under it.
            below = (
                [number_of.get(departement, -1)]
                if departement
                else [number for number, d_path in enumerate(departement_paths) if d_path.startswith(prefix)]
            )
            resolved &= bool(below) and -1 not in below
            numbers.update(below)
        covered.append(tuple(sorted(numbers)) if resolved else None)
        # A territory's own segment names the départements of its area (both sides of a straddling EPCI, those of
        # a custom territory's members); the EPCI and commune segments of a path name the département it is under.
        last = path_last_segment(path)
        if last and covered[-1]:
            segment_departements[last].update(covered[-1])
        if territory_departement[position] >= 0:
            for part in path.split(SEPARATOR):
                if part[:1] in (_EPCI, _COMMUNE):
                    segment_departements[part].add(int(territory_departement[position]))
    return _Territories(
        departement_paths=departement_paths,
        territory_departement=territory_departement,
        unresolved=np.array([numbers is None for numbers in covered], dtype=bool),
        covered_indptr=np.concatenate([[0], np.cumsum([len(numbers or ()) for numbers in covered])]).astype(np.int64),
        covered=np.array([number for numbers in covered for number in numbers or ()], dtype=np.int64),
        segment_departements={part: frozenset(numbers) for part, numbers in segment_departements.items()},
    )


def _territories(taxonomy) -> _Territories:
    """Kept on the taxonomy object (36,000 territories for all of France take seconds of Python), so that a new
    index state sharing the taxonomy rebuilds only the offers' part."""
    territories = getattr(taxonomy, _TERRITORIES_ATTRIBUTE, None)
    if territories is None:
        territories = _territories_build(taxonomy)
        with contextlib.suppress(AttributeError, TypeError):
            object.__setattr__(taxonomy, _TERRITORIES_ATTRIBUTE, territories)
    return territories


def offer_partitions_build(offers, taxonomy) -> OfferPartitions:
    """Split the offers of `OfferArrays` into blocks (cells, service areas by département, wide), with
    `TaxonomyArrays` for the territories' paths and centroids."""
    n = int(offers.ids.size)
    territories = _territories(taxonomy)
    departement_paths = territories.departement_paths
    territory_departement = territories.territory_departement
    paths = taxonomy.territory_paths

    commune = np.asarray(offers.commune, np.int64)
    valid_commune = (commune >= 0) & (commune < len(paths))
    departement = np.full(n, -1, np.int64)
    departement[valid_commune] = territory_departement[commune[valid_commune]]
    anchor_lat = np.full(n, np.nan)
    anchor_lon = np.full(n, np.nan)
    anchor_lat[valid_commune] = np.asarray(taxonomy.territory_lat, np.float64)[commune[valid_commune]]
    anchor_lon[valid_commune] = np.asarray(taxonomy.territory_lon, np.float64)[commune[valid_commune]]
    latitude, longitude = np.asarray(offers.latitude, np.float64), np.asarray(offers.longitude, np.float64)
    with np.errstate(invalid="ignore"):
        anchored = haversine_km(latitude, longitude, anchor_lat, anchor_lon) <= ANCHOR_KM  # False when unknown
    located = anchored & (departement >= 0)

    # (offer, département) pairs of every département an offer's service area covers, and of its commune's when it
    # is not located (its cell does not stand for its commune); the offers whose service area or commune does not
    # resolve to départements, or that cover them all, stay wide (see the module docstring).
    area_offer = np.repeat(np.arange(n, dtype=np.int64), np.diff(offers.service_area_indptr))
    area_territory = np.asarray(offers.service_area, np.int64)
    wide = valid_commune & (departement < 0)
    if area_territory.size:
        wide[area_offer[territories.unresolved[area_territory]]] = True
    indptr = territories.covered_indptr
    lengths = (indptr[1:] - indptr[:-1])[area_territory]
    pair_offer = np.repeat(area_offer, lengths)
    first = np.repeat(indptr[area_territory] - np.cumsum(lengths) + lengths, lengths)  # each pair's offset - rank
    pair_departement = territories.covered[first + np.arange(first.size)]
    commune_offers = np.flatnonzero(~located & (departement >= 0))
    pair_offer = np.concatenate([pair_offer, commune_offers])
    pair_departement = np.concatenate([pair_departement, departement[commune_offers]])
    n_departements, stride = len(departement_paths), max(n, 1)
    keys = np.unique(pair_departement * stride + pair_offer)  # by département, then offer
    if n_departements:
        wide |= np.bincount(keys % stride, minlength=n) == n_departements
    keys = keys[~wide[keys % stride]]
    blocks = [np.flatnonzero(wide).astype(np.int64)]
    kept = np.flatnonzero(~wide & np.isfinite(latitude) & np.isfinite(longitude))
    cells = np.floor(latitude[kept] / CELL_DEGREES).astype(np.int64) * 100_000 + np.floor(
        longitude[kept] / CELL_DEGREES
    ).astype(np.int64)
    cell_keys, cell_of = np.unique(cells, return_inverse=True)
    order = np.argsort(cell_of, kind="stable")
    starts = np.searchsorted(cell_of[order], np.arange(cell_keys.size + 1))
    cell_block = np.arange(1, cell_keys.size + 1, dtype=np.int64)
    cell_boxes = np.zeros((cell_keys.size, 4))
    for cell in range(cell_keys.size):
        positions = kept[order[starts[cell] : starts[cell + 1]]]  # ascending: kept is sorted, the sort stable
        blocks.append(positions)
        lat, lon = latitude[positions], longitude[positions]
        cell_boxes[cell] = (lat.min(), lat.max(), lon.min(), lon.max())
    serving_block = np.full(n_departements, -1, np.int64)
    bounds = np.searchsorted(keys // stride, np.arange(n_departements + 1)).tolist()
    for number in range(n_departements):
        if bounds[number + 1] > bounds[number]:
            serving_block[number] = len(blocks)
            blocks.append(keys[bounds[number] : bounds[number + 1]] % stride)  # ascending offers
    return OfferPartitions(
        size=n,
        departement_paths=departement_paths,
        blocks=blocks,
        cell_boxes=cell_boxes,
        cell_block=cell_block,
        serving_block=serving_block,
        segment_departements=territories.segment_departements,
    )


def offer_partitions(index) -> OfferPartitions:
    """The partitions of an index, built once and kept on it (an index never changes once built)."""
    partitions = getattr(index, _PARTITIONS_ATTRIBUTE, None)
    if partitions is None:
        partitions = offer_partitions_build(index.offers, index.taxonomy)
        # object.__setattr__ also works on a frozen dataclass; a class with __slots__ refuses it, and the partitions
        # are then rebuilt per call (still correct).
        with contextlib.suppress(AttributeError, TypeError):
            object.__setattr__(index, _PARTITIONS_ATTRIBUTE, partitions)
    return partitions


def area_points(centroids: Mapping[str, tuple[np.ndarray, np.ndarray]], area: str) -> np.ndarray | None:
    """The area's known commune centroids as (n, 2) latitude/longitude; None when none is known."""
    lats, lons = centroids.get(area, (np.zeros(0), np.zeros(0)))
    points = np.column_stack([np.asarray(lats, np.float64).ravel(), np.asarray(lons, np.float64).ravel()])
    points = points[np.isfinite(points).all(axis=1)]
    return points if points.size else None


def points_box_distance_lower_km(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Per box `(lat_min, lat_max, lon_min, lon_max)`: a lower bound of the distance from the nearest of `points`
    ((n, 2) latitude/longitude) to any point of the box (the bound of `bbox_distance_lower_km`, one point a box)."""
    lat, lon = points[:, :1], points[:, 1:2]
    lat_gap = np.maximum(0.0, np.maximum(boxes[:, 0] - lat, lat - boxes[:, 1]))
    direct = np.maximum(0.0, np.maximum(boxes[:, 2] - lon, lon - boxes[:, 3]))
    lon_gap = np.minimum(direct, 360.0 - np.maximum(boxes[:, 3] - lon, lon - boxes[:, 2]))
    lon_gap = np.clip(np.where(direct > 0, lon_gap, 0.0), 0.0, 180.0)
    cos_box = np.cos(np.radians(np.maximum(np.abs(boxes[:, 0]), np.abs(boxes[:, 1]))))
    h = np.sin(np.radians(lat_gap) / 2) ** 2 + np.cos(np.radians(lat)) * cos_box * np.sin(np.radians(lon_gap) / 2) ** 2
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return distance.min(axis=0)

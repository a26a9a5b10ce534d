"""The arrays the engine scores: taxonomy, offers and needs as parallel NumPy arrays (pure NumPy, no Django).

`matching.selectors` builds them from `.values()` rows; `matching.engine`, `matching.reasons` and `matching.index`
read them, so the engine and the scoring import without Django settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

import numpy as np


@dataclasses.dataclass(frozen=True)
class TaxonomyArrays:
    """Themes, domains, audiences and territories, each with a dense index used by the engine's arrays."""

    theme_ids: np.ndarray
    theme_domain: np.ndarray  # domain index per theme
    theme_labels: list[str]
    theme_keywords: list[str]
    theme_codes: list[str]
    domain_ids: np.ndarray
    domain_codes: list[str]
    audience_ids: np.ndarray
    audience_codes: list[str]
    audience_labels: list[str]
    territory_ids: np.ndarray
    territory_paths: np.ndarray  # object array of str
    territory_kinds: np.ndarray
    territory_codes: list[str]
    territory_names: list[str]
    territory_lat: np.ndarray
    territory_lon: np.ndarray
    # Each territory's area key (offers.territory_paths.area_key of `Territory.paths`): its path, or the prefixes
    # of a straddling EPCI or a custom territory. Empty = the same as territory_paths.
    territory_areas: list[str] = dataclasses.field(default_factory=list)

    def position(self, ids: np.ndarray, values: Iterable[int]) -> np.ndarray:
        """Dense index of each id in `values` (ids are sorted)."""
        return np.searchsorted(ids, np.asarray(list(values), dtype=np.int64)).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class OfferArrays:
    """Every offer (published or not), sorted by id, as parallel arrays; M2M relations as dense boolean masks
    (themes, audiences: a few dozen columns) or a sparse list (service areas)."""

    ids: np.ndarray
    titles: list[str]
    documents: list[str] | None  # None: not held (the live index reads the texts it explains)
    published: np.ndarray
    available_from: np.ndarray  # datetime64[D], NaT = open
    available_until: np.ndarray
    capacity: np.ndarray  # float, NaN = unknown
    latitude: np.ndarray
    longitude: np.ndarray
    commune: np.ndarray  # territory index
    domain: np.ndarray  # domain index
    themes: np.ndarray  # bool (n_offers, n_themes)
    audiences: np.ndarray  # bool (n_offers, n_audiences)
    service_area_indptr: np.ndarray
    service_area: np.ndarray  # territory indices, CSR-style with service_area_indptr


@dataclasses.dataclass(frozen=True)
class NeedArrays:
    """The needs of a chunk, sorted by id, as parallel arrays."""

    ids: np.ndarray
    statements: list[str]
    documents: list[str]  # statement + theme labels + keywords, for retrieval
    audience: np.ndarray  # audience index
    audience_codes: list[str]
    domain: np.ndarray  # domain index
    domain_codes: list[str]
    themes: np.ndarray  # bool (n_needs, n_themes)
    theme_codes: list[list[str]]
    territory_paths: list[str]  # the need's own territory ("" = the whole area)
    territory_areas: list[str]  # its area key (several prefixes for a straddling EPCI or a custom territory)
    importance: np.ndarray
    satisfaction: np.ndarray  # NaN = unknown
    demand_volume: np.ndarray  # NaN = unknown
    updated_at: list[datetime]
    stages: list[str]  # journey stage codes (attract, welcome, anchor)

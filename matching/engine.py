"""The engine around the pure maths: an index of the offer catalogue, and the scoring of needs or a search against it.

Everything here works on the arrays of `matching.arrays` (built by `matching.selectors`; no ORM, no Django):
`matching.index` builds and caches the index, `matching.services` persists what `needs_score` returns.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.live_matrix import BaseMatrix, LiveMatrix, PositionMerge, base_matrix_make
from matching.matched_words import matched_words
from matching.partitions import GEOGRAPHY_FLOOR, area_points, geography_cutoff_km, offer_partitions
from matching.scoring import (
    MatchingParameters,
    TextRelevanceModel,
    audience_factor,
    availability_factor,
    capacity_factor,
    geography_factor,
    haversine_km,
    min_distance_km,
    need_document,
    need_gap,
    offer_document,
    pair_scores,
    recommend,
    theme_factor,
)
from matching.semantic import OfferVectors, dense_rescale, dense_top_k, text_mix
from matching.text_normalise import keep_accents_text
from matching.theme_inference import InferredTheme
from offers.territory_paths import SEPARATOR, area_paths, path_last_segment

# Pairs whose cosines are computed at once: bounds the two gathered row blocks (pairs x row non-zeros).
_COSINE_PAIRS = 8192
# Bytes of `OfferIndex.inside` territory answers kept per index (two bits per territory and area, least recently
# used dropped first: 9 KB an area with the 36,000 territories of France, so about 3,600 areas in each of a
# deployment's processes): a long-lived worker meets thousands of areas (35,000 communes). They were masks over
# every offer (1 MB an area at one million offers): a région's run of 1,000 areas did not fit and recomputed them
# over the whole catalogue at every run.
INSIDE_CACHE_BYTES = 32 * 2**20
# Theme texts whose raw counts are kept across chunks (a run's needs share a few hundred; each row ~20 kB, so
# 10 MB at most in each process).
THEME_TEXT_COUNTS_CACHED = 512
# A search's local offers (its territory's, or within its radius) up to this many have their cosines computed
# directly (about 2 ms at 100,000 offers); more are read from a longer list of the search's one pass over the
# matrix, of at most SEARCH_LOCAL_LIST offers (a pass restricted to them when it holds too few).
SEARCH_LOCAL_EXACT_ROWS = 256
SEARCH_LOCAL_LIST = 4096


@dataclasses.dataclass(frozen=True)
class OfferIndex:
    """The text model, the live offer matrix (one L2-normalised row per offer position) and the offers' attributes
    as aligned arrays, at one catalogue state. Immutable: a refresh builds a new index sharing the big arrays, so
    a holder (a chunk being scored, a search) sees one consistent state."""

    version: str  # "<state>:<model key>"
    state: int
    model: TextRelevanceModel
    live: LiveMatrix
    offers: OfferArrays
    taxonomy: TaxonomyArrays
    theme_texts: str = ""  # selectors.theme_texts_fingerprint() of the taxonomy held
    build_seconds: float = 0.0  # the base's full build
    update_seconds: float = 0.0  # this state's incremental update
    # The offers' stored semantic vectors (`matching.semantic.OfferVectors`, by offer id); None: the index carries
    # none (semantic search off).
    vectors: OfferVectors | None = None
    # Reads the (title, description) of these offer ids, for an index whose `offers.documents` is None (the live
    # index: 66 MB of text per process at 100,000 offers, while only the explained offers' texts are ever read).
    offer_texts: Callable[[Sequence[int]], Mapping[int, tuple[str | None, str | None]]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    _inside_cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    _area_entries: list = dataclasses.field(default_factory=list, repr=False, compare=False)
    _published_cache: list = dataclasses.field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)
    _vector_positions: list = dataclasses.field(default_factory=list, repr=False, compare=False)

    @property
    def size(self) -> int:
        return int(self.offers.ids.size)

    @property
    def model_key(self) -> str:
        return self.live.base.model_key

    @property
    def base_label(self) -> str:
        """The full build this index updates (changes only with a rebuild)."""
        return self.live.base.label

    @property
    def nnz(self) -> int:
        return self.live.nnz

    @property
    def matrix(self) -> sp.csr_matrix:
        """Every row as one CSR, by position: a copy of the whole matrix, for tools only (scoring uses `top_k`
        and `row_matrix`)."""
        return self.row_matrix(np.arange(self.size))

    def top_k(
        self,
        query: sp.spmatrix,
        *,
        k: int,
        threshold: float = 0.0,
        rows: np.ndarray | None = None,
        n_threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k positions of highest `query . offer` per query row (`scoring.top_k_similarity`'s contract: scores
        strictly above `threshold`, ties to the lower position, -1 / 0.0 padding); `rows` (sorted positions)
        restricts the search to them; `n_threads` splits the query rows between threads (same result)."""
        return self.live.top_k(query, k=k, threshold=threshold, rows=rows, n_threads=n_threads)

    def top_k_union(
        self,
        query: sp.spmatrix,
        searches: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        k: int,
        threshold: float = 0.0,
        n_threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query row, its k best positions among the union of the positions of the (query rows, sorted
        positions) searches naming it, as (row, position, score) triples ranked like `top_k`
        (`LiveMatrix.top_k_union`)."""
        return self.live.top_k_union(query, searches, k=k, threshold=threshold, n_threads=n_threads)

    def row_matrix(self, positions: np.ndarray) -> sp.csr_matrix:
        """The weighted rows of these positions, in that order."""
        return self.live.row_matrix(positions)

    def dense_cosines(self, query_vector: np.ndarray) -> np.ndarray:
        """Per position, the dense cosine of the offer's stored vector with the request's; NaN without a vector."""
        with self._lock:
            if not self._vector_positions:
                self._vector_positions.append(self.vectors.positions(self.offers.ids))
            positions = self._vector_positions[0]
        return self.vectors.cosines(query_vector, positions, self.size)

    def offer_documents(self, positions: Sequence[int]) -> list[str]:
        """The indexed document of the offer at each position: held, or rebuilt (`offer_documents_rebuild`) from
        the texts `offer_texts` reads (one query for the distinct offers) and the themes held."""
        if self.offers.documents is not None:
            return [self.offers.documents[p] for p in positions]
        distinct = sorted(set(positions))
        texts = self.offer_texts(self.offers.ids[distinct].tolist()) if distinct else {}
        documents = dict(
            zip(distinct, offer_documents_rebuild(self.offers, self.taxonomy, distinct, texts), strict=True)
        )
        return [documents[p] for p in positions]

    def offers_everyone(self) -> np.ndarray:
        return ~self.offers.audiences.any(axis=1)

    def published(self) -> tuple[np.ndarray, sp.csr_matrix]:
        """Positions of the published offers and their rows (built on first use: search does not need them)."""
        with self._lock:
            if not self._published_cache:
                rows = np.flatnonzero(self.offers.published)
                self._published_cache.append((rows, self.row_matrix(rows)))
            return self._published_cache[0]

    def _entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (territory, prefix of its area) pair: territory positions, '/'-led prefixes, last segments."""
        with self._lock:
            if not self._area_entries:
                taxonomy = self.taxonomy
                areas = taxonomy.territory_areas or list(taxonomy.territory_paths)
                pairs = [(t, path) for t, key in enumerate(areas) for path in (area_paths(key) or [""])]
                self._area_entries.append(
                    (
                        np.array([t for t, _path in pairs], dtype=np.int64),
                        np.array([SEPARATOR + path for _t, path in pairs], dtype=str),
                        np.array([path_last_segment(path) for _t, path in pairs], dtype=str),
                    )
                )
            return self._area_entries[0]

    def inside(self, area: str, positions: np.ndarray | None = None) -> np.ndarray:
        """Per offer (of `positions`, every offer when None): located in the area (a path or an area key), or
        serving a territory that overlaps it (above or below). Territories compare by path prefix and by segment
        (`offers.territory_paths.path_contains`), so a commune filed under the other département of its straddling
        EPCI is in that EPCI. Only the territories' answers are kept per area: the offers' part costs the positions
        asked (a run's candidates), not the catalogue, which a national index would pay for every area of a run."""
        within, overlap = self._territories_inside(area)
        positions = np.arange(self.size) if positions is None else np.asarray(positions, dtype=np.int64)
        communes = self.offers.commune[positions]
        inside = np.where(communes >= 0, within[communes], False) if positions.size else np.zeros(0, dtype=bool)
        # An offer without a commune (position -1) is inside only through its service area.
        indptr = np.asarray(self.offers.service_area_indptr, dtype=np.int64)
        starts, lengths = indptr[positions], indptr[positions + 1] - indptr[positions]
        offsets = np.cumsum(lengths) - lengths
        entries = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        owner = np.repeat(np.arange(positions.size), lengths)
        inside[owner[overlap[self.offers.service_area[entries]]]] = True
        return inside

    def _territories_inside(self, area: str) -> tuple[np.ndarray, np.ndarray]:
        """Per territory: within the area, and overlapping it (within it or above it)."""
        with self._lock:
            cached = self._inside_cache.get(area)
            if cached is not None:
                self._inside_cache.move_to_end(area)
        n_territories = len(self.taxonomy.territory_codes)
        if cached is not None:
            within, overlap = (np.unpackbits(bits, count=n_territories).view(bool) for bits in cached)
            return within, overlap
        owners, padded, last = self._entries()
        prefixes = area_paths(area)
        entry_within = np.zeros(owners.size, dtype=bool)
        for prefix in prefixes:
            entry_within |= np.char.startswith(padded, SEPARATOR + prefix)
            entry_within |= np.char.find(padded, f"{SEPARATOR}{path_last_segment(prefix)}{SEPARATOR}") >= 0
        # A territory is above the area when its last segment is one of the area's segments.
        parts = sorted({part for prefix in prefixes for part in prefix.split(SEPARATOR) if part})
        entry_above = np.isin(last, parts) if parts else np.zeros(owners.size, dtype=bool)
        within = np.zeros(n_territories, dtype=bool)
        overlap = np.zeros(n_territories, dtype=bool)
        np.logical_or.at(within, owners, entry_within)
        np.logical_or.at(overlap, owners, entry_within | entry_above)
        with self._lock:
            packed = (np.packbits(within), np.packbits(overlap))
            self._inside_cache[area] = packed
            each = packed[0].nbytes + packed[1].nbytes
            kept = len(self._inside_cache) * each
            while kept > INSIDE_CACHE_BYTES and len(self._inside_cache) > 1:
                self._inside_cache.popitem(last=False)
                kept -= each
        return within, overlap


def offer_documents_rebuild(
    offers: OfferArrays,
    taxonomy: TaxonomyArrays,
    positions: Sequence[int],
    texts: Mapping[int, tuple[str | None, str | None]],
) -> list[str]:
    """The indexed document of the offer at each position, as `selectors.offer_arrays` builds it, from its
    (title, description) in `texts` (by offer id) and the themes `offers` holds."""
    documents = []
    for position in positions:
        title, description = texts[int(offers.ids[position])]
        themes = np.flatnonzero(offers.themes[position]).tolist()
        documents.append(
            offer_document(
                title,
                description,
                [taxonomy.theme_labels[t] for t in themes],
                [taxonomy.theme_keywords[t] for t in themes],
            )
        )
    return documents


def offer_index_model() -> TextRelevanceModel:
    """The text model of the offer index (its parameters make the model key of stored builds). Accents are kept on
    the word branch: "marché" (market) and "marche" (walk) are different words; the character branch stays folded
    so that a request typed without accents still finds them."""
    return TextRelevanceModel(word_preprocessor=keep_accents_text)


def offer_base_fit(
    *, state: int, offers: OfferArrays, label: str, model: TextRelevanceModel | None = None
) -> tuple[BaseMatrix, TextRelevanceModel]:
    """A full build: term counts of every offer document (in id order, so the same catalogue gives the same
    matrix), their document frequencies, the weighted rows. An empty catalogue gives an empty matrix whose model
    still transforms (every query row is then zero)."""
    model = model or offer_index_model()
    counts = model.counts(offers.documents)
    frequencies, n_documents = model.document_frequencies(counts)
    model.set_document_frequencies(frequencies, n_documents)
    base = base_matrix_make(
        rows=model.weigh(counts),
        ids=offers.ids,
        document_frequencies=frequencies,
        n_documents=n_documents,
        idf=model.idf_,
        state=state,
        model_key=model.model_key(),
        label=label,
    )
    return base, model


def offer_base_model(base: BaseMatrix, model: TextRelevanceModel) -> TextRelevanceModel:
    """`model` (unfitted, with the build's parameters) given a stored build's IDF, without reading any document."""
    if model.model_key() != base.model_key:
        raise ValueError(f"a build of model {base.model_key} cannot serve model {model.model_key()}")
    model.document_frequencies_ = base.document_frequencies
    model.n_documents_ = base.n_documents
    model.idf_ = base.idf
    model.extra_features_ = np.zeros(0, dtype=np.int64)
    model.extra_idf_ = np.zeros(0)
    return model


def delta_rows(model: TextRelevanceModel, documents: list[str]) -> tuple[sp.csr_matrix, TextRelevanceModel]:
    """Weighted rows of changed offers with the base's IDF; features none of the base's documents had get an IDF
    from these documents (a new offer is found by its new words), in a new model (the old one stays as it was)."""
    counts = model.counts(documents)
    model = model.with_added_documents(counts)
    return model.weigh(counts), model


def offer_arrays_merge(old: OfferArrays, changed: OfferArrays, merge: PositionMerge) -> OfferArrays:
    """The offers after an update: kept positions from `old`, changed offers from `changed` (by id, in the order
    of `merge`), in O(offers) array copies and no query."""
    from_old = merge.take_old >= 0
    source_old, source_new = merge.take_old[from_old], merge.take_changed[~from_old]

    def take(old_values: np.ndarray, new_values: np.ndarray) -> np.ndarray:
        values = np.empty((merge.ids.size, *old_values.shape[1:]), dtype=old_values.dtype)
        values[from_old] = old_values[source_old]
        values[~from_old] = new_values[source_new]
        return values

    def take_list(old_values: list, new_values: list) -> list:
        if old_values and np.array_equal(source_old, np.arange(source_old.size)):
            # Edits and appended offers (the common case): the kept positions do not move.
            values = list(old_values)
            values.extend([None] * (merge.ids.size - len(values)))
            for position, changed in zip(np.flatnonzero(~from_old).tolist(), source_new.tolist(), strict=True):
                values[position] = new_values[changed]
            return values
        pool = np.empty(len(old_values) + len(new_values), dtype=object)
        pool[: len(old_values)] = old_values
        pool[len(old_values) :] = new_values
        return pool[np.where(from_old, merge.take_old, merge.take_changed + len(old_values))].tolist()

    old_lengths, new_lengths = np.diff(old.service_area_indptr), np.diff(changed.service_area_indptr)
    lengths = take(old_lengths, new_lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = take(old.service_area_indptr[:-1], changed.service_area_indptr[:-1] + old.service_area.size)
    pool = np.concatenate([old.service_area, changed.service_area]).astype(np.int64)
    gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    return OfferArrays(
        ids=merge.ids,
        titles=take_list(old.titles, changed.titles),
        # The live index holds no documents (`OfferIndex.offer_texts` reads those it explains).
        documents=None if old.documents is None else take_list(old.documents, changed.documents),
        published=take(old.published, changed.published),
        available_from=take(old.available_from, changed.available_from),
        available_until=take(old.available_until, changed.available_until),
        capacity=take(old.capacity, changed.capacity),
        latitude=take(old.latitude, changed.latitude),
        longitude=take(old.longitude, changed.longitude),
        commune=take(old.commune, changed.commune),
        domain=take(old.domain, changed.domain),
        themes=take(old.themes, changed.themes),
        audiences=take(old.audiences, changed.audiences),
        service_area_indptr=indptr,
        service_area=pool[gather],
    )


def offer_index_fit(
    *,
    version: str,
    offers: OfferArrays,
    taxonomy: TaxonomyArrays,
    state: int = 0,
    model: TextRelevanceModel | None = None,
    embeddings: np.ndarray | None = None,
    embedded: np.ndarray | None = None,
) -> OfferIndex:
    """An index fitted in memory on these offers (tests and tools; the service builds and stores it in
    `matching.index`); `model` (unfitted) replaces the index's own text model (evaluations of other settings);
    `embeddings` (float32, one row per offer) are their semantic vectors, `embedded` which rows hold one (all when
    omitted)."""
    base, model = offer_base_fit(state=state, offers=offers, label=f"memory-{state}", model=model)
    live = LiveMatrix.of_base(base)
    vectors = None
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape[0] != offers.ids.size:
            raise ValueError(f"{embeddings.shape[0]} embeddings for {offers.ids.size} offers")
        embedded = np.ones(offers.ids.size, dtype=bool) if embedded is None else np.asarray(embedded, dtype=bool)
        vectors = OfferVectors(base_ids=offers.ids[embedded], base=embeddings[embedded])
    return OfferIndex(
        version=version,
        state=state,
        model=model,
        live=live,
        offers=offers,
        taxonomy=taxonomy,
        vectors=vectors,
    )


@dataclasses.dataclass(frozen=True)
class Pairs:
    """Candidate (need, offer) pairs in CSR order: row `r`'s pairs are `indptr[r]:indptr[r+1]`, by text rank."""

    indptr: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    def csr(self, n_offers: int) -> sp.csr_matrix:
        return sp.csr_matrix(
            (np.ones(self.cols.size), self.cols, self.indptr), shape=(self.indptr.size - 1, max(n_offers, 1))
        )


def candidate_pairs(
    index: OfferIndex,
    query: sp.csr_matrix,
    *,
    k: int,
    threshold: float,
    areas: Sequence[str] | None = None,
    centroids: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    cutoff_km: float = math.inf,
    n_threads: int = 1,
) -> Pairs:
    """The `k` offers of highest retrieval cosine per query row (need), ranked by cosine then offer position.

    With `areas` (one area key per need, "" for none) the needs are grouped by area and each group searches only
    the offers that could score on geography (`matching.partitions`): those of the départements within `cutoff_km`
    of the area's `centroids`, those serving it and the wide ones. The result is the top `k` of that subset, the
    same as the whole search whenever the subset holds every offer.
    """
    n = query.shape[0]
    if index.size == 0 or n == 0:
        return Pairs(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    k = min(k, index.size)
    whole, blocks = _searches(index, n, areas, centroids or {}, cutoff_km)
    found_rows, found_cols, found_scores = [], [], []
    if whole.size:
        indices, scores = index.top_k(query[whole], k=k, threshold=threshold, n_threads=n_threads)
        valid = indices >= 0
        found_rows.append(np.repeat(whole, valid.sum(axis=1)))
        found_cols.append(indices[valid].astype(np.int64))
        found_scores.append(scores[valid])
    if blocks:
        # Each need's best k of the union of its blocks (an offer may sit in two blocks, e.g. located near the
        # area and serving it: kept once), ranked as the whole search ranks them.
        rows, cols, scores = index.top_k_union(query, blocks, k=k, threshold=threshold, n_threads=n_threads)
        found_rows.append(rows)
        found_cols.append(cols)
        found_scores.append(scores)
    rows = np.concatenate(found_rows) if found_rows else np.zeros(0, np.int64)
    cols = np.concatenate(found_cols) if found_cols else np.zeros(0, np.int64)
    scores = np.concatenate(found_scores) if found_scores else np.zeros(0, np.float32)
    if whole.size and blocks:
        order = np.lexsort((cols, -scores, rows))  # the two parts' needs interleave
        rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Pairs(indptr, rows.astype(np.int64), cols)


def _searches(
    index: OfferIndex,
    n: int,
    areas: Sequence[str] | None,
    centroids: dict[str, tuple[np.ndarray, np.ndarray]],
    cutoff_km: float,
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The need rows that search every offer, and (need rows, offer positions) per block of partitioned offers
    for the needs of the areas that select it."""
    if areas is None or not math.isfinite(cutoff_km) or not any(areas):
        return np.arange(n), []
    partitions = offer_partitions(index)
    area_array = np.asarray(list(areas), dtype=object)
    whole: list[np.ndarray] = []
    by_block: dict[int, list[np.ndarray]] = {}
    for area in sorted(set(area_array.tolist())):
        need_rows = np.flatnonzero(area_array == area)
        selection = partitions.select(area, area_points(centroids, area), cutoff_km)
        if selection.everything:
            whole.append(need_rows)
            continue
        for block in selection.blocks:
            by_block.setdefault(block, []).append(need_rows)
    blocks = [(np.sort(np.concatenate(by_block[block])), partitions.blocks[block]) for block in sorted(by_block)]
    return (np.sort(np.concatenate(whole)) if whole else np.zeros(0, np.int64)), blocks


def pair_cosines(left: sp.csr_matrix, right: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """`left[rows[p]] . right[cols[p]]` for every pair: the paired rows multiplied element-wise and summed, a batch
    of pairs at a time, in any pair order. Each pair costs its two rows' non-zeros (the block product this replaced
    scored every need of a block against every offer row of the block: 3x the CPU in a run's chunk)."""
    result = np.zeros(rows.size, dtype=np.float64)
    if rows.size == 0:
        return result
    left, right = _sorted_csr(left), _sorted_csr(right)
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    for first in range(0, rows.size, _COSINE_PAIRS):
        last = min(first + _COSINE_PAIRS, rows.size)
        products = left[rows[first:last]].multiply(right[cols[first:last]])
        result[first:last] = np.asarray(products.sum(axis=1), dtype=np.float64).ravel()
    return result


def _sorted_csr(matrix: sp.spmatrix) -> sp.csr_matrix:
    """CSR with sorted column indices (what the element-wise product expects), copied only when they are not."""
    matrix = sp.csr_matrix(matrix)
    if not matrix.has_sorted_indices:
        matrix = matrix.copy()
        matrix.sort_indices()
    return matrix


@dataclasses.dataclass(frozen=True)
class Factors:
    text: np.ndarray
    theme: np.ndarray
    audience: np.ndarray
    geography: np.ndarray
    availability: np.ndarray
    capacity: np.ndarray
    distance_km: np.ndarray  # NaN = no territory to be far from
    relevance: np.ndarray
    fit: np.ndarray


def _geography(
    index: OfferIndex,
    pair_areas: Sequence[str],
    cols: np.ndarray,
    centroids: dict[str, tuple[np.ndarray, np.ndarray]],
    params: MatchingParameters,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: geography factor and distance (km) from the offer to the nearest commune centroid of the pair's
    area (its key); NaN, hence the neutral factor, where no centroid of the area is known. An offer without a place
    (no coordinates: remote, or serving an area) has no distance: inside the area through its service area it is
    reachable (neutral factor); outside it, it does not serve the need's area at all (factor 0)."""
    inside = np.ones(cols.size, dtype=bool)
    distance = np.full(cols.size, np.nan)
    out_of_reach = np.zeros(cols.size, dtype=bool)
    # The pairs of each area, ascending, from one sort: a chunk's pairs span hundreds of communes, and comparing
    # every pair's area with each of them in turn cost more than the geography itself.
    areas, area_of = np.unique(np.asarray(pair_areas, dtype=object), return_inverse=True)
    by_area = np.argsort(area_of.ravel(), kind="stable")
    bounds = np.searchsorted(area_of.ravel()[by_area], np.arange(areas.size + 1)).tolist()
    for at, area in enumerate(areas.tolist()):
        if area == "":
            continue
        where = by_area[bounds[at] : bounds[at + 1]]
        offer_cols = cols[where]
        inside_here = index.inside(area, offer_cols)
        inside[where] = inside_here
        lats, lons = centroids.get(area, (np.zeros(0), np.zeros(0)))
        outside = where[~inside_here]
        if lats.size and outside.size:
            distance[outside] = min_distance_km(
                index.offers.latitude[cols[outside]], index.offers.longitude[cols[outside]], lats, lons
            )
        placed = ~np.isnan(index.offers.latitude[offer_cols])
        distance[where[inside_here & placed]] = 0.0
        out_of_reach[where[~inside_here & ~placed]] = True
    factor = geography_factor(inside, distance, decay_km=params.decay_km, kind=params.decay_kind)
    return np.where(out_of_reach, 0.0, factor), distance


def needs_score(
    *,
    index: OfferIndex,
    needs: NeedArrays,
    params: MatchingParameters,
    reference_date: date,
    scope_area: str,
    centroids: dict[str, tuple[np.ndarray, np.ndarray]],
    checkpoint: Callable[[str], None] = lambda phase: None,
    inferred_themes: Mapping[int, Sequence[InferredTheme]] | None = None,
    geography_floor: float = GEOGRAPHY_FLOOR,
    retrieval_threads: int = 1,
) -> list[dict[str, Any]]:
    """Score each need against the catalogue; one dict per need with its figures and top offers.

    `inferred_themes` (need position -> themes inferred from its statement) stands in for the themes of needs that
    have none (`needs_with_inferred_themes`); each such need's result lists them under "inferred_themes".

    Text retrieval on the need's statement plus theme text, then the bare statement's cosine as the text term
    (see `pair_scores`). A need without a territory is judged against `scope_area` (the run's territory's area key, or
    nowhere in particular when the run has none). Retrieval searches, per area, only the offers whose geography
    factor can reach `geography_floor` (`matching.partitions`; 0 searches every offer), on `retrieval_threads`
    threads (the same result on any number). `checkpoint(phase)` is called between phases.
    """
    n = needs.ids.size
    if n == 0:
        return []
    inferred_themes = inferred_themes or {}
    needs = needs_with_inferred_themes(needs, index.taxonomy, inferred_themes)
    query, statement_rows = need_text_rows(index.model, needs.documents, needs.statements)
    need_areas = [area or scope_area for area in needs.territory_areas]
    pairs = candidate_pairs(
        index,
        query,
        k=params.k_candidates,
        threshold=params.candidate_threshold,
        areas=need_areas,
        centroids=centroids,
        cutoff_km=(
            geography_cutoff_km(decay_km=params.decay_km, decay_kind=params.decay_kind, floor=geography_floor)
            if geography_floor > 0
            else math.inf
        ),
        n_threads=retrieval_threads,
    )
    checkpoint("retrieval")
    rows, cols = pairs.rows, pairs.cols
    offers = index.offers
    # Only the candidates' rows: the matrix itself is never copied whole.
    candidate_cols, candidate_of_pair = np.unique(cols, return_inverse=True)
    text = pair_cosines(statement_rows, index.row_matrix(candidate_cols), rows, candidate_of_pair)
    theme = theme_factor(
        (needs.themes[rows] & offers.themes[cols]).any(axis=1) if rows.size else np.zeros(0, bool),
        needs.domain[rows] == offers.domain[cols],
        same_domain_value=params.theme_same_domain,
    )
    audience = audience_factor(
        index.offers_everyone()[cols],
        offers.audiences[cols, needs.audience[rows]] if rows.size else np.zeros(0, bool),
        mismatch=params.audience_mismatch,
    )
    geography, distance = _geography(index, [need_areas[r] for r in rows], cols, centroids, params)
    availability = availability_factor(
        offers.published[cols],
        offers.available_from[cols],
        offers.available_until[cols],
        reference_date=reference_date,
    )
    capacity = capacity_factor(offers.capacity[cols], needs.demand_volume[rows])
    scores = pair_scores(text, theme, audience, geography, availability, capacity, params)
    checkpoint("factors")
    candidates = pairs.csr(index.size)
    decisions = recommend(
        candidates,
        relevance=scores["relevance"],
        audience=audience,
        geography=geography,
        availability=availability,
        capacity=capacity,
        satisfaction=needs.satisfaction,
        params=params,
    )
    coverage = np.array([decision["coverage"] for decision in decisions], dtype=np.float64)
    gap = need_gap(needs.importance, coverage)
    factors = Factors(
        text, theme, audience, geography, availability, capacity, distance, scores["relevance"], scores["fit"]
    )
    # Best offers per need by fit; ties go to the lower offer position (offers by id), as in `rank_candidates`.
    order = np.lexsort((cols, -factors.fit, rows))
    counts = np.diff(pairs.indptr)
    rank = np.arange(order.size) - np.repeat(pairs.indptr[:-1], counts)
    top = order[rank < params.top_offers_per_need]  # by need, then by rank: the pairs explained
    breakdowns = _pair_breakdowns(index, factors, top, cols[top], [needs.statements[need] for need in rows[top]])
    top_indptr = np.concatenate([[0], np.cumsum(np.minimum(counts, params.top_offers_per_need))]).tolist()
    best_relevance = np.full(n, -np.inf)
    np.maximum.at(best_relevance, rows, factors.relevance)
    best_relevance = np.where(counts > 0, best_relevance, 0.0)
    results = []
    for need, (need_coverage, need_gap_value, need_best) in enumerate(
        zip(coverage.tolist(), gap.tolist(), best_relevance.tolist(), strict=True)
    ):
        results.append(
            {
                "position": need,
                "coverage": need_coverage,
                "gap": need_gap_value,
                "best_relevance": need_best,
                "decision": decisions[need],
                "top": breakdowns[top_indptr[need] : top_indptr[need + 1]],
                "inferred_themes": list(inferred_themes.get(need, ())),
            }
        )
    return results


def need_text_rows(
    model: TextRelevanceModel, documents: Sequence[str], statements: Sequence[str]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """`model.transform(documents)` and `model.transform(statements)`, the same rows to the bit, hashing each
    statement once and each distinct theme text once. A need's document is its statement, " . ", then its themes'
    labels and keywords (`scoring.need_document`): thousands of needs share a few hundred theme texts, four times
    longer than their statements, and raw counts add up over that join (`TextRelevanceModel.raw_counts`). A
    document of any other form is hashed whole."""
    statement_counts = model.raw_counts(statements)
    n = len(statements)
    # Per need: the row of `statement_counts` its document starts with (n: none, an empty row), and the extra text.
    start = np.arange(n)
    extra_of = np.zeros(n, dtype=np.int64)
    extras: dict[str, int] = {"": 0}
    for position, (document, statement) in enumerate(zip(documents, statements, strict=True)):
        if document == statement:
            continue
        if statement and document.startswith(statement + " . "):
            extra = document[len(statement) + 3 :]
        else:
            start[position], extra = n, document
        extra_of[position] = extras.setdefault(extra, len(extras))
    extra_counts = _raw_counts_kept(model, list(extras))
    with_empty = sp.vstack([statement_counts, sp.csr_matrix((1, statement_counts.shape[1]))], format="csr")
    document_counts = sp.csr_matrix(with_empty[start] + extra_counts[extra_of])
    document_counts.sort_indices()
    statement_rows = model.weigh(model.counts_from_raw(statement_counts))
    return model.weigh(model.counts_from_raw(document_counts)), statement_rows


_raw_counts_lock = threading.Lock()
_raw_counts_rows: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _raw_counts_kept(model: TextRelevanceModel, texts: list[str]) -> sp.csr_matrix:
    """`model.raw_counts(texts)`, the rows of texts met before (by any chunk of this process) kept: raw counts
    depend only on the text and the model's parameters, and every chunk of a run hashes the same theme texts."""
    key = model.model_key()
    with _raw_counts_lock:
        rows = [_raw_counts_rows.get((key, text)) for text in texts]
        for text, row in zip(texts, rows, strict=True):
            if row is not None:
                _raw_counts_rows.move_to_end((key, text))
    missing = [position for position, row in enumerate(rows) if row is None]
    if missing:
        computed = model.raw_counts([texts[position] for position in missing])
        with _raw_counts_lock:
            for i, position in enumerate(missing):
                start, end = computed.indptr[i], computed.indptr[i + 1]
                rows[position] = (computed.indices[start:end].copy(), computed.data[start:end].copy())
                _raw_counts_rows[(key, texts[position])] = rows[position]
            while len(_raw_counts_rows) > THEME_TEXT_COUNTS_CACHED:
                _raw_counts_rows.popitem(last=False)
    indptr = np.concatenate([[0], np.cumsum([indices.size for indices, _ in rows])]).astype(np.int32)
    matrix = sp.csr_matrix(
        (
            np.concatenate([data for _, data in rows]) if rows else np.zeros(0),
            np.concatenate([indices for indices, _ in rows]) if rows else np.zeros(0, np.int32),
            indptr,
        ),
        shape=(len(texts), model.n_features_out),
    )
    matrix.has_sorted_indices = True
    return matrix


def needs_with_inferred_themes(
    needs: NeedArrays, taxonomy: TaxonomyArrays, inferred: Mapping[int, Sequence[InferredTheme]]
) -> NeedArrays:
    """The needs with, for each one without a theme, its inferred themes as its themes (theme factor) and their
    labels and keywords in its retrieval document; needs that have themes keep them (a person chose them)."""
    untagged = {p: themes for p, themes in inferred.items() if themes and not needs.themes[p].any()}
    if not untagged:
        return needs
    themes = needs.themes.copy()
    documents = list(needs.documents)
    for position, found in untagged.items():
        columns = [theme.position for theme in found]
        themes[position, columns] = True
        documents[position] = need_document(
            needs.statements[position],
            [taxonomy.theme_labels[t] for t in columns],
            [taxonomy.theme_keywords[t] for t in columns],
        )
    return dataclasses.replace(needs, themes=themes, documents=documents)


def _pair_breakdowns(
    index: OfferIndex, factors: Factors, pairs: np.ndarray, cols: np.ndarray, statements: Sequence[str]
) -> list[dict[str, Any]]:
    """The score breakdown of each of these pairs (offer `cols[i]` for the need or request `statements[i]`): the
    factors taken out of their arrays once for all pairs, not one NumPy scalar at a time."""
    # float64 first: `float()` of each value, as the stored breakdown always held (a bool factor gives 1.0).
    fit, relevance, text, theme, audience, geography, availability, capacity = (
        values[pairs].astype(np.float64).tolist()
        for values in (
            factors.fit,
            factors.relevance,
            np.clip(factors.text, 0.0, 1.0),
            factors.theme,
            factors.audience,
            factors.geography,
            factors.availability,
            factors.capacity,
        )
    )
    distances = [
        None if math.isnan(d) else round(d, 3) for d in factors.distance_km[pairs].astype(np.float64).tolist()
    ]
    titles, offer_ids = index.offers.titles, index.offers.ids[cols].tolist()
    documents = index.offer_documents(cols.tolist())
    return [
        {
            "offer_position": col,
            "offer_id": offer_ids[i],
            "offer_title": titles[col],
            "score": fit[i],
            "relevance": relevance[i],
            "text": text[i],
            "theme": theme[i],
            "audience": audience[i],
            "geography": geography[i],
            "availability": availability[i],
            "capacity": capacity[i],
            "distance_km": distances[i],
            "matched_words": matched_words(statements[i], documents[i]),
        }
        for i, col in enumerate(cols.tolist())
    ]


def offers_search(
    *,
    index: OfferIndex,
    text: str,
    params: MatchingParameters,
    today: date,
    domain_position: int | None,
    audience_position: int | None,
    territory_area: str | None,
    centroids: dict[str, tuple[np.ndarray, np.ndarray]],
    near: tuple[float, float] | None,
    radius_km: float | None,
    limit: int,
    themes: Sequence[InferredTheme] = (),
    query_vector: np.ndarray | None = None,
    dense_cosines: Callable[[], np.ndarray] | None = None,
    related_themes: Sequence[InferredTheme] = (),
    graded_themes: bool = True,
) -> list[dict[str, Any]]:
    """Rank published offers for a free-text request with the factors of a run (no demand volume: capacity only
    vetoes full offers). `themes` are the request's inferred themes (`matching.theme_inference`, above the
    confidence floor): they give the theme factor as a need's themes do, and their text joins the retrieval
    query; without them the domain stands for the theme, and without a domain relevance is the text alone.
    An inferred theme is a guess, not a strategist's tag: with `graded_themes` (False: all or nothing, as
    before; the evaluation's before column) the theme factor is graded by the inference
    (`_search_theme_grades`): an offer of a theme the request may also be about, `related_themes` (the classifier's
    runners-up below the floor) included, gets that theme's confidence over the top theme's rather than nothing,
    and the factor leans on the text term as much as the top confidence falls short of 1 (theme factor =
    c * graded factor + (1 - c) * text term). Runners-up never join the retrieval text nor stand alone.

    `query_vector` (the request's `matching.semantic` vector; or `dense_cosines`, a function giving
    `index.dense_cosines` of it, called after the lexical retrieval so that the encoding and the dense product can
    run in another thread meanwhile), with an index carrying offer vectors and `params.semantic_weight` > 0: the
    `k` offers of highest dense cosine join the lexical candidates, and the text term of an offer with a vector is
    `semantic.text_mix` of its lexical cosine and its rescaled dense cosine
    (breakdown "semantic"; null for an offer without a vector, or when the search is lexical).

    With a place (`territory_area`, or `near` and `radius_km`), the `k` best by text and the `k` nearest by meaning
    among the place's own offers (`_search_local_offers`) join the candidates too: the catalogue's best `k` can all
    lie elsewhere, and the place's offers, whose geography factor is 1, would never be scored."""
    n_published = int(np.count_nonzero(index.offers.published))
    if n_published == 0:
        return []
    search_themes = _search_theme_positions(index.taxonomy, themes, domain_position)
    grading = _search_theme_grades(index.taxonomy, themes, related_themes, domain_position) if graded_themes else None
    query = index.model.transform([_search_retrieval_text(index.taxonomy, text, search_themes)])
    k = min(max(params.k_candidates, limit * 5), n_published)
    local_mask = (
        _search_local_offers(index, territory_area, near, radius_km)
        if territory_area is not None or near is not None
        else None
    )
    # With a place, one list long enough to hold the place's k best too (twice over at its share of the catalogue)
    # spares most searches a second pass over the matrix; small places have their cosines computed directly.
    n_local = 0 if local_mask is None else int(np.count_nonzero(local_mask))
    listed_k = k
    if n_local > SEARCH_LOCAL_EXACT_ROWS:
        listed_k = min(n_published, max(k, min(SEARCH_LOCAL_LIST, math.ceil(2 * (k + 1) * n_published / n_local))))
    indices, cosines = index.live.top_k(
        query, k=listed_k, threshold=params.candidate_threshold, eligible=index.offers.published
    )
    listed = indices[0][indices[0] >= 0].astype(np.int64)
    cols = listed[:k]
    text_similarity = np.clip(cosines[0][: cols.size].astype(np.float64), 0.0, 1.0)
    offers = index.offers
    dense = (
        (query_vector is not None or dense_cosines is not None)
        and index.vectors is not None
        and params.semantic_weight > 0
    )
    if dense:
        cosines_dense = index.dense_cosines(query_vector) if dense_cosines is None else dense_cosines()
        has_vector = ~np.isnan(cosines_dense)
        cols = np.union1d(cols, dense_top_k(cosines_dense, offers.published, k))
    if n_local:
        # The k best by text (and by meaning) in the whole catalogue can all lie outside the request's territory
        # or radius on a dense catalogue; the k best of the local offers are candidates too.
        listed_local = listed[local_mask[listed]][:k]
        # The list holds the place's k best when it has k of them, or when it holds every offer above the threshold.
        if n_local > SEARCH_LOCAL_EXACT_ROWS and (listed_local.size == k or listed.size < listed_k):
            local_cols = listed_local
        else:
            local_cols = _search_local_top_k(index, query, local_mask, k, params.candidate_threshold)
        if dense:
            local_cols = np.union1d(local_cols, dense_top_k(cosines_dense, local_mask, k))
        cols = np.union1d(cols, local_cols)
    theme = _search_theme_factor(index, cols, search_themes, domain_position, params, grading)
    if search_themes.size or dense or n_local:
        # Retrieval used the themes' text (or the dense and local candidates have no lexical cosine yet); the text
        # term is the bare request's cosine, as for a need's statement.
        text_similarity = np.clip(row_cosines(index.model.transform([text]), index.row_matrix(cols)), 0.0, 1.0)
    semantic = None
    if dense:
        semantic = dense_rescale(np.nan_to_num(cosines_dense[cols]), params.semantic_floor)
        text_similarity = text_mix(text_similarity, semantic, has_vector[cols], params.semantic_weight)
    if theme is None:
        # Without a theme or a domain there is no theme evidence: relevance is the text similarity alone.
        theme = text_similarity
    elif grading is not None:
        # A theme inferred at confidence c is evidence in proportion to c; the rest of its weight goes to the text.
        theme = grading[2] * theme + (1.0 - grading[2]) * text_similarity
    if audience_position is None:
        audience = np.ones(cols.size)
    else:
        audience = audience_factor(
            index.offers_everyone()[cols], offers.audiences[cols, audience_position], mismatch=params.audience_mismatch
        )
    if near is not None:
        distance = haversine_km(near[0], near[1], offers.latitude[cols], offers.longitude[cols])
        radius = radius_km or 0.0
        geography = geography_factor(
            distance <= radius, np.maximum(distance - radius, 0.0), decay_km=params.decay_km, kind=params.decay_kind
        )
    elif territory_area:
        geography, distance = _geography(index, [territory_area] * cols.size, cols, centroids, params)
    else:
        geography, distance = np.ones(cols.size), np.full(cols.size, np.nan)
    availability = availability_factor(
        offers.published[cols], offers.available_from[cols], offers.available_until[cols], reference_date=today
    )
    capacity = capacity_factor(offers.capacity[cols], np.full(cols.size, np.nan))
    scores = pair_scores(text_similarity, theme, audience, geography, availability, capacity, params)
    factors = Factors(
        text_similarity,
        theme,
        audience,
        geography,
        availability,
        capacity,
        distance,
        scores["relevance"],
        scores["fit"],
    )
    order = np.lexsort((cols, -scores["relevance"], -scores["fit"]))[:limit]
    results = _pair_breakdowns(index, factors, order, cols[order], [text] * order.size)
    for pair, breakdown in zip(order.tolist(), results, strict=True):
        if domain_position is None and not search_themes.size:
            breakdown["theme"] = None
        breakdown["semantic"] = float(semantic[pair]) if semantic is not None and has_vector[cols[pair]] else None
    return results


def _search_local_offers(
    index: OfferIndex, territory_area: str | None, near: tuple[float, float] | None, radius_km: float | None
) -> np.ndarray:
    """Mask of the published offers a search's place asks for: within `radius_km` of `near`, else inside
    `territory_area` (located in it or serving it), those whose geography factor is 1."""
    offers = index.offers
    published = np.flatnonzero(offers.published)
    mask = np.zeros(index.size, dtype=bool)
    if near is not None:
        distance = haversine_km(near[0], near[1], offers.latitude[published], offers.longitude[published])
        mask[published[distance <= (radius_km or 0.0)]] = True  # NaN (no place) is never within
    elif territory_area:
        mask[published[index.inside(territory_area, published)]] = True
    return mask


def _search_local_top_k(
    index: OfferIndex, query: sp.csr_matrix, local_mask: np.ndarray, k: int, threshold: float
) -> np.ndarray:
    """The `k` offers of `local_mask` of highest cosine with the retrieval `query`, strictly above `threshold`,
    ties to the lower position (as `LiveMatrix.top_k`)."""
    local = np.flatnonzero(local_mask)
    if local.size > SEARCH_LOCAL_EXACT_ROWS:
        top, _cosines = index.live.top_k(query, k=k, threshold=threshold, eligible=local_mask)
        return top[0][top[0] >= 0].astype(np.int64)
    # Few offers: their cosines directly, in O(their non-zeros), not a pass over the whole matrix.
    cosines = row_cosines(query, index.row_matrix(local))
    above = cosines > threshold
    local, cosines = local[above], cosines[above]
    return local[np.lexsort((local, -cosines))[:k]]


def row_cosines(query: sp.csr_matrix, rows: sp.csr_matrix) -> np.ndarray:
    """The cosine of one query row with each of `rows` (both L2-normalised, same features), in O(non-zeros of
    `rows`): a sparse product would build the transposed query over every hashed feature (5 million), about 20 ms."""
    query = sp.csr_matrix(query)
    order = np.argsort(query.indices)
    features, weights = query.indices[order], query.data[order].astype(np.float64)
    result = np.zeros(rows.shape[0])
    if not features.size or not rows.nnz:
        return result
    where = np.minimum(np.searchsorted(features, rows.indices), features.size - 1)
    contributions = np.where(features[where] == rows.indices, rows.data * weights[where], 0.0)
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    return np.bincount(row_of, weights=contributions, minlength=rows.shape[0])


# ---------------------------------------------------------------------------
# Search: the theme part (inferred themes of the request -> retrieval text and theme factor)
# ---------------------------------------------------------------------------


def _search_theme_positions(
    taxonomy: TaxonomyArrays, themes: Sequence[InferredTheme], domain_position: int | None
) -> np.ndarray:
    """Theme columns the request is taken to be about: its inferred themes, within the domain when one is given
    (the caller's domain is explicit, an inferred theme outside it is a misreading)."""
    positions = [theme.position for theme in themes]
    if domain_position is not None:
        positions = [t for t in positions if taxonomy.theme_domain[t] == domain_position]
    return np.asarray(positions, dtype=np.int64)


def _search_theme_grades(
    taxonomy: TaxonomyArrays,
    themes: Sequence[InferredTheme],
    related_themes: Sequence[InferredTheme],
    domain_position: int | None,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The request's themes above the floor and their runners-up (positions, within the domain when one is
    given), each with its confidence over the most confident theme above the floor (what an offer of that theme
    gets as theme factor), and that top confidence. None when no theme is above the floor (runners-up alone are
    not evidence)."""
    chosen = [t for t in themes if domain_position is None or taxonomy.theme_domain[t.position] == domain_position]
    if not chosen:
        return None
    related = [
        t for t in related_themes if domain_position is None or taxonomy.theme_domain[t.position] == domain_position
    ]
    top = max(t.confidence for t in chosen)
    graded = [*chosen, *related]
    positions = np.array([t.position for t in graded], dtype=np.int64)
    grades = np.clip(np.array([t.confidence for t in graded], dtype=np.float64) / top, 0.0, 1.0)
    return positions, grades, min(1.0, top)


def _search_retrieval_text(taxonomy: TaxonomyArrays, text: str, theme_positions: np.ndarray) -> str:
    """The request plus its themes' labels and keywords, as a need's document (runs retrieve the same way)."""
    if not theme_positions.size:
        return text
    return need_document(
        text,
        [taxonomy.theme_labels[t] for t in theme_positions],
        [taxonomy.theme_keywords[t] for t in theme_positions],
    )


def _search_theme_factor(
    index: OfferIndex,
    cols: np.ndarray,
    theme_positions: np.ndarray,
    domain_position: int | None,
    params: MatchingParameters,
    grading: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> np.ndarray | None:
    """`scoring.theme_factor` of each candidate against the request's themes (shares one: 1; same domain as one:
    `theme_same_domain`), or against the given domain alone; None when neither is known.

    With `grading` (`_search_theme_grades`), sharing a theme is worth that theme's grade (its confidence over the
    top theme's) rather than 1, runners-up below the floor included, and never less than the same-domain value:
    a request inferred "health care" at 0.41 and "salaried job" at 0.14 leaves a nurse's job offer a third of the
    theme factor instead of none. With the confidence weighting of `offers_search`, on the labelled set: recall@5
    0.890 -> 0.908, nDCG@10 0.860 -> 0.872, no class lower, the held-out part unchanged (bench/eval_matching.py,
    "Graded theme factor")."""
    offers = index.offers
    if theme_positions.size:
        domains = np.unique(index.taxonomy.theme_domain[theme_positions])
        same_domain = np.isin(offers.domain[cols], domains)
        if grading is not None:
            positions, grades, _confidence = grading
            graded = (offers.themes[np.ix_(cols, positions)] * grades).max(axis=1)
            return np.maximum(graded, np.where(same_domain, params.theme_same_domain, 0.0))
        shares = offers.themes[np.ix_(cols, theme_positions)].any(axis=1)
        return theme_factor(shares, same_domain, same_domain_value=params.theme_same_domain)
    if domain_position is not None:
        return theme_factor(
            np.zeros(cols.size, bool),
            offers.domain[cols] == domain_position,
            same_domain_value=params.theme_same_domain,
        )
    return None

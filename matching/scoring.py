"""Pure scoring maths for Ancrage: text relevance, structured factors, coverage, recommendations and IPA."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils.validation import check_is_fitted
from sparse_dot_topn import sp_matmul_topn
from stop_words import get_stop_words

from api.geo import EARTH_RADIUS_KM
from api.text import fold_text  # Shared with the search filters; pure Python, no Django.
from matching.reasons import (
    ADJUST,
    CONSTRAINTS,
    COVERED,
    CREATE,
    LOW_SATISFACTION,
    MAINTAIN,
    NO_RELEVANT_OFFER,
    PROMOTE,
    SATISFACTION_UNKNOWN,
    WEAK_MATCH,
)

__all__ = [
    "ALGORITHM_VERSION",
    "CONSTRAINTS",
    "CROSSHAIR_RULES",
    "FRENCH_STOP_WORDS",
    "IPA_QUADRANTS",
    "MatchingParameters",
    "TextRelevanceModel",
    "audience_factor",
    "availability_factor",
    "capacity_factor",
    "fold_text",
    "geography_factor",
    "haversine_km",
    "ipa_crosshairs",
    "ipa_diagonal_gap",
    "ipa_quadrants",
    "min_distance_km",
    "need_coverage",
    "need_document",
    "need_gap",
    "offer_document",
    "pair_scores",
    "pair_service",
    "rank_candidates",
    "recommend",
    "theme_factor",
    "top_k_similarity",
    "top_k_similarity_reference",
]

# Bump whenever a change can alter a stored score, so runs stay comparable.
ALGORITHM_VERSION = "2.0.0"  # 2.0.0: calibrated coverage (see need_coverage and docs/reports.md).

# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

# Words every request starts with ("je cherche à trouver ...") that the stop-words list lacks; they carry no
# topic, so leaving them in would make any two requests look alike in the word branch.
_REQUEST_WORDS = ("besoin", "cherche", "chercher", "recherche", "souhaite", "voudrais", "aimerais", "trouver")

_STOP_WORDS_AS_WRITTEN = (*get_stop_words("french"), *_REQUEST_WORDS)
FRENCH_STOP_WORDS: frozenset[str] = frozenset(
    token for word in _STOP_WORDS_AS_WRITTEN for token in fold_text(word).split()
)


# Bump when the way a text becomes a row changes without a parameter changing: stored indexes are then rebuilt.
_TEXT_MODEL_FORMAT = "hashed-1"


def offer_document(
    title: str | None, description: str | None, theme_labels: Iterable[str] = (), theme_keywords: Iterable[str] = ()
) -> str:
    """The text indexed for an offer: title, description, then its themes' labels and everyday keywords."""
    return " . ".join(part for part in (title, description, *theme_labels, *theme_keywords) if part)


def need_document(statement: str | None, theme_labels: Iterable[str] = (), theme_keywords: Iterable[str] = ()) -> str:
    """The text queried for a need: its statement, then its themes' labels and everyday keywords."""
    return " . ".join(part for part in (statement, *theme_labels, *theme_keywords) if part)


class TextRelevanceModel(TransformerMixin, BaseEstimator):
    """Word plus character TF-IDF on folded French text; rows are L2-normalised so a dot product is a cosine.

    The features are hashed (scikit-learn ``HashingVectorizer``), so the feature space does not depend on the
    catalogue: an offer's term counts can be computed alone, at write time or in a delta, and the IDF comes from
    document-frequency counts that can be set or extended without re-reading the documents. The maths is split
    so an index can store counts and weigh them: ``transform(texts) == weigh(counts(texts))``.

    With ``a = char_weight``, the cosine of two texts that both have word tokens is
    ``(1 - a) * cos_word + a * cos_char``: each branch is L2-normalised, scaled by the square root of its share,
    and the concatenation is normalised again.

    Parameters
    ----------
    char_ngram_range : tuple of int
        Character n-gram sizes, taken inside word boundaries (``char_wb``).
    word_ngram_range : tuple of int
        Word n-gram sizes; French stop words are removed first.
    char_weight : float in [0, 1]
        Share of the character branch in the cosine; 1 disables the word branch, 0 the character branch.
    min_df : int or float
        Features in fewer documents (a share of them when a float) get no weight, as in ``TfidfVectorizer``.
    max_features : int or None
        Per branch, only the features in the most documents keep a weight.
    sublinear_tf : bool
        ``1 + log(tf)`` instead of the raw count.
    dtype
        Dtype of the rows returned.
    preprocessor : callable
        Text normalisation before tokenising (default: accent and case folding, ``api.text.fold_text``).
    word_preprocessor : callable or None
        Normalisation of the word branch only; None = ``preprocessor``.
        ``matching.text_normalise.keep_accents_text`` keeps "marché" and "marche" apart.
    n_features, word_n_features : int
        Hash buckets of the character and word branches. On the labelled set (bench/eval_matching.py) fewer
        buckets lose relevance through collisions (a query n-gram the offers lack landing on one they have):
        char 2**20 or 2**21 gives nDCG@10 0.863 against 0.866 for the vocabulary model, 2**22 gives 0.866; word
        2**18-2**20 alone gives recall@5 0.939 against 0.947, 2**22 gives 0.947, and with both branches word
        2**20 already equals the vocabulary model. bench/bench_live_index.py reports the shared buckets of a
        synthetic catalogue.
    """

    def __init__(
        self,
        *,
        char_ngram_range: tuple[int, int] = (3, 5),
        word_ngram_range: tuple[int, int] = (1, 1),
        # Measured with bench/eval_matching.py: recall@5 stays within 0.03 (two needs in 63) for char_weight in
        # [0.5, 1.0], with or without theme text in the query, and drops below 0.5 (words alone miss
        # "nounou"/"garde", "boulot"/"emploi"). 0.75 sits inside that plateau rather than on its best single value
        # and keeps whole-word matches in play; (3, 5) is the n-gram range MATCHING-NOTES.md measured on its
        # held-out set, and (3, 4)-(4, 6) are within one need of it here.
        char_weight: float = 0.75,
        min_df: int | float = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        dtype: type = np.float32,
        preprocessor: Callable[[str], str] = fold_text,
        word_preprocessor: Callable[[str], str] | None = None,
        n_features: int = 2**22,
        word_n_features: int = 2**20,
    ) -> None:
        self.char_ngram_range = char_ngram_range
        self.word_ngram_range = word_ngram_range
        self.char_weight = char_weight
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.word_preprocessor = word_preprocessor
        self.n_features = n_features
        self.word_n_features = word_n_features

    # --- the feature space -------------------------------------------------------------------------------------

    def _branches(self) -> list[tuple[str, HashingVectorizer, float]]:
        """The active branches, in feature-space order: (name, vectoriser, weight); a zero-weight branch is left
        out of the space rather than computed and multiplied by zero. Kept per parameters: scikit-learn checks the
        stop words against the preprocessing once per vectoriser (tens of milliseconds), not per search."""
        key = repr(sorted(self.get_params().items()))
        cached = self.__dict__.get("_branches_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        branches = self._make_branches()
        self.__dict__["_branches_cache"] = (key, branches)
        return branches

    def _make_branches(self) -> list[tuple[str, HashingVectorizer, float]]:
        if not 0.0 <= self.char_weight <= 1.0:
            raise ValueError(f"char_weight must be in [0, 1], got {self.char_weight!r}")
        common = {"alternate_sign": False, "norm": None, "dtype": np.float64}
        branches = []
        if self.char_weight < 1.0:
            word = HashingVectorizer(
                analyzer="word",
                ngram_range=self.word_ngram_range,
                stop_words=sorted(FRENCH_STOP_WORDS),
                preprocessor=self.word_preprocessor or self.preprocessor,
                n_features=self.word_n_features,
                **common,
            )
            branches.append(("word", word, 1.0 - self.char_weight))
        if self.char_weight > 0.0:
            char = HashingVectorizer(
                analyzer="char_wb",
                ngram_range=self.char_ngram_range,
                preprocessor=self.preprocessor,
                n_features=self.n_features,
                **common,
            )
            branches.append(("char", char, self.char_weight))
        return branches

    def _offsets(self) -> list[int]:
        """First feature of each active branch, then the size of the space."""
        sizes = [vectorizer.n_features for _name, vectorizer, _weight in self._branches()]
        return [0, *np.cumsum(sizes).tolist()]

    @property
    def n_features_out(self) -> int:
        return self._offsets()[-1]

    def model_key(self) -> str:
        """A stable fingerprint of everything that decides a row: an index stored with another key is not reused."""
        params = self.get_params()
        for name in ("preprocessor", "word_preprocessor"):
            function = params[name]
            params[name] = None if function is None else f"{function.__module__}.{function.__qualname__}"
        params["dtype"] = np.dtype(params["dtype"]).name
        described = repr(sorted(params.items())) + repr(sorted(FRENCH_STOP_WORDS)) + _TEXT_MODEL_FORMAT
        return hashlib.sha256(described.encode()).hexdigest()[:16]

    # --- the maths, split ----------------------------------------------------------------------------------------

    def counts(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Per text, its term counts in the hashed space (``1 + log`` of them with ``sublinear_tf``), float64.

        Depends on nothing learnt: the same text always gives the same row."""
        return self.counts_from_raw(self.raw_counts(texts))

    def raw_counts(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Per text, how many times each hashed feature occurs (float64, sorted indices): ``counts`` before
        ``sublinear_tf``. Raw counts add up over texts joined by spaces and punctuation: both preprocessors turn
        punctuation into spaces and every n-gram lies within one word, so ``raw_counts([a + " . " + b])`` is
        ``raw_counts([a]) + raw_counts([b])``, exactly (whole numbers)."""
        texts = _as_text_list(texts)
        if not texts:  # HashingVectorizer cannot transform an empty list
            return sp.csr_matrix((0, self.n_features_out), dtype=np.float64)
        blocks = [vectorizer.transform(texts) for _name, vectorizer, _weight in self._branches()]
        matrix = sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float64)
        matrix.sort_indices()
        return matrix

    def counts_from_raw(self, raw: sp.csr_matrix) -> sp.csr_matrix:
        """``counts`` of the texts whose ``raw_counts`` these are (in place: ``raw`` becomes the result)."""
        if self.sublinear_tf:
            np.log(raw.data, out=raw.data)
            raw.data += 1.0
        return raw

    @staticmethod
    def document_frequencies(counts: sp.spmatrix) -> tuple[np.ndarray, int]:
        """In how many rows each feature occurs, and the number of rows."""
        counts = sp.csr_matrix(counts)
        return np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64), int(counts.shape[0])

    def with_added_documents(self, counts: sp.spmatrix) -> TextRelevanceModel:
        """A copy whose IDF also covers the features only ``counts`` (documents added since the fit) use, from
        their frequency among those documents; the fitted IDF array is shared, not copied (a live index's
        is memory-mapped), and ``self`` is left as it was. Returns ``self`` when nothing is new."""
        check_is_fitted(self, "idf_")
        features, frequencies = np.unique(sp.csr_matrix(counts).indices, return_counts=True)
        known_features = getattr(self, "extra_features_", np.zeros(0, dtype=np.int64))
        new = (np.asarray(self.idf_[features]) == 0) & (np.asarray(self.document_frequencies_[features]) == 0)
        new &= ~np.isin(features, known_features)
        if not new.any():
            return self
        copy = object.__new__(type(self))  # not sklearn.clone: its parameter introspection costs milliseconds
        copy.__dict__.update(self.__dict__)
        idf = np.log((1.0 + self.n_documents_) / (1.0 + frequencies[new])) + 1.0
        merged = np.concatenate([known_features, features[new]])
        order = np.argsort(merged, kind="stable")
        copy.extra_features_ = merged[order]
        copy.extra_idf_ = np.concatenate([getattr(self, "extra_idf_", np.zeros(0)), idf])[order]
        return copy

    def set_document_frequencies(self, document_frequencies: np.ndarray, n_documents: int) -> TextRelevanceModel:
        """Learn the IDF from counts (smooth IDF, as ``TfidfVectorizer``): ``ln((1 + n) / (1 + df)) + 1``.

        A feature in no document gets no weight, so a query word the documents never use does not dilute the
        query's norm (the vocabulary semantics of ``TfidfVectorizer``); ``with_added_documents`` extends it to the
        features of documents added since, without reweighing the fitted rows.
        """
        df = np.asarray(document_frequencies, dtype=np.int64)
        if df.shape != (self.n_features_out,):
            raise ValueError(f"document_frequencies has shape {df.shape}, expected ({self.n_features_out},)")
        n = int(n_documents)
        used = df >= (self.min_df if isinstance(self.min_df, int | np.integer) else math.ceil(self.min_df * n))
        used &= df > 0
        if self.max_features is not None:
            offsets = self._offsets()
            for first, last in zip(offsets[:-1], offsets[1:], strict=True):
                block = df[first:last] * used[first:last]
                if np.count_nonzero(block) > self.max_features:
                    keep = np.argsort(-block, kind="stable")[: self.max_features]
                    mask = np.zeros(block.size, dtype=bool)
                    mask[keep] = True
                    used[first:last] &= mask
        idf = np.where(used, np.log((1.0 + n) / (1.0 + df)) + 1.0, 0.0)
        self.document_frequencies_ = df
        self.n_documents_ = n
        self.idf_ = idf
        self.extra_features_ = np.zeros(0, dtype=np.int64)
        self.extra_idf_ = np.zeros(0)
        return self

    def weigh(self, counts: sp.spmatrix, idf: np.ndarray | None = None) -> sp.csr_matrix:
        """TF-IDF rows from ``counts``: times the IDF, each branch L2-normalised and scaled by the square root of
        its share, the whole row normalised again (an all-zero row stays zero)."""
        extra_features = extra_idf = None
        if idf is None:
            check_is_fitted(self, "idf_")
            idf = self.idf_
            extra_features = getattr(self, "extra_features_", None)
            extra_idf = getattr(self, "extra_idf_", None)
        matrix = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        weights = idf[matrix.indices]
        if extra_features is not None and extra_features.size:
            at = np.minimum(np.searchsorted(extra_features, matrix.indices), extra_features.size - 1)
            extra = extra_features[at] == matrix.indices
            weights[extra] = extra_idf[at[extra]]
        matrix.data *= weights
        matrix.eliminate_zeros()
        n_rows = matrix.shape[0]
        rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
        squares = matrix.data**2
        offsets = self._offsets()
        branch = np.searchsorted(offsets[1:-1], matrix.indices, side="right")
        scale = np.zeros(matrix.data.size)
        for position, (_name, _vectorizer, weight) in enumerate(self._branches()):
            inside = branch == position
            norms = np.sqrt(np.bincount(rows[inside], weights=squares[inside], minlength=n_rows))
            with np.errstate(divide="ignore"):
                scale[inside] = math.sqrt(weight) / norms[rows[inside]]
        matrix.data *= scale
        totals = np.sqrt(np.bincount(rows, weights=matrix.data**2, minlength=n_rows))
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix.data /= totals[rows]
        return sp.csr_matrix(matrix, dtype=self.dtype)

    # --- the estimator -----------------------------------------------------------------------------------------

    def fit(self, texts: Iterable[str], y: None = None) -> TextRelevanceModel:
        """Learn the IDF from the document frequencies of ``texts``."""
        return self.set_document_frequencies(*self.document_frequencies(self.counts(texts)))

    def fit_transform(self, texts: Iterable[str], y: None = None) -> sp.csr_matrix:
        """Fit and return the rows of ``texts`` in one pass over them (half the work of fit, then transform)."""
        counts = self.counts(texts)
        self.set_document_frequencies(*self.document_frequencies(counts))
        return self.weigh(counts)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Return one L2-normalised row per text (an all-zero row when nothing matches the fitted documents)."""
        check_is_fitted(self, "idf_")
        return self.weigh(self.counts(texts))

    def get_feature_names_out(self, input_features: None = None) -> np.ndarray:
        """Feature names, prefixed with their branch (``word__`` or ``char__``) and numbered by hash bucket."""
        return np.array(
            [
                f"{name}__{bucket}"
                for name, vectorizer, _weight in self._branches()
                for bucket in range(vectorizer.n_features)
            ],
            dtype=object,
        )


def _as_text_list(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):  # A bare string would silently be read as one document per character.
        raise TypeError("expected an iterable of texts, got a single string")
    return ["" if text is None else text for text in texts]


# ---------------------------------------------------------------------------
# Top-k similarity
# ---------------------------------------------------------------------------


def top_k_similarity(
    query_matrix: sp.spmatrix | sp.sparray,
    item_matrix: sp.spmatrix | sp.sparray,
    *,
    k: int,
    threshold: float = 0.0,
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items with the highest ``query . item`` per query row, in O(n_queries * k) memory.

    Only scores strictly above ``threshold`` (>= 0) are candidates. Returns ``(indices, scores)`` of shape
    ``(n_queries, k)``, int32 and float32, rows sorted by descending score then ascending item index, padded with
    -1 and 0.0. ``n_threads`` is passed to ``sparse_dot_topn`` (-1: all cores but one).
    """
    query, item, k = _check_top_k_args(query_matrix, item_matrix, k, threshold)
    if n_threads != -1 and n_threads < 1:
        raise ValueError(f"n_threads must be >= 1 or -1, got {n_threads!r}")
    n_queries = query.shape[0]
    if n_queries == 0 or item.shape[0] == 0 or query.nnz == 0 or item.nnz == 0:
        return _empty_top_k(n_queries, k)
    # One extra candidate tells whether the k-th place is tied with an item left out: sparse_dot_topn breaks such
    # ties arbitrarily, so those (rare) rows are recomputed exactly to keep the lowest indices.
    product = sp_matmul_topn(
        query,
        item.T.tocsr(),
        top_n=min(k + 1, item.shape[0]),
        threshold=threshold,
        n_threads=None if n_threads == 1 else n_threads,
    )
    rows = np.repeat(np.arange(n_queries), np.diff(product.indptr))
    indices, scores, counts = _pack_top_k(rows, product.indices, product.data, n_queries, k + 1)
    tied = np.flatnonzero((counts > k) & (scores[:, k - 1] == scores[:, k]))
    indices, scores = indices[:, :k], scores[:, :k]
    if tied.size:
        indices[tied], scores[tied] = top_k_similarity_reference(query[tied], item, k=k, threshold=threshold)
    return indices, scores


def top_k_similarity_reference(
    query_matrix: sp.spmatrix | sp.sparray,
    item_matrix: sp.spmatrix | sp.sparray,
    *,
    k: int,
    threshold: float = 0.0,
    chunk_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Same contract as :func:`top_k_similarity`, by dense products of ``chunk_size`` query rows at a time.

    Memory is bounded by ``chunk_size * n_items`` floats; meant for tests and benchmarks.
    """
    query, item, k = _check_top_k_args(query_matrix, item_matrix, k, threshold)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    n_queries, n_items = query.shape[0], item.shape[0]
    indices, scores = _empty_top_k(n_queries, k)
    if n_items == 0:
        return indices, scores
    item_t = item.T.tocsc()
    kth = min(k, n_items) - 1
    for start in range(0, n_queries, chunk_size):
        block = np.asarray((query[start : start + chunk_size] @ item_t).todense())
        block[~(block > threshold)] = -np.inf
        # Value of the k-th best per row; everything above it is in, ties at it are taken by ascending index.
        kth_value = -np.partition(-block, kth, axis=1)[:, kth : kth + 1]
        above = block > kth_value
        at = (block == kth_value) & np.isfinite(block)
        keep = above | (at & (np.cumsum(at, axis=1) <= (kth + 1) - above.sum(axis=1, keepdims=True)))
        rows, cols = np.nonzero(keep)
        chunk_indices, chunk_scores, _ = _pack_top_k(rows, cols, block[rows, cols], block.shape[0], k)
        indices[start : start + block.shape[0]] = chunk_indices
        scores[start : start + block.shape[0]] = chunk_scores
    return indices, scores


def _check_top_k_args(query_matrix: Any, item_matrix: Any, k: int, threshold: float) -> tuple[Any, Any, int]:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not threshold >= 0.0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    query, item = sp.csr_matrix(query_matrix), sp.csr_matrix(item_matrix)
    if query.shape[1] != item.shape[1]:
        raise ValueError(f"query and item matrices have {query.shape[1]} and {item.shape[1]} features")
    # sparse_dot_topn needs one dtype of one kind on both sides; integers are promoted to float64.
    dtype = np.result_type(query.dtype, item.dtype, np.float32)
    return query.astype(dtype, copy=False), item.astype(dtype, copy=False), int(k)


def _empty_top_k(n_rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n_rows, k), -1, dtype=np.int32), np.zeros((n_rows, k), dtype=np.float32)


def _pack_top_k(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort (row, col, value) triples by row, descending value, ascending col and keep ``width`` per row."""
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n_rows)
    rank = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    kept = rank < width
    indices, scores = _empty_top_k(n_rows, width)
    indices[rows[kept], rank[kept]] = cols[kept]
    scores[rows[kept], rank[kept]] = values[kept]
    return indices, scores, counts


def rank_candidates(
    candidates: sp.csr_matrix | sp.csr_array, scores: np.ndarray, *, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best candidates per row of a candidate CSR by ``scores`` (parallel to ``candidates.indices``).

    Returns ``(offer_indices, scores)`` of shape ``(n_rows, n)``, sorted like :func:`top_k_similarity`; zero
    scores are kept (a candidate stays a candidate), padding is -1 / 0.0.
    """
    indptr, indices = _candidate_structure(candidates)
    scores = _parallel(scores, indices.size, "scores")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    offer_indices, best, _ = _pack_top_k(rows, indices, scores, indptr.size - 1, n)
    return offer_indices, best


# ---------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km between points in decimal degrees; inputs broadcast like NumPy arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    # Clipping guards arcsin against rounding just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# From this many points on, `min_distance_km` searches a k-d tree rather than measuring every pair.
_TREE_MIN_POINTS = 64


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def min_distance_km(lat: Any, lon: Any, points_lat: Any, points_lon: Any, *, chunk_size: int = 2048) -> np.ndarray:
    """For each of N locations, the distance in km to the nearest of M points (inf when M = 0).

    Works on ``chunk_size`` locations at a time, so memory stays at ``chunk_size * M`` floats.
    """
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    points_lat, points_lon = np.asarray(points_lat, float).ravel(), np.asarray(points_lon, float).ravel()
    if lat.shape != lon.shape or points_lat.shape != points_lon.shape:
        raise ValueError("latitude and longitude arrays must have the same shape")
    result = np.full(lat.shape, np.inf)
    if points_lat.size == 0:
        return result
    flat_lat, flat_lon, flat_result = lat.ravel(), lon.ravel(), result.ravel()
    if points_lat.size >= _TREE_MIN_POINTS and np.isfinite(points_lat).all() and np.isfinite(points_lon).all():
        # Many points (a région's communes): the nearest by chord on the unit sphere is the nearest by great
        # circle, found in a k-d tree, then measured by the same haversine. N log M instead of N x M.
        known = np.isfinite(flat_lat) & np.isfinite(flat_lon)
        flat_result[~known] = np.nan
        if known.any():
            _, nearest = cKDTree(_unit_vectors(points_lat, points_lon)).query(
                _unit_vectors(flat_lat[known], flat_lon[known])
            )
            flat_result[known] = haversine_km(
                flat_lat[known], flat_lon[known], points_lat[nearest], points_lon[nearest]
            )
        return flat_result.reshape(lat.shape)
    for start in range(0, flat_lat.size, chunk_size):
        block = slice(start, start + chunk_size)
        distances = haversine_km(flat_lat[block, None], flat_lon[block, None], points_lat, points_lon)
        flat_result[block] = distances.min(axis=1)
    return flat_result.reshape(lat.shape)


# ---------------------------------------------------------------------------
# Structured factors: each maps arrays of candidate pairs to floats in [0, 1]
# ---------------------------------------------------------------------------


def theme_factor(
    shares_theme: Any,
    same_domain: Any,
    *,
    same_theme: float = 1.0,
    same_domain_value: float = 0.5,
    other: float = 0.0,
) -> np.ndarray:
    """``same_theme`` when need and offer share a theme, else ``same_domain_value`` within a domain, else ``other``."""
    for name, value in (("same_theme", same_theme), ("same_domain_value", same_domain_value), ("other", other)):
        _check_unit(name, value)
    shares_theme, same_domain = np.broadcast_arrays(np.asarray(shares_theme, bool), np.asarray(same_domain, bool))
    return np.where(shares_theme, same_theme, np.where(same_domain, same_domain_value, other)).astype(np.float64)


def audience_factor(offer_targets_everyone: Any, offer_targets_audience: Any, *, mismatch: float = 0.0) -> np.ndarray:
    """1 when the offer is open to everyone or names the need's audience, ``mismatch`` otherwise.

    A need without an audience should be passed as ``offer_targets_audience=True``.
    """
    _check_unit("mismatch", mismatch)
    open_to_all = np.asarray(offer_targets_everyone, bool) | np.asarray(offer_targets_audience, bool)
    return np.where(open_to_all, 1.0, mismatch)


DecayKind = Literal["exponential", "gaussian", "linear"]
DECAY_KINDS: tuple[str, ...] = get_args(DecayKind)


def geography_factor(
    inside_scope: Any, distance_km: Any, *, decay_km: float = 15.0, kind: DecayKind = "exponential"
) -> np.ndarray:
    """1 inside the need's area; outside, a decreasing function of the distance ``d`` to it.

    ``kind`` with ``s = decay_km``: ``"exponential"`` exp(-d/s) (0.37 at s, long tail: a far but unique service
    still counts a little), ``"gaussian"`` exp(-d²/2s²) (0.61 at s, then falls fast), ``"linear"``
    max(0, 1 - d/s) (0 from s on: a hard radius). An unknown distance (NaN) outside the area gives 1: offers
    without a location (online, département-wide) are not penalised for it.
    """
    if not decay_km > 0:
        raise ValueError(f"decay_km must be > 0, got {decay_km!r}")
    inside, distance = np.broadcast_arrays(np.asarray(inside_scope, bool), np.asarray(distance_km, np.float64))
    if np.any(distance < 0):
        raise ValueError("distance_km must be >= 0")
    scaled = distance / decay_km
    with np.errstate(invalid="ignore"):
        if kind == "exponential":
            decay = np.exp(-scaled)
        elif kind == "gaussian":
            decay = np.exp(-0.5 * scaled**2)
        elif kind == "linear":
            decay = np.clip(1.0 - scaled, 0.0, 1.0)
        else:
            raise ValueError(f"kind must be one of {DECAY_KINDS}, got {kind!r}")
    return np.where(inside | np.isnan(distance), 1.0, decay)


def availability_factor(
    is_published: Any, available_from: Any, available_until: Any, *, reference_date: date | np.datetime64 | str
) -> np.ndarray:
    """1 when the offer is published and ``reference_date`` lies in [from, until] (bounds included, NaT = open)."""
    reference = np.datetime64(reference_date, "D")
    if np.isnat(reference):
        raise ValueError("reference_date must be a date")
    published = np.asarray(is_published, bool)
    start = np.asarray(available_from, "datetime64[D]")
    end = np.asarray(available_until, "datetime64[D]")
    started = np.isnat(start) | (start <= reference)
    not_ended = np.isnat(end) | (end >= reference)
    return (published & started & not_ended).astype(np.float64)


def capacity_factor(capacity: Any, demand_volume: Any) -> np.ndarray:
    """``min(1, capacity / demand)``; 1 when either is unknown (NaN) or demand is 0; 0 when capacity is 0.

    Zero capacity gives 0 even with unknown demand: an offer with no places serves no one.
    """
    capacity, demand = np.broadcast_arrays(np.asarray(capacity, np.float64), np.asarray(demand_volume, np.float64))
    if np.any(capacity < 0) or np.any(demand < 0):
        raise ValueError("capacity and demand_volume must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(1.0, capacity / demand)
    ratio = np.where(np.isnan(capacity) | np.isnan(demand) | (demand == 0), 1.0, ratio)
    return np.where(capacity == 0, 0.0, ratio)


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


# Upper bounds of the integer parameters: a chunk holds needs x k_candidates scores in memory and writes
# needs x top_offers_per_need matched offers, so an unbounded value from a run's parameters could exhaust a worker.
PARAMETER_INT_MAX = {"n_best": 20, "k_candidates": 1000, "top_offers_per_need": 50}


@dataclasses.dataclass(frozen=True)
class MatchingParameters:
    """Every weight and threshold of a matching run; stored with the run next to :data:`ALGORITHM_VERSION`."""

    # Relevance = (text_weight * cosine + theme_weight * theme factor) / (sum of weights). The cosine should be
    # the need's bare statement against the offer document: theme keywords on both sides push every same-theme
    # pair to a cosine near 0.6 (measured on tests/matching/data/eval_set.json), so "create" could never fire.
    text_weight: float = 0.6
    theme_weight: float = 0.4
    theme_same_domain: float = 0.5  # Theme factor for a different theme of the same domain.
    audience_mismatch: float = 0.0  # Audience factor when the offer is reserved to other audiences.
    # With the weights above, a same-theme pair is relevant from a statement cosine of 0.1, a same-domain pair
    # from 0.43, an untagged pair from 0.77. On the evaluation set (median statement cosine 0.20 for labelled
    # pairs, 0.08 for unlabelled same-theme pairs) this flags 6 of the 9 needs without an offer as "create"
    # and 10 of the 63 others. 0.49 is the best of the recommendation sweep (`manage.py evaluate_recommendations`,
    # docs/benchmarks.md "Recommendations") since the hashed index and the accent-keeping word branch.
    relevance_threshold: float = 0.49
    # Coverage scale (`pair_service`): a relevant offer serves min(1, relevance / relevance_full) of the need, times
    # floor + (1 - floor) * factor for each constraint. relevance_full <= relevance_threshold / 0.8 keeps a same-theme
    # offer in the need's territory, audience and dates at 0.8 or more; the floor keeps an offer that fails a
    # constraint "in between" (something to adjust) instead of at 0 (nothing there). Both, and the thresholds
    # below, were chosen on the labelled recommendation set (`manage.py evaluate_recommendations`, docs/benchmarks.md).
    relevance_full: float = 0.55
    constraint_floor: float = 0.2
    coverage_threshold: float = 0.5  # Below this a need with relevant offers is "adjust".
    constraint_threshold: float = 0.5  # A factor below this is a failing constraint (about 10 km with 15 km decay).
    satisfaction_threshold: float = 0.5  # Below this (on 0-1) a covered need is "promote".
    n_best: int = 3  # Covering offers named in a "covered" or "low-satisfaction" reason.
    k_candidates: int = 50  # Offers kept per need by the text retrieval before structured factors.
    candidate_threshold: float = 0.0  # Minimum cosine for a retrieved candidate.
    decay_km: float = 15.0  # Scale of the distance decay; roughly a 20-minute drive on Creuse roads.
    decay_kind: str = "exponential"
    top_offers_per_need: int = 10  # Offers stored and explained per need.
    # Search only (runs score the lexical cosine: 10,000 needs would take about 3 min of request encoding): the text
    # term of an offer with a semantic vector is (1 - semantic_weight) * lexical cosine + semantic_weight *
    # clip((dense cosine - semantic_floor) / (1 - semantic_floor), 0, 1) (`matching.semantic`). Chosen by the sweep
    # of bench/eval_matching.py on the labelled set (docs/benchmarks.md "Semantic search").
    semantic_weight: float = 0.5
    semantic_floor: float = 0.7

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "int":
                high = PARAMETER_INT_MAX[field.name]
                if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= high:
                    raise ValueError(f"{field.name}: must be an integer in [1, {high}], got {value!r}")
            elif field.type == "float":
                if isinstance(value, bool) or not isinstance(value, int | float | np.number) or math.isnan(value):
                    raise ValueError(f"{field.name}: must be a number, got {value!r}")
                if field.name == "decay_km":
                    if not value > 0:
                        raise ValueError(f"decay_km: must be > 0, got {value!r}")
                elif field.name == "relevance_full":
                    if not 0.0 < value <= 1.0:
                        raise ValueError(f"relevance_full: must be in ]0, 1], got {value!r}")
                elif field.name == "semantic_floor":
                    if not 0.0 <= value < 1.0:
                        raise ValueError(f"semantic_floor: must be in [0, 1[, got {value!r}")
                elif field.name == "semantic_weight":
                    if not 0.0 <= value <= 1.0:
                        raise ValueError(f"semantic_weight: must be in [0, 1], got {value!r}")
                elif field.name.endswith("_weight"):
                    if value < 0:
                        raise ValueError(f"{field.name}: must be >= 0, got {value!r}")
                elif not 0.0 <= value <= 1.0:
                    raise ValueError(f"{field.name}: must be in [0, 1], got {value!r}")
        if self.decay_kind not in DECAY_KINDS:
            raise ValueError(f"decay_kind: must be one of {DECAY_KINDS}, got {self.decay_kind!r}")
        if self.text_weight + self.theme_weight <= 0:
            raise ValueError("text_weight: text_weight + theme_weight must be > 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable values, keyed by field name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchingParameters:
        """Build from a mapping; missing keys take their default, an unknown key raises ``ValueError``."""
        known = {field.name for field in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise ValueError(f"{key}: unknown matching parameter")
        return cls(**data)


# ---------------------------------------------------------------------------
# Scores, coverage and recommendations
# ---------------------------------------------------------------------------


def pair_scores(
    text_similarity: Any,
    theme: Any,
    audience: Any,
    geography: Any,
    availability: Any,
    capacity: Any,
    params: MatchingParameters,
) -> dict[str, np.ndarray]:
    """Relevance and fit of candidate pairs (all arguments are parallel arrays in [0, 1]).

    ``relevance = (w_text * text_similarity + w_theme * theme) / (w_text + w_theme)``: does the offer address the
    need at all. ``fit = relevance * audience * geography * availability * capacity``: can this person use it
    now; the product lets any failing constraint veto the pair, whatever the relevance.

    Retrieve candidates with :func:`need_document` including theme text (best recall), but pass as
    ``text_similarity`` the cosine of the bare statement: the theme term already rewards a shared theme.
    """
    text = np.clip(np.asarray(text_similarity, np.float64), 0.0, 1.0)  # Float32 cosines can exceed 1 by an ulp.
    theme = np.asarray(theme, np.float64)
    if text.shape != theme.shape:
        raise ValueError(f"text_similarity and theme have shapes {text.shape} and {theme.shape}")
    total = params.text_weight + params.theme_weight
    relevance = (params.text_weight * text + params.theme_weight * theme) / total
    return {"relevance": relevance, "fit": _fit(relevance, audience, geography, availability, capacity)}


def _fit(relevance: np.ndarray, *factors: Any) -> np.ndarray:
    fit = np.array(relevance, dtype=np.float64)
    for factor in factors:
        fit *= np.broadcast_to(np.asarray(factor, np.float64), fit.shape)  # A scalar factor applies to all pairs.
    return fit


def pair_service(
    relevance: Any,
    geography: Any,
    audience: Any,
    availability: Any,
    capacity: Any,
    params: MatchingParameters,
) -> np.ndarray:
    """How much of its need each candidate pair serves, in [0, 1] (parallel arrays, one value per pair).

    ``0`` when ``relevance < relevance_threshold`` (the offer does not address the need). Otherwise
    ``min(1, relevance / relevance_full) * prod over the four constraints of (floor + (1 - floor) * factor)``
    with ``floor = constraint_floor``: a relevant offer in the need's territory, open to its audience, available
    and with room serves it fully (at least 0.8 with the default parameters); one that fails a constraint still
    shows the territory has something to build on (``floor`` per failing constraint), which is what "adjust" means.
    Unlike the fit (a ranking veto), the service is never 0 for a relevant offer. Non-decreasing in every argument.
    """
    relevance = np.clip(np.asarray(relevance, np.float64), 0.0, 1.0)
    match = np.where(relevance >= params.relevance_threshold, np.minimum(1.0, relevance / params.relevance_full), 0.0)
    floor = params.constraint_floor
    service = match
    for factor in (geography, audience, availability, capacity):
        factor = np.clip(np.broadcast_to(np.asarray(factor, np.float64), match.shape), 0.0, 1.0)
        service = service * (floor + (1.0 - floor) * factor)
    return service


def need_coverage(service_by_need: sp.csr_matrix | sp.csr_array | Sequence[Any]) -> np.ndarray:
    """Each need's coverage: the largest :func:`pair_service` among its candidate offers (0 without any).

    The best offer, not a combination: three crèches 40 km away do not serve a family in Guéret better than one,
    and adding services would let many weak offers look like a covered need. ``service_by_need`` is a CSR (one
    row per need, stored values are services) or a list of 1-D arrays.
    """
    if sp.issparse(service_by_need):
        matrix = sp.csr_matrix(service_by_need)
        indptr, services = matrix.indptr, np.asarray(matrix.data, np.float64)
    else:
        arrays = [np.asarray(row, np.float64).ravel() for row in service_by_need]
        indptr = np.concatenate([[0], np.cumsum([row.size for row in arrays])]).astype(np.int64)
        services = np.concatenate(arrays) if arrays else np.zeros(0)
    if np.any(~((services >= 0) & (services <= 1))):
        raise ValueError("services must be in [0, 1]")
    n_needs = indptr.size - 1
    coverage = np.zeros(n_needs, dtype=np.float64)
    rows = np.repeat(np.arange(n_needs), np.diff(indptr))
    np.maximum.at(coverage, rows, services)
    return coverage


def need_gap(importance: Any, coverage: Any) -> np.ndarray:
    """``importance * (1 - coverage)``: how much of an important need the territory leaves unserved."""
    return np.asarray(importance, np.float64) * (1.0 - np.asarray(coverage, np.float64))


def recommend(
    candidates: sp.csr_matrix | sp.csr_array,
    *,
    relevance: Any,
    audience: Any,
    geography: Any,
    availability: Any,
    capacity: Any,
    satisfaction: Any,
    params: MatchingParameters,
) -> list[dict[str, Any]]:
    """What to do about each need of a chunk: ``create``, ``adjust``, ``promote`` or ``maintain``, with reasons.

    ``candidates`` has one row per need; ``candidates.indices`` are offer indices and ``candidates.data`` is
    ignored. ``relevance`` and the four factor arrays are parallel to ``candidates.indices`` (build them in that
    order and do not sort or prune the matrix afterwards). ``satisfaction`` holds one value in [0, 1] per need,
    NaN when unknown. Coverage is :func:`need_coverage` of the pairs' :func:`pair_service`.

    Rules, in order, with relevant offers those with ``relevance >= relevance_threshold``:

    - ``create``: no relevant offer, whatever place, audience, dates or capacity (coverage 0).
    - ``adjust``: coverage < ``coverage_threshold``. Reasons name each constraint whose factor is
      < ``constraint_threshold`` for some relevant offers, with those offers (best served first); the constraint
      holding back the best-served offer comes first (fixing it would raise coverage most). ``weak-match`` when
      no single constraint fails.
    - ``promote``: covered, but satisfaction < ``satisfaction_threshold``: the offer exists, people do not
      use or know it.
    - ``maintain``: covered and satisfied, or satisfaction unknown.

    Returns one JSON-ready dict per need: ``{"code", "coverage", "reasons": [{"code", ...}, ...]}``.
    """
    indptr, offers = _candidate_structure(candidates)
    n_needs, n_pairs = indptr.size - 1, offers.size
    relevance = _parallel(relevance, n_pairs, "relevance")
    factors = {
        name: _parallel(values, n_pairs, name)
        for name, values in zip(CONSTRAINTS, (geography, audience, availability, capacity), strict=True)
    }
    satisfaction = np.asarray(satisfaction, np.float64).ravel()
    if satisfaction.size != n_needs:
        raise ValueError(f"satisfaction has {satisfaction.size} values for {n_needs} needs")

    relevant = relevance >= params.relevance_threshold
    service = pair_service(relevance, *factors.values(), params)
    coverage = need_coverage(sp.csr_matrix((service, offers, indptr), shape=candidates.shape))
    results = []
    for need in range(n_needs):
        pairs = slice(indptr[need], indptr[need + 1])
        results.append(
            _recommend_one(
                offers[pairs],
                relevance[pairs],
                relevant[pairs],
                service[pairs],
                {name: values[pairs] for name, values in factors.items()},
                float(coverage[need]),
                float(satisfaction[need]),
                params,
            )
        )
    return results


def _recommend_one(
    offers: np.ndarray,
    relevance: np.ndarray,
    relevant: np.ndarray,
    service: np.ndarray,
    factors: dict[str, np.ndarray],
    coverage: float,
    satisfaction: float,
    params: MatchingParameters,
) -> dict[str, Any]:
    if not relevant.any():
        best = float(relevance.max()) if relevance.size else 0.0
        return {
            "code": CREATE,
            "coverage": coverage,
            "reasons": [{"code": NO_RELEVANT_OFFER, "best_relevance": best}],
        }
    if coverage < params.coverage_threshold:
        # Best-served offers first (then most relevant, then by index), so the reasons read as a to-do list.
        order = np.lexsort((offers, -relevance, -service))
        order = order[relevant[order]]
        failing_by_constraint = []
        for rank, name in enumerate(CONSTRAINTS):
            failing = order[factors[name][order] < params.constraint_threshold]
            if failing.size:
                # The constraint holding back the best-served offer first; on that offer, the lowest factor first.
                key = (-service[failing[0]], factors[name][failing[0]], rank)
                failing_by_constraint.append((key, name, failing))
        reasons = [
            {"code": name, "offers": [int(offer) for offer in offers[failing][: params.top_offers_per_need]]}
            for _key, name, failing in sorted(failing_by_constraint, key=lambda item: item[0])
        ]
        if not reasons:
            reasons.append(
                {"code": WEAK_MATCH, "offers": [int(offer) for offer in offers[order][: params.top_offers_per_need]]}
            )
        return {"code": ADJUST, "coverage": coverage, "reasons": reasons}
    if satisfaction < params.satisfaction_threshold:  # False for NaN: unknown satisfaction is not a reason.
        return {
            "code": PROMOTE,
            "coverage": coverage,
            "reasons": [{"code": LOW_SATISFACTION, "satisfaction": satisfaction}],
        }
    reasons = [{"code": COVERED}]
    if math.isnan(satisfaction):
        reasons.append({"code": SATISFACTION_UNKNOWN})
    return {"code": MAINTAIN, "coverage": coverage, "reasons": reasons}


def _candidate_structure(candidates: Any) -> tuple[np.ndarray, np.ndarray]:
    if not (sp.issparse(candidates) and candidates.format == "csr"):
        raise TypeError("candidates must be a SciPy CSR matrix or array")
    return np.asarray(candidates.indptr, np.int64), np.asarray(candidates.indices, np.int64)


def _parallel(values: Any, size: int, name: str) -> np.ndarray:
    values = np.asarray(values, np.float64).ravel()
    if values.size != size:
        raise ValueError(f"{name} has {values.size} values for {size} candidate pairs")
    return values


# ---------------------------------------------------------------------------
# Importance-Performance Analysis (Martilla & James, Journal of Marketing, 1977)
# ---------------------------------------------------------------------------

IPA_QUADRANTS: tuple[str, ...] = ("concentrate-here", "keep-up-the-good-work", "low-priority", "possible-overkill")
CrosshairRule = Literal["mean", "median", "midpoint", "given"]
CROSSHAIR_RULES: tuple[str, ...] = get_args(CrosshairRule)  # Runs' `ipa_rule` and the IPA report's `crosshair`.


def ipa_crosshairs(
    importance: Any,
    performance: Any,
    *,
    rule: CrosshairRule = "mean",
    scale: tuple[float, float] = (0.0, 1.0),
    given: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """Where the grid is cut: ``(i_cross, p_cross)``.

    ``"mean"`` (Martilla & James) and ``"median"`` use the items where both importance and performance are known;
    ``"midpoint"`` uses the middle of ``scale``; ``"given"`` returns ``given``. NaN when no item is known.
    The quadrants move with the rule, so report it with them.
    """
    importance, performance = np.asarray(importance, np.float64), np.asarray(performance, np.float64)
    if importance.shape != performance.shape:
        raise ValueError(f"importance and performance have shapes {importance.shape} and {performance.shape}")
    if rule == "given":
        if given is None or len(given) != 2:
            raise ValueError("rule='given' needs given=(i_cross, p_cross)")
        return float(given[0]), float(given[1])
    if rule == "midpoint":
        low, high = scale
        if not low < high:
            raise ValueError(f"scale must be (low, high) with low < high, got {scale!r}")
        middle = (low + high) / 2.0
        return middle, middle
    known = np.isfinite(importance) & np.isfinite(performance)
    if not known.any():
        return math.nan, math.nan
    if rule == "mean":
        return float(importance[known].mean()), float(performance[known].mean())
    if rule == "median":
        return float(np.median(importance[known])), float(np.median(performance[known]))
    raise ValueError(f"rule must be one of {CROSSHAIR_RULES}, got {rule!r}")


def ipa_quadrants(importance: Any, performance: Any, i_cross: float, p_cross: float) -> np.ndarray:
    """Quadrant code per item; a value on a crosshair counts as high (>=); "" when either value is NaN."""
    importance, performance = np.broadcast_arrays(
        np.asarray(importance, np.float64), np.asarray(performance, np.float64)
    )
    high_i, high_p = importance >= i_cross, performance >= p_cross
    known = np.isfinite(importance) & np.isfinite(performance)
    concentrate_here, keep_up, low_priority, possible_overkill = IPA_QUADRANTS
    return np.select(
        [~known, high_i & ~high_p, high_i & high_p, ~high_i & ~high_p],
        ["", concentrate_here, keep_up, low_priority],
        default=possible_overkill,
    )


def ipa_diagonal_gap(importance: Any, performance: Any) -> np.ndarray:
    """``I - P``: distance above the diagonal P = I; the larger, the stronger the case for improving the item."""
    return np.asarray(importance, np.float64) - np.asarray(performance, np.float64)

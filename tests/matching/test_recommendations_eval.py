"""The labelled recommendation set and its evaluation: metrics by hand, the file's validation, and the command that
scores every situation through the engine."""

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from matching import evaluation, selectors
from matching.scoring import MatchingParameters

DATA = Path(__file__).parent / "data" / "recommendations.yaml"


def test_classification_report_by_hand():
    expected = ["create", "create", "adjust", "maintain", "maintain", "promote"]
    predicted = ["create", "adjust", "adjust", "maintain", "create", "other"]
    report = evaluation.classification_report(expected, predicted, evaluation.RECOMMENDATION_CLASSES)
    assert report["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]]
    create = report["per_class"]["create"]
    assert (create["precision"], create["recall"], create["f1"]) == (0.5, 0.5, 0.5)
    adjust = report["per_class"]["adjust"]
    assert (adjust["precision"], adjust["recall"]) == (0.5, 1.0) and adjust["f1"] == pytest.approx(2 / 3)
    assert report["per_class"]["promote"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # macro over the classes present: (0.5 + 2/3 + 0 + 2/3) / 4
    assert report["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0 + 2 / 3) / 4)
    assert report["accuracy"] == pytest.approx(3 / 6)


def test_the_set_is_large_varied_and_explained():
    labelled = evaluation.load_recommendation_set(DATA)
    counts = Counter(case.expected for case in labelled.cases)
    assert len(labelled.cases) >= 80
    assert set(counts) == set(evaluation.RECOMMENDATION_DETAILED_CLASSES)
    assert all(count >= 5 for count in counts.values()), counts
    assert all(len(case.rationale) > 15 for case in labelled.cases)
    held_out = labelled.held_out()
    assert 0.2 < held_out.mean() < 0.3
    # Every class is represented in the held-out part.
    assert {labelled.cases[i].expected for i in held_out.nonzero()[0]} == set(counts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reference_date: 2026-03-02\ncases:\n- id: a\n  need: {statement: x, themes: [], audience: families}\n"
         "  expected: maybe\n  rationale: r", "a: expected must be one of"),
        ("reference_date: 2026-03-02\ncases:\n- id: a\n  need: {statement: x, themes: []}\n"
         "  expected: create\n  rationale: r", "a: need.audience is missing"),
        ("reference_date: 2026-03-02\ncases:\n- id: a\n  need: {statement: x, themes: [], audience: f}\n"
         "  expected: create", "a: rationale is missing"),
        ("cases: []", "reference_date"),
        ("cases: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_file_names_the_case_and_field(tmp_path, text, message):
    path = tmp_path / "set.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        evaluation.load_recommendation_set(path)


@pytest.mark.django_db
def test_an_unknown_code_names_the_case_and_field(reference, tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(
        "reference_date: 2026-03-02\ncases:\n- id: lost\n  need: {statement: x, themes: [childcare], audience: "
        "families, territory: '99999'}\n  expected: create\n  rationale: nowhere\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=r"lost: need.territory: unknown code '99999'"):
        call_command("evaluate_recommendations", file=path)


@pytest.mark.django_db
def test_the_command_measures_the_engine_on_the_set(reference, capsys):
    call_command("evaluate_recommendations", json=True)
    output = json.loads(capsys.readouterr().out)
    reports, sweep = output["reports"], output["sweep"]
    assert reports["all"]["macro_f1"] >= 0.85
    assert reports["held_out"]["macro_f1"] >= 0.85
    assert reports["all_detailed"]["macro_f1"] >= 0.85
    total = sum(sum(row) for row in reports["all"]["confusion"])
    assert total == len(evaluation.load_recommendation_set(DATA).cases)
    # The chosen parameters are the sweep's best on the tuning part.
    defaults = MatchingParameters()
    assert all(getattr(defaults, name) == value for name, value in sweep[0]["params"].items())
    assert reports["tuning"]["macro_f1"] == pytest.approx(sweep[0]["tuning_macro_f1"])
    assert reports["held_out"]["macro_f1"] == pytest.approx(sweep[0]["held_out_macro_f1"])


@pytest.mark.django_db
def test_the_sweep_re_decides_exactly_as_the_engine(reference):
    """The sweep re-runs only `scoring.recommend` on the stored factors: for any parameters it must agree with a
    full pass through `engine.needs_score` (and keeping 10 or 50 offers per need changes nothing)."""
    labelled = evaluation.load_recommendation_set(DATA)
    taxonomy = selectors.taxonomy_arrays()
    centroids = selectors.commune_centroids(paths=evaluation.recommendation_areas(labelled, taxonomy))
    keep_all = MatchingParameters(top_offers_per_need=50)
    stored = evaluation.recommendations_score(labelled, taxonomy=taxonomy, centroids=centroids, params=keep_all)
    satisfaction = [case.need.get("satisfaction", float("nan")) for case in labelled.cases]
    for changes in ({}, {"coverage_threshold": 0.7, "constraint_floor": 0.4}, {"relevance_threshold": 0.52}):
        params = dataclasses.replace(MatchingParameters(), **changes)
        engine = evaluation.recommendations_score(labelled, taxonomy=taxonomy, centroids=centroids, params=params)
        through_engine = [evaluation.recommendation_label(result["decision"]) for result in engine]
        assert evaluation._decisions(stored, satisfaction, params) == through_engine, changes

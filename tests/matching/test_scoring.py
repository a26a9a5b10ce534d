"""Tests of the pure matching maths: no database, no Django, expected values next to each case."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from matching.scoring import (
    ALGORITHM_VERSION,
    FRENCH_STOP_WORDS,
    MatchingParameters,
    TextRelevanceModel,
    audience_factor,
    availability_factor,
    capacity_factor,
    fold_text,
    geography_factor,
    haversine_km,
    ipa_crosshairs,
    ipa_diagonal_gap,
    ipa_quadrants,
    min_distance_km,
    need_coverage,
    need_document,
    need_gap,
    offer_document,
    pair_scores,
    pair_service,
    rank_candidates,
    recommend,
    theme_factor,
    top_k_similarity,
    top_k_similarity_reference,
)

REPO = Path(__file__).resolve().parents[2]


# --- text --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("Crèche", "creche"),
        ("L’assistante maternelle d'Aubusson", "l assistante maternelle d aubusson"),
        ("Micro-crèche  —  ÉTÉ 2025 !", "micro creche ete 2025"),
        ("Cœur de bourg, Œuvre", "coeur de bourg oeuvre"),
        ("Łódź, Øre, Straße et Noël", "lodz ore strasse et noel"),
        ("tiers_lieu\tfibre\nT3", "tiers lieu fibre t3"),
    ],
)
def test_fold_text(text, expected):
    assert fold_text(text) == expected


def test_stop_words_are_folded_single_tokens():
    assert {"de", "a", "etaient", "d", "cherche"} <= FRENCH_STOP_WORDS
    assert all(word == fold_text(word) and " " not in word for word in FRENCH_STOP_WORDS)
    assert "creche" not in FRENCH_STOP_WORDS


def test_the_maths_do_not_import_django():
    modules = (
        "matching.scoring, matching.engine, matching.reasons, matching.reports, matching.evaluation, matching.semantic"
    )
    code = f"import sys, {modules}; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_documents_join_non_empty_parts():
    assert offer_document("Crèche", None, ["Garde d'enfants"], ["nounou"]) == "Crèche . Garde d'enfants . nounou"
    assert need_document("Faire garder mes enfants") == "Faire garder mes enfants"


CORPUS = [
    "Micro-crèche de dix places à Ahun",
    "Maison de santé : médecins généralistes et infirmiers",
    "Espace de coworking avec fibre à Guéret",
    "Boulangerie à reprendre à Chénérailles",
]


def test_text_model_shapes_norms_and_dtype():
    model = TextRelevanceModel().fit(CORPUS)
    matrix = model.transform(CORPUS + ["", "zzzz"])
    assert sp.isspmatrix_csr(matrix)
    assert matrix.shape == (6, len(model.get_feature_names_out()))
    assert matrix.dtype == np.float32
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 1, 1, 0, 0], atol=1e-6)  # Empty and unknown texts give zero rows.


def test_text_model_finds_the_obvious_match_and_is_deterministic():
    first = TextRelevanceModel().fit(CORPUS)
    second = TextRelevanceModel().fit(CORPUS)
    query = ["une creche pour mon enfant", "reprendre une boulangerie"]
    similarity = (first.transform(query) @ first.transform(CORPUS).T).toarray()
    assert similarity.argmax(axis=1).tolist() == [0, 3]
    assert (first.transform(query) != second.transform(query)).nnz == 0


@pytest.mark.parametrize("char_weight", [0.0, 1.0])
def test_text_model_single_branch(char_weight):
    model = TextRelevanceModel(char_weight=char_weight).fit(CORPUS)
    prefixes = {name.split("__")[0] for name in model.get_feature_names_out()}
    assert prefixes == {"word" if char_weight == 0.0 else "char"}


def test_text_model_rejects_bad_input():
    with pytest.raises(TypeError):
        TextRelevanceModel().fit("une seule chaîne")
    with pytest.raises(ValueError, match="char_weight"):
        TextRelevanceModel(char_weight=1.5).fit(CORPUS)


# --- top-k -------------------------------------------------------------------------------------------------------


def test_top_k_hand_built_with_padding_and_ties():
    queries = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]))
    items = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    # Products: row 0 -> [1, 1, 1, 1, 2], row 1 -> nothing, row 2 -> [1, 1, 1, 0, 1].
    expected_indices = [[4, 0, 1], [-1, -1, -1], [0, 1, 2]]
    expected_scores = [[2, 1, 1], [0, 0, 0], [1, 1, 1]]
    for function in (top_k_similarity, top_k_similarity_reference):
        indices, scores = function(queries, items, k=3)
        assert indices.dtype == np.int32 and scores.dtype == np.float32
        assert indices.tolist() == expected_indices
        assert scores.tolist() == expected_scores
    indices, _ = top_k_similarity(queries, items, k=3, threshold=1.0)  # Strictly above the threshold.
    assert indices.tolist() == [[4, -1, -1], [-1, -1, -1], [-1, -1, -1]]


@pytest.mark.parametrize(("k", "threshold", "n_threads"), [(1, 0.0, 1), (5, 0.0, 2), (12, 0.1, 1), (400, 0.0, 1)])
def test_top_k_agrees_with_reference_on_random_data(k, threshold, n_threads):
    rng = np.random.default_rng(42)
    queries = sp.random(120, 40, density=0.15, random_state=rng, format="csr", dtype=np.float32)
    items = sp.random(300, 40, density=0.08, random_state=rng, format="csr", dtype=np.float32)
    # Duplicated item rows and small integer values create exact ties, including at the k-th place.
    items = sp.vstack([items, items[:60]]).tocsr()
    items.data = np.ceil(items.data * 3)
    queries.data = np.ceil(queries.data * 3)
    fast = top_k_similarity(queries, items, k=k, threshold=threshold, n_threads=n_threads)
    slow = top_k_similarity_reference(queries, items, k=k, threshold=threshold, chunk_size=17)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-6)
    assert (fast[0] == -1).any() == (k == 400)
    assert np.all(np.diff(fast[1], axis=1) <= 0)


def test_top_k_agrees_on_real_valued_scores():
    rng = np.random.default_rng(7)
    queries = sp.random(50, 30, density=0.3, random_state=rng, format="csr")
    items = sp.random(200, 30, density=0.2, random_state=rng, format="csr")
    fast = top_k_similarity(queries, items, k=8)
    slow = top_k_similarity_reference(queries, items, k=8, chunk_size=9)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-5)


def test_top_k_edge_cases_and_validation():
    empty_items = sp.csr_matrix((0, 4))
    queries = sp.csr_matrix(np.ones((2, 4)))
    indices, scores = top_k_similarity(queries, empty_items, k=2)
    assert indices.tolist() == [[-1, -1], [-1, -1]] and scores.tolist() == [[0, 0], [0, 0]]
    with pytest.raises(ValueError, match="k must be"):
        top_k_similarity(queries, queries, k=0)
    with pytest.raises(ValueError, match="threshold"):
        top_k_similarity(queries, queries, k=1, threshold=-0.1)
    with pytest.raises(ValueError, match="features"):
        top_k_similarity(queries, sp.csr_matrix((3, 5)), k=1)


def test_rank_candidates_orders_and_pads():
    candidates = sp.csr_matrix(([1, 1, 1, 1], [7, 3, 5, 2], [0, 3, 3, 4]), shape=(3, 10))
    indices, scores = rank_candidates(candidates, [0.2, 0.9, 0.2, 0.0], n=2)
    assert indices.tolist() == [[3, 5], [-1, -1], [2, -1]]
    np.testing.assert_allclose(scores, [[0.9, 0.2], [0, 0], [0, 0]])


# --- geography ---------------------------------------------------------------------------------------------------


def test_haversine_known_distances():
    # Guéret -> Aubusson: 33.1 km as the crow flies (a degree of latitude is 111.2 km on this sphere).
    assert haversine_km(46.1716, 1.8716, 45.9564, 2.1683) == pytest.approx(33.115, abs=0.01)
    assert haversine_km(46.0, 2.0, 47.0, 2.0) == pytest.approx(111.195, abs=0.001)
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6371.0088)
    np.testing.assert_allclose(haversine_km([46.1716, 45.0], [1.8716, 2.0], 46.1716, 1.8716)[0], 0.0)


def test_min_distance_km_chunks_match_brute_force():
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(45.7, 46.5, 57), rng.uniform(1.4, 2.6, 57)
    points_lat, points_lon = rng.uniform(45.7, 46.5, 13), rng.uniform(1.4, 2.6, 13)
    expected = haversine_km(lat[:, None], lon[:, None], points_lat, points_lon).min(axis=1)
    np.testing.assert_allclose(min_distance_km(lat, lon, points_lat, points_lon, chunk_size=5), expected)
    assert np.isinf(min_distance_km(lat, lon, [], [])).all()


# --- factors -----------------------------------------------------------------------------------------------------


def test_theme_factor():
    result = theme_factor([True, True, False, False], [True, False, True, False])
    assert result.tolist() == [1.0, 1.0, 0.5, 0.0]
    assert theme_factor([False], [True], same_domain_value=0.2).tolist() == [0.2]
    with pytest.raises(ValueError, match="other"):
        theme_factor([True], [True], other=-0.1)


def test_audience_factor():
    result = audience_factor([True, False, False, True], [False, True, False, True], mismatch=0.25)
    assert result.tolist() == [1.0, 1.0, 0.25, 1.0]


def test_geography_factor_kinds_and_boundaries():
    inside = np.array([True, False, False, False, False])
    distance = np.array([40.0, 0.0, 15.0, 30.0, np.nan])
    exponential = geography_factor(inside, distance, decay_km=15.0)
    np.testing.assert_allclose(exponential, [1.0, 1.0, math.exp(-1), math.exp(-2), 1.0])
    gaussian = geography_factor(inside, distance, kind="gaussian")
    np.testing.assert_allclose(gaussian, [1.0, 1.0, math.exp(-0.5), math.exp(-2), 1.0])
    linear = geography_factor(inside, distance, kind="linear")
    np.testing.assert_allclose(linear, [1.0, 1.0, 0.0, 0.0, 1.0])
    assert geography_factor(False, 7.5, kind="linear") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="kind"):
        geography_factor(inside, distance, kind="cubic")
    with pytest.raises(ValueError, match="distance_km"):
        geography_factor(False, -1.0)


def test_availability_factor_bounds_are_inclusive():
    nat = np.datetime64("NaT")
    published = [True, True, True, True, True, False]
    start = np.array(["2025-06-01", "2025-06-02", nat, nat, "2025-01-01", nat], dtype="datetime64[D]")
    end = np.array([nat, nat, "2025-06-01", "2025-05-31", "2025-12-31", nat], dtype="datetime64[D]")
    result = availability_factor(published, start, end, reference_date="2025-06-01")
    assert result.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_capacity_factor():
    capacity = [np.nan, 10.0, 10.0, 0.0, 0.0, 5.0, 30.0]
    demand = [20.0, np.nan, 40.0, 10.0, np.nan, 0.0, 20.0]
    assert capacity_factor(capacity, demand).tolist() == [1.0, 1.0, 0.25, 0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        capacity_factor([-1.0], [1.0])


# --- parameters, scores, coverage ---------------------------------------------------------------------------------


def test_parameters_round_trip_and_validation():
    params = MatchingParameters()
    assert MatchingParameters.from_dict(params.to_dict()) == params
    assert MatchingParameters.from_dict({"n_best": 5}).n_best == 5
    assert isinstance(ALGORITHM_VERSION, str) and ALGORITHM_VERSION
    for bad, key in [
        ({"relevance_threshold": 1.5}, "relevance_threshold"),
        ({"n_best": 0}, "n_best"),
        ({"k_candidates": 2.5}, "k_candidates"),
        ({"decay_km": 0}, "decay_km"),
        ({"decay_kind": "cubic"}, "decay_kind"),
        ({"text_weight": -1}, "text_weight"),
        ({"text_weight": 0, "theme_weight": 0}, "text_weight"),
        ({"coverage_threshold": "high"}, "coverage_threshold"),
        ({"colour": 1}, "colour"),
    ]:
        with pytest.raises(ValueError, match=key):
            MatchingParameters.from_dict(bad)


def test_pair_scores_formula():
    params = MatchingParameters(text_weight=3.0, theme_weight=1.0)  # Normalised to 0.75 / 0.25.
    result = pair_scores([0.4, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0], [1.0, 0.0], [1.0, 1.0], params)
    np.testing.assert_allclose(result["relevance"], [0.55, 0.75])
    np.testing.assert_allclose(result["fit"], [0.275, 0.0])


def test_need_coverage_is_the_best_service_and_gap():
    # Need 0: the best of [0.5, 0.1, 0.5, 0.2] -> 0.5 (offers do not add up). Need 1: none -> 0. Need 2: a 1 -> 1.
    services = [np.array([0.5, 0.1, 0.5, 0.2]), np.array([]), np.array([0.3, 1.0])]
    expected = [0.5, 0.0, 1.0]
    np.testing.assert_allclose(need_coverage(services), expected)
    csr = sp.csr_matrix((np.concatenate(services), [0, 1, 2, 3, 0, 1], [0, 4, 4, 6]), shape=(3, 4))
    np.testing.assert_allclose(need_coverage(csr), expected)
    np.testing.assert_allclose(need_gap([1.0, 0.5, 0.8], expected), [0.5, 0.5, 0.0])
    with pytest.raises(ValueError):
        need_coverage([np.array([1.2])])


def test_pair_service_scale():
    params = MatchingParameters(relevance_threshold=0.46, relevance_full=0.55, constraint_floor=0.3)
    # (relevance, geography, audience, availability, capacity) -> service
    cases = [
        ((0.49, 1, 1, 1, 1), 0.49 / 0.55),  # same theme, statement cosine 0.15, everything fits: 0.89
        ((0.70, 1, 1, 1, 1), 1.0),  # clearly relevant: the whole need
        ((0.45, 1, 1, 1, 1), 0.0),  # not relevant: nothing, whatever else
        ((0.70, 0.135, 1, 1, 1), 0.3 + 0.7 * 0.135),  # 30 km away with a 15 km decay: 0.39
        ((0.70, 1, 0, 1, 1), 0.3),  # reserved to another audience
        ((0.70, 1, 1, 0, 1), 0.3),  # closed at the reference date
        ((0.70, 1, 1, 1, 0.5), 0.65),  # half the places needed
        ((0.70, 1, 0, 0, 1), 0.09),  # two failing constraints: still something to adjust
    ]
    arrays = np.array([case for case, _ in cases], dtype=float).T
    np.testing.assert_allclose(pair_service(*arrays, params), [value for _, value in cases])
    # Non-decreasing in each argument.
    grid = np.linspace(0, 1, 11)
    for position in range(5):
        values = np.full((5, grid.size), 0.8)
        values[position] = grid
        assert np.all(np.diff(pair_service(*values, params)) >= 0)


# --- recommendations ---------------------------------------------------------------------------------------------


def _recommend_case():
    # One row per need; each list is (offer, relevance, geography, audience, availability, capacity).
    needs = [
        [(0, 0.2, 1, 1, 1, 1), (1, 0.3, 1, 1, 1, 1)],  # create: nothing reaches 0.49
        [(2, 0.9, 0.1, 1, 1, 1)],  # adjust: too far
        [(3, 0.8, 1, 0.0, 1, 1), (4, 0.3, 1, 1, 1, 1)],  # adjust: reserved to another audience
        [(5, 0.7, 1, 1, 0.0, 1)],  # adjust: not open at the reference date
        [(6, 0.9, 1, 1, 1, 0.2)],  # adjust: too few places
        [(7, 0.9, 1, 1, 1, 1)],  # promote: covered (0.9) but satisfaction 0.3
        [(8, 0.6, 1, 1, 1, 1), (9, 0.7, 1, 1, 1, 1)],  # maintain: fully served, satisfaction unknown
        [(10, 0.5, 0.6, 1, 1, 0.6)],  # adjust: relevant, no single failing constraint, coverage 0.42
        [(11, 0.9, 0.2, 0.0, 1, 1), (12, 0.95, 0.2, 1, 1, 1)],  # adjust: two constraints, best served first
        [],  # create: no candidate at all
    ]
    satisfaction = [np.nan, np.nan, np.nan, np.nan, np.nan, 0.3, np.nan, 0.9, np.nan, np.nan]
    pairs = [pair for need in needs for pair in need]
    columns = np.array(pairs, dtype=float).T
    indptr = np.cumsum([0] + [len(need) for need in needs])
    candidates = sp.csr_matrix((np.ones(len(pairs)), columns[0].astype(int), indptr), shape=(len(needs), 13))
    arrays = dict(zip(["relevance", "geography", "audience", "availability", "capacity"], columns[1:], strict=True))
    return candidates, arrays, np.array(satisfaction)


def test_recommend_one_need_of_each_kind():
    candidates, arrays, satisfaction = _recommend_case()
    result = recommend(candidates, satisfaction=satisfaction, params=MatchingParameters(), **arrays)
    codes = [item["code"] for item in result]
    assert codes == [
        "create",
        "adjust",
        "adjust",
        "adjust",
        "adjust",
        "promote",
        "maintain",
        "adjust",
        "adjust",
        "create",
    ]
    reasons = [item["reasons"] for item in result]
    assert reasons[0] == [{"code": "no-relevant-offer", "best_relevance": 0.3}]
    assert reasons[1] == [{"code": "distance", "offers": [2]}]
    assert reasons[2] == [{"code": "audience", "offers": [3]}]
    assert reasons[3] == [{"code": "availability", "offers": [5]}]
    assert reasons[4] == [{"code": "capacity", "offers": [6]}]
    assert reasons[5] == [{"code": "low-satisfaction", "satisfaction": 0.3}]
    assert reasons[6] == [{"code": "covered"}, {"code": "satisfaction-unknown"}]
    assert reasons[7] == [{"code": "weak-match", "offers": [10]}]
    assert reasons[8] == [{"code": "distance", "offers": [12, 11]}, {"code": "audience", "offers": [11]}]
    assert reasons[9] == [{"code": "no-relevant-offer", "best_relevance": 0.0}]
    coverages = [item["coverage"] for item in result]
    # Calibrated scale: 0 with nothing relevant, in between when only constrained offers exist, 1 when served.
    np.testing.assert_allclose(coverages, [0, 0.28, 0.2, 0.2, 0.36, 1.0, 1.0, 0.42, 0.36, 0], atol=0.01)


def test_recommend_maintain_when_satisfied_and_is_deterministic():
    candidates, arrays, satisfaction = _recommend_case()
    satisfaction[6] = 0.8
    params = MatchingParameters()
    first = recommend(candidates, satisfaction=satisfaction, params=params, **arrays)
    second = recommend(candidates.copy(), satisfaction=satisfaction.copy(), params=params, **arrays)
    assert first == second
    assert first[6] == {"code": "maintain", "coverage": pytest.approx(1.0), "reasons": [{"code": "covered"}]}


def test_recommend_validates_parallel_arrays():
    candidates, arrays, satisfaction = _recommend_case()
    arrays["capacity"] = arrays["capacity"][:-1]
    with pytest.raises(ValueError, match="capacity"):
        recommend(candidates, satisfaction=satisfaction, params=MatchingParameters(), **arrays)


# --- IPA ---------------------------------------------------------------------------------------------------------

IMPORTANCE = np.array([0.9, 0.8, 0.3, 0.2, 0.6, 0.7])
PERFORMANCE = np.array([0.2, 0.9, 0.1, 0.8, 0.4, np.nan])
# Crosshairs over the five items with both values: mean I = 2.8 / 5 = 0.56, mean P = 2.4 / 5 = 0.48;
# median I = 0.6, median P = 0.4; midpoint of (0, 1) = 0.5. Item 4 (0.6, 0.4) is the one that moves.
FIXED = ["concentrate-here", "keep-up-the-good-work", "low-priority", "possible-overkill"]


@pytest.mark.parametrize(
    ("rule", "kwargs", "crosshairs", "item_4"),
    [
        ("mean", {}, (0.56, 0.48), "concentrate-here"),
        ("median", {}, (0.6, 0.4), "keep-up-the-good-work"),  # On both crosshairs: counts as high, high.
        ("midpoint", {}, (0.5, 0.5), "concentrate-here"),
        ("given", {"given": (0.7, 0.3)}, (0.7, 0.3), "possible-overkill"),
    ],
)
def test_ipa_rules(rule, kwargs, crosshairs, item_4):
    i_cross, p_cross = ipa_crosshairs(IMPORTANCE, PERFORMANCE, rule=rule, **kwargs)
    assert (i_cross, p_cross) == pytest.approx(crosshairs)
    quadrants = ipa_quadrants(IMPORTANCE, PERFORMANCE, i_cross, p_cross)
    assert quadrants.tolist() == [*FIXED, item_4, ""]


def test_ipa_midpoint_scale_gap_and_errors():
    assert ipa_crosshairs([1, 5], [2, 3], rule="midpoint", scale=(1, 5)) == (3.0, 3.0)
    assert all(math.isnan(value) for value in ipa_crosshairs([np.nan], [1.0]))
    np.testing.assert_allclose(ipa_diagonal_gap(IMPORTANCE[:2], PERFORMANCE[:2]), [0.7, -0.1])
    with pytest.raises(ValueError, match="given"):
        ipa_crosshairs(IMPORTANCE, PERFORMANCE, rule="given")
    with pytest.raises(ValueError, match="rule"):
        ipa_crosshairs(IMPORTANCE, PERFORMANCE, rule="mode")


def test_fit_transform_equals_fit_then_transform():
    texts = ["Crèche multi-accueil à Guéret", "Maison T4 à louer", "Poste d'infirmier à Bourganeuf", ""]
    one_pass = TextRelevanceModel().fit_transform(texts)
    two_passes = TextRelevanceModel().fit(texts).transform(texts)
    assert (abs(one_pass - two_passes) > 1e-6).nnz == 0
    assert one_pass.dtype == np.float32

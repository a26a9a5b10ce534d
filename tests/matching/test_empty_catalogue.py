"""Before the first published offer: the public search and a matching run answer, with nothing matched."""

from matching import services
from matching.models import NeedResult, RunStatus
from tests.audiences.factories import make_need
from tests.matching.conftest import run_chunks


def test_search_on_an_empty_catalogue_finds_nothing(reference, anonymous_client):
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "crèche à Guéret"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"count": 0, "results": []}


def test_run_on_an_empty_catalogue_recommends_creating_every_offer(reference):
    make_need(statement="Faire garder mes enfants en crèche", territory="23096", importance=0.8)
    run = services.run_start(launched_by=None)
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    result = NeedResult.objects.get(run=run)
    assert (result.coverage, result.recommendation) == (0.0, "create")

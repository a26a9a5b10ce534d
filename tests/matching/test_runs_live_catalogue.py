"""Runs on a busy catalogue: the catalogue is never frozen for a run, so offers imported and edited through the API
while real `db_worker` processes score it never fail it; each chunk records the offer index (version, catalogue
state) it scored against, a chunk re-scored after a lost lease records its new one, and the run's detail and report
say which states its results used.

The worker tests need a database shared between processes: PostgreSQL (DATABASE_URL), or a SQLite file
(DJANGO_TEST_SQLITE_NAME=/tmp/<name>.sqlite3), which the workers open too.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from matching import services
from matching.bench import bench_generate
from matching.index import offer_index_get
from matching.models import ChunkStatus, MatchingChunk, MatchingRun, NeedResult, RunStatus
from offers.models import CatalogueVersion, Offer
from tests.conftest import require_service
from tests.matching.conftest import run_chunks
from tests.matching.workers import finished, start_worker, stop, wait_for, worker_env
from tests.offers.factories import make_organisation

RUNS = "/api/v1/matching/runs/"
OFFERS = "/api/v1/offers/"
HEADER = "identifiant;titre;description;domaine;thèmes;commune;statut;gratuit"
IMPORTED = 50
EDITS = 20


def _state() -> int:
    return CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def _index_has_state() -> bool:
    """Whether the offer index says which catalogue state it reflects (the live index of issue 11 does; the
    refitted one before it only has a version): the chunks' states are checked when it does."""
    return getattr(offer_index_get(), "state", None) is not None


def _shared_worker_env(**extra) -> dict:
    """The environment of `db_worker` processes on this test database: PostgreSQL, or the SQLite test file."""
    if connection.vendor == "postgresql":
        return worker_env(**extra)
    name = str(connection.settings_dict["NAME"])
    require_service(
        "a database shared between processes",
        available=bool(name) and "memory" not in name and not name.startswith(":"),
        how="run with DATABASE_URL=postgres://... or DJANGO_TEST_SQLITE_NAME=/tmp/<name>.sqlite3",
    )
    env = worker_env(**extra)
    env["DATABASE_URL"] = f"sqlite:///{name}"
    return env


def _import_csv(rows: int) -> bytes:
    lines = [HEADER]
    lines.extend(
        f"busy-{number};Crèche parentale numéro {number};Garde d'enfants en crèche pour les parents qui travaillent, "
        f"place {number}.;daily-life;childcare;23096;publiée;oui"
        for number in range(rows)
    )
    return ("\n".join(lines) + "\n").encode()


def _assert_states_recorded(run: MatchingRun, *, start_state: int, end_state: int) -> list[MatchingChunk]:
    """Every chunk names the index it scored against, and the run's `scored_states` count exactly those."""
    chunks = list(MatchingChunk.objects.filter(run=run).order_by("index"))
    assert chunks and all(chunk.status == ChunkStatus.SUCCEEDED and chunk.index_version for chunk in chunks)
    per_version: dict[str, int] = {}
    for chunk in chunks:
        per_version[chunk.index_version] = per_version.get(chunk.index_version, 0) + 1
    assert {entry["version"]: entry["chunks"] for entry in run.scored_states} == per_version
    states = run.catalogue_states
    assert states["at_start"] == start_state
    if _index_has_state():
        chunk_states = [chunk.index_state for chunk in chunks]
        assert None not in chunk_states
        assert start_state <= min(chunk_states) and max(chunk_states) <= end_state
        assert (states["first"], states["last"]) == (min(chunk_states), max(chunk_states))
        assert [entry["state"] for entry in states["used"]] == sorted(entry["state"] for entry in states["used"])
    else:
        assert {chunk.index_state for chunk in chunks} == {None} and states["first"] is states["last"] is None
    return chunks


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_succeeds_while_offers_are_imported_and_edited_through_the_api(reference, admin_client):
    env = _shared_worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=1.5)
    bench_generate(offers=200, needs=300, seed=11)
    organisation = make_organisation(name="Catalogue vivant")
    start_state = _state()
    response = admin_client.post(RUNS, {"chunk_size": 30}, format="json")
    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    assert response.json()["catalogue_states"] == {"at_start": start_state, "first": None, "last": None, "used": []}

    workers = [start_worker(env) for _ in range(2)]
    try:
        wait_for(
            lambda: MatchingChunk.objects.filter(run_id=run_id, status=ChunkStatus.SUCCEEDED).exists(),
            timeout=120,
            what="a first chunk to be written",
            workers=workers,
        )
        upload = _import_csv(IMPORTED)
        imported = admin_client.post(
            f"{OFFERS}import/",
            {"file": _named(upload, "offres.csv"), "source": "busy", "organisation": organisation.slug},
            format="multipart",
        )
        assert imported.status_code == 200, imported.json()
        assert imported.json()["created"] == IMPORTED
        edited = _editable_offer_ids(EDITS)
        for number, offer_id in enumerate(edited):
            answer = admin_client.patch(
                f"{OFFERS}{offer_id}/", {"title": f"Offre modifiée pendant l'appariement {number}"}, format="json"
            )
            assert answer.status_code == 200, answer.json()
        edits_done_state = _state()
        # The edits were made while chunks were still waiting: the run had not finished.
        assert MatchingRun.objects.get(id=run_id).status in services.ACTIVE_STATUSES
        run = wait_for(lambda: finished(run_id), timeout=300, what="the run to finish", workers=workers)
    finally:
        stop(*workers)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.needs_done == run.needs_total == 300 and run.chunks_done == run.chunks_total == 10
    need_ids = list(NeedResult.objects.filter(run=run).values_list("need_id", flat=True))
    assert len(need_ids) == len(set(need_ids)) == 300
    assert edits_done_state >= start_state + 1 + EDITS  # one state for the import, one per edit
    chunks = _assert_states_recorded(run, start_state=start_state, end_state=_state())
    # The first chunk scored the catalogue before the import, the last ones the catalogue after the edits.
    assert len({chunk.index_version for chunk in chunks}) >= 2
    if _index_has_state():
        assert run.catalogue_states["first"] < edits_done_state <= run.catalogue_states["last"]

    detail = admin_client.get(f"{RUNS}{run_id}/").json()
    assert detail["catalogue_states"] == run.catalogue_states
    assert sum(entry["chunks"] for entry in detail["catalogue_states"]["used"]) == run.chunks_total


def _editable_offer_ids(count: int) -> list[int]:
    """Bench offers an edit through the API may save: a third of them carry a second theme of another domain, which
    the API refuses on any write."""
    single_theme = Offer.objects.filter(source="bench").annotate(theme_count=Count("themes")).filter(theme_count=1)
    return list(single_theme.order_by("id").values_list("id", flat=True)[:count])


def _named(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.django_db
def test_a_chunk_rescored_after_a_lost_lease_records_the_state_it_used(catalogue, admin_client):
    run = services.run_start(launched_by=None, chunk_size=2)
    first, second = MatchingChunk.objects.filter(run=run).order_by("index")[:2]
    assert services.chunk_score(chunk_id=first.id) == "succeeded"
    first.refresh_from_db()
    version_before = first.index_version
    assert version_before == offer_index_get().version

    # A worker takes the second chunk and dies; the catalogue changes before the watchdog hands it out again.
    assert services.chunk_claim(chunk_id=second.id) is not None
    MatchingChunk.objects.filter(id=second.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.run_recover(run_id=run.id)["requeued"] == 1
    offer_id = Offer.objects.filter(status="published").values_list("id", flat=True).first()
    answer = admin_client.patch(
        f"{OFFERS}{offer_id}/", {"title": "Titre modifié après la perte du bail"}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    run_chunks(run)

    run.refresh_from_db()
    second.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert second.attempt == 2 and second.index_version == offer_index_get().version != version_before
    assert getattr(offer_index_get(), "state", None) == second.index_state
    used = {entry["version"]: entry["chunks"] for entry in run.scored_states}
    assert used[version_before] == 1 and used[second.index_version] == run.chunks_total - 1
    states = admin_client.get(f"{RUNS}{run.id}/").json()["catalogue_states"]
    assert states["at_start"] == run.catalogue_state and len(states["used"]) == 2


@pytest.mark.django_db
def test_the_report_says_which_catalogue_states_the_results_used(catalogue, admin_client):
    run = services.run_start(launched_by=None, chunk_size=3)
    first = MatchingChunk.objects.filter(run=run).order_by("index").first()
    assert services.chunk_score(chunk_id=first.id) == "succeeded"
    offer_id = Offer.objects.filter(status="published").values_list("id", flat=True).first()
    assert admin_client.patch(f"{OFFERS}{offer_id}/", {"title": "Modifiée"}, format="json").status_code == 200
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and len(run.scored_states) == 2

    body = admin_client.get(f"{RUNS}{run.id}/report/?group_by=domain").json()
    assert body["catalogue_states"] == run.catalogue_states
    html = admin_client.get(f"{RUNS}{run.id}/report/?group_by=domain&format=html").content.decode()
    assert "Catalogue states used" in html
    states = run.catalogue_states
    if states["first"] is not None:  # an index that tells its state (issue 11's live index)
        assert f"results scored against catalogue states {states['first']} to {states['last']}" in html
    else:
        assert "results scored against 2 versions of the offer index" in html
    assert f"state {states['at_start']} when the run started" in html

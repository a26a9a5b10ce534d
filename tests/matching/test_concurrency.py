"""Two matching runs and an offers import at the same time, on PostgreSQL with real `db_worker` processes.

What "consistent" means here: each chunk is scored against exactly one catalogue, the latest committed when a worker
takes it, and records which (its index version). So a run has one result per need in its scope, and each chunk's
results equal a clean sequential run of the same scope on the catalogue its chunk names; an import committed mid-run
never fails the run; an import is all or nothing and the workers never see it before it commits. The index itself
must be read from one snapshot of the database, or a build racing a commit labels new offers with the old version.
"""

import dataclasses
import threading

import pytest
from django.db import connection, transaction

from api.exceptions import InvalidInput
from matching import selectors, services
from matching.index import offer_index_build, offer_index_get
from matching.models import ChunkStatus, MatchedOffer, MatchingChunk, NeedResult, RunStatus
from offers.models import Offer, Organisation, Territory
from offers.services import offers_import
from tests.matching.conftest import run_chunks
from tests.matching.workers import finished, require_postgres, result_rows, start_worker, stop, wait_for, worker_env
from tests.offers.factories import make_organisation

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

HEADER = "identifiant;titre;description;domaine;thèmes;commune;statut;gratuit"
# Offers that change the outcome of needs of the `catalogue` fixture (the bakery to take over and the doctor in
# Bourganeuf): a chunk scored after this import cannot look like one scored before it.
IMPORTED_ROWS = (
    "imp-1;Boulangerie à reprendre dans le bourg;Fonds de commerce de boulangerie à céder, repreneur accompagné.;"
    "jobs;business-takeover;23096;publiée;oui",
    "imp-2;Cabinet de médecine générale de Bourganeuf;Consultations de médecin généraliste sans rendez-vous.;"
    "daily-life;health-care;23030;publiée;oui",
    "imp-3;Crèche multi-accueil de Guéret;Garde d'enfants en crèche pour les parents qui travaillent.;"
    "daily-life;childcare;23096;publiée;oui",
)
BAD_ROW = "imp-4;Sans thème;Une ligne dont le thème n'existe pas.;daily-life;no-such-theme;23096;publiée;oui"


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


class ImportThread(threading.Thread):
    """The real import service on its own connection and in its own transaction. With `hold`, its writes are made
    but not committed until `hold` is set (a long import still running while the workers score)."""

    def __init__(self, *, content: bytes, source: str, organisation, hold: threading.Event | None = None):
        super().__init__(daemon=True)
        self.content, self.source, self.organisation, self.hold = content, source, organisation, hold
        self.written = threading.Event()
        self.report = self.error = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.report = offers_import(
                    content=self.content, source=self.source, organisation=self.organisation, filename="offres.csv"
                )
                self.written.set()
                if self.hold is not None and not self.hold.wait(timeout=300):
                    raise TimeoutError("the test never released the import")
        except Exception as exc:  # reported to the test thread
            self.error = exc
        finally:
            self.written.set()
            connection.close()


def _start_two_runs():
    """One run over every need in chunks of 2, one over the Grand Guéret EPCI in chunks of 1 (different scopes and
    chunkings, so chunks of both runs interleave on the workers)."""
    everything = services.run_start(launched_by=None, chunk_size=2)
    gueret = services.run_start(
        launched_by=None, chunk_size=1, scope_territory=Territory.objects.get(kind="epci", code="200034825")
    )
    return everything, gueret


def _references():
    """The same two scopes scored sequentially in this process, on the catalogue as it is now."""
    runs = _start_two_runs()
    for run in runs:
        run_chunks(run)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.error
    return runs


def _assert_complete_and_equal(run, reference, *, version: str, offer_ids: set[int]) -> None:
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.snapshot["catalogue_version"] == version
    assert run.needs_done == run.needs_total == reference.needs_total > 0
    assert run.chunks_done == run.chunks_total
    need_ids = list(NeedResult.objects.filter(run=run).values_list("need_id", flat=True))
    assert len(need_ids) == len(set(need_ids)) == run.needs_total  # one result per need, no duplicates
    assert result_rows(run) == result_rows(reference)
    assert set(MatchedOffer.objects.filter(result__run=run).values_list("offer_id", flat=True)) <= offer_ids


@dataclasses.dataclass
class Scene:
    organisation: Organisation
    version: str  # the catalogue version before any import
    offer_ids: set[int]  # the offers before any import
    references: tuple  # the two scopes scored sequentially before any import
    runs: tuple  # the same two scopes, queued for the workers


@pytest.fixture
def scene(catalogue, settings) -> Scene:
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    return Scene(
        organisation=make_organisation(name="Import concurrent"),
        version=selectors.catalogue_version(),
        offer_ids=set(Offer.objects.values_list("id", flat=True)),
        references=_references(),
        runs=_start_two_runs(),
    )


def test_two_runs_succeed_while_an_import_is_in_flight(scene):
    release = threading.Event()
    good = ImportThread(
        content=_csv(*IMPORTED_ROWS), source="concurrent", organisation=scene.organisation, hold=release
    )
    bad = ImportThread(content=_csv(*IMPORTED_ROWS, BAD_ROW), source="concurrent-bad", organisation=scene.organisation)
    good.start()
    assert good.written.wait(timeout=60) and good.error is None, good.error
    workers = [start_worker(worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=0.3)) for _ in range(2)]
    try:
        bad.start()
        for run in scene.runs:
            wait_for(lambda run=run: finished(run.id), timeout=180, what="both runs to finish", workers=workers)
    finally:
        release.set()
        stop(*workers)
        good.join(timeout=60)
        bad.join(timeout=60)

    # The in-flight import blocked no worker and was invisible to them: both runs equal the sequential ones.
    for run, reference in zip(scene.runs, scene.references, strict=True):
        _assert_complete_and_equal(run, reference, version=scene.version, offer_ids=scene.offer_ids)
    # All or nothing: every row of the good file once committed, nothing of the file with one bad line.
    assert good.error is None and good.report.created == len(IMPORTED_ROWS)
    assert Offer.objects.filter(source="concurrent").count() == len(IMPORTED_ROWS)
    assert isinstance(bad.error, InvalidInput)
    assert {(error.line, error.field.split(".")[0]) for error in bad.error.errors} == {
        (len(IMPORTED_ROWS) + 2, "themes")
    }
    assert not Offer.objects.filter(source="concurrent-bad").exists()

    # The comparison can fail: on the new catalogue the same scope gives other results.
    assert selectors.catalogue_version() != scene.version
    after, _ = _start_two_runs()
    run_chunks(after)
    assert result_rows(after) != result_rows(scene.references[0])


def test_an_import_committed_mid_run_never_fails_it_and_each_chunk_scores_one_catalogue(scene):
    # One result row per need on the catalogue before the import (the references).
    before = {row[0]: row for reference in scene.references for row in result_rows(reference)}

    workers = [start_worker(worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=1)) for _ in range(2)]
    try:
        wait_for(
            lambda: MatchingChunk.objects.filter(run__in=scene.runs, status=ChunkStatus.SUCCEEDED).exists(),
            timeout=120,
            what="a first chunk to be written",
            workers=workers,
        )
        importer = ImportThread(content=_csv(*IMPORTED_ROWS), source="concurrent", organisation=scene.organisation)
        importer.start()
        importer.join(timeout=60)
        assert importer.error is None, importer.error
        for run in scene.runs:
            wait_for(lambda run=run: finished(run.id), timeout=180, what="both runs to finish", workers=workers)
    finally:
        stop(*workers)

    assert Offer.objects.filter(source="concurrent").count() == len(IMPORTED_ROWS)
    version_after = selectors.catalogue_version()
    # The same scopes scored sequentially on the catalogue after the import.
    after = {row[0]: row for reference in _references() for row in result_rows(reference)}
    assert after != before
    versions_used = set()
    for run in scene.runs:
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.needs_done == run.needs_total and run.chunks_done == run.chunks_total
        for chunk in MatchingChunk.objects.filter(run=run):
            assert chunk.index_version in (scene.version, version_after)
            expected = before if chunk.index_version == scene.version else after
            written = result_rows(run, need_ids=chunk.need_ids)
            assert len(written) == len(chunk.need_ids)
            assert written == [expected[row[0]] for row in written]
            versions_used.add(chunk.index_version)
        counts = {entry["version"]: entry["chunks"] for entry in run.scored_states}
        assert sum(counts.values()) == run.chunks_total
    # Chunks were still waiting for a worker (1 s each, 2 workers, 8 chunks) when the import committed.
    assert versions_used == {scene.version, version_after}


@pytest.mark.parametrize(
    "after_query",
    [
        pytest.param('"offers_catalogueversion"."version"', id="after-the-version-query"),
        pytest.param('"offers_offer"."title"', id="after-the-offer-rows-query"),
    ],
)
def test_an_index_build_racing_an_import_labels_exactly_what_it_read(catalogue, after_query):
    """An import commits between two of the build's queries (made to happen there with Django's execute_wrapper):
    the index must still be one catalogue state under its own version, not new offers under the old version."""
    organisation = make_organisation(name="Import concurrent")
    version_before, ids_before = selectors.catalogue_version(), set(Offer.objects.values_list("id", flat=True))
    fired = []

    def commit_an_import(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not fired and after_query in sql:
            fired.append(sql)
            importer = ImportThread(content=_csv(*IMPORTED_ROWS), source="race", organisation=organisation)
            importer.start()
            importer.join(timeout=60)
            assert importer.error is None, importer.error
        return result

    with connection.execute_wrapper(commit_an_import):
        index = offer_index_build()
    assert fired, "the import was never triggered"
    version_after, ids_after = selectors.catalogue_version(), set(Offer.objects.values_list("id", flat=True))
    assert version_after != version_before and len(ids_after) == len(ids_before) + len(IMPORTED_ROWS)
    assert (index.version, set(index.offers.ids.tolist())) in [
        (version_before, ids_before),
        (version_after, ids_after),
    ]
    # And the next caller is not fooled by the cached index: it gets the imported offers.
    assert set(offer_index_get().offers.ids.tolist()) == ids_after

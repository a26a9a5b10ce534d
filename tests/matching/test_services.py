"""The run lifecycle through the whole database path: start, chunk scoring, results, failures, leases, recovery."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from api.exceptions import InvalidInput
from matching import services
from matching.labels import reason_message
from matching.models import ChunkStatus, MatchedOffer, MatchingChunk, MatchingRun, NeedResult, RunStatus
from matching.services import chunks
from offers.models import Territory
from tests.conftest import make_user
from tests.matching.conftest import run_chunks

pytestmark = pytest.mark.django_db


def _start(**kwargs):
    user = User.objects.filter(username="launcher").first() or make_user("launcher", analyst=True)
    return services.run_start(launched_by=user, **kwargs)


def _results(run):
    return {
        result.need_id: (
            result.recommendation,
            round(result.coverage, 12),
            round(result.gap, 12),
            result.reasons,
            result.ipa_quadrant,
            [(offer.offer_id, round(offer.score, 12), offer.rank) for offer in result.matched_offers.order_by("rank")],
        )
        for result in NeedResult.objects.filter(run=run).prefetch_related("matched_offers")
    }


def test_one_need_of_each_kind(catalogue):
    offers, needs = catalogue
    run = _start()
    assert run.status == RunStatus.QUEUED and run.needs_total == 5 and run.chunks_total == 1
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.needs_done == 5 and run.chunks_done == 1 and run.finished_at
    assert run.timings["total_seconds"] >= 0
    by_need = {result.need_id: result for result in NeedResult.objects.filter(run=run)}

    create = by_need[needs["create"].id]
    assert create.recommendation == "create"
    assert create.coverage == 0 and create.gap == pytest.approx(0.7)
    assert create.reasons[0]["code"] == "no-relevant-offer" and "must be created" in reason_message(create.reasons[0])

    distance = by_need[needs["distance"].id]
    assert distance.recommendation == "adjust"
    reason = next(r for r in distance.reasons if r.get("constraint") == "distance")
    assert reason["offers"] == [offers["health"].id]
    assert "Maison de santé" in reason["offer_titles"][0] and "Maison de santé" in reason_message(reason)
    health = distance.matched_offers.get(offer=offers["health"])
    assert 20 < health.distance_km < 45 and health.geography < 0.5 and health.theme == 1.0

    audience = by_need[needs["audience"].id]
    assert audience.recommendation == "adjust"
    assert [r["constraint"] for r in audience.reasons if "constraint" in r] == ["audience"]
    assert audience.reasons[0]["offers"] == [offers["creche"].id]

    promote = by_need[needs["promote"].id]
    assert promote.recommendation == "promote"
    assert promote.reasons[0]["code"] == "low-satisfaction" and promote.reasons[0]["offers"] == [offers["pool"].id]

    maintain = by_need[needs["maintain"].id]
    assert maintain.recommendation == "maintain" and maintain.coverage >= 0.5
    assert maintain.reasons[0]["offers"] == [offers["fibre"].id]
    assert maintain.matched_offers.get(rank=1).geography == 1.0  # served through its service area (Creuse)

    # Snapshot of the need as scored, and IPA against the crosshairs of the whole run.
    assert maintain.territory_path.endswith("c23096/") and maintain.commune_code == "23096"
    assert maintain.epci_code
    assert maintain.ipa_quadrant == "possible-overkill"
    assert distance.ipa_quadrant == "concentrate-here" and distance.ipa_gap == pytest.approx(0.6)
    assert create.ipa_quadrant == "" and create.ipa_gap is None
    assert run.snapshot["offers_count"] == 5 and run.snapshot["needs_count"] == 5
    assert run.snapshot["ipa"]["rule"] == "mean"


def test_two_runs_give_identical_results(catalogue):
    first = _start()
    run_chunks(first)
    from matching.index import offer_index_clear

    offer_index_clear()  # refit: same data must give the same matrix
    second = _start()
    run_chunks(second)
    assert _results(first) == _results(second)


def test_chunked_run_equals_single_chunk_run(catalogue):
    single = _start(chunk_size=100)
    chunked = _start(chunk_size=2)
    assert chunked.chunks_total == 3
    run_chunks(single)
    run_chunks(chunked)
    chunked.refresh_from_db()
    assert chunked.status == RunStatus.SUCCEEDED and chunked.needs_done == 5
    assert _results(single) == _results(chunked)


def test_scope_filters_needs(catalogue):
    _offers, needs = catalogue
    run = _start(scope_territory=Territory.objects.get(code="23030"), scope_domains=["daily-life"])
    assert run.needs_total == 1
    assert MatchingChunk.objects.get(run=run).need_ids == [needs["distance"].id]
    run = _start(scope_audiences=["entrepreneurs"])
    assert run.needs_total == 1


def test_bad_parameters_are_refused_with_the_key(catalogue):
    with pytest.raises(InvalidInput) as error:
        _start(parameters={"text_weigth": 1})
    assert error.value.errors[0].field == "parameters.text_weigth"
    with pytest.raises(InvalidInput) as error:
        _start(parameters={"decay_km": -3, "max_attempts": 0})
    assert {item.field for item in error.value.errors} == {"parameters.decay_km", "parameters.max_attempts"}
    with pytest.raises(InvalidInput) as error:
        _start(scope_audiences=["martians"], chunk_size=0)
    assert {item.field for item in error.value.errors} == {"scope_audiences", "chunk_size"}
    assert not MatchingRun.objects.exists()


def test_ipa_given_crosshairs(catalogue):
    _offers, needs = catalogue
    run = _start(parameters={"ipa_rule": "given", "ipa_importance_cross": 0.95, "ipa_satisfaction_cross": 0.1})
    run_chunks(run)
    result = NeedResult.objects.get(run=run, need=needs["maintain"])
    assert result.ipa_quadrant == "possible-overkill"
    assert NeedResult.objects.get(run=run, need=needs["distance"]).ipa_quadrant == "possible-overkill"
    assert run.parameters["ipa_rule"] == "given"


def test_empty_scope_succeeds_at_once(reference):
    run = _start()
    assert run.status == RunStatus.SUCCEEDED and run.needs_total == 0 and run.chunks_total == 0


def test_failure_is_retried_then_recorded_with_its_reason(catalogue, monkeypatch):
    run = _start(parameters={"max_attempts": 2})

    def broken(**kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(chunks, "needs_score", broken)
    run_chunks(run)
    run.refresh_from_db()
    chunk = MatchingChunk.objects.get(run=run)
    assert chunk.attempt == 2 and chunk.status == ChunkStatus.FAILED
    assert run.status == RunStatus.FAILED
    assert "disque plein" in run.error and "attempt 2/2" in run.error
    assert not NeedResult.objects.filter(run=run).exists()


def test_time_limit_fails_with_a_clear_reason(catalogue, settings):
    settings.MATCHING_TEST_CHUNK_DELAY_SECONDS = 1.3
    run = _start(parameters={"max_attempts": 1, "chunk_time_limit_seconds": 1})
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "time limit (1 s)" in run.error
    assert not NeedResult.objects.filter(run=run).exists()


def test_stale_attempt_cannot_write(catalogue, monkeypatch):
    run = _start(chunk_size=100)
    chunk = MatchingChunk.objects.get(run=run)
    original = chunks._chunk_compute

    def lose_the_lease(**kwargs):
        computed = original(**kwargs)
        # Meanwhile the lease expired, the watchdog re-queued the chunk and another worker claimed it.
        MatchingChunk.objects.filter(id=chunk.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert services.run_recover(run_id=run.id)["requeued"] == 1
        assert services.chunk_claim(chunk_id=chunk.id).attempt == 2
        return computed

    monkeypatch.setattr(chunks, "_chunk_compute", lose_the_lease)
    assert services.chunk_score(chunk_id=chunk.id) == "stale"
    assert not NeedResult.objects.filter(run=run).exists() and not MatchedOffer.objects.exists()
    run.refresh_from_db()
    assert run.needs_done == 0 and run.status == RunStatus.RUNNING
    monkeypatch.setattr(chunks, "_chunk_compute", original)
    # The live attempt (2) finishes the chunk; attempt 1's results were never written.
    results, needs, index = original(
        run=run, chunk=MatchingChunk.objects.select_related("run").get(id=chunk.id), checkpoint=lambda phase: None
    )
    chunk.refresh_from_db()
    chunks._chunk_write(run=run, chunk=chunk, results=results, needs=needs, index=index, phases={}, started=0)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and NeedResult.objects.filter(run=run).count() == 5


def test_watchdog_requeues_expired_leases_and_gives_up_after_max_attempts(catalogue):
    from django_tasks_db.models import DBTaskResult

    run = _start(parameters={"max_attempts": 2})
    chunk = MatchingChunk.objects.get(run=run)
    # A worker claimed the chunk and died: the lease expires.
    claimed = services.chunk_claim(chunk_id=chunk.id)
    assert claimed.attempt == 1
    MatchingChunk.objects.filter(id=chunk.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    tasks_before = DBTaskResult.objects.count()
    assert services.run_watch(run_id=run.id) == {"requeued": 1, "reenqueued": 0, "failed": 0}
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.QUEUED and "no longer answers" in chunk.error
    # One new chunk task plus the watchdog's next look.
    assert DBTaskResult.objects.count() == tasks_before + 2
    assert DBTaskResult.objects.filter(task_path__endswith="run_watchdog_task", run_after__isnull=False).exists()
    # Second attempt dies too: the run fails with the reason.
    services.chunk_claim(chunk_id=chunk.id)
    MatchingChunk.objects.filter(id=chunk.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.run_recover(run_id=run.id)["failed"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "no longer answers" in run.error and "2 attempts" in run.error


def test_recover_reenqueues_a_lost_task(catalogue):
    from django_tasks_db.models import DBTaskResult

    run = _start()
    DBTaskResult.objects.all().delete()  # the queue lost the chunk task
    assert services.runs_recover() == {"runs": 1, "requeued": 0, "reenqueued": 1, "failed": 0}
    assert DBTaskResult.objects.filter(task_path__endswith="chunk_score_task").count() == 1
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED

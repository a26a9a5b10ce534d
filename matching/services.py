"""Writes of the matching app: starting a run, scoring a chunk of it, failing, retrying and recovering chunks.

A run is split into chunks of needs; each chunk is one task (`matching.tasks`). A worker claims a chunk (attempt
+ 1, a lease), scores it with no transaction open, then writes every result, the chunk status and the run progress
in ONE transaction guarded by a compare-and-set on (status, attempt): an attempt whose lease expired and whose chunk
was handed to another worker cannot write anything. The run's watchdog task re-queues chunks whose lease expired
(dead worker) until `max_attempts`, then fails the run with the reason. A run records the catalogue version it starts
on and each chunk checks it against its index (read from one snapshot, see `matching.index`): a chunk that finds
the catalogue changed fails the run with the reason, as no worker can read an older catalogue, so the chunks of a
succeeded run all scored one catalogue.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.exceptions import ErrorItem, InvalidInput
from matching import selectors
from matching.engine import OfferIndex, needs_score
from matching.index import offer_index_get
from matching.models import (
    ChunkStatus,
    MatchedOffer,
    MatchingChunk,
    MatchingRun,
    NeedResult,
    RunStatus,
)
from matching.scoring import (
    ALGORITHM_VERSION,
    MatchingParameters,
    ipa_crosshairs,
    ipa_diagonal_gap,
    ipa_quadrants,
)
from offers.models import Audience, Domain, Territory

logger = logging.getLogger("matching")

IPA_RULES = ("mean", "median", "midpoint", "given")
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
MAX_CHUNK_SIZE = 10_000


class ChunkTimeLimitExceeded(Exception):
    pass


class CatalogueChanged(Exception):
    """The offers changed since the run started: chunks would no longer be scored against the same catalogue."""


class StaleAttempt(Exception):
    """This attempt lost its chunk (lease expired and re-queued, or the run ended): it must not write."""


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def run_parameters_validate(parameters: dict[str, Any] | None) -> tuple[MatchingParameters, dict[str, Any]]:
    """Split and check a run's parameters: the engine's (`MatchingParameters`) and the run's own (IPA crosshair
    rule, attempts, time limit). Returns the engine parameters and the complete dict stored with the run."""
    if not isinstance(parameters, dict | None):
        raise InvalidInput([ErrorItem(field="parameters", message="parameters must be an object.")])
    raw = dict(parameters or {})
    run_own = {
        "ipa_rule": "mean",
        "ipa_importance_cross": None,
        "ipa_satisfaction_cross": None,
        "max_attempts": 3,
        "chunk_time_limit_seconds": settings.MATCHING_CHUNK_TIME_LIMIT_SECONDS,
    }
    errors: list[ErrorItem] = []
    for key in list(raw):
        if key in run_own:
            run_own[key] = raw.pop(key)
    try:
        engine = MatchingParameters.from_dict(raw)
    except (ValueError, TypeError) as exc:
        key, _, message = str(exc).partition(": ")
        field = f"parameters.{key}" if message else "parameters"
        errors.append(ErrorItem(field=field, message=str(exc)))
        engine = None
    if run_own["ipa_rule"] not in IPA_RULES:
        errors.append(
            ErrorItem(field="parameters.ipa_rule", message=f"ipa_rule must be one of {', '.join(IPA_RULES)}.")
        )
    if run_own["ipa_rule"] == "given":
        for key in ("ipa_importance_cross", "ipa_satisfaction_cross"):
            value = run_own[key]
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                errors.append(
                    ErrorItem(
                        field=f"parameters.{key}", message=f"{key} must be a number in [0, 1] with ipa_rule given."
                    )
                )
    for key, low, high in (("max_attempts", 1, 10), ("chunk_time_limit_seconds", 1, 24 * 3600)):
        value = run_own[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(
                ErrorItem(field=f"parameters.{key}", message=f"{key} must be an integer in [{low}, {high}].")
            )
    if errors:
        raise InvalidInput(errors, message="Invalid matching parameters.")
    return engine, {**engine.to_dict(), **run_own}


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _engine_parameters(run: MatchingRun) -> MatchingParameters:
    own = {"ipa_rule", "ipa_importance_cross", "ipa_satisfaction_cross", "max_attempts", "chunk_time_limit_seconds"}
    return MatchingParameters.from_dict({k: v for k, v in run.parameters.items() if k not in own})


# ---------------------------------------------------------------------------
# Enqueueing
# ---------------------------------------------------------------------------


def _tasks_are_transactional() -> bool:
    """The database queue writes its task rows with ours, so enqueueing inside the transaction is atomic."""
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def _enqueue_chunk(chunk: MatchingChunk) -> None:
    from matching.tasks import chunk_score_task

    if _tasks_are_transactional():
        result = chunk_score_task.enqueue(chunk.id)
        MatchingChunk.objects.filter(id=chunk.id).update(task_id=str(result.id))
        chunk.task_id = str(result.id)
    else:
        transaction.on_commit(lambda: chunk_score_task.enqueue(chunk.id))


def _enqueue_watchdog(run_id: Any, *, delay_seconds: float | None = None) -> None:
    from matching.tasks import run_watchdog_task

    delay = settings.MATCHING_WATCHDOG_INTERVAL_SECONDS if delay_seconds is None else delay_seconds
    if not _tasks_are_transactional():
        return  # Only the durable queue can defer; with the immediate backend nothing can die half-way.
    run_watchdog_task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(str(run_id))


# ---------------------------------------------------------------------------
# Starting a run
# ---------------------------------------------------------------------------


def run_start(
    *,
    launched_by: Any,
    scope_territory: Territory | None = None,
    scope_audiences: Sequence[str] = (),
    scope_domains: Sequence[str] = (),
    parameters: dict[str, Any] | None = None,
    reference_date: date | None = None,
    chunk_size: int | None = None,
) -> MatchingRun:
    """Validate, snapshot what the run will read, split the scoped needs into chunks and enqueue one task each."""
    _engine, stored = run_parameters_validate(parameters)
    errors = []
    audiences, domains = sorted(set(scope_audiences)), sorted(set(scope_domains))
    unknown = sorted(set(audiences) - set(Audience.objects.filter(code__in=audiences).values_list("code", flat=True)))
    if unknown:
        errors.append(ErrorItem(field="scope_audiences", message=f"Unknown audience codes: {', '.join(unknown)}."))
    unknown = sorted(set(domains) - set(Domain.objects.filter(code__in=domains).values_list("code", flat=True)))
    if unknown:
        errors.append(ErrorItem(field="scope_domains", message=f"Unknown domain codes: {', '.join(unknown)}."))
    chunk_size = settings.MATCHING_CHUNK_SIZE if chunk_size is None else chunk_size
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        errors.append(
            ErrorItem(field="chunk_size", message=f"chunk_size must be an integer in [1, {MAX_CHUNK_SIZE}].")
        )
    if errors:
        raise InvalidInput(errors)

    scope = {"territory": scope_territory, "audience_codes": audiences, "domain_codes": domains}
    needs = selectors.need_scope_rows(**scope)
    importance = np.array([row["importance"] for row in needs], dtype=np.float64)
    satisfaction = np.array([np.nan if row["satisfaction"] is None else row["satisfaction"] for row in needs])
    given = (
        (stored["ipa_importance_cross"], stored["ipa_satisfaction_cross"]) if stored["ipa_rule"] == "given" else None
    )
    i_cross, s_cross = ipa_crosshairs(importance, satisfaction, rule=stored["ipa_rule"], given=given)
    snapshot = {
        **selectors.catalogue_snapshot(),
        **selectors.need_scope_snapshot(**scope),
        "catalogue_version": selectors.catalogue_version(),
        "ipa": {
            "rule": stored["ipa_rule"],
            "importance": None if math.isnan(i_cross) else i_cross,
            "satisfaction": None if math.isnan(s_cross) else s_cross,
        },
    }
    need_ids = [row["id"] for row in needs]
    now = timezone.now()
    with transaction.atomic():
        run = MatchingRun(
            scope_territory=scope_territory,
            scope_audiences=audiences,
            scope_domains=domains,
            parameters=stored,
            reference_date=reference_date or timezone.localdate(),
            algorithm_version=ALGORITHM_VERSION,
            chunk_size=chunk_size,
            needs_total=len(need_ids),
            chunks_total=math.ceil(len(need_ids) / chunk_size),
            snapshot=snapshot,
            launched_by=launched_by if getattr(launched_by, "is_authenticated", False) else None,
        )
        if not need_ids:
            run.status, run.started_at, run.finished_at = RunStatus.SUCCEEDED, now, now
            run.timings = {"total_seconds": 0.0}
        run.full_clean()
        run.save()
        chunks = MatchingChunk.objects.bulk_create(
            MatchingChunk(run=run, index=position, need_ids=need_ids[start : start + chunk_size])
            for position, start in enumerate(range(0, len(need_ids), chunk_size))
        )
        for chunk in chunks:
            _enqueue_chunk(chunk)
        if chunks:
            _enqueue_watchdog(run.id)
    logger.info("Matching run %s started: %d needs in %d chunks", run.id, run.needs_total, run.chunks_total)
    return run


# ---------------------------------------------------------------------------
# Scoring a chunk
# ---------------------------------------------------------------------------


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def _lease(run: MatchingRun) -> timedelta:
    return timedelta(seconds=run.parameters["chunk_time_limit_seconds"] + settings.MATCHING_LEASE_MARGIN_SECONDS)


def chunk_claim(*, chunk_id: int) -> MatchingChunk | None:
    """Take a queued chunk of an active run: attempt + 1 and a lease. None when there is nothing to do."""
    with transaction.atomic():
        chunk = MatchingChunk.objects.select_related("run").filter(id=chunk_id).first()
        if chunk is None or chunk.status != ChunkStatus.QUEUED or chunk.run.status not in ACTIVE_STATUSES:
            return None
        now = timezone.now()
        claimed = MatchingChunk.objects.filter(id=chunk_id, status=ChunkStatus.QUEUED, attempt=chunk.attempt).update(
            status=ChunkStatus.RUNNING,
            attempt=F("attempt") + 1,
            lease_expires_at=now + _lease(chunk.run),
            worker=_worker_name(),
            started_at=now,
            finished_at=None,
        )
        if not claimed:
            return None
        MatchingRun.objects.filter(id=chunk.run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now
        )
    chunk.refresh_from_db()
    chunk.run.refresh_from_db()
    return chunk


def chunk_score(*, chunk_id: int) -> str:
    """Claim, score and write one chunk (the body of the chunk task). Returns what happened, for logs."""
    chunk = chunk_claim(chunk_id=chunk_id)
    if chunk is None:
        return "skipped"
    run = chunk.run
    started = time.monotonic()
    deadline = started + run.parameters["chunk_time_limit_seconds"]
    phases: dict[str, float] = {}
    last = [started]

    def checkpoint(phase: str) -> None:
        now = time.monotonic()
        phases[phase] = phases.get(phase, 0.0) + now - last[0]
        last[0] = now
        if now > deadline:
            limit = run.parameters["chunk_time_limit_seconds"]
            raise ChunkTimeLimitExceeded(
                f"Le lot n°{chunk.index} a dépassé sa limite de temps ({limit} s) pendant la phase « {phase} »."
            )

    try:
        results, needs, index = _chunk_compute(run=run, chunk=chunk, checkpoint=checkpoint)
        _chunk_write(run=run, chunk=chunk, results=results, needs=needs, index=index, phases=phases, started=started)
    except StaleAttempt as exc:
        logger.warning("Chunk %s attempt %s discarded: %s", chunk.id, chunk.attempt, exc)
        return "stale"
    except CatalogueChanged as exc:
        chunk_fail(chunk_id=chunk.id, attempt=chunk.attempt, reason=str(exc), retry=False)
        return "failed"
    except Exception as exc:
        logger.exception("Chunk %s of run %s failed (attempt %s)", chunk.id, run.id, chunk.attempt)
        reason = str(exc) if isinstance(exc, ChunkTimeLimitExceeded) else f"{type(exc).__name__}: {exc}"
        chunk_fail(chunk_id=chunk.id, attempt=chunk.attempt, reason=reason, retry=True)
        return "failed"
    return "succeeded"


def _chunk_compute(*, run: MatchingRun, chunk: MatchingChunk, checkpoint) -> tuple[list, Any, OfferIndex]:
    delay = settings.MATCHING_TEST_CHUNK_DELAY_SECONDS
    while delay > 0:  # Test-only: hold the lease a while (see settings).
        time.sleep(min(delay, 0.2))
        delay -= 0.2
        checkpoint("test-delay")
    index = offer_index_get()
    expected = run.snapshot.get("catalogue_version")
    if expected and index.version != expected:
        raise CatalogueChanged(
            "Le catalogue d'offres a changé pendant l'exécution (offres créées, modifiées ou supprimées) : "
            "relancez l'appariement pour des résultats cohérents."
        )
    checkpoint("index")
    needs = selectors.need_arrays(need_ids=chunk.need_ids, taxonomy=index.taxonomy)
    scope_path = run.scope_territory.path if run.scope_territory_id else ""
    paths = {path or scope_path for path in needs.territory_paths}
    centroids = selectors.commune_centroids(paths=paths)
    checkpoint("read")
    results = needs_score(
        index=index,
        needs=needs,
        params=_engine_parameters(run),
        reference_date=run.reference_date,
        scope_path=scope_path,
        centroids=centroids,
        checkpoint=checkpoint,
    )
    checkpoint("scoring")
    return results, needs, index


def _path_code(path: str, prefix: str) -> str:
    for segment in path.strip("/").split("/"):
        if segment.startswith(prefix):
            return segment[len(prefix) :]
    return ""


def _chunk_write(*, run, chunk, results, needs, index, phases, started) -> None:
    ipa = run.snapshot.get("ipa") or {}
    i_cross = ipa.get("importance")
    s_cross = ipa.get("satisfaction")
    if i_cross is None or s_cross is None:
        quadrants = np.full(needs.ids.size, "", dtype=object)
    else:
        quadrants = ipa_quadrants(needs.importance, needs.satisfaction, i_cross, s_cross)
    diagonal = ipa_diagonal_gap(needs.importance, needs.satisfaction)
    rows, offers_per_row = [], []
    for result in results:
        position = result["position"]
        path = needs.territory_paths[position]
        satisfaction = needs.satisfaction[position]
        demand = needs.demand_volume[position]
        decision = result["decision"]
        rows.append(
            NeedResult(
                run_id=run.id,
                need_id=int(needs.ids[position]),
                statement=needs.statements[position],
                audience_code=needs.audience_codes[position],
                domain_code=needs.domain_codes[position],
                theme_codes=needs.theme_codes[position],
                territory_path=path,
                epci_code=_path_code(path, "e"),
                commune_code=_path_code(path, "c"),
                importance=float(needs.importance[position]),
                satisfaction=None if np.isnan(satisfaction) else float(satisfaction),
                demand_volume=None if np.isnan(demand) else int(demand),
                coverage=result["coverage"],
                gap=result["gap"],
                best_relevance=result["best_relevance"],
                recommendation=decision["code"],
                reasons=reasons_explain(
                    decision=decision, index=index, top=result["top"], run=run, needs=needs, position=position
                ),
                ipa_quadrant=str(quadrants[position]),
                ipa_gap=None if np.isnan(diagonal[position]) else float(diagonal[position]),
            )
        )
        offers_per_row.append(result["top"])
    write_started = time.monotonic()
    with transaction.atomic():
        now = timezone.now()
        seconds = time.monotonic() - started
        written = MatchingChunk.objects.filter(
            id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt, run__status__in=ACTIVE_STATUSES
        ).update(status=ChunkStatus.SUCCEEDED, finished_at=now, seconds=seconds, lease_expires_at=None, error="")
        if not written:
            raise StaleAttempt("the chunk was re-queued, taken by another attempt, or its run has ended")
        created = NeedResult.objects.bulk_create(rows, batch_size=500)
        MatchedOffer.objects.bulk_create(
            (
                MatchedOffer(
                    result_id=result.id,
                    offer_id=offer["offer_id"],
                    offer_title=offer["offer_title"][:200],
                    rank=rank,
                    score=offer["score"],
                    relevance=offer["relevance"],
                    text=offer["text"],
                    theme=offer["theme"],
                    audience=offer["audience"],
                    geography=offer["geography"],
                    availability=offer["availability"],
                    capacity=offer["capacity"],
                    distance_km=offer["distance_km"],
                )
                for result, top in zip(created, offers_per_row, strict=True)
                for rank, offer in enumerate(top, start=1)
            ),
            batch_size=2000,
        )
        locked = MatchingRun.objects.select_for_update().get(id=run.id)
        timings = dict(locked.timings)
        for phase, value in {**phases, "write": time.monotonic() - write_started}.items():
            timings[f"chunks_{phase}_seconds"] = round(timings.get(f"chunks_{phase}_seconds", 0.0) + value, 4)
        locked.needs_done += len(rows)
        locked.chunks_done += 1
        if locked.chunks_done >= locked.chunks_total:
            locked.status = RunStatus.SUCCEEDED
            locked.finished_at = now
            timings["total_seconds"] = round((now - (locked.started_at or now)).total_seconds(), 3)
            timings["queued_seconds"] = round(((locked.started_at or now) - locked.created_at).total_seconds(), 3)
        locked.timings = timings
        locked.save(update_fields=["needs_done", "chunks_done", "status", "finished_at", "timings"])


def chunk_fail(*, chunk_id: int, attempt: int, reason: str, retry: bool) -> None:
    """Record a failed attempt; re-queue it while attempts remain, else fail the run with the reason."""
    with transaction.atomic():
        chunk = MatchingChunk.objects.select_related("run").get(id=chunk_id)
        run = chunk.run
        max_attempts = run.parameters.get("max_attempts", 3)
        if retry and attempt < max_attempts:
            updated = MatchingChunk.objects.filter(id=chunk_id, status=ChunkStatus.RUNNING, attempt=attempt).update(
                status=ChunkStatus.QUEUED, error=reason, lease_expires_at=None
            )
            if updated and run.status in ACTIVE_STATUSES:
                _enqueue_chunk(chunk)
            return
        updated = MatchingChunk.objects.filter(id=chunk_id, status=ChunkStatus.RUNNING, attempt=attempt).update(
            status=ChunkStatus.FAILED, error=reason, lease_expires_at=None, finished_at=timezone.now()
        )
        if updated:
            _run_fail(run_id=run.id, reason=f"Lot n°{chunk.index}, tentative {attempt}/{max_attempts} : {reason}")


def _run_fail(*, run_id: Any, reason: str) -> None:
    now = timezone.now()
    MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.FAILED, error=reason, finished_at=now
    )


# ---------------------------------------------------------------------------
# Watchdog and recovery
# ---------------------------------------------------------------------------


def run_recover(*, run_id: Any) -> dict[str, int]:
    """Re-queue the chunks of an active run whose worker died (lease expired) or whose task was lost; fail the run
    when a chunk has used all its attempts. Returns counts, for the command's output."""
    from django_tasks.base import TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

    from matching.tasks import chunk_score_task

    counts = {"requeued": 0, "reenqueued": 0, "failed": 0}
    run = MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).first()
    if run is None:
        return counts
    now = timezone.now()
    max_attempts = run.parameters.get("max_attempts", 3)
    expired = MatchingChunk.objects.filter(run=run, status=ChunkStatus.RUNNING, lease_expires_at__lt=now)
    for chunk in expired:
        reason = (
            f"Le processus de calcul du lot n°{chunk.index} ne répond plus (bail expiré à "
            f"{timezone.localtime(chunk.lease_expires_at):%H:%M:%S}, travailleur {chunk.worker or 'inconnu'})."
        )
        with transaction.atomic():
            if chunk.attempt >= max_attempts:
                if MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt).update(
                    status=ChunkStatus.FAILED, error=reason, finished_at=now, lease_expires_at=None
                ):
                    _run_fail(run_id=run.id, reason=f"{reason} Abandon après {chunk.attempt} tentatives.")
                    counts["failed"] += 1
                continue
            if MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt).update(
                status=ChunkStatus.QUEUED, error=reason, lease_expires_at=None
            ):
                _enqueue_chunk(chunk)
                counts["requeued"] += 1
    if _tasks_are_transactional():
        for chunk in MatchingChunk.objects.filter(run=run, status=ChunkStatus.QUEUED):
            try:
                status = chunk_score_task.get_result(chunk.task_id).status if chunk.task_id else None
            except (TaskResultDoesNotExist, ValueError):
                status = None
            if status in (TaskResultStatus.READY, TaskResultStatus.RUNNING):
                continue
            with transaction.atomic():
                _enqueue_chunk(chunk)
            counts["reenqueued"] += 1
    return counts


def run_watch(*, run_id: Any) -> dict[str, int]:
    """The watchdog task's body: recover the run's chunks, then look again later while the run is active."""
    counts = run_recover(run_id=run_id)
    if MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).exists():
        _enqueue_watchdog(run_id)
    return counts


def runs_recover() -> dict[str, int]:
    """Recover every active run (the `matching_recover` command), and restart their watchdogs."""
    totals = {"runs": 0, "requeued": 0, "reenqueued": 0, "failed": 0}
    for run_id in MatchingRun.objects.filter(status__in=ACTIVE_STATUSES).values_list("id", flat=True):
        counts = run_recover(run_id=run_id)
        totals["runs"] += 1
        for key, value in counts.items():
            totals[key] += value
        if MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).exists():
            _enqueue_watchdog(run_id, delay_seconds=0)
    return totals


# ---------------------------------------------------------------------------
# Reasons a strategist can read
# ---------------------------------------------------------------------------

_CONSTRAINT_MESSAGES = {
    "distance": "trop loin ou hors du territoire du besoin",
    "audience": "réservée(s) à d'autres publics que « {audience} »",
    "availability": "non disponible(s) au {date} (non publiée(s) ou hors de leurs dates d'ouverture)",
    "capacity": "de capacité insuffisante pour la demande ({demand})",
}


def _titles(index: OfferIndex, positions: Sequence[int], limit: int = 3) -> str:
    quoted = [f"« {index.offers.titles[p]} »" for p in positions[:limit]]
    more = len(positions) - limit
    return ", ".join(quoted) + (f" et {more} autre(s)" if more > 0 else "")


def _number(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def reasons_explain(
    *, decision: dict[str, Any], index: OfferIndex, top: list[dict], run: MatchingRun, needs: Any, position: int
) -> list[dict[str, Any]]:
    """Turn the engine's reasons (offer positions) into JSON with offer ids and a French sentence each."""
    params = run.parameters
    # The offers behind the coverage: relevant ones with a non-zero fit, best first.
    covering = [
        offer["offer_position"]
        for offer in top
        if offer["score"] > 0 and offer["relevance"] >= params["relevance_threshold"]
    ][: params["n_best"]]
    reasons = []
    for reason in decision["reasons"]:
        code = reason["code"]
        positions = [int(p) for p in reason.get("offers", [])]
        item: dict[str, Any] = {"code": code}
        if code == "no-relevant-offer":
            item["best_relevance"] = reason["best_relevance"]
            item["message"] = (
                "Aucune offre du catalogue ne répond à ce besoin, même sans tenir compte du lieu, du public, des "
                f"dates ni de la capacité (meilleure pertinence {_number(reason['best_relevance'])}, seuil "
                f"{_number(params['relevance_threshold'])}) : une offre est à créer."
            )
        elif code in _CONSTRAINT_MESSAGES:
            demand = needs.demand_volume[position]
            what = _CONSTRAINT_MESSAGES[code].format(
                audience=index.taxonomy.audience_labels[needs.audience[position]],
                date=run.reference_date.strftime("%d/%m/%Y"),
                demand="inconnue" if np.isnan(demand) else int(demand),
            )
            item["constraint"] = code
            item["message"] = (
                f"{len(positions)} offre(s) pertinente(s) mais {what} : {_titles(index, positions)}. "
                "Adapter ces offres couvrirait le besoin."
            )
        elif code == "weak-match":
            item["message"] = (
                "Des offres pertinentes existent mais aucune ne couvre assez le besoin, sans qu'une contrainte "
                f"précise ne bloque : {_titles(index, positions)}."
            )
        elif code == "low-satisfaction":
            item["satisfaction"] = reason["satisfaction"]
            positions = covering
            item["message"] = (
                f"Le besoin est couvert ({_titles(index, covering)}) mais la satisfaction est faible "
                f"({_number(reason['satisfaction'])}) : un problème de visibilité ou de perception, pas d'offre "
                "manquante. Faire connaître ces offres."
            )
        elif code == "covered":
            positions = covering
            item["message"] = f"Le besoin est couvert par {_titles(index, covering)}."
        elif code == "satisfaction-unknown":
            item["message"] = "Satisfaction inconnue : la mesurer (enquête) dira s'il faut aussi promouvoir l'offre."
        else:
            item.update({key: value for key, value in reason.items() if key not in ("code", "offers")})
            item["message"] = code
        item["offers"] = [int(index.offers.ids[p]) for p in positions]
        reasons.append(item)
    return reasons

"""Chunks of a run: a worker claims one (attempt + 1, a lease), scores it with no transaction open, then writes every
result, the chunk status and the run progress in ONE transaction guarded by a compare-and-set on (status, attempt);
a failed attempt is retried until the run's `max_attempts`.

The catalogue is not frozen for a run: each attempt scores against the latest offer index at its claim and records
the index's version and catalogue state on its chunk (and in the run's `scored_states`), so edits during a long run
never fail it and its results say which states they used."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from matching import selectors
from matching.arrays import NeedArrays
from matching.engine import OfferIndex, needs_score
from matching.index import offer_index_get
from matching.models import ChunkStatus, MatchingChunk, MatchingRun, RunStatus
from matching.reasons import reasons_coverings, reasons_explain, themes_inferred_reason
from matching.scoring import ipa_diagonal_gap, ipa_quadrants
from matching.services.queue import chunk_enqueue
from matching.services.result_writes import results_insert
from matching.services.runs import ACTIVE_STATUSES, run_engine_parameters, run_fail, run_max_attempts
from matching.theme_cache import need_themes_infer
from offers.territory_paths import area_key, path_code

logger = logging.getLogger("matching")


class ChunkTimeLimitExceeded(Exception):
    """The chunk ran past its run's `chunk_time_limit_seconds`."""


class StaleAttempt(Exception):
    """This attempt lost its chunk (lease expired and re-queued, or the run ended): it must not write."""


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
                gettext("Chunk %(index)s went past its time limit (%(limit)s s) during the “%(phase)s” phase.")
                % {"index": chunk.index, "limit": limit, "phase": phase}
            )

    try:
        results, needs, index = _chunk_compute(run=run, chunk=chunk, checkpoint=checkpoint)
        _chunk_write(run=run, chunk=chunk, results=results, needs=needs, index=index, phases=phases, started=started)
    except StaleAttempt as exc:
        logger.warning("Chunk %s attempt %s discarded: %s", chunk.id, chunk.attempt, exc)
        return "stale"
    except Exception as exc:
        logger.exception("Chunk %s of run %s failed (attempt %s)", chunk.id, run.id, chunk.attempt)
        reason = str(exc) if isinstance(exc, ChunkTimeLimitExceeded) else f"{type(exc).__name__}: {exc}"
        chunk_fail(chunk_id=chunk.id, attempt=chunk.attempt, reason=reason, retry=True)
        return "failed"
    return "succeeded"


def _chunk_compute(
    *, run: MatchingRun, chunk: MatchingChunk, checkpoint: Callable[[str], None]
) -> tuple[list[dict[str, Any]], NeedArrays, OfferIndex]:
    delay = settings.MATCHING_TEST_CHUNK_DELAY_SECONDS
    while delay > 0:  # Test-only: hold the lease a while (see settings).
        time.sleep(min(delay, 0.2))
        delay -= 0.2
        checkpoint("test-delay")
    # The latest committed catalogue, whatever the run started on: the chunk records which state it used.
    index = offer_index_get()
    checkpoint("index")
    needs = selectors.need_arrays(need_ids=chunk.need_ids, taxonomy=index.taxonomy)
    scope_area = area_key(run.scope_territory.paths) if run.scope_territory_id else ""
    areas = {area or scope_area for area in needs.territory_areas}
    centroids = selectors.commune_centroids(paths=areas)
    inferred_themes = need_themes_infer(index, needs)  # for needs filed without a theme
    checkpoint("read")
    results = needs_score(
        index=index,
        needs=needs,
        params=run_engine_parameters(run=run),
        reference_date=run.reference_date,
        scope_area=scope_area,
        centroids=centroids,
        checkpoint=checkpoint,
        inferred_themes=inferred_themes,
        retrieval_threads=settings.MATCHING_RETRIEVAL_THREADS,
    )
    checkpoint("scoring")
    return results, needs, index


def _chunk_write(
    *,
    run: MatchingRun,
    chunk: MatchingChunk,
    results: list[dict[str, Any]],
    needs: NeedArrays,
    index: OfferIndex,
    phases: dict[str, float],
    started: float,
) -> None:
    ipa = run.snapshot.get("ipa") or {}
    i_cross = ipa.get("importance")
    s_cross = ipa.get("satisfaction")
    if i_cross is None or s_cross is None:
        quadrants = np.full(needs.ids.size, "", dtype=object)
    else:
        quadrants = ipa_quadrants(needs.importance, needs.satisfaction, i_cross, s_cross)
    diagonal = ipa_diagonal_gap(needs.importance, needs.satisfaction)
    params = run_engine_parameters(run=run)
    coverings = reasons_coverings([result["top"] for result in results], params)
    result_rows, offer_rows = [], []
    for result, covering in zip(results, coverings, strict=True):
        position = result["position"]
        path = needs.territory_paths[position]
        satisfaction = needs.satisfaction[position]
        demand = needs.demand_volume[position]
        decision = result["decision"]
        result_rows.append(
            (
                int(needs.ids[position]),
                needs.statements[position],
                needs.audience_codes[position],
                needs.domain_codes[position],
                needs.theme_codes[position],
                path,
                path_code(path, "epci"),
                path_code(path, "commune"),
                float(needs.importance[position]),
                None if np.isnan(satisfaction) else float(satisfaction),
                None if np.isnan(demand) else int(demand),
                needs.stages[position],
                result["coverage"],
                result["gap"],
                result["best_relevance"],
                decision["code"],
                reasons_explain(
                    decision=decision,
                    index=index,
                    top=result["top"],
                    params=params,
                    reference_date=run.reference_date,
                    needs=needs,
                    position=position,
                    covering=covering,
                )
                + themes_inferred_reason(index.taxonomy, result["inferred_themes"]),
                str(quadrants[position]),
                None if np.isnan(diagonal[position]) else float(diagonal[position]),
            )
        )
        offer_rows.append(
            [
                (
                    offer["offer_id"],
                    offer["offer_title"][:200],
                    rank,
                    offer["score"],
                    offer["relevance"],
                    offer["text"],
                    offer["theme"],
                    offer["audience"],
                    offer["geography"],
                    offer["availability"],
                    offer["capacity"],
                    offer["distance_km"],
                    offer["matched_words"],
                )
                for rank, offer in enumerate(result["top"], start=1)
            ]
        )
    state = getattr(index, "state", None)
    write_started = time.monotonic()
    with transaction.atomic():
        now = timezone.now()
        seconds = time.monotonic() - started
        written = MatchingChunk.objects.filter(
            id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt, run__status__in=ACTIVE_STATUSES
        ).update(
            status=ChunkStatus.SUCCEEDED,
            finished_at=now,
            seconds=seconds,
            lease_expires_at=None,
            error="",
            index_version=index.version,
            index_state=state,
        )
        if not written:
            raise StaleAttempt("the chunk was re-queued, taken by another attempt, or its run has ended")
        results_insert(run_id=run.id, result_rows=result_rows, offer_rows=offer_rows)
        locked = MatchingRun.objects.select_for_update().get(id=run.id)
        timings = dict(locked.timings)
        for phase, value in {**phases, "write": time.monotonic() - write_started}.items():
            timings[f"chunks_{phase}_seconds"] = round(timings.get(f"chunks_{phase}_seconds", 0.0) + value, 4)
        locked.scored_states = scored_states_add(locked.scored_states, version=index.version, state=state)
        locked.needs_done += len(result_rows)
        locked.chunks_done += 1
        if locked.chunks_done >= locked.chunks_total:
            locked.status = RunStatus.SUCCEEDED
            locked.finished_at = now
            timings["total_seconds"] = round((now - (locked.started_at or now)).total_seconds(), 3)
            timings["queued_seconds"] = round(((locked.started_at or now) - locked.created_at).total_seconds(), 3)
        locked.timings = timings
        locked.save(update_fields=["needs_done", "chunks_done", "status", "finished_at", "timings", "scored_states"])


def scored_states_add(scored: list[dict[str, Any]], *, version: str, state: int | None) -> list[dict[str, Any]]:
    """The run's `scored_states` with one more written chunk scored against (`version`, `state`): one entry per
    index version, ordered by catalogue state (an index without a state sorts last, in the order first written)."""
    entries = [dict(entry) for entry in scored or ()]
    for entry in entries:
        if entry["version"] == version:
            entry["chunks"] += 1
            break
    else:
        entries.append({"state": state, "version": version, "chunks": 1})
    return sorted(entries, key=lambda entry: (entry["state"] is None, entry["state"] or 0))


def chunk_fail(*, chunk_id: int, attempt: int, reason: str, retry: bool) -> None:
    """Record a failed attempt; re-queue it while attempts remain, else fail the run with the reason."""
    with transaction.atomic():
        chunk = MatchingChunk.objects.select_related("run").get(id=chunk_id)
        run = chunk.run
        max_attempts = run_max_attempts(run=run)
        if retry and attempt < max_attempts:
            updated = MatchingChunk.objects.filter(id=chunk_id, status=ChunkStatus.RUNNING, attempt=attempt).update(
                status=ChunkStatus.QUEUED, error=reason, lease_expires_at=None
            )
            if updated and run.status in ACTIVE_STATUSES:
                chunk_enqueue(chunk)
            return
        updated = MatchingChunk.objects.filter(id=chunk_id, status=ChunkStatus.RUNNING, attempt=attempt).update(
            status=ChunkStatus.FAILED, error=reason, lease_expires_at=None, finished_at=timezone.now()
        )
        if updated:
            run_fail(
                run_id=run.id,
                reason=gettext("Chunk %(index)s, attempt %(attempt)s/%(max_attempts)s: %(reason)s")
                % {"index": chunk.index, "attempt": attempt, "max_attempts": max_attempts, "reason": reason},
            )

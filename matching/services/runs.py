"""Runs: their parameters, their start (snapshot, chunks, tasks), failing them, and the watchdog that recovers the
chunks of dead workers or lost tasks."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from api.exceptions import Conflict, ErrorItem, InvalidInput
from audiences.selectors import need_visible_q
from matching import selectors
from matching.models import ChunkStatus, MatchingChunk, MatchingRun, RunStatus
from matching.scoring import ALGORITHM_VERSION, CROSSHAIR_RULES, MatchingParameters, ipa_crosshairs
from matching.services.queue import chunk_enqueue, run_watchdog_enqueue, tasks_are_transactional
from matching.tasks import chunk_score_task
from offers.models import Audience, CatalogueVersion, Domain, Territory
from offers.selectors import analyst_scope

logger = logging.getLogger("matching")

ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
MAX_CHUNK_SIZE = 10_000
DEFAULT_MAX_ATTEMPTS = 3
# The key of the PostgreSQL advisory lock that serialises run starts (any constant unique to this use).
RUN_START_LOCK_KEY = 0x414E4352_52554E53  # "ANCRRUNS"


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _run_own_defaults() -> dict[str, Any]:
    """The run's own parameters with their defaults: the one list of their keys. Every other key is the engine's, and
    each chunk splits its run's stored parameters with this same list (a key missing here would reach the engine and
    fail every chunk)."""
    return {
        "ipa_rule": "mean",
        "ipa_importance_cross": None,
        "ipa_satisfaction_cross": None,
        "max_attempts": DEFAULT_MAX_ATTEMPTS,
        "chunk_time_limit_seconds": settings.MATCHING_CHUNK_TIME_LIMIT_SECONDS,
    }


def _parameters_split(parameters: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the engine's parameters as given, the run's own with their defaults filled in)."""
    engine, run_own = {}, _run_own_defaults()
    for key, value in parameters.items():
        (run_own if key in run_own else engine)[key] = value
    return engine, run_own


def run_parameters_validate(*, parameters: dict[str, Any] | None) -> tuple[MatchingParameters, dict[str, Any]]:
    """Split and check a run's parameters: the engine's (`MatchingParameters`) and the run's own (IPA crosshair
    rule, attempts, time limit). Returns the engine parameters and the complete dict stored with the run."""
    if not isinstance(parameters, dict | None):
        raise InvalidInput([ErrorItem(field="parameters", message=gettext("parameters must be an object."))])
    raw, run_own = _parameters_split(parameters or {})
    # JSON reads 1e400 as infinity and a 400-digit integer as an int no float holds: refuse both here, by key,
    # before any range check compares (inf passes `> 0`) or converts them (OverflowError).
    errors = [
        ErrorItem(
            field=f"parameters.{key}",
            code="not_finite",
            message=gettext("%(key)s must be a finite number that fits a 64-bit float, got %(value)s.")
            % {"key": key, "value": _number_repr(value)},
        )
        for key, value in (parameters or {}).items()
        if _is_plain_number(value) and not _is_finite(value)
    ]
    refused = {error.field for error in errors}
    engine = None
    try:
        engine = MatchingParameters.from_dict(
            {key: value for key, value in raw.items() if f"parameters.{key}" not in refused}
        )
    except (ValueError, TypeError) as exc:
        key, _, message = str(exc).partition(": ")
        field = f"parameters.{key}" if message else "parameters"
        errors.append(ErrorItem(field=field, message=str(exc)))
    if run_own["ipa_rule"] not in CROSSHAIR_RULES:
        errors.append(
            ErrorItem(
                field="parameters.ipa_rule",
                message=gettext("ipa_rule must be one of %(allowed)s.") % {"allowed": ", ".join(CROSSHAIR_RULES)},
            )
        )
    if run_own["ipa_rule"] == "given":
        for key in ("ipa_importance_cross", "ipa_satisfaction_cross"):
            value = run_own[key]
            if f"parameters.{key}" in refused:
                continue
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                errors.append(
                    ErrorItem(
                        field=f"parameters.{key}",
                        message=gettext("%(key)s must be a number in [0, 1] with ipa_rule given.") % {"key": key},
                    )
                )
    for key, low, high in (("max_attempts", 1, 10), ("chunk_time_limit_seconds", 1, 24 * 3600)):
        value = run_own[key]
        if f"parameters.{key}" in refused:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(
                ErrorItem(
                    field=f"parameters.{key}",
                    message=gettext("%(key)s must be an integer in [%(low)s, %(high)s].")
                    % {"key": key, "low": low, "high": high},
                )
            )
    if errors:
        raise InvalidInput(errors, message=gettext("Invalid matching parameters."))
    return engine, {**engine.to_dict(), **run_own}


def _is_plain_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def _is_number(value: Any) -> bool:
    return _is_plain_number(value) and _is_finite(value)


def _number_repr(value: int | float) -> str:
    if isinstance(value, int):  # repr() of an int past 4,300 digits raises
        return gettext("an integer of about %(digits)s digits") % {
            "digits": int(value.bit_length() * math.log10(2)) + 1
        }
    return repr(value)


def run_max_attempts(*, run: MatchingRun) -> int:
    """How many attempts each chunk of `run` has."""
    return run.parameters.get("max_attempts", DEFAULT_MAX_ATTEMPTS)


def run_engine_parameters(*, run: MatchingRun) -> MatchingParameters:
    """The engine's parameters stored with `run` (without the run's own)."""
    engine, _run_own = _parameters_split(run.parameters)
    return MatchingParameters.from_dict(engine)


# ---------------------------------------------------------------------------
# Starting and failing a run
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
    """Validate, snapshot what the run will read, split the scoped needs into chunks and enqueue one task each.

    A run launched by an account (`launched_by`) is scoped within their territories (no scope: their territory when
    they have exactly one, else a 400) and reads only the needs they may see; a run launched by the system (the
    demo, a command: `launched_by` None) reads every need of its scope."""
    _engine, stored = run_parameters_validate(parameters=parameters)
    errors = []
    visible = None
    if getattr(launched_by, "is_authenticated", False):
        try:
            scope_territory = analyst_scope(user=launched_by).territory_check(
                scope_territory, field="scope_territory", default=True
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
        visible = need_visible_q(user=launched_by)
    audiences, domains = sorted(set(scope_audiences)), sorted(set(scope_domains))
    unknown = sorted(set(audiences) - set(Audience.objects.filter(code__in=audiences).values_list("code", flat=True)))
    if unknown:
        errors.append(
            ErrorItem(
                field="scope_audiences",
                message=gettext("Unknown audience codes: %(codes)s.") % {"codes": ", ".join(unknown)},
            )
        )
    unknown = sorted(set(domains) - set(Domain.objects.filter(code__in=domains).values_list("code", flat=True)))
    if unknown:
        errors.append(
            ErrorItem(
                field="scope_domains",
                message=gettext("Unknown domain codes: %(codes)s.") % {"codes": ", ".join(unknown)},
            )
        )
    chunk_size = settings.MATCHING_CHUNK_SIZE if chunk_size is None else chunk_size
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        errors.append(
            ErrorItem(
                field="chunk_size",
                message=gettext("chunk_size must be an integer in [1, %(max)s].") % {"max": MAX_CHUNK_SIZE},
            )
        )
    if errors:
        raise InvalidInput(errors)

    scope = {"territory": scope_territory, "audience_codes": audiences, "domain_codes": domains, "visible": visible}
    needs = selectors.need_scope_rows(**scope)
    importance = np.array([row["importance"] for row in needs], dtype=np.float64)
    satisfaction = np.array([np.nan if row["satisfaction"] is None else row["satisfaction"] for row in needs])
    given = (
        (stored["ipa_importance_cross"], stored["ipa_satisfaction_cross"]) if stored["ipa_rule"] == "given" else None
    )
    i_cross, s_cross = ipa_crosshairs(importance, satisfaction, rule=stored["ipa_rule"], given=given)
    # The state the run starts on, for the record only: its chunks score whatever state is latest at their claim.
    catalogue_state = CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
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
        _active_runs_check(launched_by=launched_by)
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
            catalogue_state=catalogue_state,
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
            chunk_enqueue(chunk)
        if chunks:
            run_watchdog_enqueue(run.id)
    logger.info("Matching run %s started: %d needs in %d chunks", run.id, run.needs_total, run.chunks_total)
    return run


def _active_runs_check(*, launched_by: Any) -> None:
    """Refuse a run beyond the caps of active (queued or running) runs, per user and in all: every chunk shares
    the same workers, so one analyst's burst would queue everyone else's runs behind it. Runs inside the
    transaction that creates the run, under a lock, so two simultaneous starts cannot both pass."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_START_LOCK_KEY])
    # SQLite: the project's transactions are IMMEDIATE (api/settings.py), so this one already holds the write lock.
    active = MatchingRun.objects.filter(status__in=ACTIVE_STATUSES)
    if getattr(launched_by, "is_authenticated", False):
        mine, limit = active.filter(launched_by=launched_by).count(), settings.MAX_ACTIVE_RUNS_PER_USER
        if mine >= limit:
            raise Conflict(
                gettext(
                    "You already have %(count)s active matching runs (queued or running); the limit is %(limit)s per "
                    "user (DJANGO_MAX_ACTIVE_RUNS_PER_USER). Launch this one when one of them has finished."
                )
                % {"count": mine, "limit": limit},
                code="too_many_runs",
            )
    total, limit = active.count(), settings.MAX_ACTIVE_RUNS
    if total >= limit:
        raise Conflict(
            gettext(
                "%(count)s matching runs are already active (queued or running); the limit is %(limit)s in all "
                "(DJANGO_MAX_ACTIVE_RUNS). Launch this one when one of them has finished."
            )
            % {"count": total, "limit": limit},
            code="too_many_runs",
        )


def run_fail(*, run_id: Any, reason: str) -> None:
    """Fail an active run with the reason (a run that already ended keeps its status)."""
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
    counts = {"requeued": 0, "reenqueued": 0, "failed": 0}
    run = MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).first()
    if run is None:
        return counts
    now = timezone.now()
    max_attempts = run_max_attempts(run=run)
    expired = MatchingChunk.objects.filter(run=run, status=ChunkStatus.RUNNING, lease_expires_at__lt=now)
    for chunk in expired:
        reason = gettext(
            "The process computing chunk %(index)s no longer answers (lease expired at %(time)s, worker %(worker)s)."
        ) % {
            "index": chunk.index,
            "time": f"{timezone.localtime(chunk.lease_expires_at):%H:%M:%S}",
            "worker": chunk.worker or pgettext("worker", "unknown"),
        }
        with transaction.atomic():
            if chunk.attempt >= max_attempts:
                if MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt).update(
                    status=ChunkStatus.FAILED, error=reason, finished_at=now, lease_expires_at=None
                ):
                    run_fail(
                        run_id=run.id,
                        reason=(
                            gettext("%(reason)s Given up after %(count)s attempts.")
                            % {"reason": reason, "count": chunk.attempt}
                        ),
                    )
                    counts["failed"] += 1
                continue
            if MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING, attempt=chunk.attempt).update(
                status=ChunkStatus.QUEUED, error=reason, lease_expires_at=None
            ):
                chunk_enqueue(chunk)
                counts["requeued"] += 1
    if tasks_are_transactional():
        for chunk in MatchingChunk.objects.filter(run=run, status=ChunkStatus.QUEUED):
            try:
                status = chunk_score_task.get_result(chunk.task_id).status if chunk.task_id else None
            except (TaskResultDoesNotExist, ValueError):
                status = None
            if status in (TaskResultStatus.READY, TaskResultStatus.RUNNING):
                continue
            with transaction.atomic():
                chunk_enqueue(chunk)
            counts["reenqueued"] += 1
    return counts


def run_watch(*, run_id: Any) -> dict[str, int]:
    """The watchdog task's body: recover the run's chunks, then look again later while the run is active."""
    counts = run_recover(run_id=run_id)
    if MatchingRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).exists():
        run_watchdog_enqueue(run_id)
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
            run_watchdog_enqueue(run_id, delay_seconds=0)
    return totals

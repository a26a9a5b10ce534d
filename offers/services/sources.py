"""Sources kept in sync: read a source's file with its format, map each record onto an offer with the rules of every
offer write (`_offer_draft`), and reconcile the source's offers with the file in one transaction: create the new,
update the changed, archive those gone, leave the unchanged untouched.

A record that cannot be used is skipped and listed; above the source's failure share, or when the file itself is
unusable (another format, truncated, an HTTP error, a timeout), the sync fails whole and nothing is written.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from rest_framework.exceptions import PermissionDenied

from api.cells import CellError
from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.model_update import model_update, validation_messages
from api.permissions import is_analyst
from offers.models import (
    Offer,
    OfferStatus,
    Source,
    SourceSync,
    SyncStatus,
    SyncTrigger,
    Territory,
    TerritoryKind,
)
from offers.selectors import communes_resolve
from offers.services.lookups import CodeLookups
from offers.services.offers import (
    OFFER_RELATION_FIELDS,
    OFFER_SCALAR_FIELDS,
    OfferDraft,
    _offer_draft,
    offer_can_edit,
    offer_search_text,
)
from offers.services.reference_data import catalogue_changed
from offers.source_formats import SOURCE_FORMATS, FormatError, RecordSkip, SourceRecord, domain_pick
from offers.tasks import source_sync_task as _source_sync_task

# A record skipped for these reasons is gone for good (an event over): its offer is archived like a removed record's.
# Any other skipped record leaves its offer as it was.
ARCHIVING_SKIP_CODES = frozenset({"event_over"})
ACTIVE_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)
PROGRESS_EVERY = 500
BATCH = 500


class SyncFailed(Exception):
    """The whole sync fails: nothing is written, the previous state stays published."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Skip:
    position: int
    external_id: str | None
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"position": self.position, "external_id": self.external_id, "code": self.code, "message": self.message}


# Requesting and running --------------------------------------------------------------------------------------------


def source_sync_request(*, source: Source, trigger: str, content: bytes | None = None, user=None) -> SourceSync:
    """Queue a sync of `source` (an uploaded file, or its URL fetched by the worker); 409 while another is queued or
    running. The worker runs `source_sync_run`."""
    if trigger == SyncTrigger.URL and not source.url:
        raise Conflict(
            gettext("The source %(code)s has no URL to fetch: upload a file, or set its url.") % {"code": source.code},
            code="no_url",
        )
    with transaction.atomic():
        sync = _sync_open(source=source, trigger=trigger, user=user, upload=content, status=SyncStatus.QUEUED)
        if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
            _source_sync_task.enqueue(sync.pk)  # the task row commits with the sync's
        else:
            transaction.on_commit(lambda: _source_sync_task.enqueue(sync.pk))
    return sync


def source_sync_run(*, sync_id: int) -> dict:
    """What the worker runs: fetch the URL or take the upload, then sync; the sync row says how it went."""
    sync = SourceSync.objects.select_related("source__organisation").get(pk=sync_id)
    started = timezone.now()
    # Only a sync still queued starts: one failed meanwhile for waiting too long (_stale_syncs_fail) stays failed.
    taken = SourceSync.objects.filter(pk=sync.pk, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, started_at=started, progressed_at=started
    )
    if not taken:
        sync.refresh_from_db(fields=["status"])
        return {"sync": sync.pk, "status": sync.status}
    sync.status, sync.started_at, sync.progressed_at = SyncStatus.RUNNING, started, started
    try:
        if sync.trigger == SyncTrigger.URL:
            _progress(sync, phase="fetching")
            content = source_fetch(source=sync.source)
        else:
            content = bytes(sync.upload or b"")
        _sync_execute(sync, content=content)
    except SyncFailed as exc:
        _sync_fail(sync, exc)
    except Exception as exc:  # a bug must not leave the source blocked by a sync marked running forever
        _sync_fail(sync, SyncFailed("internal_error", gettext("Unexpected error: %(error)s") % {"error": exc}))
        raise
    return {"sync": sync.pk, "status": sync.status}


def source_sync(
    *,
    source: Source,
    content: bytes | None,
    trigger: str = SyncTrigger.COMMAND,
    user=None,
    today: date | None = None,
) -> SourceSync:
    """Sync `source` with `content` (None: fetch the source's URL) now, in this process (the command, tests, the
    demo); 409 while another sync of the source is queued or running. Returns the finished sync (succeeded or
    failed)."""
    sync = _sync_open(source=source, trigger=trigger, user=user, upload=None, status=SyncStatus.RUNNING)
    try:
        if content is None:
            _progress(sync, phase="fetching")
            content = source_fetch(source=source)
        _sync_execute(sync, content=content, today=today)
    except SyncFailed as exc:
        _sync_fail(sync, exc)
    except Exception as exc:
        _sync_fail(sync, SyncFailed("internal_error", gettext("Unexpected error: %(error)s") % {"error": exc}))
        raise
    return sync


def _sync_open(*, source: Source, trigger: str, user, upload: bytes | None, status: str) -> SourceSync:
    _stale_syncs_fail(source=source)
    now = timezone.now()
    try:
        with transaction.atomic():
            return SourceSync.objects.create(
                source=source,
                trigger=trigger,
                status=status,
                requested_by=user if getattr(user, "is_authenticated", False) else None,
                upload=upload,
                started_at=now if status == SyncStatus.RUNNING else None,
            )
    except IntegrityError:
        active = SourceSync.objects.filter(source=source, status__in=ACTIVE_STATUSES).first()
        raise Conflict(
            gettext("A sync of the source %(code)s is already %(status)s (sync %(sync)s): wait until it ends.")
            % {
                "code": source.code,
                "status": active.get_status_display().lower() if active else "",
                "sync": active.pk if active else "?",
            },
            code="sync_in_progress",
        ) from None


def _stale_syncs_fail(*, source: Source) -> None:
    """A sync whose worker died stays `running`, one no worker took stays `queued`: past SOURCE_SYNC_STALE_SECONDS
    without progress (or since it was requested) it is failed, so the source can sync again."""
    seconds = settings.SOURCE_SYNC_STALE_SECONDS
    now = timezone.now()
    limit = now - timedelta(seconds=seconds)
    ended = {"status": SyncStatus.FAILED, "finished_at": now, "upload": None, "phase": ""}
    syncs = SourceSync.objects.filter(source=source)
    syncs.filter(status=SyncStatus.RUNNING).filter(
        Q(progressed_at__lt=limit) | Q(progressed_at__isnull=True, started_at__lt=limit)
    ).update(
        failure_code="stale",
        failure_message=gettext("The sync made no progress for too long: its worker probably stopped."),
        **ended,
    )
    syncs.filter(status=SyncStatus.QUEUED, requested_at__lt=limit).update(
        failure_code="not_started",
        failure_message=gettext(
            "No worker started the sync within %(seconds)s s of its request: check that the workers run "
            "(manage.py db_worker), then request the sync again."
        )
        % {"seconds": seconds},
        **ended,
    )


def _progress(sync: SourceSync, **values) -> None:
    """Committed as it goes (outside the write transaction), so `GET` shows it while the sync runs."""
    values["progressed_at"] = timezone.now()
    for name, value in values.items():
        setattr(sync, name, value)
    SourceSync.objects.filter(pk=sync.pk).update(**values)


def _sync_fail(sync: SourceSync, exc: SyncFailed) -> None:
    _progress(
        sync,
        status=SyncStatus.FAILED,
        failure_code=exc.code,
        failure_message=exc.message,
        finished_at=timezone.now(),
        upload=None,
        phase="",
    )


# Fetching ------------------------------------------------------------------------------------------------------------


def source_fetch(*, source: Source, max_bytes: int | None = None) -> bytes:
    """The file at the source's URL, within its timeout (for the whole transfer) and the size cap; SyncFailed saying
    what went wrong otherwise (HTTP error, timeout, too large, truncated, unreachable)."""
    max_bytes = max_bytes or settings.SOURCE_SYNC_MAX_BYTES
    url, timeout = source.url, source.fetch_timeout_seconds
    deadline = time.monotonic() + timeout
    timed_out = SyncFailed(
        "timeout",
        gettext("The source did not send its file within %(seconds)s s (%(url)s).") % {"seconds": timeout, "url": url},
    )
    too_large = SyncFailed(
        "too_large",
        gettext("The source's file is larger than %(limit)s bytes (%(url)s).") % {"limit": max_bytes, "url": url},
    )
    request = urllib.request.Request(url, headers={"User-Agent": "Ancrage source sync"})
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            declared = int(declared) if declared and declared.isdigit() else None
            if declared is not None and declared > max_bytes:
                raise too_large
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise timed_out
                chunk = response.read1(64 * 1024)  # what has arrived: a trickling source still meets the deadline
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise SyncFailed(
            "http_error",
            gettext("The source answered HTTP %(status)s %(reason)s (%(url)s).")
            % {"status": exc.code, "reason": exc.reason, "url": url},
        ) from None
    except TimeoutError:
        raise timed_out from None
    except http.client.IncompleteRead as exc:
        raise SyncFailed(
            "truncated",
            gettext("The source's file was cut off after %(size)s bytes (%(url)s).")
            % {"size": size + len(exc.partial), "url": url},
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise timed_out from None
        raise SyncFailed(
            "unreachable",
            gettext("The source could not be reached (%(url)s): %(reason)s.") % {"url": url, "reason": exc.reason},
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise SyncFailed(
            "unreachable",
            gettext("The source could not be reached (%(url)s): %(reason)s.") % {"url": url, "reason": exc},
        ) from None
    if declared is not None and size < declared:
        raise SyncFailed(
            "truncated",
            gettext("The source's file was cut off: %(size)s bytes of the %(declared)s announced (%(url)s).")
            % {"size": size, "declared": declared, "url": url},
        )
    return b"".join(chunks)


# Syncing -------------------------------------------------------------------------------------------------------------


def source_formats() -> dict:
    """The registered formats (offers.source_formats), and those SOURCE_SYNC_EXTRA_FORMATS names (dotted paths to
    format objects: the tests' own format, in test processes and the workers they start)."""
    formats = dict(SOURCE_FORMATS)
    for path in settings.SOURCE_SYNC_EXTRA_FORMATS:
        format_ = import_string(path)
        formats.setdefault(format_.code, format_)
    return formats


def source_theme_mapping(source: Source) -> dict[str, tuple[str, ...]]:
    """The format's default mapping with the source's own entries over it (an entry [] leaves a category out)."""
    format_ = source_formats().get(source.format)
    mapping = {key: tuple(value) for key, value in (format_.default_theme_mapping if format_ else {}).items()}
    mapping.update({key: tuple(value) for key, value in (source.theme_mapping or {}).items()})
    return mapping


def _sync_execute(sync: SourceSync, *, content: bytes, today: date | None = None) -> None:
    source = sync.source
    formats = source_formats()
    format_ = formats.get(source.format)
    if format_ is None:
        raise SyncFailed(
            "unknown_format",
            gettext("The format %(format)s of the source is not known: use one of %(formats)s.")
            % {"format": repr(source.format), "formats": ", ".join(sorted(formats)) or "-"},
        )
    today = today or timezone.localdate()

    _progress(sync, phase="reading", records_read=0)
    items: list[SourceRecord | RecordSkip] = []
    try:
        for item in format_.read(content, today=today):
            items.append(item)
            if len(items) % PROGRESS_EVERY == 0:
                _progress(sync, records_read=len(items))
    except FormatError as exc:
        where = (
            gettext(" (record %(position)s)") % {"position": exc.position} if getattr(exc, "position", None) else ""
        )
        raise SyncFailed(
            "format_error",
            gettext("The file cannot be read as %(format)s%(where)s: %(message)s")
            % {"format": format_.label, "where": where, "message": exc.message},
        ) from None
    total = len(items)
    _progress(sync, phase="checking", records_read=total, records_total=total, records_checked=0)
    if not total:
        raise SyncFailed("empty", gettext("The file holds no record: nothing was changed."))

    skips: list[_Skip] = []
    positioned: list[tuple[int, SourceRecord]] = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, RecordSkip):
            skips.append(_Skip(item.position, item.external_id, item.code, item.message))
        else:
            positioned.append((position, item))

    refs = CodeLookups()
    mapping = source_theme_mapping(source)
    communes = _communes_resolve([record for _, record in positioned])
    existing = {
        offer.external_id: offer
        for offer in Offer.objects.filter(origin=source).prefetch_related("themes", "audiences", "service_area")
    }
    # The organisation's offers holding this source's import key without being the source's (a file import named
    # like the source): their identifiers cannot be used.
    taken = set(
        Offer.objects.filter(organisation=source.organisation, source=source.code)
        .exclude(origin=source)
        .exclude(external_id="")
        .values_list("external_id", flat=True)
    )
    taken_message = gettext(
        "An offer of the organisation made outside this source already has the identifier %(identifier)s."
    )
    drafts: list[tuple[OfferDraft, str]] = []
    seen: dict[str, int] = {}
    for index, (position, record) in enumerate(positioned):
        if index % PROGRESS_EVERY == 0 and index:
            _progress(sync, records_checked=index)
        external_id = (record.external_id or "").strip()
        if not external_id:
            skips.append(_Skip(position, None, "no_identifier", gettext("The record has no identifier.")))
            continue
        if external_id in seen:
            skips.append(
                _Skip(
                    position,
                    external_id,
                    "duplicate",
                    gettext("The identifier %(identifier)s is already used by record %(position)s.")
                    % {"identifier": repr(external_id), "position": seen[external_id]},
                )
            )
            continue
        seen[external_id] = position
        data, skip = _record_data(record, source=source, mapping=mapping, refs=refs, commune=communes[index])
        if skip is not None:
            skips.append(_Skip(position, external_id, *skip))
            continue
        if external_id in taken:
            skips.append(_Skip(position, external_id, "duplicate", taken_message % {"identifier": repr(external_id)}))
            continue
        # The constraints are checked for the whole file: the date range by Offer.clean, the import key by `taken`
        # and `seen` (a query per record would double the time of a large sync).
        draft, errors = _offer_draft(
            data=data,
            offer=existing.get(external_id),
            refs=refs,
            default_organisation=source.organisation,
            constraints_checked=True,
        )
        if errors:
            message = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
            skips.append(_Skip(position, external_id, "invalid", message))
            continue
        drafts.append((draft, _record_link(record)))
    _progress(sync, records_checked=len(positioned))

    skips.sort(key=lambda skip: skip.position)
    listed = [skip.as_dict() for skip in skips[: settings.SOURCE_SYNC_SKIPPED_LISTED]]
    if len(skips) > source.failure_share_max * total:
        _progress(sync, skipped=len(skips), skipped_records=listed)
        raise SyncFailed(
            "too_many_skipped",
            gettext(
                "%(skipped)s of %(total)s records (%(share).1f %%) cannot be used, more than the %(limit).1f %% this "
                "source allows: the file is probably wrong, nothing was changed."
            )
            % {
                "skipped": len(skips),
                "total": total,
                "share": 100 * len(skips) / total,
                "limit": 100 * source.failure_share_max,
            },
        )
    # Offers kept out of the archive: those of every record in the file, unless skipped as gone for good.
    kept = (set(seen) | {skip.external_id for skip in skips if skip.external_id}) - {
        skip.external_id for skip in skips if skip.code in ARCHIVING_SKIP_CODES
    }
    _progress(sync, phase="writing")
    _reconcile(sync, drafts=drafts, existing=existing, kept=kept, skips=skips, listed=listed)


def _record_link(record: SourceRecord) -> str:
    """The record's page at its source: what the format names as such, else its IRI, else its own link."""
    extra = record.extra or {}
    candidates = (extra.get("source_url"), extra.get("source_link"), extra.get("link"), extra.get("uri"), record.url)
    link = str(next((value for value in candidates if value), "")).strip()
    try:
        URLValidator()(link)
    except DjangoValidationError:
        return ""
    return link if len(link) <= 500 else ""


def _record_data(
    record: SourceRecord, *, source: Source, mapping: dict, refs: CodeLookups, commune: Territory | str | None
) -> tuple[dict | None, tuple[str, str] | None]:
    """The record as the values of an offer write (codes, as the API takes them), or (code, message) of why not."""
    theme_codes = list(dict.fromkeys(record.themes))
    unmapped = []
    for category in record.categories:
        if category in mapping:
            theme_codes.extend(code for code in mapping[category] if code not in theme_codes)
        else:
            unmapped.append(category)
    themes = [refs.themes[code] for code in theme_codes if code in refs.themes]
    if record.domain:
        domain = refs.domains.get(record.domain)
        if domain is None:
            return None, ("unknown_domain", gettext("Unknown domain %(code)s.") % {"code": repr(record.domain)})
        themes = [theme for theme in themes if theme.domain_id == domain.pk]
    elif themes:
        # The domain most of the themes belong to (ties: the first listed), as the formats' `domain_pick` decides.
        domain_code, kept = domain_pick([t.code for t in themes], {t.code: t.domain.code for t in themes})
        domain = refs.domains[domain_code]
        themes = [theme for theme in themes if theme.code in kept]
    if not themes:
        return None, (
            "unmapped_category",
            gettext("None of the record's categories (%(categories)s) maps to a theme%(domain)s.")
            % {
                "categories": ", ".join(record.categories) or "-",
                "domain": (gettext(" of the domain %(domain)s") % {"domain": record.domain}) if record.domain else "",
            },
        )

    service_area: list[str] = []
    for code in record.service_area:
        if code.upper() == "FR":  # the whole of France: its régions
            service_area.extend(_regions())
        else:
            service_area.append(code)
    data = {
        "title": record.title,
        "description": record.description,
        "domain": domain.code,
        "themes": [theme.code for theme in themes],
        "audiences": list(record.audiences),
        "latitude": record.latitude,
        "longitude": record.longitude,
        "service_area": service_area,
        "available_from": record.available_from,
        "available_until": record.available_until,
        "capacity": record.capacity,
        "url": record.url,
        "contact": record.contact,
        "status": OfferStatus.PUBLISHED,
        "source": source.code,
        "external_id": record.external_id.strip(),
    }
    if record.is_free:
        data.update(is_free=True, price_amount=None, price_details=record.price_details)
    else:
        details = record.price_details
        if record.price_amount is None and not details:
            details = gettext("Price not given by the source.")
        data.update(is_free=False, price_amount=record.price_amount, price_details=details)

    if isinstance(commune, Territory):
        refs._territories[commune.qualified_code] = commune  # resolved already: no query per record
        data["commune"] = commune.qualified_code
    elif isinstance(commune, str):
        return None, ("unknown_commune", commune)
    elif not (record.remote or service_area):
        return None, (
            "no_place",
            gettext("The record has no commune (INSEE code, or postal code and name) and no service area."),
        )
    data["remote"] = record.remote
    return data, None


def _regions() -> list[str]:
    return [
        f"region:{code}"
        for code in Territory.objects.filter(kind=TerritoryKind.REGION, retired=False).values_list("code", flat=True)
    ]


def _communes_resolve(records: list[SourceRecord]) -> list[Territory | str | None]:
    """Each record's commune (or why not, or None when it names none), with a few queries for the whole file:
    INSEE codes first, then postal codes, then names (within the postal code's communes when it has several)."""
    result: list[Territory | str | None] = [None] * len(records)

    def clean(value) -> str:
        return str(value or "").strip()

    by_insee = communes_resolve({clean(r.commune_code) for r in records if clean(r.commune_code)}, kind="insee")
    pending = []
    for index, record in enumerate(records):
        found = by_insee.get(clean(record.commune_code)) if clean(record.commune_code) else None
        result[index] = found
        if not isinstance(found, Territory) and (clean(record.postal_code) or clean(record.commune_name)):
            pending.append(index)
    by_postal = communes_resolve(
        {clean(records[i].postal_code) for i in pending if clean(records[i].postal_code)}, kind="postal_code"
    )
    named: dict[int | None, list[int]] = defaultdict(list)
    within: dict[int | None, Territory | None] = {None: None}
    for index in pending:
        record = records[index]
        found = by_postal.get(clean(record.postal_code)) if clean(record.postal_code) else None
        if isinstance(found, Territory) and found.kind == TerritoryKind.COMMUNE:
            result[index] = found
            continue
        if clean(record.commune_name):
            area = found if isinstance(found, Territory) else None
            within[area.pk if area else None] = area
            named[area.pk if area else None].append(index)
        elif isinstance(found, Territory):
            result[index] = gettext(
                "The postal code %(code)s serves several communes: the record needs the commune's name or INSEE code."
            ) % {"code": clean(record.postal_code)}
        elif found is not None and result[index] is None:
            result[index] = found
    for key, indexes in named.items():
        names = communes_resolve({clean(records[i].commune_name) for i in indexes}, kind="name", within=within[key])
        for index in indexes:
            found = names.get(clean(records[index].commune_name))
            if isinstance(found, Territory) or result[index] is None:
                result[index] = found
    return result


def _reconcile(
    sync: SourceSync,
    *,
    drafts: list[tuple[OfferDraft, str]],
    existing: dict[str, Offer],
    kept: set[str],
    skips: list[_Skip],
    listed: list[dict],
) -> None:
    """One transaction: create, update, archive; stamp the catalogue once; record provenance and the report."""
    source = sync.source
    now = timezone.now()
    new, changed, unchanged = [], [], []
    for draft, link in drafts:
        offer = draft.offer
        if offer.pk is None:
            new.append(draft)
        elif draft.changed or offer.source_url != link:
            changed.append(draft)
        else:
            unchanged.append(offer)
        offer.source_url = link
    gone = [
        offer
        for external_id, offer in existing.items()
        if external_id not in kept and offer.status != OfferStatus.ARCHIVED
    ]
    m2m_fields = [Offer._meta.get_field(name) for name in ("themes", "audiences", "service_area")]

    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()  # one writer per source
        for draft in new + changed:
            offer = draft.offer
            offer.search_text = offer_search_text(offer=offer, themes=draft.themes)
            offer.origin, offer.last_sync, offer.updated_at = source, sync, now
            if offer.pk is None:
                offer.created_at = now
        Offer.objects.bulk_create([draft.offer for draft in new], batch_size=BATCH)
        update_fields = [
            *OFFER_SCALAR_FIELDS,
            *OFFER_RELATION_FIELDS,
            "remote",
            "search_text",
            "source_url",
            "last_sync",
            "updated_at",
        ]
        Offer.objects.bulk_update([draft.offer for draft in changed], update_fields, batch_size=BATCH)
        changed_ids = [draft.offer.pk for draft in changed]
        for field in m2m_fields:
            through = field.remote_field.through
            own, other = field.m2m_field_name(), field.m2m_reverse_field_name()
            for start in range(0, len(changed_ids), BATCH):
                through.objects.filter(**{f"{own}_id__in": changed_ids[start : start + BATCH]}).delete()
            rows = [
                through(**{f"{own}_id": draft.offer.pk, f"{other}_id": item.pk})
                for draft in new + changed
                for item in getattr(draft, field.name)
            ]
            through.objects.bulk_create(rows, batch_size=BATCH * 4)
        gone_ids = [offer.pk for offer in gone]
        for start in range(0, len(gone_ids), BATCH):
            Offer.objects.filter(pk__in=gone_ids[start : start + BATCH]).update(
                status=OfferStatus.ARCHIVED, updated_at=now
            )
        # Seen but unchanged: only the provenance moves (updated_at and the catalogue stay as they were).
        unchanged_ids = [offer.pk for offer in unchanged]
        for start in range(0, len(unchanged_ids), BATCH):
            Offer.objects.filter(pk__in=unchanged_ids[start : start + BATCH]).update(last_sync=sync)
        written = [draft.offer.pk for draft in new] + changed_ids + gone_ids
        version = catalogue_changed(public=True, offers=written) if written else None
        _progress(
            sync,
            status=SyncStatus.SUCCEEDED,
            phase="",
            created=len(new),
            updated=len(changed),
            archived=len(gone),
            unchanged=len(unchanged),
            skipped=len(skips),
            skipped_records=listed,
            catalogue_version=version,
            finished_at=timezone.now(),
            upload=None,
        )


# Sources themselves -------------------------------------------------------------------------------------------------

SOURCE_FIELDS = ("code", "name", "organisation", "format", "url", "theme_mapping", "failure_share_max")
SOURCE_WRITE_FIELDS = (*SOURCE_FIELDS, "fetch_timeout_seconds")
# What analysts may change on a source they do not edit: its theme mapping, which is a matter of strategy.
SOURCE_ANALYST_FIELDS = ("theme_mapping",)


def source_can_edit(*, user, source: Source | None = None, organisation_id: int | None = None) -> bool:
    return offer_can_edit(user=user, organisation_id=source.organisation_id if source else organisation_id)


def source_save(*, user, data: dict, source: Source | None = None) -> Source:
    """Create or change a source: admins any, editors those of their organisations; analysts may change the theme
    mapping of any source. The code and the organisation are fixed once created (the offers carry them)."""
    refs = CodeLookups()
    errors: list[ErrorItem] = []
    values = {name: data[name] for name in SOURCE_WRITE_FIELDS if name in data}
    if "organisation" in values:
        try:
            values["organisation"] = refs.organisation(values["organisation"])
        except CellError as exc:
            errors.append(ErrorItem(field="organisation", code="not_found", message=str(exc)))
            values.pop("organisation")
    if source is None:
        organisation = values.get("organisation")
        if organisation is not None and not source_can_edit(user=user, organisation_id=organisation.pk):
            raise PermissionDenied(gettext("You can only create sources for an organisation you are an editor of."))
    else:
        analyst_change = is_analyst(user) and set(values) <= set(SOURCE_ANALYST_FIELDS)
        if not source_can_edit(user=user, source=source) and not analyst_change:
            raise PermissionDenied(
                gettext(
                    "Only editors of the source's organisation and administrators can change it; analysts may "
                    "change its theme_mapping."
                )
            )
        for name in ("code", "organisation"):
            current = getattr(source, name)
            if name in values and values[name] != current:
                errors.append(
                    ErrorItem(
                        field=name,
                        code="read_only",
                        message=gettext("The %(field)s of a source cannot change: create another source.")
                        % {"field": name},
                    )
                )
                values.pop(name)
    if "format" in values and values["format"] not in source_formats():
        errors.append(
            ErrorItem(
                field="format",
                code="invalid_choice",
                message=gettext("Unknown format %(format)s: use one of %(formats)s.")
                % {"format": repr(values["format"]), "formats": ", ".join(sorted(source_formats()))},
            )
        )
    if "theme_mapping" in values:
        errors.extend(theme_mapping_errors(values["theme_mapping"], refs=refs))
    source = source or Source()
    model_update(instance=source, data=values, save=False)
    try:
        source.full_clean(exclude=["organisation"] if source.organisation_id else None)
    except DjangoValidationError as exc:
        for name, messages in validation_messages(exc).items():
            if name == "organisation" and any(e.field == "organisation" for e in errors):
                continue
            errors.extend(ErrorItem(field=None if name == "__all__" else name, message=m) for m in messages)
    if errors:
        raise InvalidInput(errors)
    source.save()
    return source


def theme_mapping_errors(mapping, *, refs: CodeLookups) -> list[ErrorItem]:
    """What is wrong with a source's theme mapping ({source category: [theme codes]}), one item per category; the
    API's source writes and the admin form both validate with it."""
    if not isinstance(mapping, dict):
        return [
            ErrorItem(
                field="theme_mapping",
                message=gettext("The theme mapping is an object {source category: [theme codes]}."),
            )
        ]
    errors = []
    for category, codes in mapping.items():
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            errors.append(
                ErrorItem(
                    field=f"theme_mapping.{category}",
                    message=gettext("A list of theme codes ([] leaves the category out)."),
                )
            )
            continue
        errors.extend(
            ErrorItem(
                field=f"theme_mapping.{category}",
                code="not_found",
                message=gettext("Unknown theme %(code)s (see /api/v1/taxonomy/).") % {"code": repr(code)},
            )
            for code in codes
            if code not in refs.themes
        )
    return errors


def source_delete(*, user, source: Source) -> None:
    """Delete a source none of whose offers remain (409 otherwise: its offers keep their provenance)."""
    if not source_can_edit(user=user, source=source):
        raise PermissionDenied(gettext("Only editors of the source's organisation and administrators can delete it."))
    count = Offer.objects.filter(origin=source).count()
    if count:
        raise Conflict(
            gettext("The source %(code)s still has %(count)s offers (archived ones included): delete them first.")
            % {"code": source.code, "count": count},
            code="source_in_use",
        )
    source.delete()

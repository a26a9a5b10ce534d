"""Sync a source now, in this process, with the service the worker runs: a file, or the source's URL."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from api.exceptions import Conflict
from offers.models import Source, SyncStatus, SyncTrigger
from offers.services import source_sync


class Command(BaseCommand):
    help = (
        "Sync the source with this code: read the file (--file) or fetch the source's URL (--url) with its format, "
        "then create, update and archive its offers in one transaction (or fail whole), and print the report."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="Code of the source (see /api/v1/sources/).")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--file", type=Path, help="The source's file, in its format.")
        where.add_argument("--url", action="store_true", help="Fetch the source's configured URL.")

    def handle(self, *args, code, file, url, **options):
        source = Source.objects.select_related("organisation").filter(code=code).first()
        if source is None:
            known = ", ".join(Source.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No source has the code {code!r} (sources: {known}).")
        if url and not source.url:
            raise CommandError(f"The source {code!r} has no URL: give --file.")
        content = None
        if file is not None:
            try:
                content = file.read_bytes()
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        try:
            sync = source_sync(source=source, content=content, trigger=SyncTrigger.COMMAND)
        except Conflict as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(sync_report(sync))
        if sync.status == SyncStatus.FAILED:
            raise CommandError(f"Sync {sync.pk} of {code} failed ({sync.failure_code}): {sync.failure_message}")


def sync_report(sync) -> str:
    """The sync's counts and skipped records as a few lines of text."""
    lines = [
        f"Sync {sync.pk} of {sync.source.code}: {sync.status}; {sync.records_total or 0} records read",
        f"  created {sync.created}, updated {sync.updated}, archived {sync.archived}, "
        f"unchanged {sync.unchanged}, skipped {sync.skipped}",
    ]
    if sync.catalogue_version is not None:
        lines.append(f"  catalogue version {sync.catalogue_version}")
    for item in sync.skipped_records:
        lines.append(
            f"  skipped record {item['position']} ({item['external_id'] or 'no identifier'}): "
            f"{item['code']}: {item['message']}"
        )
    if sync.skipped > len(sync.skipped_records):
        lines.append(f"  ... and {sync.skipped - len(sync.skipped_records)} more skipped records")
    return "\n".join(lines)

"""Import offers from a CSV/JSON file or a data·inclusion services file, with the rules of the API import."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from api.exceptions import InvalidInput, PayloadTooLarge
from offers.management.commands.load_territories import raise_command_error
from offers.models import Organisation
from offers.services import IMPORT_FORMATS, OFFER_IMPORT_COLUMNS, offers_import


class ProgressBar:
    """A one-line text progress bar on a terminal stream (no dependency)."""

    def __init__(self, stream, label: str, width: int = 30):
        self.stream, self.label, self.width = stream, label, width
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent == self.last:
            return
        self.last = percent
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}%")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import offers from a file, all or nothing, upserting by (organisation, source, identifiant). Columns: "
        + ", ".join(column.name for column in OFFER_IMPORT_COLUMNS)
        + " (French headers accepted)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV or JSON file.")
        parser.add_argument("--source", default="import", help="Source name of the offers (default: import).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report, write nothing.")
        parser.add_argument("--organisation", help="Slug of the organisation for rows that do not name one.")
        parser.add_argument("--format", choices=IMPORT_FORMATS, default="tabular", help="File schema.")

    def handle(self, *args, path, source, dry_run, organisation, format, **options):
        file = Path(path)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        default = None
        if organisation:
            default = Organisation.objects.filter(slug=organisation).first()
            if default is None:
                raise CommandError(f"No organisation has the slug {organisation!r}.")
        stderr = getattr(self.stderr, "_out", sys.stderr)
        try:
            report = offers_import(
                content=content,
                filename=file.name,
                source=source,
                dry_run=dry_run,
                organisation=default,
                format=format,
                progress=ProgressBar(stderr, "validating and writing" if not dry_run else "validating"),
            )
        except PayloadTooLarge as exc:
            raise CommandError(str(exc.detail)) from exc
        except InvalidInput as exc:
            raise_command_error(exc)
        self.stdout.write(self.style.SUCCESS(str(report)))

"""Load the domains, themes and reference audiences."""

from django.core.management.base import BaseCommand

from api.exceptions import InvalidInput
from offers.management.commands.load_territories import raise_command_error
from offers.services import DEFAULT_TAXONOMY, taxonomy_load


class Command(BaseCommand):
    help = "Load the taxonomy (domains, themes, reference audiences) from a JSON file. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_TAXONOMY))

    def handle(self, *args, path, **options):
        try:
            report = taxonomy_load(source=path)
        except InvalidInput as exc:
            raise_command_error(exc)
        self.stdout.write(self.style.SUCCESS(f"Taxonomy: {report}"))

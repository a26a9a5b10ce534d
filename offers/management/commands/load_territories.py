"""Load communes and their hierarchy from a GeoJSON FeatureCollection (default: the Creuse)."""

from django.core.management.base import BaseCommand, CommandError

from api.exceptions import InvalidInput
from offers.services import DEFAULT_EPCI_NAMES, DEFAULT_GEOJSON, territories_load_geojson


def raise_command_error(exc: InvalidInput) -> None:
    lines = [str(exc.detail)] + [
        "  - " + " ".join(part for part in (f"line {e.line}" if e.line else "", e.field or "", e.message) if part)
        for e in exc.errors
    ]
    raise CommandError("\n".join(lines)) from exc


class Command(BaseCommand):
    help = (
        "Load communes (properties code, nom, departement, region, epci; Polygon geometry) and their EPCI, "
        "département and region. Idempotent; validated whole before anything is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_GEOJSON), help="GeoJSON FeatureCollection file.")
        parser.add_argument(
            "--epci-names", default=str(DEFAULT_EPCI_NAMES), help="JSON object mapping EPCI SIREN codes to names."
        )

    def handle(self, *args, path, epci_names, **options):
        try:
            report = territories_load_geojson(source=path, epci_names=epci_names)
        except InvalidInput as exc:
            raise_command_error(exc)
        self.stdout.write(self.style.SUCCESS(f"Territories: {report}"))

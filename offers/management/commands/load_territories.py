"""Load territories: any selection of the French geography files (régions, départements, EPCIs, or all of France),
by default the one the deployment chose (DJANGO_TERRITORIES); or communes from a GeoJSON FeatureCollection."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from api.exceptions import InvalidInput
from offers.geography import FRANCE_DIR
from offers.services import DEFAULT_EPCI_NAMES, territories_load_france, territories_load_geojson


def raise_command_error(exc: InvalidInput) -> None:
    lines = [str(exc.detail)] + [
        "  - " + " ".join(part for part in (f"line {e.line}" if e.line else "", e.field or "", e.message) if part)
        for e in exc.errors
    ]
    raise CommandError("\n".join(lines)) from exc


def _codes(values: list[str] | None) -> list[str]:
    """`--departement 62,59 --departement 80` -> ['62', '59', '80']."""
    return [code.strip() for value in values or [] for code in value.split(",") if code.strip()]


def selection_from_setting(items: list[str]) -> dict:
    """DJANGO_TERRITORIES items ('region:32', 'epci:200068120', 'all') as territories_load_france arguments."""
    selection: dict = {"regions": [], "departements": [], "epcis": [], "everything": False}
    for item in items:
        kind, _, code = item.partition(":")
        if item == "all":
            selection["everything"] = True
        else:
            selection[{"region": "regions", "departement": "departements", "epci": "epcis"}[kind]].append(code)
    return selection


class Command(BaseCommand):
    help = (
        "Load French territories with their population and postal codes: --region 32, --departement 62,59, "
        "--epci 200069037, --all; without any, the deployment's DJANGO_TERRITORIES (default: departement:23). "
        "Idempotent (upsert by code; a commune gone from the files is kept and marked retired, with its successor "
        "from --merges). Validated whole before anything is written. With a PATH, loads a GeoJSON FeatureCollection "
        "of communes (properties code, nom, departement, region, epci; Polygon geometry) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="GeoJSON FeatureCollection of communes (the older mode).")
        parser.add_argument(
            "--epci-names", default=str(DEFAULT_EPCI_NAMES), help="GeoJSON mode: JSON object of EPCI names by SIREN."
        )
        parser.add_argument("--region", action="append", help="Région INSEE code(s), comma-separated: 32, 53.")
        parser.add_argument(
            "--departement", action="append", help="Département code(s), comma-separated: 62,59 (2A/2B, 971...)."
        )
        parser.add_argument("--epci", action="append", help="EPCI SIREN code(s), comma-separated: 200069037.")
        parser.add_argument("--all", action="store_true", dest="everything", help="The whole of France.")
        parser.add_argument("--merges", help="CSV of merged communes (old_code,new_code): their successors.")
        parser.add_argument(
            "--source", default=str(FRANCE_DIR), help="Directory of the geography files (default: the shipped ones)."
        )

    def handle(self, *args, path, epci_names, region, departement, epci, everything, merges, source, **options):
        selection = {
            "regions": _codes(region),
            "departements": _codes(departement),
            "epcis": _codes(epci),
            "everything": everything,
        }
        chosen = everything or any(option is not None for option in (region, departement, epci))
        if path and (chosen or merges):
            raise CommandError("Give either a GeoJSON PATH or a selection (--region, --departement, --epci, --all).")
        try:
            if path:
                report = territories_load_geojson(source=path, epci_names=epci_names)
            else:
                if not chosen:
                    selection = selection_from_setting(settings.ANCRAGE_TERRITORIES)
                    self.stdout.write(f"Territories of DJANGO_TERRITORIES: {', '.join(settings.ANCRAGE_TERRITORIES)}")
                report = territories_load_france(
                    **selection, source=source, merges=merges, progress=self._progress(options["verbosity"])
                )
        except InvalidInput as exc:
            raise_command_error(exc)
        self.stdout.write(self.style.SUCCESS(f"Territories: {report}"))
        for line in report.summary_lines():
            self.stdout.write(f"  {line}")

    def _progress(self, verbosity: int):
        if verbosity < 1:
            return None
        return lambda message: self.stderr.write(f"  … {message}")

"""Load the reference data and the demo data set; idempotent, so `make run` can call it every time."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from api.exceptions import InvalidInput
from api.services import DEMO_PASSWORD, demo_users_ensure
from audiences.services import audiences_demo_load
from matching.services.embeddings import offer_embeddings_enqueue
from offers.management.commands.load_territories import raise_command_error
from offers.services import offers_demo_load, sources_demo_load


class Command(BaseCommand):
    help = "Load territories, taxonomy, demo accounts and the demo catalogue, needs and survey. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even with DJANGO_DEBUG off. The demo accounts have public passwords and tokens.",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to load demo accounts with public passwords while DJANGO_DEBUG is off; "
                "pass --allow-production if this really is a demo server."
            )
        call_command("load_territories", stdout=self.stdout)
        call_command("load_taxonomy", stdout=self.stdout)
        accounts = demo_users_ensure()
        try:
            offers_report = offers_demo_load(editor_username="editeur")
            needs_report = audiences_demo_load()
        except InvalidInput as exc:
            raise_command_error(exc)
        self.stdout.write(self.style.SUCCESS(f"Demo offers: {offers_report}"))
        self.stdout.write(self.style.SUCCESS(f"Demo survey and needs: {needs_report}"))
        for sync in sources_demo_load():
            self.stdout.write(
                f"Demo source {sync.source.code}: {sync.status}, {sync.created} created, {sync.updated} updated, "
                f"{sync.unchanged} unchanged, {sync.skipped} skipped"
            )
        if settings.MATCHING_SEMANTIC:
            # The worker `make run` starts encodes the offers' semantic vectors in the background (those already
            # encoded with the same text are skipped), so the API is up at once and search turns semantic soon after.
            offer_embeddings_enqueue()
            self.stdout.write("Semantic vectors of the offers: queued for the worker")
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password {DEMO_PASSWORD!r}):"))
        for account in accounts:
            self.stdout.write(f"  {account.username:<10} {account.role:<8} Authorization: Token {account.token}")

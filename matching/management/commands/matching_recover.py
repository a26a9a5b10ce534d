"""Re-queue the chunks of active matching runs whose worker died, and restart their watchdogs."""

import json

from django.core.management.base import BaseCommand

from matching.services import runs_recover


class Command(BaseCommand):
    help = (
        "Recover active matching runs: re-queue chunks whose lease expired (dead worker) or whose task was lost, "
        "fail runs whose chunks used all their attempts, and restart each run's watchdog. Safe to run any time."
    )

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(runs_recover()))

"""A matching run on a busy catalogue (issue 11), through the public surface: the API served by gunicorn, real
`db_worker` processes; during the run an import of offers (a real CSV file through POST /api/v1/offers/import/) and
single edits (PATCH /api/v1/offers/<id>/), against the same run with no edits as baseline. Prints a Markdown table.

Needs a throwaway database (migrated and filled with bench data; refused when it holds anything else):

    DATABASE_URL=sqlite:////tmp/ancrage_bench.sqlite3 .venv/bin/python bench/bench_run_during_edits.py \\
        --offers 2000 --needs 300 --repeat 1
    createdb -h 127.0.0.1 -U postgres ancrage_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_run_during_edits.py \\
        --offers 100000 --needs 10000 --repeat 3

Each repetition starts fresh workers, warms them with a small run (each loads its offer index), times the baseline
run, then the run with edits: once the run has started, the import, then the edits spread over 80% of the baseline
time. Run time is from its first claim to its last write (the API's started_at / finished_at). The imported offers
are deleted after each repetition, so every run reads a catalogue of the same size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402

from bench.service import (  # noqa: E402
    Api,
    bench_token,
    database_prepare,
    load_average,
    run_seconds,
    stop_processes,
    warm_scope,
    workers_start,
)
from matching.bench import BENCH_SOURCE  # noqa: E402
from offers.models import Offer  # noqa: E402
from offers.services import catalogue_changed  # noqa: E402

IMPORT_HEADER = "identifiant;titre;description;domaine;thèmes;commune;statut;gratuit"
IMPORT_PREFIX = "bench-busy-"


def _import_file(rows: int, repetition: int) -> bytes:
    """A CSV of new offers (published, each of one theme of its domain, in Guéret) the import API accepts."""
    lines = [IMPORT_HEADER]
    lines.extend(
        f"{IMPORT_PREFIX}{repetition}-{number};Crèche parentale {number} du quartier {repetition};Garde d'enfants en "
        f"crèche parentale pour les parents qui travaillent, place {number}, accueil du lundi au vendredi.;"
        "daily-life;childcare;23096;publiée;oui"
        for number in range(rows)
    )
    return ("\n".join(lines) + "\n").encode()


def _editable_offers(count: int) -> list[tuple[int, str]]:
    """Published bench offers an edit through the API may save (a third of the generated ones carry a second theme
    of another domain, which the API refuses on any write), spread over the catalogue."""
    candidates = list(
        Offer.objects.filter(source=BENCH_SOURCE, status="published")
        .exclude(external_id__startswith=IMPORT_PREFIX)
        .annotate(theme_count=Count("themes"))
        .filter(theme_count=1)
        .order_by("id")
        .values_list("id", "title")
    )
    step = max(1, len(candidates) // max(1, count))
    return candidates[::step][:count]


def _imported_delete() -> None:
    with transaction.atomic():
        imported = Offer.objects.filter(external_id__startswith=IMPORT_PREFIX)
        removed = list(imported.values_list("id", flat=True))
        if removed:
            imported.delete()
            catalogue_changed(removed=removed)


class Editor(threading.Thread):
    """The import, then the edits spread over `spread` seconds, each through the API; records when each ended."""

    def __init__(self, api: Api, *, content: bytes, offers: list[tuple[int, str]], spread: float, repetition: int):
        super().__init__(daemon=True)
        self.api, self.content, self.offers, self.spread, self.repetition = api, content, offers, spread, repetition
        self.import_done: float | None = None
        self.import_seconds = float("nan")
        self.edit_times: list[float] = []
        self.edit_latencies: list[float] = []
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            started = time.monotonic()
            report = self.api.call(
                "POST",
                "/offers/import/",
                files={"file": ("offres.csv", self.content, "text/csv")},
                data={"source": BENCH_SOURCE, "organisation": "bench-0"},
            )
            if report["created"] == 0:
                raise RuntimeError(f"the import created nothing: {report}")
            self.import_done = time.time()
            self.import_seconds = time.monotonic() - started
            interval = self.spread / max(1, len(self.offers))
            for number, (offer_id, title) in enumerate(self.offers):
                started = time.monotonic()
                new_title = f"{title[:170]} (modifiée {self.repetition}-{number})"
                self.api.call("PATCH", f"/offers/{offer_id}/", json={"title": new_title})
                self.edit_times.append(time.time())
                self.edit_latencies.append(time.monotonic() - started)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        except Exception as exc:  # reported by the main thread
            self.error = exc


def _run_started(api: Api, run_id: str) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if api.call("GET", f"/matching/runs/{run_id}/")["status"] != "queued":
            return
        time.sleep(0.1)
    raise TimeoutError("the run never started")


def _states_label(run: dict) -> str:
    states = run["catalogue_states"]
    if states["first"] is not None:
        return f"{states['at_start']} → {states['first']}…{states['last']} ({len(states['used'])} indexes)"
    return f"{states['at_start']} → {len(states['used'])} index versions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--api-workers", type=int, default=3, help="gunicorn workers serving the API")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--import-rows", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=100)
    args = parser.parse_args()

    database_prepare(offers=args.offers, needs=args.needs)
    _imported_delete()  # left by an interrupted earlier run
    api = Api(workers=args.api_workers, token=bench_token())
    edited = _editable_offers(args.edits)
    baseline, busy, rows = [], [], []
    try:
        for repetition in range(args.repeat):
            workers = workers_start(args.workers)
            try:
                warm = api.run_wait(api.run_launch(**warm_scope(), chunk_size=5))
                assert warm["status"] == "succeeded", warm["error"]
                alone = api.run_wait(api.run_launch(chunk_size=args.chunk_size))
                if alone["status"] != "succeeded":
                    raise RuntimeError(f"baseline run failed: {alone['error']}")
                baseline.append(run_seconds(alone))
                run_id = api.run_launch(chunk_size=args.chunk_size)
                _run_started(api, run_id)
                editor = Editor(
                    api,
                    content=_import_file(args.import_rows, repetition),
                    offers=edited,
                    spread=0.8 * statistics.median(baseline),
                    repetition=repetition,
                )
                editor.start()
                run = api.run_wait(run_id)
                editor.join()
                if editor.error is not None:
                    raise editor.error
            finally:
                stop_processes(workers)
            _imported_delete()
            finished = parse_datetime(run["finished_at"]).timestamp()
            during = sum(1 for moment in editor.edit_times if moment <= finished)
            import_during = editor.import_done is not None and editor.import_done <= finished
            if run["status"] == "succeeded":
                busy.append(run_seconds(run))
            rows.append(
                f"| {repetition + 1} | {run_seconds(alone):.2f} | "
                f"{run_seconds(run) if run['status'] == 'succeeded' else float('nan'):.2f} | {run['status']} | "
                f"{'yes' if import_during else 'no'} ({editor.import_seconds:.1f} s) | "
                f"{during}/{len(editor.edit_times)} "
                f"(p50 {1000 * statistics.median(editor.edit_latencies or [float('nan')]):.0f} ms) | "
                f"{_states_label(run)} | "
                f"{load_average()} |"
            )
    finally:
        api.stop()

    print(
        f"\nRun during edits: {args.offers:,} offers, {args.needs:,} needs, chunks of {args.chunk_size}, "
        f"{args.workers} db_workers, API on gunicorn ({args.api_workers} workers), "
        f"import of {args.import_rows:,} offers + {len(edited)} single edits, {os.cpu_count()} CPUs\n"
    )
    print(
        "| repetition | run alone (s) | run during edits (s) | status | import during run (its time) "
        "| edits during run (p50 latency) "
        "| catalogue states (start → first…last) | load average 1/5/15 min |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    if baseline and busy:
        alone_median, busy_median = statistics.median(baseline), statistics.median(busy)
        print(
            f"| **median** | **{alone_median:.2f}** | **{busy_median:.2f}** | {len(busy)}/{len(rows)} succeeded | | "
            f"| ratio **{busy_median / alone_median:.2f}x** | {load_average()} |"
        )
    if len(busy) != len(rows):
        sys.exit("Some runs did not succeed during the edits.")
    if any("| no (" in row for row in rows):
        print(
            "\nThe import ended after a run had finished: the run was too short for the edits at this scale "
            "(MATCHING_TEST_CHUNK_DELAY_SECONDS=1 slows each chunk for a small-scale check)."
        )


if __name__ == "__main__":
    main()

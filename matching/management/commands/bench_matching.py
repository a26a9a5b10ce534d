"""Benchmark a full matching run on synthetic French data and print one JSON line of figures.

Runs only on a database that holds no offers or needs other than the benchmark's own (use a throwaway database:
`DATABASE_URL=sqlite:////tmp/bench.sqlite3 manage.py migrate && ... bench_matching`); it deletes previous bench data
first. Chunks are executed in this process through `matching.services.chunk_score`, the worker's code path.
"""

import gc
import json
import resource
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.models import DBTaskResult

from matching import bench, services
from matching.index import offer_index_clear, offer_index_get
from matching.models import ChunkStatus, MatchingChunk
from matching.scoring import MatchingParameters
from matching.selectors import need_arrays
from offers.models import Territory


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


class Command(BaseCommand):
    help = (
        "Generate N synthetic offers and M needs (seeded), run a full matching run in-process and print one JSON "
        "line: offers, needs, seconds, peak_rss_mb, kernel_seconds (bare sparse top-k on the same matrices, on "
        "MATCHING_RETRIEVAL_THREADS threads as the run). "
        "Refuses a database holding non-benchmark offers or needs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--offers", type=int, default=100_000)
        parser.add_argument("--needs", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--chunk-size", type=int, default=None, help="Needs per chunk (default: setting).")
        parser.add_argument("--generate-only", action="store_true", help="Create the data, do not run.")
        parser.add_argument("--reuse", action="store_true", help="Keep existing bench data of the same size.")

    def handle(self, *args, **options):
        alone, why = bench.bench_data_is_alone()
        if not alone:
            raise CommandError(f"Refusing to run: {why}. Use an empty throwaway database (see --help).")
        if not Territory.objects.filter(kind="commune").exists():
            from offers.services import taxonomy_load, territories_load_geojson

            territories_load_geojson()
            taxonomy_load()
        from audiences.models import Need
        from offers.models import Offer

        generate_seconds = 0.0
        same_size = Offer.objects.count() == options["offers"] and Need.objects.count() == options["needs"]
        if not (options["reuse"] and same_size):
            bench.bench_clear()
            started = time.perf_counter()
            bench.bench_generate(offers=options["offers"], needs=options["needs"], seed=options["seed"])
            generate_seconds = time.perf_counter() - started
        if options["generate_only"]:
            self.stdout.write(json.dumps({"offers": options["offers"], "needs": options["needs"]}))
            return
        gc.collect()
        offer_index_clear(stored=True)  # a full build, as the figure says
        started = time.perf_counter()
        index = offer_index_get()
        index_seconds = time.perf_counter() - started

        started = time.perf_counter()
        cpu_started = time.process_time()
        run = services.run_start(launched_by=None, chunk_size=options["chunk_size"])
        for chunk_id in MatchingChunk.objects.filter(run=run).order_by("index").values_list("id", flat=True):
            services.chunk_score(chunk_id=chunk_id)
        run_seconds = time.perf_counter() - started
        run_cpu_seconds = time.process_time() - cpu_started
        run.refresh_from_db()
        # The tasks this run enqueued were executed here; a worker must not find them later.
        DBTaskResult.objects.filter(status="READY", task_path__startswith="matching.tasks.").delete()
        failed = MatchingChunk.objects.filter(run=run).exclude(status=ChunkStatus.SUCCEEDED).count()

        # Kernel: the bare top-k of every need's query against the same offer matrix, in this process, on as many
        # threads as the run's retrieval (MATCHING_RETRIEVAL_THREADS).
        needs = need_arrays(need_ids=list(Need.objects.values_list("id", flat=True)), taxonomy=index.taxonomy)
        query = index.model.transform(needs.documents)
        params = MatchingParameters()
        threads = settings.MATCHING_RETRIEVAL_THREADS
        started = time.perf_counter()
        cpu_started = time.process_time()
        index.top_k(query, k=params.k_candidates, threshold=params.candidate_threshold, n_threads=threads)
        kernel_seconds = time.perf_counter() - started
        kernel_cpu_seconds = time.process_time() - cpu_started
        kernel_one_thread_seconds = kernel_seconds
        if threads != 1:  # what the ratio would be against one core's kernel
            started = time.perf_counter()
            index.top_k(query, k=params.k_candidates, threshold=params.candidate_threshold)
            kernel_one_thread_seconds = time.perf_counter() - started

        figures = {
            "offers": index.size,
            "needs": run.needs_total,
            "seconds": round(run_seconds, 3),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "kernel_seconds": round(kernel_seconds, 3),
            # CPU seconds of this process (all its threads): comparable between runs on a machine that is not idle.
            "run_cpu_seconds": round(run_cpu_seconds, 3),
            "kernel_cpu_seconds": round(kernel_cpu_seconds, 3),
            "retrieval_threads": threads,
            "kernel_one_thread_seconds": round(kernel_one_thread_seconds, 3),
            "ratio_to_kernel": round(run_seconds / kernel_seconds, 3) if kernel_seconds else None,
            "index_build_seconds": round(index_seconds, 3),
            "generate_seconds": round(generate_seconds, 3),
            "chunks": run.chunks_total,
            "status": run.status,
            "failed_chunks": failed,
            "matrix_nnz": int(index.nnz),
            "matrix_features": int(index.live.n_features),
            "timings": run.timings,
            "database": Offer.objects.db,
        }
        from django.db import connection

        figures["database"] = connection.vendor
        self.stdout.write(json.dumps(figures))

"""Memory of a whole deployment (issue 11: under 3 GB at 100,000 offers): the API served by gunicorn (3 workers, as
README's deployment does) and 2 `db_worker` processes on a database of N offers, warmed by searches through HTTP
and one run; then RSS and PSS of every process from /proc/<pid>/smaps_rollup. Prints a Markdown table.

PSS divides each shared page among the processes that map it, so the PSS total is the deployment's real footprint
when processes share memory-mapped index files; the RSS total counts such pages once per process. Both are printed.

Needs a throwaway database (migrated and filled with bench data; refused when it holds anything else):

    DATABASE_URL=sqlite:////tmp/ancrage_bench.sqlite3 .venv/bin/python bench/bench_deployment_memory.py \\
        --offers 2000 --needs 300 --repeat 1
    createdb -h 127.0.0.1 -U postgres ancrage_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_deployment_memory.py \\
        --offers 100000 --needs 10000 --repeat 3

Each repetition starts fresh processes; the table shows the last repetition per process and the median totals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from bench.service import (  # noqa: E402
    Api,
    bench_token,
    children,
    database_prepare,
    load_average,
    memory_mb,
    run_seconds,
    stop_processes,
    workers_start,
)

SEARCHES = (
    "crèche pour mon enfant",
    "médecin généraliste",
    "piscine et natation",
    "logement à louer",
    "reprendre un commerce",
    "cours de français",
    "transport à la demande",
    "club de sport pour adolescents",
)
GB = 1024.0


def _warm_searches(api: Api, *, per_worker: int, api_workers: int) -> None:
    """Searches from several threads at once, so that every gunicorn worker answers some (and loads its index)."""
    errors: list[Exception] = []

    def search(offset: int) -> None:
        try:
            for number in range(per_worker):
                text = SEARCHES[(offset + number) % len(SEARCHES)]
                api.call("POST", "/matching/search/", json={"text": text, "limit": 10})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(offset,)) for offset in range(api_workers * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _measure(args: argparse.Namespace, token: str) -> tuple[list[tuple[str, int, float, float, float]], float]:
    api = Api(workers=args.api_workers, token=token)
    workers = workers_start(args.workers)
    try:
        _warm_searches(api, per_worker=args.searches, api_workers=args.api_workers)
        run = api.run_wait(api.run_launch(chunk_size=args.chunk_size))
        if run["status"] != "succeeded":
            raise RuntimeError(f"the warm-up run failed: {run['error']}")
        _warm_searches(api, per_worker=2, api_workers=args.api_workers)  # after the run: every worker has searched
        processes = [("gunicorn master", api.process.pid)]
        processes += [(f"gunicorn worker {n}", pid) for n, pid in enumerate(children(api.process.pid), start=1)]
        processes += [(f"db_worker {n}", worker.pid) for n, worker in enumerate(workers, start=1)]
        return [(role, pid, *memory_mb(pid)) for role, pid in processes], run_seconds(run)
    finally:
        stop_processes(workers)
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=10_000, help="needs of the warm-up run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--api-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--searches", type=int, default=5, help="searches per client thread (2 threads per worker)")
    args = parser.parse_args()

    database_prepare(offers=args.offers, needs=args.needs)
    token = bench_token()
    totals_rss, totals_pss, totals_peak, runs = [], [], [], []
    for _ in range(args.repeat):
        processes, seconds = _measure(args, token)
        totals_rss.append(sum(rss for _role, _pid, rss, _pss, _peak in processes))
        totals_pss.append(sum(pss for _role, _pid, _rss, pss, _peak in processes))
        totals_peak.append(sum(peak for _role, _pid, _rss, _pss, peak in processes))
        runs.append(seconds)

    print(
        f"\nDeployment memory: {args.offers:,} offers, warm-up run of {args.needs:,} needs "
        f"(median {statistics.median(runs):.1f} s), gunicorn with {args.api_workers} workers + {args.workers} "
        f"db_workers, {os.cpu_count()} CPUs, {args.repeat} repetition(s)\n"
    )
    print("| process | pid | RSS (MB) | PSS (MB) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for role, pid, rss, pss, peak in processes:
        print(f"| {role} | {pid} | {rss:,.0f} | {pss:,.0f} | {peak:,.0f} |")
    rss, pss, peak = (statistics.median(values) for values in (totals_rss, totals_pss, totals_peak))
    print(
        f"| **total (median)** | | **{rss:,.0f}** ({rss / GB:.2f} GB) | **{pss:,.0f}** ({pss / GB:.2f} GB) "
        f"| {peak:,.0f} ({peak / GB:.2f} GB) |"
    )
    per_repetition = "; ".join(f"RSS {r:,.0f} / PSS {p:,.0f}" for r, p in zip(totals_rss, totals_pss, strict=True))
    print(
        f"\nTarget: whole deployment under 3 GB -> PSS {'met' if pss < 3 * GB else 'NOT met'} ({pss / GB:.2f} GB); "
        f"RSS sum {rss / GB:.2f} GB; sum of per-process peaks {peak / GB:.2f} GB. Totals per repetition (MB): "
        f"{per_repetition}. Load average 1/5/15 min: {load_average()}."
    )


if __name__ == "__main__":
    main()

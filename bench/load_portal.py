"""Load test of the portal queries against a real server on loopback, with locust; writes docs/benchmarks.md.

`make loadtest` runs it. It prepares the server the way `make run` does (SQLite, migrations, the Creuse demo
data), but in a file of its own (var/loadtest/) so a developer's `make run` database is left alone, and serves it
with gunicorn as in production (README, "Production"), DEBUG off: runserver is a single-process development server
and DEBUG keeps every SQL query in memory, neither says anything about production. The anonymous, public-read and
search throttles are raised for the run by environment variable (DJANGO_THROTTLE_ANON / DJANGO_THROTTLE_PUBLIC /
DJANGO_THROTTLE_SEARCH): a portal is anonymous, and the point is to measure the server, not to be told 429. The
background worker is not started: no portal query uses it (the newcomer search scores in the request).

Each scenario is one locust user class of bench/locustfile.py, run headless for a bounded time at a fixed number
of concurrent users, after an unrecorded warm-up (each gunicorn process fits its matching index on its first
search). Any failed request makes the script exit non-zero after writing the figures.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "var" / "loadtest"
DOC = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- loadtest -->", "<!-- /loadtest -->"  # the block of docs/benchmarks.md this script rewrites
SCENARIOS = [
    ("OffersNearSearchUser", "GET /api/v1/offers/ domain + near 30 km + q, page of 20"),
    ("OffersTerritoryThemeUser", "GET /api/v1/offers/ territory (EPCI) + theme, page of 20"),
    ("OffersListUser", "GET /api/v1/offers/ plain list, page of 20"),
    ("MatchingSearchUser", "POST /api/v1/matching/search/ newcomer search"),
]


def server_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{OUT / 'ancrage.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "api.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # a throwaway key for this run only
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_THROTTLE_ANON": "1000000/minute",
        "DJANGO_THROTTLE_PUBLIC": "1000000/minute",
        "DJANGO_THROTTLE_SEARCH": "1000000/minute",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str]) -> None:
    """`make run`'s preparation, with its settings (DEBUG on: load_demo refuses public demo passwords without)."""
    OUT.mkdir(parents=True, exist_ok=True)
    for command in (["migrate", "--noinput"], ["load_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env={**env, "DJANGO_DEBUG": "true"},
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(command)} failed:\n{done.stderr[-3000:]}")


def start_server(env: dict[str, str], *, port: int, workers: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (OUT / "gunicorn.log").open("w")
    return subprocess.Popen(
        [str(gunicorn), "api.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(server: subprocess.Popen, *, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {OUT / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer /api/v1/health/ within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown of its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_locust(locust: str, user_class: str, *, port: int, users: int, seconds: int, prefix: Path | None) -> int:
    command = [
        locust,
        "-f",
        str(REPO / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if prefix is not None:
        command += ["--csv", str(prefix)]
    with (OUT / "locust.log").open("a") as log:
        return subprocess.run([*command, user_class], cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode


def read_stats(prefix: Path) -> dict[str, float]:
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        row = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "p99": float(row["99%"]),
        "rps": float(row["Requests/s"]),
    }


def read_failures(prefix: Path) -> list[str]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [f"{row['Occurrences']} x {row['Name']}: {row['Error']}" for row in csv.DictReader(handle)]


def offers_count(env: dict[str, str]) -> int:
    code = "from offers.models import Offer; print(Offer.objects.filter(status='published').count())"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=env, check=True, capture_output=True
    )
    return int(result.stdout.split()[-1])


def render(results: list[tuple[str, dict]], *, args, published: int, load: tuple, failures: list[str]) -> str:
    today = datetime.date.today().isoformat()
    lines = [
        BEGIN,
        "`make loadtest` (`bench/load_portal.py`; locust 2.47.0 from `requirements-bench.txt`, in `.venv-bench`).",
        f"Server: gunicorn, {args.workers} workers, DEBUG off, SQLite with the `make run` demo data ({published} "
        "published offers) in `var/loadtest/`, on 127.0.0.1; anonymous requests, with the anon, public-read and "
        "search throttles raised for the run by `DJANGO_THROTTLE_ANON` / `DJANGO_THROTTLE_PUBLIC` / "
        "`DJANGO_THROTTLE_SEARCH` (defaults 120, 300 and 60 per minute would answer 429). "
        f"**{args.users} concurrent users**, each sending its next request as soon as the previous one is answered, "
        f"**{args.seconds} s per scenario** after a {args.warmup} s unrecorded warm-up, "
        f"next to a baseline of 1 user for {args.baseline_seconds} s (the latency of a request alone); "
        f"a request fails unless it is a 200 with the expected JSON. Measured {today}; locust ran on the same 2 "
        "cores as the server.",
        "",
        "| scenario | users | requests | failures | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, *runs in results:
        for users, stats in zip((1, args.users), runs, strict=True):
            lines.append(
                f"| {label if users == 1 else ''} | {users} | {stats['requests']:,} | {stats['failures']} "
                f"| {stats['p50']:.0f} | {stats['p95']:.0f} | {stats['p99']:.0f} | {stats['rps']:.1f} |"
            )
    total_failures = sum(stats["failures"] for _, *runs in results for stats in runs)
    lines += [
        "",
        f"Failures: {total_failures}"
        + (" (zero errors at this concurrency)." if not total_failures else ": " + "; ".join(failures) + "."),
        f"Load average (1 min) of the machine before / after: {load[0]:.1f} / {load[1]:.1f} "
        "(above 2 means other processes, such as other sessions' test suites, shared the cores).",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} block to replace")
    DOC.write_text(pattern.sub(lambda _: text, doc, count=1), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locust", default=shutil.which("locust") or "locust", help="the locust executable")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--users", type=int, default=20, help="concurrent users per scenario")
    parser.add_argument("--seconds", type=int, default=60, help="measured time per scenario")
    parser.add_argument("--warmup", type=int, default=5, help="unrecorded time per scenario before it")
    parser.add_argument("--baseline-seconds", type=int, default=15, help="time of the 1-user baseline")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args()

    env = server_env(args.port)
    prepare(env)
    published = offers_count(env)
    load_before = os.getloadavg()[0]
    server = start_server(env, port=args.port, workers=args.workers)
    results, failures = [], []
    try:
        wait_healthy(server, port=args.port)
        for user_class, label in SCENARIOS:
            run_locust(args.locust, user_class, port=args.port, users=args.users, seconds=args.warmup, prefix=None)
            measured = {}
            for users, seconds in ((1, args.baseline_seconds), (args.users, args.seconds)):
                prefix = OUT / f"{user_class}-{users}"
                run_locust(args.locust, user_class, port=args.port, users=users, seconds=seconds, prefix=prefix)
                measured[users] = read_stats(prefix)
                failures += read_failures(prefix)
            results.append((label, measured[1], measured[args.users]))
            print(f"{label}: 1 user {measured[1]}, {args.users} users {measured[args.users]}", flush=True)
    finally:
        stop_server(server)
    text = render(results, args=args, published=published, load=(load_before, os.getloadavg()[0]), failures=failures)
    if args.no_write:
        print(text)
    else:
        write_section(text)
        print(f"written to {DOC.relative_to(REPO)}")
    return 1 if any(stats["failures"] for _, *runs in results for stats in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

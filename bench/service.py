"""What the issue-11 deployment benchmarks share: a throwaway bench database, the API served by gunicorn and real
`db_worker` processes as deployed (README "Deployment"), a token-authenticated HTTP client, and per-process memory.

Import it after `django.setup()` has run (the scripts do it first).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[1]
BENCH_USERNAME = "bench-runner"


def database_prepare(*, offers: int, needs: int) -> None:
    """Migrate the database named by DATABASE_URL and fill it with bench data (kept when of the same size) and
    random semantic vectors (`random_vectors_fill`); exit when DATABASE_URL is unset (the default is `make run`'s
    own database) or holds anything but bench data."""

    from matching.bench import bench_data_is_alone

    if not os.environ.get("DATABASE_URL", "").strip():
        sys.exit(
            "Set DATABASE_URL to a throwaway database: sqlite:////tmp/ancrage_bench.sqlite3 or "
            "postgres://postgres@127.0.0.1:5432/ancrage_bench (created with createdb)."
        )
    call_command("migrate", verbosity=0)
    alone, why = bench_data_is_alone()
    if not alone:
        sys.exit(f"Refusing to run: {why}. Use an empty throwaway database.")
    call_command("bench_matching", offers=offers, needs=needs, generate_only=True, reuse=True, stdout=_Silent())
    random_vectors_fill()


def random_vectors_fill(*, seed: int = 0) -> int:
    """Give every offer without a semantic vector a random unit vector under the current model key; returns how many.

    A production catalogue has its vectors already (each encoded once by a worker when the offer was written); a
    bench catalogue has none, and its first index would queue the encoding of every offer (about 55 minutes of a
    worker at 100,000 offers) on top of what is measured. Random vectors cost the dense step what real ones do, so
    they serve latency and memory figures, never relevance."""
    import numpy as np
    from django.db import transaction

    from matching import semantic
    from matching.models import OfferEmbedding, OfferEmbeddingVersion
    from offers.models import Offer

    rng = np.random.default_rng(seed)
    key = semantic.model_key()
    missing = list(Offer.objects.exclude(embedding__model_key=key).order_by("id").values_list("id", flat=True))
    if not missing:
        return 0
    with transaction.atomic():
        version, _created = OfferEmbeddingVersion.objects.get_or_create(pk=1)
        version.version += 1
        version.save(update_fields=["version"])
        OfferEmbedding.objects.filter(offer_id__in=missing).delete()
        for start in range(0, len(missing), 5000):
            batch = missing[start : start + 5000]
            vectors = rng.normal(size=(len(batch), semantic.DIMENSION)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            OfferEmbedding.objects.bulk_create(
                OfferEmbedding(offer_id=offer_id, model_key=key, text_hash="random-bench-vector",
                               vector=semantic.vector_bytes(vector), seq=version.version)
                for offer_id, vector in zip(batch, vectors, strict=True)
            )  # fmt: skip
    return len(missing)


class _Silent:
    def write(self, *_args: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def bench_token() -> str:
    """The API token of the bench's administrator (created once; users are not bench data the check refuses)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _created = get_user_model().objects.get_or_create(
        username=BENCH_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    return Token.objects.get_or_create(user=user)[0].key


def process_env() -> dict[str, str]:
    """The environment of the API and worker processes: this database, quiet logs, throttles out of the way."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "api.settings_test"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_THROTTLE_USER": "1000000/minute",
        "DJANGO_THROTTLE_SEARCH": "1000000/minute",
        "DJANGO_THROTTLE_UPLOADS": "1000000/hour",
        "DJANGO_THROTTLE_ANON": "1000000/minute",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """gunicorn serving the API (`gunicorn api.wsgi --workers N`, as README's deployment does) on a free port."""

    def __init__(self, *, workers: int, token: str):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "api.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "600",
            ],
            cwd=REPO,
            env=process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:  # the master accepts connections before its workers have imported Django
                if self.session.get(f"{self.base}/health/", timeout=30).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 180 s")

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> dict:
        response = self.session.request(method, f"{self.base}{path}", timeout=600, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def run_launch(self, **body: Any) -> str:
        return self.call("POST", "/matching/runs/", json=body, expect=202)["id"]

    def run_wait(self, run_id: str, *, timeout: float = 7200) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.call("GET", f"/matching/runs/{run_id}/")
            if run["status"] in ("succeeded", "failed"):
                return run
            time.sleep(0.5)
        raise TimeoutError(f"run {run_id} did not finish within {timeout} s")

    def stop(self) -> None:
        stop_processes([self.process])


def workers_start(count: int) -> list[subprocess.Popen]:
    """`manage.py db_worker` processes, as `make run` starts its worker."""
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--queue-name",
        "*",
        "--interval",
        "0.2",
        "--no-reload",
        "--no-startup-delay",
    ]
    return [
        subprocess.Popen(command, cwd=REPO, env=process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_seconds(run: dict) -> float:
    """From the run's first claim to its last write, as the API reports them."""
    from django.utils.dateparse import parse_datetime

    return (parse_datetime(run["finished_at"]) - parse_datetime(run["started_at"])).total_seconds()


def warm_scope() -> dict[str, Any]:
    """A small run scope (one commune's needs of one audience, plus the needs without a territory of it) whose
    chunks make each worker load its offer index before the measured runs."""
    from audiences.models import Need

    row = (
        Need.objects.filter(territory__kind="commune")
        .values("territory__code", "audience__code")
        .order_by("territory__code", "audience__code")
        .first()
    )
    return {"scope_territory": row["territory__code"], "scope_audiences": [row["audience__code"]]}


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def memory_mb(pid: int) -> tuple[float, float, float]:
    """(RSS, PSS, peak RSS) of a process in MB: RSS and PSS from /proc/<pid>/smaps_rollup (PSS divides each shared
    page among the processes mapping it, so PSS sums to the real footprint where RSS counts shared pages once per
    process), the peak (VmHWM) from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0]) / 1024.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key == "VmHWM":
            values[key] = int(rest.split()[0]) / 1024.0
    return values["Rss"], values["Pss"], values["VmHWM"]


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())

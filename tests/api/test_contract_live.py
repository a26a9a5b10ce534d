"""The OpenAPI contract against a live server started as `make run` starts it, over real HTTP.

`make run` in subprocesses: `migrate`, `load_demo`, then `db_worker` and `runserver` on a free port, with
DJANGO_DEBUG=true and the default settings module, on a SQLite file of its own (DATABASE_URL=sqlite:////tmp/...).
Schemathesis reads the schema the server serves (`/api/schema/`) and sends the schema's examples and a few generated
requests to every operation, as each demo account (the tokens the README gives), with the same checks as the
in-process run, including that every 4xx is a JSON Error body. What it catches that the in-process run cannot:
the real WSGI server, headers and bodies as they cross the socket, the settings a user runs with, the demo data.

Bounded for `make test` (LIVE_CONTRACT_MAX_EXAMPLES per strategy and operation, a fixed seed): about a minute and a
half on two cores, longer with `make fuzz`. It runs once per
CI, in the SQLite pass: its server uses its own SQLite file whatever DATABASE_URL the suite runs with, so the
PostgreSQL pass would replay the very same run.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.api import contract  # noqa: F401  (registers the check that every 4xx is a JSON Error body)

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("LIVE_CONTRACT_MAX_EXAMPLES", "2"))
# As in test_contract.py: a fixed seed in `make test`, new draws in `make fuzz` (CONTRACT_SEED empty).
SEED = os.environ.get("CONTRACT_SEED", "20261201").strip()
# The demo accounts' tokens, as the README gives them.
DEMO_TOKENS = {
    "anonymous": None,
    "editor": "demo-editor-token-0000000000000000000000",
    "analyst": "demo-analyst-token-000000000000000000000",
    "admin": "demo-admin-token-0000000000000000000000",
}
STARTUP_SECONDS = 120

pytestmark = [pytest.mark.slow, pytest.mark.live]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _user_env(database: Path) -> dict:
    """The environment of a user typing `make run`: theirs without the test suite's Django settings, plus what the
    Makefile sets. The throttles are raised: the run sends hundreds of requests a minute from one address."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    return env | {
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_DEBUG": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
        **{f"DJANGO_THROTTLE_{scope}": "100000/minute" for scope in ("ANON", "USER", "SEARCH", "UPLOADS", "PUBLIC")},
    }


def _manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"runserver exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"runserver did not answer {url} within {STARTUP_SECONDS} s:\n{log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl+C, as `make run` is stopped
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory):
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip(
            "the live server uses a SQLite file of its own whatever DATABASE_URL says, so it ran in the SQLite pass; "
            "run this file without DATABASE_URL"
        )
    workdir = tmp_path_factory.mktemp("live-contract")
    env = _user_env(workdir / "ancrage.sqlite3")
    for step in (("migrate", "--noinput"), ("load_demo",)):
        result = subprocess.run(_manage(*step), cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"manage.py {' '.join(step)} failed:\n{result.stdout}\n{result.stderr}"
    port = _free_port()
    worker_log, server_log = workdir / "db_worker.log", workdir / "runserver.log"
    with worker_log.open("w") as worker_out, server_log.open("w") as server_out:
        worker = subprocess.Popen(
            _manage("db_worker", "--queue-name", "*", "--interval", "0.5", "--no-reload", "--no-startup-delay"),
            cwd=ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        server = subprocess.Popen(
            _manage("runserver", f"127.0.0.1:{port}", "--noreload"),
            cwd=ROOT,
            env=env,
            stdout=server_out,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_serving(f"{base_url}/api/v1/", server, server_log)
            yield base_url
        finally:
            _stop(server)
            _stop(worker)
    assert worker.returncode is not None and server.returncode is not None


@pytest.fixture(scope="module")
def live_schema(live_server_url):
    config = schemathesis.Config.from_dict(
        {
            "base-url": live_server_url,
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "phases": {
                "examples": {"enabled": True},
                "fuzzing": {"enabled": True},
                "coverage": {"enabled": False},
                "stateful": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_url(f"{live_server_url}/api/schema/?format=json", config=config)


def _operation_failure(operation, headers: dict) -> str | None:
    """The first failed check of one operation, or None: its schema examples, then a few generated valid and
    invalid requests (no shrinking: the failing request is reported as sent)."""
    strategies = [
        *operation.get_strategies_from_examples(),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    for strategy in strategies:

        @seed(int(SEED) if SEED else None)
        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            response = case.call(headers=headers, timeout=30)
            case.validate_response(response, headers=headers)

        try:
            exercise()
        except Unsatisfiable:
            continue  # no invalid request can be drawn for this operation
        except (Exception, FailureGroup) as exc:  # noqa: BLE001  every operation's failure is collected, then reported
            return f"{type(exc).__name__}: {exc}"[:1500]
    return None


@pytest.mark.parametrize("role", list(DEMO_TOKENS))
def test_live_contract(live_schema, role):
    token = DEMO_TOKENS[role]
    headers = {"Authorization": f"Token {token}"} if token else {}
    failures = {}
    for result in live_schema.get_all_operations():
        operation = result.ok()
        failure = _operation_failure(operation, headers)
        if failure:
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}\n{failure}" for label, failure in failures.items())

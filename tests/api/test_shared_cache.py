"""With DJANGO_CACHE_URL, throttle counters live in Redis: every process serving the API counts against one budget."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from tests.api.conftest import assert_throttled, throttle_rates
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
# The Redis of the developers' machines and CI; database 15 is this test's own.
REDIS_URL = os.environ.get("ANCRAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "ancrage",
    }
}

# Another interpreter, with its own Redis connection, asks the same throttle whether 127.0.0.1 may read once more.
OTHER_PROCESS = """
import django
django.setup()
from django.contrib.auth.models import AnonymousUser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from api.throttling import PublicReadThrottle
request = Request(APIRequestFactory().get("/api/v1/territories/", REMOTE_ADDR="127.0.0.1"))
request.user = AnonymousUser()
print("allowed" if PublicReadThrottle().allow_request(request, None) else "throttled")
"""


@pytest.fixture
def redis_cache():
    require_service(
        "Redis",
        url=REDIS_URL,
        how="start one (`redis-server --daemonize yes`; .ci/run does) or point ANCRAGE_TEST_REDIS_URL at one",
    )
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with override_settings(CACHES=REDIS_CACHES):
        yield
    client.flushdb()
    client.close()


def ask_another_process(rate: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "api.settings_test",
        "DJANGO_CACHE_URL": REDIS_URL,
        "DJANGO_THROTTLE_PUBLIC": rate,
    }
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_throttle_budget_is_shared_by_processes_through_redis(redis_cache, reference, anonymous_client):
    assert isinstance(caches["default"], RedisCache)
    with throttle_rates(public="3/minute"):
        assert [anonymous_client.get("/api/v1/territories/").status_code for _ in range(2)] == [200, 200]
        # The third request of the minute is spent in the other process, so this one is refused here.
        assert ask_another_process("3/minute") == "allowed"
        assert_throttled(anonymous_client.get("/api/v1/territories/"))
        assert ask_another_process("3/minute") == "throttled"


def test_without_redis_this_test_is_skipped_with_its_reason():
    # A fresh machine has no Redis: `make test` must skip, saying why, rather than error.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # Without DATABASE_URL: a second pytest on PostgreSQL would claim (and drop) this session's test database.
    env = {
        **{name: value for name, value in os.environ.items() if name != "DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "api.settings_test",
        "ANCRAGE_TEST_REDIS_URL": f"redis://127.0.0.1:{closed_port}/15",
    }
    test = f"{Path(__file__).relative_to(ROOT)}::test_throttle_budget_is_shared_by_processes_through_redis"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout and f"needs Redis at 127.0.0.1:{closed_port}" in result.stdout

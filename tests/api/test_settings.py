"""Settings come from the environment: SQLite by default, PostgreSQL from DATABASE_URL, a real secret outside debug."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SUMMARY = (
    "db = s.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST', ''), "
    "'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'cors': s.CORS_ALLOWED_ORIGINS, "
    "'tasks': s.TASKS['default']['BACKEND'], 'ssl_redirect': getattr(s, 'SECURE_SSL_REDIRECT', False)}))"
)


def load_settings(*, show: str = SUMMARY, **env: str) -> subprocess.CompletedProcess:
    """Import api.settings in a fresh interpreter with exactly this environment; `show` prints what matters as JSON."""
    code = f"import json; from api import settings as s; {show}"
    clean_env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean_env, **env}, capture_output=True, text=True, check=False
    )


def test_sqlite_file_under_var_is_the_default():
    result = load_settings(DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"].endswith("var/ancrage.sqlite3")
    assert settings["tasks"] == "django_tasks_db.DatabaseBackend"


def test_database_url_selects_postgresql():
    result = load_settings(DJANGO_DEBUG="true", DATABASE_URL="postgres://ancrage:pw@db.example:5433/ancrage")
    settings = json.loads(result.stdout)
    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["name"] == "ancrage"
    assert settings["host"] == "db.example"


def test_missing_secret_key_stops_start_up_outside_debug():
    result = load_settings()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is missing" in result.stderr


def test_example_secret_key_is_refused_outside_debug():
    result = load_settings(DJANGO_SECRET_KEY="change-me-to-a-long-random-string")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_values_from_environment():
    result = load_settings(
        DJANGO_SECRET_KEY="a-real-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="api.ancrage.example, admin.ancrage.example",
        DJANGO_CORS_ALLOWED_ORIGINS="https://portail.example",
        DJANGO_SECURE_PROXY="true",
        DJANGO_TASKS_BACKEND="immediate",
    )
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["debug"] is False
    assert settings["hosts"] == ["api.ancrage.example", "admin.ancrage.example"]
    assert settings["cors"] == ["https://portail.example"]
    assert settings["ssl_redirect"] is True
    assert settings["tasks"].endswith("ImmediateBackend")


def test_invalid_boolean_is_a_clear_error():
    result = load_settings(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def cache_settings(**env: str) -> subprocess.CompletedProcess:
    return load_settings(show="print(json.dumps(s.CACHES['default']))", **env)


def test_cache_is_per_process_memory_by_default_and_redis_from_its_url():
    default = cache_settings(DJANGO_DEBUG="true")
    assert json.loads(default.stdout)["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    shared = json.loads(cache_settings(DJANGO_DEBUG="true", DJANGO_CACHE_URL="redis://cache.example:6379/2").stdout)
    assert shared["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert shared["LOCATION"] == "redis://cache.example:6379/2"


def test_cache_url_of_another_kind_is_a_clear_error():
    result = cache_settings(DJANGO_DEBUG="true", DJANGO_CACHE_URL="memcached://cache.example:11211")
    assert result.returncode != 0
    assert "DJANGO_CACHE_URL='memcached://cache.example:11211': use a redis://" in result.stderr


def test_analysts_without_territory_see_all_by_default_none_on_request_and_nothing_else():
    show = "print(json.dumps(s.ANALYSTS_WITHOUT_TERRITORY))"
    assert json.loads(load_settings(show=show, DJANGO_DEBUG="true").stdout) == "all"
    chosen = load_settings(show=show, DJANGO_DEBUG="true", DJANGO_ANALYSTS_WITHOUT_TERRITORY=" None ")
    assert json.loads(chosen.stdout) == "none"
    result = load_settings(show=show, DJANGO_DEBUG="true", DJANGO_ANALYSTS_WITHOUT_TERRITORY="some")
    assert result.returncode != 0
    assert "DJANGO_ANALYSTS_WITHOUT_TERRITORY='some': use all or none." in result.stderr

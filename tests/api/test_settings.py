"""Settings come from the environment: SQLite by default, PostgreSQL from DATABASE_URL, a real secret outside debug."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import api.settings in a fresh interpreter with exactly this environment; print what matters as JSON."""
    code = (
        "import json; from api import settings as s; "
        "db = s.DATABASES['default']; "
        "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST', ''), "
        "'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'cors': s.CORS_ALLOWED_ORIGINS, "
        "'tasks': s.TASKS['default']['BACKEND'], 'ssl_redirect': getattr(s, 'SECURE_SSL_REDIRECT', False)}))"
    )
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

"""Safe deployment (OWASP API8): `check --deploy` is clean under production settings, CORS answers only the portal
origins it is given, demo accounts stay off production, and no secret is committed."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from api.settings import DEV_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "api.ancrage.example",
    "DJANGO_SECURE_PROXY": "true",
    "DJANGO_CORS_ALLOWED_ORIGINS": "https://accueil.creuse.example",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a fresh interpreter: settings are read from the environment at import time."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "api.settings", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_deploy_has_no_warning_under_production_settings():
    key = secrets.token_urlsafe(50)
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=key, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_the_proxy_and_https_settings():
    """The same check is not vacuous: in debug mode it reports the missing hardening."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="true")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W018"):  # HSTS, SSL redirect, DEBUG
        assert warning in result.stderr + result.stdout


def test_production_refuses_the_development_secret_key():
    result = run_manage("check", DJANGO_SECRET_KEY=DEV_SECRET_KEY, **PRODUCTION_ENV)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is missing or still the example value" in result.stderr


def test_load_demo_refuses_to_run_outside_debug(settings, db):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-production"):
        call_command("load_demo")
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.exists()


# CORS -------------------------------------------------------------------------------------------------------------

PORTAL = "https://accueil.creuse.example"


@override_settings(CORS_ALLOWED_ORIGINS=[PORTAL])
@pytest.mark.parametrize("method", ["get", "options"])
def test_cors_answers_only_the_configured_portal_origins(reference, client, method):
    headers = {"HTTP_ORIGIN": PORTAL, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}
    allowed = getattr(client, method)("/api/v1/offers/", **headers)
    assert allowed["Access-Control-Allow-Origin"] == PORTAL
    refused = getattr(client, method)("/api/v1/offers/", **{**headers, "HTTP_ORIGIN": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Credentials" not in refused


def test_cors_is_closed_by_default(reference, client):
    from django.conf import settings

    assert settings.CORS_ALLOWED_ORIGINS == [] and not getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
    response = client.get("/api/v1/offers/", HTTP_ORIGIN=PORTAL)
    assert "Access-Control-Allow-Origin" not in response


# Secrets ----------------------------------------------------------------------------------------------------------

DEMO_TOKENS = {
    "demo-admin-token-0000000000000000000000",
    "demo-analyst-token-000000000000000000000",
    "demo-editor-token-0000000000000000000000",
}
TEST_SECRET_KEY = "tests-only-secret-key-4f8b2c1e9d7a6b5c3e2f1a0d9c8b7a6e"
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "DRF token key": re.compile(r"Token ([0-9a-f]{40})\b"),
    "password in a URL": re.compile(r"postgres(?:ql)?://[^:@/\s]+:([^@/\s]+)@"),
}
# Placeholder credentials of the documentation (.env.example, README).
PLACEHOLDER_PASSWORDS = {"secret", "PASSWORD", "pw", "..."}


def committed_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / name for name in listed.decode().split("\0") if name]
    return [path for path in paths if path.is_file() and b"\0" not in path.read_bytes()[:8192]]


def test_no_secret_is_committed():
    files = committed_text_files()
    assert len(files) > 50
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        relative = path.relative_to(ROOT).as_posix()
        for name, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                value = match.group(match.lastindex or 0)
                if name == "password in a URL" and value in PLACEHOLDER_PASSWORDS:
                    continue
                found.append(f"{relative}: {name} {match.group(0)[:60]!r}")
        for key in re.findall(r"SECRET_KEY[\"']?\s*[=:,]\s*[\"']?([^\s\"']{20,})", text):
            # A call such as secrets.token_urlsafe(50) makes a key at run time: no secret is written down.
            if "(" not in key and key not in (DEV_SECRET_KEY, TEST_SECRET_KEY, "change-me-to-a-long-random-string"):
                found.append(f"{relative}: a secret key {key[:12]!r}…")
        if relative not in ("api/settings.py", "tests/api/test_deployment.py") and DEV_SECRET_KEY in text:
            found.append(f"{relative}: the development secret key outside the settings")
        if TEST_SECRET_KEY in text and relative not in ("api/settings_test.py", "tests/api/test_deployment.py"):
            found.append(f"{relative}: the tests' secret key outside the test settings")
    assert found == []


def test_only_the_documented_demo_tokens_are_committed():
    tokens = set()
    for path in committed_text_files():
        tokens |= set(re.findall(r"demo-[a-z]+-token-[0-9]+", path.read_text(encoding="utf-8", errors="replace")))
    assert tokens == DEMO_TOKENS


def test_env_file_is_ignored_and_the_example_holds_placeholders_only():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    example = (ROOT / ".env.example").read_text()
    assert "DJANGO_SECRET_KEY=change-me-to-a-long-random-string" in example
    assert "DJANGO_DEBUG=false" in example

"""The French catalogues are complete and up to date: every string the code marks for translation is in its app's
`locale/fr/LC_MESSAGES/django.po` with a French translation that is neither empty nor fuzzy, no entry is left
from code that is gone, and every translation keeps its msgid's placeholders.

The strings are extracted the way `make messages` does (Django's makemessages, run on a copy of the app, so the
committed catalogue is not touched), which needs GNU gettext: `.ci/run` installs it; elsewhere the test is skipped
with the reason, except in CI (CI set), where a missing gettext fails it."""

import os
import shutil
import subprocess
import sys

import polib
import pytest

from api.translations import APPS, BASE_DIR

GETTEXT_TOOLS = ("xgettext", "msgmerge", "msgfmt")
CATALOGUE = "locale/fr/LC_MESSAGES/django.po"


@pytest.fixture(scope="module")
def gettext_tools():
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"needs GNU gettext ({', '.join(missing)} not found): apt-get install gettext"
        if os.environ.get("CI"):
            pytest.fail(f"CI {reason}")
        pytest.skip(reason)


def extracted_catalogue(app: str, tmp_path) -> polib.POFile | None:
    """The app's catalogue as `make messages` would leave it: the committed one merged with what the code marks
    today (new strings untranslated, changed ones fuzzy, removed ones dropped); None when the app marks none."""
    copy = tmp_path / app
    shutil.copytree(BASE_DIR / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.pyc", "migrations"))
    (copy / "locale").mkdir(exist_ok=True)
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "api.settings_test"}
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "makemessages", "--locale", "fr", "--no-obsolete"],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    path = copy / CATALOGUE
    return polib.pofile(str(path)) if path.exists() else None


@pytest.mark.parametrize("app", APPS)
def test_the_catalogue_is_complete_and_up_to_date(app, gettext_tools, tmp_path):
    committed_path = BASE_DIR / app / CATALOGUE
    extracted = extracted_catalogue(app, tmp_path)
    if extracted is None:
        assert not committed_path.exists(), f"{app} marks no string for translation, but has {CATALOGUE}"
        return
    assert committed_path.exists(), f"{app} marks strings for translation but has no {CATALOGUE}: run make messages"
    committed = polib.pofile(str(committed_path))

    def key(entry):
        return (entry.msgctxt, entry.msgid)

    missing = sorted(entry.msgid for entry in extracted if not entry.obsolete and not entry.translated())
    stale = sorted({key(entry) for entry in committed if not entry.obsolete} - {key(entry) for entry in extracted})
    assert not missing, (
        f"{app}: {len(missing)} string(s) without a French translation (new, or changed and now fuzzy): run "
        f"`make messages`, then translate them in {app}/{CATALOGUE}: {missing}"
    )
    assert not stale, f"{app}: entries of {CATALOGUE} no code uses any more (run `make messages`): {stale}"


@pytest.mark.parametrize("app", APPS)
def test_every_translation_keeps_its_placeholders(app, gettext_tools):
    path = BASE_DIR / app / CATALOGUE
    if not path.exists():
        pytest.skip(f"{app} has no catalogue")
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file", os.devnull, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

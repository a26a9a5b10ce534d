"""Translation for the modules that must not import Django (`api.cells`, `api.jsonlimits`): their messages are
English msgids, extracted into the api catalogue like any other `gettext(...)`, and translated into the active
language when Django runs the code (the request's language); imported without Django, they stay English."""

import sys


def _django_translation():
    """Django's translation module when Django is loaded and configured, else None (this module never imports it)."""
    translation = sys.modules.get("django.utils.translation")
    conf = sys.modules.get("django.conf")
    if translation is None or conf is None or not conf.settings.configured:
        return None
    return translation


def gettext_noop(message: str) -> str:
    """Marks a message for the catalogue, to be translated later with `gettext` (a message chosen in advance)."""
    return message


def gettext(message: str) -> str:
    translation = _django_translation()
    return message if translation is None else translation.gettext(message)


def ngettext(singular: str, plural: str, number: int) -> str:
    translation = _django_translation()
    if translation is None:
        return singular if number == 1 else plural
    return translation.ngettext(singular, plural, number)


def every_translation(text) -> set[str]:
    """`text` (a label, possibly a lazy translation) in each of the project's languages, so that a file may name a
    choice by its French or its English label whatever the language of the request."""
    translation = _django_translation()
    if translation is None:
        return {str(text)}
    settings = sys.modules["django.conf"].settings
    labels = set()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            labels.add(str(text))
    return labels

"""The one check of the data·inclusion codes mapped on themes and audiences, run by the model field itself so that the
API, the admin, the reference-data loaders and the commands all apply it."""

import json
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

TAXONOMIES_DIR = Path(__file__).resolve().parent / "data" / "taxonomies"


@cache
def data_inclusion_vocabulary(name: str) -> frozenset[str]:
    """The codes (`value`) of one data·inclusion vocabulary shipped in offers/data/taxonomies/ (`publics`...)."""
    entries = json.loads((TAXONOMIES_DIR / f"data-inclusion-{name}.json").read_text(encoding="utf-8"))
    return frozenset(entry["value"] for entry in entries)


@deconstructible
class DataInclusionCodesValidator:
    """A list of unique codes of one data·inclusion vocabulary; each problem names the item at fault."""

    def __init__(self, vocabulary: str):
        self.vocabulary = vocabulary

    def __call__(self, value) -> None:
        known = data_inclusion_vocabulary(self.vocabulary)
        if not isinstance(value, list):
            raise ValidationError(
                gettext(
                    "Expected a list of data·inclusion %(vocabulary)s codes (e.g. [%(example)s]), "
                    "not %(type)s %(value)s."
                )
                % {
                    "vocabulary": self.vocabulary,
                    "example": _shown(min(known)),
                    "type": _json_type(value),
                    "value": _shown(value),
                },
                code="invalid",
            )
        problems, seen = [], set()
        for index, code in enumerate(value):
            if not isinstance(code, str):
                problems.append(
                    gettext("item %(index)s (%(value)s) is %(type)s, not a code")
                    % {"index": index, "value": _shown(code), "type": _json_type(code)}
                )
            elif code not in known:
                problems.append(
                    gettext("item %(index)s (%(value)s) is not a data·inclusion %(vocabulary)s code")
                    % {"index": index, "value": _shown(code), "vocabulary": self.vocabulary}
                )
            elif code in seen:
                problems.append(
                    gettext("item %(index)s (%(value)s) is given twice") % {"index": index, "value": _shown(code)}
                )
            else:
                seen.add(code)
        if problems:
            raise ValidationError(
                f"{'; '.join(problems[:5])}{' …' if len(problems) > 5 else ''}. {_known(self.vocabulary, known)}",
                code="invalid",
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, DataInclusionCodesValidator) and other.vocabulary == self.vocabulary


def data_inclusion_codes_check(value, *, model) -> None:
    """Run the validators of `model.data_inclusion_codes` on `value`, empty values included: Django's `full_clean`
    skips the validators of a blank field's empty values, which would let `""` or `{}` in."""
    for validator in model._meta.get_field("data_inclusion_codes").validators:
        validator(value)


def _known(vocabulary: str, known: frozenset[str]) -> str:
    if len(known) <= 20:
        return gettext("Known codes: %(codes)s.") % {"codes": ", ".join(sorted(known))}
    return gettext("Known codes: the `value`s of offers/data/taxonomies/data-inclusion-%(vocabulary)s.json.") % {
        "vocabulary": vocabulary
    }


def _json_type(value) -> str:
    for kind, name in (
        (bool, _("a boolean")),
        (int | float, _("a number")),
        (str, _("a string")),
        (list, _("a list")),
    ):
        if isinstance(value, kind):
            return str(name)
    if isinstance(value, dict):
        return gettext("an object")
    return "null" if value is None else type(value).__name__


def _shown(value) -> str:
    """A value as JSON, shortened: messages quote what was sent without echoing a huge payload."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

"""The one check of the data·inclusion codes mapped on themes and audiences, run by the model field itself so that the
API, the admin, the reference-data loaders and the commands all apply it."""

import json
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

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
                f"Expected a list of data·inclusion {self.vocabulary} codes (e.g. [{_shown(min(known))}]), "
                f"not {_json_type(value)} {_shown(value)}.",
                code="invalid",
            )
        problems, seen = [], set()
        for index, code in enumerate(value):
            if not isinstance(code, str):
                problems.append(f"item {index} ({_shown(code)}) is {_json_type(code)}, not a code")
            elif code not in known:
                problems.append(f"item {index} ({_shown(code)}) is not a data·inclusion {self.vocabulary} code")
            elif code in seen:
                problems.append(f"item {index} ({_shown(code)}) is given twice")
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
        return f"Known codes: {', '.join(sorted(known))}."
    return f"Known codes: the `value`s of offers/data/taxonomies/data-inclusion-{vocabulary}.json."


def _json_type(value) -> str:
    for kind, name in ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "a list")):
        if isinstance(value, kind):
            return name
    return "an object" if isinstance(value, dict) else "null" if value is None else type(value).__name__


def _shown(value) -> str:
    """A value as JSON, shortened: messages quote what was sent without echoing a huge payload."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

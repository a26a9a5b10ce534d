"""data·inclusion, the national schema of social and public services: its services read as offers."""

import json
from collections import defaultdict

from django.utils.text import slugify
from django.utils.translation import gettext

from api.cells import blank, parse_list, parse_text
from api.exceptions import ErrorItem
from api.tabular import Column
from offers.models import Audience, OfferStatus, TerritoryKind, Theme
from offers.services.lookups import CodeLookups
from offers.services.reference_data import DATA_DIR
from offers.source_formats.base import domain_pick
from offers.source_formats.data_inclusion import (
    data_inclusion_contact,
    data_inclusion_description,
    data_inclusion_fees,
)
from offers.territory_paths import COUNTRY_CODE

DATA_INCLUSION_SCHEMA = DATA_DIR / "taxonomies" / "data-inclusion-service.schema.json"
# Older versions of the schema split the description in two; accepted so that older dumps import too.
# modes_accueil value of a service delivered by phone or online; zone_eligibilite values for the whole country.
DATA_INCLUSION_REMOTE = "a-distance"
DATA_INCLUSION_FRANCE = ("france", "99100")
_DATA_INCLUSION_LEGACY_FIELDS = ("presentation_resume", "presentation_detail", "prise_rdv", "structure")


def data_inclusion_columns() -> list[Column]:
    schema = json.loads(DATA_INCLUSION_SCHEMA.read_text(encoding="utf-8"))
    required = set(schema.get("required", ()))
    names = list(schema["properties"]) + [
        name for name in _DATA_INCLUSION_LEGACY_FIELDS if name not in schema["properties"]
    ]
    return [Column(name, required=name in required and name in ("id", "source", "nom")) for name in names]


def _codes(stored) -> list[str]:
    """The codes stored on a theme or audience; rows written before the model validated them may hold anything, and
    one bad row must not fail every import."""
    return [code for code in stored if isinstance(code, str)] if isinstance(stored, list) else []


def data_inclusion_service_map(*, values: dict, refs: CodeLookups) -> tuple[dict, list[ErrorItem]]:
    """One data·inclusion service -> the values of an offer (the same input the API and CSV import take).

    thematiques -> themes through Theme.data_inclusion_codes (the domain is the one most of them map to; themes
    of other domains are dropped); publics -> audiences through Audience.data_inclusion_codes ("tous-publics" or
    none = everyone); frais -> is_free; zone_eligibilite -> service area (see `data_inclusion_zone_codes`);
    modes_accueil "a-distance" -> remote; id + source -> external_id + source.

    A service received on site needs its code_insee; one delivered at a distance may have none (a national
    online service): it becomes an offer without a place, serving its zone_eligibilite.
    """
    errors: list[ErrorItem] = []
    theme_by_code: dict[str, list[Theme]] = defaultdict(list)
    for theme in refs.themes.values():
        for code in _codes(theme.data_inclusion_codes):
            theme_by_code[code].append(theme)
    audience_by_code: dict[str, list[Audience]] = defaultdict(list)
    for audience in refs.audiences.values():
        for code in _codes(audience.data_inclusion_codes):
            audience_by_code[code].append(audience)

    thematiques = parse_list(values.get("thematiques"))
    themes: list[Theme] = []
    for code in thematiques:
        for theme in theme_by_code.get(code, []):
            if theme not in themes:
                themes.append(theme)
    if not themes:
        listed = ", ".join(thematiques) or gettext("none")
        errors.append(
            ErrorItem(
                field="thematiques",
                code="unmapped",
                message=gettext("No thématique of this service maps to our taxonomy (%(listed)s).")
                % {"listed": listed},
            )
        )
        domain = None
    else:
        # The rule of every import: the domain most themes belong to, ties to the first listed (a pure helper the
        # source syncs share).
        by_code = {theme.code: theme for theme in themes}
        _domain_id, kept = domain_pick(list(by_code), {theme.code: theme.domain_id for theme in themes})
        themes = [by_code[code] for code in kept]
        domain = themes[0].domain

    audiences: list[Audience] = []
    for code in parse_list(values.get("publics")):
        if code == "tous-publics":
            audiences = []
            break
        for audience in audience_by_code.get(code, []):
            if audience not in audiences:
                audiences.append(audience)

    frais, details = data_inclusion_fees(values)
    is_free = frais == "gratuit"
    if not is_free and not details:
        details = "Payant" if frais == "payant" else "Tarif non précisé par la source"

    description = data_inclusion_description(values)
    contact = data_inclusion_contact(values)
    accessibility = parse_text(values.get("conditions_acces"))
    modes = values.get("modes_accueil")
    remote = DATA_INCLUSION_REMOTE in (parse_list(modes) if isinstance(modes, list | str) else [])
    mapped = {
        "source": slugify(str(values.get("source") or "")) or "data-inclusion",
        "external_id": parse_text(values.get("id")),
        "title": parse_text(values.get("nom")),
        "description": description or parse_text(values.get("nom")),
        "domain": domain.code if domain else None,
        "themes": [theme.code for theme in themes],
        "audiences": [audience.code for audience in audiences],
        "commune": None if blank(values.get("code_insee")) else values.get("code_insee"),
        "latitude": values.get("latitude"),
        "longitude": values.get("longitude"),
        "service_area": data_inclusion_zone_codes(values.get("zone_eligibilite")),
        "remote": remote,
        "is_free": is_free,
        "price_details": "" if is_free else details[:200],
        "url": parse_text(values.get("lien_source") or values.get("lien_mobilisation")),
        "contact": contact[:300],
        "accessibility": accessibility,
        "status": OfferStatus.PUBLISHED,
    }
    if blank(mapped["commune"]) and not remote:
        errors.append(
            ErrorItem(
                field="code_insee",
                code="required",
                message=gettext("The service has no code_insee: we cannot place it in a commune."),
            )
        )
    elif blank(mapped["commune"]) and not mapped["service_area"]:
        errors.append(
            ErrorItem(
                field="zone_eligibilite",
                code="required",
                message=gettext(
                    "The service is delivered at a distance without a code_insee: it needs a zone_eligibilite (the "
                    "territories it serves, or france)."
                ),
            )
        )
    return mapped, errors


def data_inclusion_zone_codes(value) -> list[str]:
    """zone_eligibilite -> our territory codes: `france` or the country code 99100 -> FR, 2-3 characters ->
    département (a bare `75` would be ambiguous with the région), 9 digits -> EPCI, 5 characters -> commune."""
    codes = []
    for code in parse_list(value):
        code = code.strip()
        if code.lower() in DATA_INCLUSION_FRANCE:
            codes.append(COUNTRY_CODE)
        elif 2 <= len(code) <= 3:
            codes.append(f"{TerritoryKind.DEPARTEMENT}:{code}")
        elif len(code) == 9 and code.isdigit():
            codes.append(f"{TerritoryKind.EPCI}:{code}")
        else:
            codes.append(code)
    return codes

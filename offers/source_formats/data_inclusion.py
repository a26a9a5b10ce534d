"""data·inclusion services: a page as the data·inclusion API serves it (`{"items": [...], "total": N, "page": P,
"size": S, "pages": K}`, items being services or search results `{"service": {...}, "distance": d}`), or a bare
list of services, read as offers. The fields are the service schema's (`offers/data/taxonomies/
data-inclusion-service.schema.json`), older dumps' fields included (`presentation_resume/detail`, `page_web`,
`zone_diffusion_type/code`).

Field by field:
- `id` -> external_id (the schema makes it unique across producers: "dora--42"); none -> `no_identifier`;
  `nom` -> title (none -> `no_title`).
- description: `description`, `presentation_resume`, `presentation_detail` (the title when all are empty).
- categories: the `thematiques` as given. `default_theme_mapping`: each thématique -> the themes whose
  `data_inclusion` list holds it in `offers/data/taxonomy.json` (the mapping the tabular import applies through
  Theme.data_inclusion_codes); a service none of whose thématiques maps is left to the sync, which skips it
  with its reason. The domain is not decided here: it follows the themes (`domain_pick`, the rule of the
  tabular import: the domain most of them belong to).
- audiences: each of `publics` -> the audiences whose `data_inclusion` list holds it in taxonomy.json;
  "tous-publics" or none -> everyone (no audience).
- `frais` "gratuit" -> free, "payant" -> not free, absent -> unknown; `frais_precisions` -> price_details.
- `modes_accueil` holding "a-distance" -> remote; with "en-presentiel" too the service keeps its place; delivered
  only at a distance, its address is the structure's office, not where the service happens: the place is left
  out (kept in extra) and the service area says where it is offered.
- service area: `zone_eligibilite` codes ("france" or 99100 -> `FR`, a département -> `departement:<code>`, a
  commune or an EPCI code as given; other foreign country codes are dropped), else `zone_diffusion_type` +
  `zone_diffusion_code` ("pays" -> `FR`, "region" -> `region:<code>`...).
- place: `code_insee`, `code_postal`, `commune`, `latitude`/`longitude` (outside France -> `outside_france`).
  Neither a place nor a service area -> `no_place`.
- url: `lien_source`, else `lien_mobilisation`, else `page_web`; contact: `contact_nom_prenom`, `telephone`,
  `courriel`; `date_maj`, `source`, `structure_id`, `type`, the address and opening hours -> extra.
Records full of nulls never raise: each is one `RecordSkip` with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from api.cells import parse_list, parse_text
from api.pure_i18n import gettext
from offers.source_formats.base import (
    CONTACT_MAX,
    EXTERNAL_ID_MAX,
    FRANCE,
    PRICE_DETAILS_MAX,
    TITLE_MAX,
    RecordSkip,
    SourceRecord,
    checked_mapping,
    coordinates,
    cut,
    departement_area,
    external_id_of,
    identifier_too_long,
    insee_code,
    is_departement_code,
    joined,
    json_document,
    no_identifier,
    no_place,
    no_title,
    not_an_object,
    outside_france,
    postal_code,
    region_area,
    taxonomy,
    text,
    web_url,
    wrong_format,
)

REMOTE = "a-distance"
IN_PERSON = "en-presentiel"
EVERYONE = "tous-publics"
_FRANCE_CODES = frozenset({"france", "99100", "fr"})


DESCRIPTION_FIELDS = ("description", "presentation_resume", "presentation_detail")
CONTACT_FIELDS = ("contact_nom_prenom", "telephone", "courriel")


def data_inclusion_description(values: Mapping[str, Any]) -> str:
    """The description of a service: its `description`, and the two halves older schemas split it into."""
    return "\n\n".join(part for part in (parse_text(values.get(name)) for name in DESCRIPTION_FIELDS) if part)


def data_inclusion_contact(values: Mapping[str, Any]) -> str:
    return " · ".join(part for part in (parse_text(values.get(name)) for name in CONTACT_FIELDS) if part)


def data_inclusion_fees(values: Mapping[str, Any]) -> tuple[str | None, str]:
    """("gratuit" | "payant" | None, `frais_precisions`); older schemas give a list of fees."""
    frais = values.get("frais")
    if isinstance(frais, list):
        frais = "gratuit" if frais == ["gratuit"] else ("payant" if frais else None)
    return (frais if frais in ("gratuit", "payant") else None), parse_text(values.get("frais_precisions"))


def _code_lists(key: str) -> dict[str, tuple[str, ...]]:
    """data·inclusion code -> our codes holding it in taxonomy.json (`key`: "themes" or "audiences")."""
    found: dict[str, list[str]] = {}
    entries = (
        [theme for domain in taxonomy()["domains"] for theme in domain["themes"]]
        if key == "themes"
        else taxonomy()["audiences"]
    )
    for entry in entries:
        for code in entry.get("data_inclusion", []):
            found.setdefault(code, []).append(entry["code"])
    return {code: tuple(ours) for code, ours in found.items()}


class DataInclusionFormat:
    code = "data_inclusion"
    label = "data·inclusion"

    def __init__(self, *, audience_mapping: Mapping[str, tuple[str, ...]] | None = None):
        """`audience_mapping`: public -> our audience codes, taxonomy.json's by default (a caller holding the
        analysts' current Audience.data_inclusion_codes may pass those)."""
        self.default_theme_mapping: Mapping[str, tuple[str, ...]] = checked_mapping(_code_lists("themes"))
        self.audience_mapping = dict(_code_lists("audiences") if audience_mapping is None else audience_mapping)

    def recognises(self, data: Any) -> bool:
        items = _items(data)
        return bool(items) and any(
            isinstance(item, dict) and ("nom" in item or "thematiques" in item)
            for item in (_service(item) for item in items[:20])
        )

    def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]:
        data = json_document(content, format_label=self.label)
        items = _items(data)
        if items is None or (items and not self.recognises(data)):
            raise wrong_format(
                data,
                expected=gettext("an API page with an `items` list of services, or a list of services"),
                format_code=self.code,
            )
        for position, item in enumerate(items, start=1):
            yield self.record(_service(item), position=position)

    def record(self, service: Any, *, position: int) -> SourceRecord | RecordSkip:
        if not isinstance(service, dict):
            return not_an_object(position)
        external_id = external_id_of(service.get("id"))
        if not external_id:
            return no_identifier(position)
        if len(external_id) > EXTERNAL_ID_MAX:
            return identifier_too_long(position, external_id)
        title = text(service.get("nom"))
        if not title:
            return no_title(position, external_id)

        modes = _strings(service.get("modes_accueil"))
        remote = REMOTE in modes
        remote_only = remote and IN_PERSON not in modes
        latitude, longitude, inside = coordinates(service.get("latitude"), service.get("longitude"))
        if not inside and not remote_only:
            return outside_france(position, external_id, f"{service.get('latitude')}, {service.get('longitude')}")
        place = {
            "commune_code": insee_code(service.get("code_insee")),
            "postal_code": postal_code(service.get("code_postal")),
            "commune_name": text(service.get("commune")) or None,
            "latitude": latitude,
            "longitude": longitude,
        }
        address = joined(
            (
                text(service.get("adresse")),
                text(service.get("complement_adresse")),
                text(service.get("code_postal")),
                text(service.get("commune")),
            ),
            ", ",
        )
        if remote_only:
            place = dict.fromkeys(place)
        service_area = _service_area(service)
        if not any(place.values()) and not service_area:
            return no_place(position, external_id)

        publics = _strings(service.get("publics"))
        audiences: list[str] = []
        if EVERYONE not in publics:
            for public in publics:
                audiences.extend(code for code in self.audience_mapping.get(public, ()) if code not in audiences)
        fees, fee_details = data_inclusion_fees(service)
        url = next(
            (
                found
                for name in ("lien_source", "lien_mobilisation", "page_web")
                if (found := web_url(service.get(name)))
            ),
            "",
        )
        extra = {
            key: value
            for key, value in {
                "updated_at": text(service.get("date_maj")),
                "producer": text(service.get("source")),
                "structure_id": text(service.get("structure_id")),
                "service_type": text(service.get("type")) if not isinstance(service.get("type"), list) else "",
                "address": address,
                "opening_hours": text(service.get("horaires_accueil")),
                "access_conditions": text(service.get("conditions_acces")),
                "reception_modes": modes,
            }.items()
            if value
        }
        return SourceRecord(
            external_id=external_id,
            title=cut(title, TITLE_MAX),
            description=data_inclusion_description({name: text(service.get(name)) for name in DESCRIPTION_FIELDS})
            or title,
            categories=tuple(dict.fromkeys(_strings(service.get("thematiques")))),
            audiences=tuple(audiences),
            remote=remote,
            service_area=service_area,
            is_free=None if fees is None else fees == "gratuit",
            price_details=cut(text(fee_details), PRICE_DETAILS_MAX),
            url=url,
            contact=cut(
                data_inclusion_contact({name: text(service.get(name)) for name in CONTACT_FIELDS}), CONTACT_MAX
            ),
            extra=extra,
            **place,
        )


def _strings(value: Any) -> list[str]:
    """A list of codes; a scalar, a "a|b" string or a list holding nulls and numbers read as well as they can."""
    if isinstance(value, list):
        return [item for item in (text(item) for item in value) if item]
    if isinstance(value, str):
        return parse_list(value)
    return []


def _items(data: Any) -> list | None:
    if isinstance(data, dict):
        return data["items"] if isinstance(data.get("items"), list) else None
    return data if isinstance(data, list) else None


def _service(item: Any) -> Any:
    """A search result `{"service": {...}, "distance": ...}` -> its service; a service as is."""
    if isinstance(item, dict) and isinstance(item.get("service"), dict) and "nom" not in item:
        return item["service"]
    return item


def _service_area(service: dict) -> tuple[str, ...]:
    codes: list[str] = []
    for raw in _strings(service.get("zone_eligibilite")):
        code = raw.strip()
        if code.lower() in _FRANCE_CODES:
            codes.append(FRANCE)
        elif code.startswith("99"):
            continue  # another country (INSEE 99xxx): not a territory of ours
        elif is_departement_code(code):
            codes.append(departement_area(code))
        elif insee_code(code) or (len(code) == 9 and code.isdigit()):
            codes.append(code.upper())
    if not codes:
        kind = text(service.get("zone_diffusion_type")).lower()
        code = text(service.get("zone_diffusion_code")).upper()
        if kind == "pays":
            codes.append(FRANCE)
        elif code and kind == "region":
            codes.append(region_area(code))
        elif code and kind == "departement":
            codes.append(departement_area(code))
        elif code and kind in ("epci", "commune"):
            codes.append(code)
    return tuple(dict.fromkeys(codes))


DATA_INCLUSION = DataInclusionFormat()

"""OpenAgenda events: the JSON of the v2 API (`GET /v2/agendas/{uid}/events?detailed=1` answers `{"total": N,
"events": [...], "after": [...]}`; a single `{"event": {...}}` or a bare list of events is accepted too), read as
culture and tourism events.

Field by field (developers.openagenda.com, "Structure d'un événement" and "Structure d'un lieu"):
- `uid` -> external_id (none: `no_identifier`); `title` (multilingual, French first) -> title.
- `description` and `longDescription` (markdown), `conditions` and the age range -> description.
- categories: the `keywords` (French first), folded to lower case without accents ("Théâtre" -> "theatre") so that
  one mapping entry covers every spelling. `default_theme_mapping` below; anything else is left to the sync.
- `timings` [{begin, end}]: available_from = the day of the first begin, available_until = the day of the last
  end, in the event's `timezone` (Europe/Paris by default): several dates make one offer open from the first to
  the last. Last end before today -> `event_over`; no timing -> dates unknown (the record is kept).
- `status`: 6 (cancelled) -> `event_cancelled`, 4 (postponed, no new date) -> `event_postponed`; 5 (full) ->
  capacity 0 (an offer with no places left); 3 (moved online) -> remote.
- `attendanceMode`: 2 (online) and 3 (mixed) -> remote; an online event without a location serves the whole of
  France (service area `FR`), which is what an online event open to all is.
- `location`: `insee` -> commune_code, `postalCode`, `city` (or `adminLevel4`), `latitude`/`longitude`;
  `countryCode` other than FR or coordinates outside France -> `outside_france`; none at all (and not online) ->
  `no_place`.
- `conditions`: "gratuit", "entrée libre"... -> free; else the first amount in euros -> price_amount, the text
  -> price_details; no conditions -> free or not unknown (None).
- url: `canonicalUrl`, else the first `registration` link, else `onlineAccessLink`, else the first of `links`.
  contact: the `registration` e-mails and phone numbers.
- extra: `slug`, `image`, `onlineAccessLink`, `updatedAt`, the location's name and address, the number of timings.

`default_theme_mapping` (folded keyword -> theme):
- cultural-event (culture): concert, festival, spectacle, theatre, exposition, cinema, projection, danse, musique,
  lecture, conte, opera, cirque, humour, jazz, vernissage, rencontre d'auteur, arts de la rue.
- cultural-practice (culture): atelier, stage, cours, initiation, chorale, pratique amateur.
- heritage-site (tourism): patrimoine, visite guidee, journees europeennes du patrimoine, visite.
- tourist-event (tourism): fete, marche, foire, brocante, vide grenier, fete de village, feu d'artifice,
  animation, fete de la musique, marche de producteurs.
- leisure-activity (tourism): randonnee, balade, sortie nature, velo, peche, canoe, sport, nature.
- business-creation (jobs): creation d'entreprise; salaried-job (jobs): forum emploi, job dating, emploi.
Broad words (famille, enfants, gratuit, jeune public...) say who or how much, not what: left unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.pure_i18n import gettext
from api.text import fold_text
from offers.source_formats.base import (
    CONTACT_MAX,
    EXTERNAL_ID_MAX,
    FRANCE,
    PARIS,
    PRICE_DETAILS_MAX,
    TITLE_MAX,
    RecordSkip,
    SourceRecord,
    amount,
    as_list,
    checked_mapping,
    coordinates,
    cut,
    day,
    event_over,
    external_id_of,
    identifier_too_long,
    insee_code,
    joined,
    json_document,
    localised,
    no_identifier,
    no_place,
    no_title,
    not_an_object,
    outside_france,
    postal_code,
    skip,
    text,
    web_url,
    whole_number,
    wrong_format,
)

STATUS_RESCHEDULED, STATUS_MOVED_ONLINE, STATUS_POSTPONED, STATUS_FULL, STATUS_CANCELLED = 2, 3, 4, 5, 6
ATTENDANCE_OFFLINE, ATTENDANCE_ONLINE, ATTENDANCE_MIXED = 1, 2, 3
# France and the ISO codes of its overseas départements and collectivities, which OpenAgenda may use instead.
FRENCH_COUNTRY_CODES = frozenset(["FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC"])
_FREE = re.compile(r"\b(gratuit\w*|entree libre|acces libre|libre participation|free)\b")
_EUROS = re.compile(r"(\d+(?:[.,]\d{1,2})?)\s*(?:€|euros?\b|eur\b)", re.IGNORECASE)

_KEYWORDS = {
    "cultural-event": (
        "concert",
        "concerts",
        "festival",
        "spectacle",
        "spectacles",
        "spectacle vivant",
        "theatre",
        "exposition",
        "expositions",
        "cinema",
        "projection",
        "danse",
        "musique",
        "lecture",
        "conte",
        "contes",
        "opera",
        "cirque",
        "humour",
        "jazz",
        "vernissage",
        "rencontre d auteur",
        "arts de la rue",
    ),
    "cultural-practice": ("atelier", "ateliers", "stage", "cours", "initiation", "chorale", "pratique amateur"),
    "heritage-site": ("patrimoine", "visite guidee", "visite", "journees europeennes du patrimoine"),
    "tourist-event": (
        "fete",
        "marche",
        "foire",
        "brocante",
        "vide grenier",
        "fete de village",
        "feu d artifice",
        "animation",
        "fete de la musique",
        "marche de producteurs",
    ),
    "leisure-activity": ("randonnee", "balade", "sortie nature", "velo", "peche", "canoe", "sport", "nature"),
    "business-creation": ("creation d entreprise",),
    "salaried-job": ("forum emploi", "job dating", "emploi"),
}


class OpenAgendaFormat:
    code = "openagenda"
    label = "OpenAgenda"
    default_theme_mapping: Mapping[str, tuple[str, ...]] = checked_mapping(
        {keyword: (theme,) for theme, keywords in _KEYWORDS.items() for keyword in keywords}
    )

    def recognises(self, data: Any) -> bool:
        events = _events(data)
        return bool(events) and any(
            isinstance(event, dict) and ("timings" in event or "uid" in event) for event in events[:20]
        )

    def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]:
        data = json_document(content, format_label=self.label)
        events = _events(data)
        if events is None or (events and not self.recognises(data)):
            raise wrong_format(
                data, expected=gettext("an object with an `events` list, as the v2 API answers"), format_code=self.code
            )
        for position, event in enumerate(events, start=1):
            yield self.record(event, position=position, today=today)

    def record(self, event: Any, *, position: int, today: date) -> SourceRecord | RecordSkip:
        if not isinstance(event, dict):
            return not_an_object(position)
        external_id = external_id_of(event.get("uid"))
        if not external_id:
            return no_identifier(position)
        if len(external_id) > EXTERNAL_ID_MAX:
            return identifier_too_long(position, external_id)
        title = localised(event.get("title"))
        if not title:
            return no_title(position, external_id)
        status = whole_number(event.get("status"))
        if status == STATUS_CANCELLED:
            return skip(position, external_id, "event_cancelled", gettext("The event is cancelled."))
        if status == STATUS_POSTPONED:
            return skip(
                position,
                external_id,
                "event_postponed",
                gettext("The event is postponed and has no new date yet."),
            )
        zone = _zone(event.get("timezone"))
        starts, ends = [], []
        for timing in as_list(event.get("timings")):
            if isinstance(timing, dict):
                begin, end = day(timing.get("begin"), zone=zone), day(timing.get("end"), zone=zone)
                starts.extend(d for d in (begin,) if d)
                ends.extend(d for d in (end or begin,) if d)
        available_from = min(starts) if starts else None
        available_until = max(ends) if ends else None
        if available_from and available_until and available_until < available_from:
            available_until = available_from  # an end before its begin: the offer's range must stay ordered
        if available_until is not None and available_until < today:
            return event_over(position, external_id, available_until)

        attendance = whole_number(event.get("attendanceMode")) or ATTENDANCE_OFFLINE
        remote = attendance in (ATTENDANCE_ONLINE, ATTENDANCE_MIXED) or status == STATUS_MOVED_ONLINE
        location = event.get("location") if isinstance(event.get("location"), dict) else {}
        place = _place(location)
        if isinstance(place, str):
            return outside_france(position, external_id, place)
        if not any(place.values()):
            if not remote:
                return no_place(position, external_id)
            place["service_area"] = (FRANCE,)

        keywords = [fold_text(keyword) for keyword in _keywords(event.get("keywords"))]
        conditions = localised(event.get("conditions"))
        age = event.get("age") if isinstance(event.get("age"), dict) else {}
        age_text = ""
        if whole_number(age.get("min")) is not None or whole_number(age.get("max")) is not None:
            low, high = whole_number(age.get("min")) or 0, whole_number(age.get("max"))
            age_text = f"Âge : à partir de {low} ans" if high is None else f"Âge : de {low} à {high} ans"
        description = joined(
            (localised(event.get("description")), localised(event.get("longDescription")), conditions, age_text),
            "\n\n",
        )
        registrations = [item for item in as_list(event.get("registration")) if isinstance(item, dict)]
        links = [web_url(item.get("value")) for item in registrations if text(item.get("type")) == "link"]
        contact = joined(
            text(item.get("value")) for item in registrations if text(item.get("type")) in ("email", "phone")
        )
        url = next(
            (
                found
                for found in [web_url(event.get("canonicalUrl")), *links, web_url(event.get("onlineAccessLink"))]
                + [web_url(link.get("link")) for link in as_list(event.get("links")) if isinstance(link, dict)]
                if found
            ),
            "",
        )
        is_free, price = None, None
        if conditions:
            folded_conditions = fold_text(conditions)
            prices = [amount(found) for found in _EUROS.findall(conditions)]
            prices = [found for found in prices if found is not None and found > 0]
            is_free = bool(_FREE.search(folded_conditions)) and not prices
            price = min(prices) if prices else None
        image = event.get("image")
        extra = {
            key: value
            for key, value in {
                "slug": text(event.get("slug")),
                "updated_at": text(event.get("updatedAt")),
                "online_access_link": web_url(event.get("onlineAccessLink")),
                "location_name": text(location.get("name")),
                "address": text(location.get("address")),
                "timings": len(starts),
                "status": status,
                "attendance_mode": attendance,
                "image": image.get("base", "") + image.get("filename", "") if isinstance(image, dict) else "",
            }.items()
            if value
        }
        return SourceRecord(
            external_id=external_id,
            title=cut(title, TITLE_MAX),
            description=description or title,
            categories=tuple(dict.fromkeys(keyword for keyword in keywords if keyword)),
            remote=remote,
            available_from=available_from,
            available_until=available_until,
            is_free=is_free,
            price_amount=price,
            price_details=cut(conditions if not is_free else "", PRICE_DETAILS_MAX),
            url=url,
            contact=cut(contact, CONTACT_MAX),
            capacity=0 if status == STATUS_FULL else None,
            extra=extra,
            **place,
        )


def _events(data: Any) -> list | None:
    if isinstance(data, dict):
        if isinstance(data.get("events"), list):
            return data["events"]
        if isinstance(data.get("event"), dict):
            return [data["event"]]
        return None
    return data if isinstance(data, list) else None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, dict):
        for language in ("fr", "en"):
            if value.get(language):
                return [text(item) for item in as_list(value[language])]
        return [text(item) for items in value.values() for item in as_list(items)]
    return [text(item) for item in as_list(value)]


def _zone(value: Any) -> ZoneInfo:
    name = text(value)
    if not name:
        return PARIS
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return PARIS


def _place(location: dict) -> dict | str:
    latitude, longitude, inside = coordinates(location.get("latitude"), location.get("longitude"))
    country = text(location.get("countryCode")).upper()
    if country and country not in FRENCH_COUNTRY_CODES:
        return country
    if not inside:
        return f"{location.get('latitude')}, {location.get('longitude')}"
    return {
        "commune_code": insee_code(location.get("insee")),
        "postal_code": postal_code(location.get("postalCode")),
        "commune_name": text(location.get("city")) or text(location.get("adminLevel4")) or None,
        "latitude": latitude,
        "longitude": longitude,
        "service_area": (),
    }


OPENAGENDA = OpenAgendaFormat()

"""DATAtourisme points of interest: the JSON-LD export of the DATAtourisme ontology (the national tourism platform's
flows: places, accommodation, tours, events), read as tourism and culture offers.

A file is one object, a list of objects, or a JSON-LD document with a `@graph`. Keys may carry their prefix
(`rdfs:label`, `schema:address`, `dc:description`, `foaf:homepage`) or not (the platform's API writes `label`,
`address`...); full IRIs of the ontology and of schema.org are read too. Values may be lists, language maps
(`{"fr": ["..."]}`) or `{"@value": ...}` literals.

Field by field:
- `@id` (the platform's stable URI) -> external_id, else `dc:identifier`; none -> `no_identifier`.
- `rdfs:label` -> title; `hasDescription[].shortDescription` and `dc:description`, else `rdfs:comment` -> description.
- categories: the `@type` classes, ontology classes bare ("Museum", "Accommodation") and schema.org ones prefixed
  ("schema:LodgingBusiness"); `urn:resource` is not a class and is dropped.
- `isLocatedAt[0]`: `schema:address[0]` (`hasAddressCity.insee`, `schema:postalCode`, `schema:addressLocality`)
  and `schema:geo` (`schema:latitude`/`schema:longitude`, often strings); coordinates outside France ->
  `outside_france`; no commune, postal code, locality nor coordinates -> `no_place`.
- `hasContact[]`/`hasBookingContact[]`: `schema:email`, `schema:telephone` -> contact; `foaf:homepage` -> url.
- `offers[].schema:priceSpecification[]`: the lowest positive `schema:minPrice`/`schema:maxPrice` in euros ->
  price_amount, the range -> price_details; free when `schema:isAccessibleForFree` says so or every price is 0;
  unknown (None) without prices.
- events (`takesPlaceAt[]` periods, or `schema:startDate`/`schema:endDate`): available_from = the first start,
  available_until = the last end (several periods: an event with several dates); an event whose last day is
  before today -> `event_over`. Places have no dates.
- `lastUpdate`, `lastUpdateDatatourisme`, `hasTheme` labels, the producer -> extra.

`default_theme_mapping` (class -> our themes), chosen so that the classes of one object agree on a domain:
- accommodation (tourism): Accommodation and every kind of it (hotels, campsites, gîtes/rentals, guesthouses,
  holiday villages, hostels), schema:LodgingBusiness and its schema.org kinds. Tourist accommodation, not housing.
- heritage-site (tourism): museums, castles, religious and remarkable buildings, archaeological, technical,
  military and remembrance sites, interpretation centres, guided visits.
- cultural-venue (culture): theatres, cinemas, libraries, galleries, auditoriums, circus places.
- leisure-activity (tourism): natural heritage (lakes, rivers, forests, parks), sports and leisure places,
  tours (walking, cycling, horse, river), activity providers and practices.
- cultural-event (culture): CulturalEvent and its kinds (concerts, exhibitions, shows, festivals, screenings...).
- tourist-event (tourism): social, sale, sports and traditional events (markets, fairs, local festivities).
- shops (daily life): local products shops.
Left unmapped on purpose (the sync reports them; an analyst may map them per source): the roots
(PointOfInterest, PlaceOfInterest, EntertainmentAndEvent, schema:Event), CulturalSite (a museum is heritage, a
cinema a venue: its subclasses decide), restaurants, stores in general, business events, services and transport.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from api.pure_i18n import gettext
from offers.source_formats.base import (
    CONTACT_MAX,
    EXTERNAL_ID_MAX,
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
    first,
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
    text,
    web_url,
    wrong_format,
)

_NAMESPACES = (
    ("https://www.datatourisme.fr/ontology/core#", ""),
    ("https://www.datatourisme.gouv.fr/ontology/core#", ""),
    ("http://schema.org/", "schema:"),
    ("https://schema.org/", "schema:"),
)
_PREFIX = re.compile(r"^[A-Za-z][\w-]*:(?!//)")
_NOT_CLASSES = frozenset({"urn:resource"})
EVENT_CLASSES = frozenset({"EntertainmentAndEvent", "schema:Event"})

_THEMES: dict[str, tuple[str, ...]] = {}
for _theme, _classes in {
    "accommodation": (
        "Accommodation CollectiveAccommodation HotelTrade Hotel HotelRestaurant CampingAndCaravanning Camping "
        "CamperVanArea NaturalCamping RentalAccommodation SelfCateringAccommodation Guesthouse BedAndBreakfast "
        "HolidayResort ClubOrHolidayVillage HolidayCentre Hostel YouthHostelAndInternationalCenter GroupLodging "
        "StopOverOrGroupLodge MountainCottage schema:LodgingBusiness schema:Hotel schema:Campground "
        "schema:BedAndBreakfast schema:Hostel schema:Motel schema:Resort"
    ),
    "heritage-site": (
        "Museum Castle FortifiedCastle ReligiousSite Church Chapel Abbey Cathedral Monastery Convent Basilica "
        "RemarkableBuilding ArcheologicalSite TechnicalHeritage MilitaryHeritage RemembranceSite CityHeritage "
        "InterpretationCentre Visit schema:Museum schema:Church schema:LandmarksOrHistoricalBuildings"
    ),
    "cultural-venue": (
        "Theater Cinema Cinematheque Library ArtGalleryOrExhibitionGallery Auditorium CircusPlace "
        "schema:MovieTheater schema:Library schema:ArtGallery schema:PerformingArtsTheater schema:MusicVenue"
    ),
    "leisure-activity": (
        "NaturalHeritage SportsAndLeisurePlace Tour WalkingTour CyclingTour HorseTour FluvialTour RoadTour "
        "UnderwaterRoute Practice ActivityProvider SportsActivityProvider SwimmingPool ParkAndGarden Lake River "
        "Beach Forest EquestrianCenter LeisureComplex PlayArea ClimbingWall Zoo AmusementPark "
        "schema:Park schema:LakeBodyOfWater schema:Zoo schema:AmusementPark schema:GolfCourse schema:Beach"
    ),
    "cultural-event": (
        "CulturalEvent Concert Exhibition TheaterEvent ShowEvent Festival ScreeningEvent DanceEvent Opera Recital "
        "CircusEvent Reading ArtistSigning VisualArtsEvent schema:TheaterEvent schema:Festival "
        "schema:ScreeningEvent schema:DanceEvent schema:MusicEvent schema:VisualArtsEvent schema:ExhibitionEvent "
        "schema:LiteraryEvent"
    ),
    "tourist-event": (
        "SocialEvent LocalAnimation TraditionalCelebration Carnival Parade SaleEvent Market BricABrac GarageSale "
        "FairOrShow SportsEvent SportsCompetition SportsDemonstration Rambling Commemoration OpenDay Harvest "
        "PilgrimageAndProcession schema:SportsEvent schema:SaleEvent schema:SocialEvent"
    ),
    "shops": "LocalProductsShop",
}.items():
    for _class in _classes.split():
        _THEMES[_class] = (_theme,)


class DatatourismeFormat:
    code = "datatourisme"
    label = "DATAtourisme"
    default_theme_mapping: Mapping[str, tuple[str, ...]] = checked_mapping(_THEMES)

    def recognises(self, data: Any) -> bool:
        return bool(_objects(data)) and any(
            isinstance(item, dict) and ("@type" in item or "@id" in item) for item in _objects(data)[:20]
        )

    def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]:
        data = json_document(content, format_label=self.label)
        objects = _objects(data)
        if objects is None or (objects and not self.recognises(data)):
            raise wrong_format(
                data,
                expected=gettext("JSON-LD objects with `@id` and `@type`: one object, a list, or a `@graph`"),
                format_code=self.code,
            )
        for position, item in enumerate(objects, start=1):
            yield self.record(item, position=position, today=today)

    def record(self, item: Any, *, position: int, today: date) -> SourceRecord | RecordSkip:
        if not isinstance(item, dict):
            return not_an_object(position)
        node = _plain(item)
        external_id = external_id_of(node.get("@id"))
        if not external_id or len(external_id) > EXTERNAL_ID_MAX:
            external_id = external_id_of(node.get("identifier")) or external_id
        if not external_id:
            return no_identifier(position)
        if len(external_id) > EXTERNAL_ID_MAX:
            return identifier_too_long(position, external_id)
        title = localised(node.get("label"))
        if not title:
            return no_title(position, external_id)
        classes = tuple(
            dict.fromkeys(name for name in (_class_name(value) for value in as_list(node.get("@type"))) if name)
        )

        place = _place(node)
        if isinstance(place, str):
            return outside_france(position, external_id, place)
        if not any(place.values()):
            return no_place(position, external_id)

        starts, ends = [], []
        for period in as_list(node.get("takesPlaceAt")) + [node]:
            if isinstance(period, dict):
                starts.extend(filter(None, (day(value) for value in as_list(period.get("startDate")))))
                ends.extend(filter(None, (day(value) for value in as_list(period.get("endDate")))))
        available_from = min(starts) if starts else None
        available_until = max(ends + starts) if ends or starts else None
        if available_until is not None and available_until < today:
            return event_over(position, external_id, available_until)

        descriptions = [
            joined((localised(block.get("shortDescription")), localised(block.get("description"))), "\n\n")
            for block in as_list(node.get("hasDescription"))
            if isinstance(block, dict)
        ]
        description = joined(descriptions, "\n\n") or localised(node.get("comment")) or title
        contacts = [
            agent
            for agent in as_list(node.get("hasContact")) + as_list(node.get("hasBookingContact"))
            if isinstance(agent, dict)
        ]
        contact = joined(
            text(value) for agent in contacts for name in ("email", "telephone") for value in as_list(agent.get(name))
        )
        url = next(
            (found for agent in contacts for value in as_list(agent.get("homepage")) if (found := web_url(value))),
            "",
        )
        is_free, price, price_details = _prices(node)
        producer = first(node.get("hasBeenCreatedBy"))
        theme_labels = [
            localised(theme.get("label")) for theme in as_list(node.get("hasTheme")) if isinstance(theme, dict)
        ]
        extra = {
            key: value
            for key, value in {
                "uri": external_id_of(node.get("@id")),
                "identifier": external_id_of(node.get("identifier")),
                "updated_at": text(first(node.get("lastUpdate"))),
                "platform_updated_at": text(first(node.get("lastUpdateDatatourisme"))),
                "themes": [label for label in theme_labels if label],
                "producer": localised(producer.get("legalName")) if isinstance(producer, dict) else "",
                "periods": len([p for p in as_list(node.get("takesPlaceAt")) if isinstance(p, dict)]),
            }.items()
            if value
        }
        return SourceRecord(
            external_id=external_id,
            title=cut(title, TITLE_MAX),
            description=description,
            categories=classes,
            available_from=available_from,
            available_until=available_until,
            is_free=is_free,
            price_amount=price,
            price_details=cut(price_details, PRICE_DETAILS_MAX),
            url=url,
            contact=cut(contact, CONTACT_MAX),
            extra=extra,
            **place,
        )


def _objects(data: Any) -> list | None:
    if isinstance(data, dict):
        if isinstance(data.get("@graph"), list):
            return data["@graph"]
        return [data] if ("@id" in data or "@type" in data) else None
    return data if isinstance(data, list) else None


def _key(key: str) -> str:
    for namespace, _prefix in _NAMESPACES:
        if key.startswith(namespace):
            return key[len(namespace) :]
    if key.startswith("@"):
        return key
    return _PREFIX.sub("", key)


def _plain(value: Any) -> Any:
    """The node with its keys' prefixes dropped and `{"@value": x}` literals replaced by x (language-tagged ones
    are kept for `localised`)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "@value" in value and "@language" not in value:
        return value["@value"]
    return {_key(key): _plain(item) for key, item in value.items()}


def _class_name(value: Any) -> str:
    name = text(value)
    if not name or name in _NOT_CLASSES:
        return ""
    for namespace, prefix in _NAMESPACES:
        if name.startswith(namespace):
            return prefix + name[len(namespace) :]
    return name[1:] if name.startswith(":") else name


def _place(node: dict) -> dict | str:
    located = first(node.get("isLocatedAt"))
    located = located if isinstance(located, dict) else {}
    address = first(located.get("address"))
    address = address if isinstance(address, dict) else {}
    city = first(address.get("hasAddressCity"))
    code = None
    if isinstance(city, dict):
        code = insee_code(city.get("insee")) or insee_code(text(city.get("@id")).rpartition(":")[2])
        city_name = localised(city.get("label"))
    else:
        code = insee_code(text(city).rpartition(":")[2]) if city else None
        city_name = ""
    geo = first(located.get("geo"))
    geo = geo if isinstance(geo, dict) else {}
    latitude, longitude, inside = coordinates(geo.get("latitude"), geo.get("longitude"))
    if not inside:
        return f"{geo.get('latitude')}, {geo.get('longitude')}"
    country = first(address.get("addressCountry"))
    country_code = text(country.get("@id") if isinstance(country, dict) else country).rpartition(":")[2].upper()
    if country_code and country_code not in ("FR", "FRA", "FRANCE", "250"):
        return country_code
    return {
        "commune_code": code,
        "postal_code": postal_code(address.get("postalCode")),
        "commune_name": text(first(address.get("addressLocality"))) or city_name or None,
        "latitude": latitude,
        "longitude": longitude,
    }


def _prices(node: dict) -> tuple[bool | None, Decimal | None, str]:
    free_flags = [value for value in as_list(node.get("isAccessibleForFree")) if isinstance(value, bool)]
    specifications = [
        specification
        for offer in as_list(node.get("offers"))
        if isinstance(offer, dict)
        for specification in as_list(offer.get("priceSpecification"))
        if isinstance(specification, dict)
    ]
    prices: list[Decimal] = []
    foreign = ""
    for specification in specifications:
        currency = text(first(specification.get("priceCurrency"))).upper() or "EUR"
        values = [amount(specification.get(name)) for name in ("minPrice", "maxPrice", "price")]
        values = [value for value in values if value is not None]
        if currency != "EUR":
            foreign = currency
            continue
        prices.extend(values)
    # price_details is the offer's text, in French like the rest of it, whatever the language running the sync.
    if free_flags and all(free_flags):
        return True, None, ""
    if not prices:
        if foreign:
            return False, None, f"Tarif en {foreign}"
        return (False if free_flags else None), None, ""
    positive = [price for price in prices if price > 0]
    if not positive:
        return True, None, ""
    low, high = min(positive), max(positive)
    details = f"{_euros(low)} €" if low == high else f"De {_euros(low)} € à {_euros(high)} €"
    if min(prices) == 0:
        details += " (gratuit pour certains publics)"
    return False, low, details


def _euros(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


DATATOURISME = DatatourismeFormat()

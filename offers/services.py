"""Writes of the offers app: reference data loaders, offers and organisations, imports and the demo catalogue."""

import datetime
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.exceptions import PermissionDenied

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.permissions import is_admin
from api.tabular import Column, read_upload
from api.text import fold_text
from offers.models import (
    TERRITORY_PATH_PREFIX,
    Audience,
    CatalogueVersion,
    Domain,
    Offer,
    OfferStatus,
    Organisation,
    Territory,
    TerritoryKind,
    Theme,
)
from offers.selectors import territory_resolve

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_GEOJSON = DATA_DIR / "creuse-communes.geojson"
DEFAULT_EPCI_NAMES = DATA_DIR / "epci-names.json"
INSEE_NAMES = DATA_DIR / "insee-names.json"
DEFAULT_TAXONOMY = DATA_DIR / "taxonomy.json"

COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
DEPARTEMENT_CODE = re.compile(r"^(\d{2}|2[AB]|97\d)$")
REGION_CODE = re.compile(r"^\d{2}$")
EPCI_CODE = re.compile(r"^\d{9}$")


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str, kind: str = "") -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if kind:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def __str__(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.by_kind.items())
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged ({kinds})"


def _ring_area_centroid(ring: list) -> tuple[float, float, float]:
    """Signed area and centroid of a closed lon/lat ring (shoelace formula).

    Planar on degrees: at the scale of a commune the distortion is far below the precision we need.
    """
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2.0
    if area == 0:
        xs = [point[0] for point in ring]
        ys = [point[1] for point in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area, cx / (6.0 * area), cy / (6.0 * area)


def polygon_centroid(geometry: dict) -> tuple[float, float]:
    """Area-weighted centroid (latitude, longitude) of a GeoJSON Polygon or MultiPolygon, holes subtracted."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    total = sx = sy = 0.0
    for rings in polygons:
        for index, ring in enumerate(rings):
            area, x, y = _ring_area_centroid(ring)
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            sx += weight * x
            sy += weight * y
    if total == 0:
        area, x, y = _ring_area_centroid(polygons[0][0])
        return y, x
    return sy / total, sx / total


def _validate_geometry(geometry) -> str | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return "geometry must be a Polygon or MultiPolygon"
    polygons = [geometry.get("coordinates")] if geometry["type"] == "Polygon" else geometry.get("coordinates")
    if not isinstance(polygons, list) or not polygons:
        return "geometry has no coordinates"
    for rings in polygons:
        if not isinstance(rings, list) or not rings:
            return "a polygon has no ring"
        for ring in rings:
            if not isinstance(ring, list) or len(ring) < 4:
                return "a ring needs at least 4 positions"
            for position in ring:
                if (
                    not isinstance(position, list | tuple)
                    or len(position) < 2
                    or not all(isinstance(value, int | float) for value in position[:2])
                ):
                    return f"invalid position {position!r}"
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    return f"position {position!r} is not a longitude/latitude pair"
    return None


def _read_json(source: Path | str | bytes | dict, what: str):
    if isinstance(source, dict):
        return source
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
        return json.loads(raw)
    except OSError as exc:
        raise InvalidInput([ErrorItem(message=f"Cannot read the {what}: {exc}.", code="unreadable")]) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InvalidInput(
            [ErrorItem(message=f"The {what} is not valid JSON: {exc}.", code="invalid_json", line=line)]
        ) from exc


@dataclass(frozen=True)
class _CommuneRow:
    code: str
    name: str
    departement: str
    region: str
    epci: str
    latitude: float
    longitude: float


def _parse_communes(data) -> list[_CommuneRow]:
    """Validate the whole FeatureCollection first; every problem is reported, by feature number and code."""
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise InvalidInput([ErrorItem(message="Expected a GeoJSON FeatureCollection with a features list.")])
    errors: list[ErrorItem] = []
    rows: list[_CommuneRow] = []
    seen: set[str] = set()
    for number, feature in enumerate(data["features"], start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            errors.append(ErrorItem(field=f"features.{number}", message="feature has no properties object"))
            continue
        code = str(properties.get("code") or "")
        where = f"features.{number} ({code or 'no code'})"
        problems = []
        if not COMMUNE_CODE.match(code):
            problems.append(("code", f"{code!r} is not an INSEE commune code"))
        elif code in seen:
            problems.append(("code", f"commune {code} appears twice"))
        if not str(properties.get("nom") or "").strip():
            problems.append(("nom", "missing commune name"))
        departement = str(properties.get("departement") or "")
        if not DEPARTEMENT_CODE.match(departement):
            problems.append(("departement", f"{departement!r} is not a département code"))
        region = str(properties.get("region") or "")
        if not REGION_CODE.match(region):
            problems.append(("region", f"{region!r} is not a region code"))
        epci = str(properties.get("epci") or "")
        if not EPCI_CODE.match(epci):
            problems.append(("epci", f"{epci!r} is not an EPCI SIREN code (9 digits)"))
        geometry_problem = _validate_geometry(feature.get("geometry"))
        if geometry_problem:
            problems.append(("geometry", geometry_problem))
        if problems:
            errors.extend(ErrorItem(field=f"{where}.{name}", message=message) for name, message in problems)
            continue
        seen.add(code)
        latitude, longitude = polygon_centroid(feature["geometry"])
        rows.append(
            _CommuneRow(
                code, properties["nom"].strip(), departement, region, epci, round(latitude, 6), round(longitude, 6)
            )
        )
    if errors:
        raise InvalidInput(errors, message=f"The GeoJSON has {len(errors)} problem(s); nothing was loaded.")
    if not rows:
        raise InvalidInput([ErrorItem(field="features", message="The FeatureCollection has no feature.")])
    return rows


def _upsert_territory(report: LoadReport, *, kind, code, name, parent, latitude, longitude) -> Territory:
    path = (parent.path if parent else "") + f"{TERRITORY_PATH_PREFIX[kind]}{code}/"
    values = {
        "name": name,
        "name_folded": fold_text(name),
        "parent": parent,
        "path": path,
        "latitude": latitude,
        "longitude": longitude,
    }
    territory = Territory.objects.filter(kind=kind, code=code).first()
    if territory is None:
        territory = Territory.objects.create(kind=kind, code=code, **values)
        report.count("created", kind)
        return territory
    changed = [name for name, value in values.items() if getattr(territory, name) != value]
    if changed:
        for attribute in changed:
            setattr(territory, attribute, values[attribute])
        territory.save(update_fields=changed)
        report.count("updated", kind)
    else:
        report.count("unchanged", kind)
    return territory


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 6)


def territories_load_geojson(
    *, source: Path | str | bytes | dict = DEFAULT_GEOJSON, epci_names: Path | str | dict | None = DEFAULT_EPCI_NAMES
) -> LoadReport:
    """Load communes (and their region, département and EPCI) from a GeoJSON FeatureCollection.

    Idempotent: territories are upserted by (kind, code). The file is validated whole before anything is
    written, and written in one transaction.
    """
    rows = _parse_communes(_read_json(source, "GeoJSON file"))
    names = _read_json(INSEE_NAMES, "INSEE names file")
    epci_name_map = _read_json(epci_names, "EPCI names file") if epci_names is not None else {}

    def group_centroids(key) -> dict[str, tuple[float, float]]:
        groups: dict[str, list[_CommuneRow]] = defaultdict(list)
        for row in rows:
            groups[key(row)].append(row)
        return {
            code: (_mean([r.latitude for r in group]), _mean([r.longitude for r in group]))
            for code, group in groups.items()
        }

    report = LoadReport()
    with transaction.atomic():
        catalogue_changed()
        parents: dict[tuple[str, str], Territory] = {}
        for code, (lat, lon) in group_centroids(lambda r: r.region).items():
            parents[("region", code)] = _upsert_territory(
                report,
                kind=TerritoryKind.REGION,
                code=code,
                name=names["regions"].get(code, f"Région {code}"),
                parent=None,
                latitude=lat,
                longitude=lon,
            )
        departement_region = {row.departement: row.region for row in rows}
        for code, (lat, lon) in group_centroids(lambda r: r.departement).items():
            parents[("departement", code)] = _upsert_territory(
                report,
                kind=TerritoryKind.DEPARTEMENT,
                code=code,
                name=names["departements"].get(code, f"Département {code}"),
                parent=parents[("region", departement_region[code])],
                latitude=lat,
                longitude=lon,
            )
        # An EPCI may straddle départements (e.g. Haute-Corrèze Communauté): its parent is the one of most communes.
        epci_departements: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            epci_departements[row.epci].append(row.departement)
        for code, (lat, lon) in group_centroids(lambda r: r.epci).items():
            main_departement = max(set(epci_departements[code]), key=epci_departements[code].count)
            parents[("epci", code)] = _upsert_territory(
                report,
                kind=TerritoryKind.EPCI,
                code=code,
                name=epci_name_map.get(code, f"EPCI {code}"),
                parent=parents[("departement", main_departement)],
                latitude=lat,
                longitude=lon,
            )
        for row in rows:
            _upsert_territory(
                report,
                kind=TerritoryKind.COMMUNE,
                code=row.code,
                name=row.name,
                parent=parents[("epci", row.epci)],
                latitude=row.latitude,
                longitude=row.longitude,
            )
    return report


def taxonomy_load(*, source: Path | str | dict = DEFAULT_TAXONOMY) -> LoadReport:
    """Load domains, themes and reference audiences; idempotent upsert by code, in one transaction."""
    data = _read_json(source, "taxonomy file")
    errors: list[ErrorItem] = []
    if not isinstance(data.get("domains"), list) or not data["domains"]:
        errors.append(ErrorItem(field="domains", message="Expected a non-empty list of domains."))
    if not isinstance(data.get("audiences", []), list):
        errors.append(ErrorItem(field="audiences", message="Expected a list of audiences."))
    theme_codes: set[str] = set()
    for d_index, domain in enumerate(data.get("domains") or []):
        for key in ("code", "label"):
            if not domain.get(key):
                errors.append(ErrorItem(field=f"domains.{d_index}.{key}", message=f"missing {key}"))
        for t_index, theme in enumerate(domain.get("themes") or []):
            for key in ("code", "label"):
                if not theme.get(key):
                    errors.append(
                        ErrorItem(field=f"domains.{d_index}.themes.{t_index}.{key}", message=f"missing {key}")
                    )
            if theme.get("code") in theme_codes:
                errors.append(
                    ErrorItem(field=f"domains.{d_index}.themes.{t_index}.code", message="theme codes must be unique")
                )
            theme_codes.add(theme.get("code"))
    if errors:
        raise InvalidInput(errors, message="The taxonomy file is invalid; nothing was loaded.")

    report = LoadReport()

    def upsert(model, lookup: dict, values: dict, kind: str):
        obj, created = model.objects.get_or_create(**lookup, defaults=values)
        if created:
            report.count("created", kind)
            return obj
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
            report.count("updated", kind)
        else:
            report.count("unchanged", kind)
        return obj

    with transaction.atomic():
        catalogue_changed()
        for d_position, domain_data in enumerate(data["domains"]):
            domain = upsert(
                Domain,
                {"code": domain_data["code"]},
                {
                    "label": domain_data["label"],
                    "description": domain_data.get("description", ""),
                    "position": d_position,
                },
                "domain",
            )
            for t_position, theme_data in enumerate(domain_data.get("themes") or []):
                upsert(
                    Theme,
                    {"code": theme_data["code"]},
                    {
                        "domain": domain,
                        "label": theme_data["label"],
                        "keywords": theme_data.get("keywords", ""),
                        "data_inclusion_codes": theme_data.get("data_inclusion", []),
                        "position": t_position,
                    },
                    "theme",
                )
        for a_position, audience_data in enumerate(data.get("audiences") or []):
            upsert(
                Audience,
                {"code": audience_data["code"]},
                {
                    "label": audience_data["label"],
                    "description": audience_data.get("description", ""),
                    "data_inclusion_codes": audience_data.get("data_inclusion", []),
                    "position": a_position,
                },
                "audience",
            )
    return report


# --------------------------------------------------------------------------------------------------------------------
# Offers and organisations: every write path (API, admin, CSV/JSON import, data·inclusion import, demo data) goes
# through `_offer_draft` + `offer_validate`, so the same rules apply everywhere.
# --------------------------------------------------------------------------------------------------------------------

OFFER_SCALAR_FIELDS = (
    "title",
    "description",
    "latitude",
    "longitude",
    "is_free",
    "price_amount",
    "price_details",
    "capacity",
    "capacity_unit",
    "available_from",
    "available_until",
    "status",
    "url",
    "contact",
    "accessibility",
    "source",
    "external_id",
)
OFFER_RELATION_FIELDS = ("domain", "organisation", "commune")
OFFER_M2M_FIELDS = ("themes", "audiences", "service_area")
OFFER_INPUT_FIELDS = OFFER_SCALAR_FIELDS + OFFER_RELATION_FIELDS + OFFER_M2M_FIELDS

_TRUE = {"true", "1", "oui", "o", "vrai", "yes", "y", "gratuit", "x"}
_FALSE = {"false", "0", "non", "n", "faux", "no", "payant"}
_STATUS_ALIASES = {
    "draft": OfferStatus.DRAFT,
    "brouillon": OfferStatus.DRAFT,
    "published": OfferStatus.PUBLISHED,
    "publiee": OfferStatus.PUBLISHED,
    "publie": OfferStatus.PUBLISHED,
    "en ligne": OfferStatus.PUBLISHED,
    "archived": OfferStatus.ARCHIVED,
    "archivee": OfferStatus.ARCHIVED,
    "archive": OfferStatus.ARCHIVED,
}
_LIST_SEPARATOR = re.compile(r"[|,;]")


class _ParseError(ValueError):
    pass


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_bool(value):
    if _blank(value) or isinstance(value, bool):
        return None if _blank(value) else value
    folded = fold_text(str(value))
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise _ParseError(f"{value!r} is not a yes/no value (use true/false or oui/non).")


def _parse_decimal(value):
    if _blank(value):
        return None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).replace("€", "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise _ParseError(f"{value!r} is not a number (e.g. 12.50 or 12,50).") from exc


def _parse_float(value):
    if _blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError as exc:
        raise _ParseError(f"{value!r} is not a number.") from exc


def _parse_int(value):
    if _blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().replace(" ", "")
    if not re.fullmatch(r"-?\d+", text):
        raise _ParseError(f"{value!r} is not a whole number.")
    return int(text)


def _parse_date(value):
    if _blank(value):
        return None
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _ParseError(f"{value!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY).")


def _parse_list(value) -> list[str]:
    if _blank(value):
        return []
    items = value if isinstance(value, list | tuple) else _LIST_SEPARATOR.split(str(value))
    return [str(item).strip() for item in items if not _blank(item)]


def _parse_status(value):
    if _blank(value):
        return None
    status = _STATUS_ALIASES.get(fold_text(str(value)))
    if status is None:
        raise _ParseError(
            f"Unknown status {value!r}: use draft, published or archived (brouillon, publiée, archivée)."
        )
    return status


def _parse_text(value):
    return "" if value is None else str(value).strip()


_PARSERS = {
    "latitude": _parse_float,
    "longitude": _parse_float,
    "is_free": _parse_bool,
    "price_amount": _parse_decimal,
    "capacity": _parse_int,
    "available_from": _parse_date,
    "available_until": _parse_date,
    "status": _parse_status,
    "themes": _parse_list,
    "audiences": _parse_list,
    "service_area": _parse_list,
}


class OfferReferences:
    """Code -> object caches for one batch of writes, so an import of 10,000 rows does not look up the same code
    10,000 times. Every lookup raises `_ParseError` with a message naming the unknown code."""

    def __init__(self):
        self.domains = {domain.code: domain for domain in Domain.objects.all()}
        self.themes = {theme.code: theme for theme in Theme.objects.all()}
        self.audiences = {audience.code: audience for audience in Audience.objects.all()}
        self._organisations: dict[str, Organisation | None] = {}
        self._territories: dict[str, Territory | None] = {}

    def domain(self, code) -> Domain:
        if isinstance(code, Domain):
            return code
        domain = self.domains.get(str(code).strip())
        if domain is None:
            raise _ParseError(f"Unknown domain {code!r}: use one of {', '.join(sorted(self.domains))}.")
        return domain

    def theme(self, code) -> Theme:
        if isinstance(code, Theme):
            return code
        theme = self.themes.get(code)
        if theme is None:
            raise _ParseError(f"Unknown theme {code!r} (see /api/v1/taxonomy/).")
        return theme

    def audience(self, code) -> Audience:
        if isinstance(code, Audience):
            return code
        audience = self.audiences.get(code)
        if audience is None:
            raise _ParseError(f"Unknown audience {code!r}: use one of {', '.join(sorted(self.audiences))}.")
        return audience

    def organisation(self, slug) -> Organisation:
        if isinstance(slug, Organisation):
            return slug
        slug = str(slug).strip()
        if slug not in self._organisations:
            self._organisations[slug] = Organisation.objects.filter(slug=slug).first()
        organisation = self._organisations[slug]
        if organisation is None:
            raise _ParseError(f"No organisation has the slug {slug!r}.")
        return organisation

    def territory(self, code) -> Territory:
        if isinstance(code, Territory):
            return code
        code = str(code).strip()
        if code not in self._territories:
            try:
                self._territories[code] = territory_resolve(code=code)
            except InvalidInput as exc:
                self._territories[code] = None
                self._territories[f"!{code}"] = exc.errors[0].message
        territory = self._territories[code]
        if territory is None:
            raise _ParseError(self._territories[f"!{code}"])
        return territory


@dataclass
class OfferDraft:
    """An offer with its changes applied but not saved, and its many-to-many relations."""

    offer: Offer
    themes: list[Theme]
    audiences: list[Audience]
    service_area: list[Territory]
    changed: bool = True


def _validation_messages(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(message) for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"__all__": list(exc.messages)}


def offer_validate(
    *, offer: Offer, themes: list[Theme], service_area: list[Territory] | None = None
) -> list[Territory]:
    """The rules of an offer, for every write path (API, admin, imports, demo data).

    Fills the defaults (location = the commune's centroid, service area = the commune), then checks: the commune
    is a commune, the coordinates are in France, the themes belong to the domain, the dates are ordered, capacity
    and price are coherent (Offer.clean), the (source, external_id) pair is free. Raises Django's ValidationError
    {field: [messages]}; returns the service area to store.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    commune = offer.commune if offer.commune_id else None
    if commune is not None and commune.kind != TerritoryKind.COMMUNE:
        errors["commune"].append(f"{commune.name} is a {commune.get_kind_display().lower()}, not a commune.")
        commune = None
    if commune is not None and (offer.latitude is None or offer.longitude is None):
        if offer.latitude is None and offer.longitude is None:
            offer.latitude, offer.longitude = commune.latitude, commune.longitude
        else:
            errors["latitude"].append("Give both latitude and longitude, or neither (the commune's centre is used).")
    service_area = list(service_area or [])
    if not service_area and commune is not None:
        service_area = [commune]
    if not themes:
        errors["themes"].append("An offer needs at least one theme.")
    if offer.domain_id:
        for theme in themes:
            if theme.domain_id != offer.domain_id:
                errors["themes"].append(
                    f"The theme {theme.code!r} does not belong to the domain {offer.domain.code!r}."
                )
    try:
        # Foreign keys were resolved from the database already; re-checking them would cost a query each.
        offer.full_clean(exclude=["domain", "organisation", "commune", "search_text"])
    except DjangoValidationError as exc:
        for field, messages in _validation_messages(exc).items():
            errors[field].extend(messages)
    if errors:
        raise DjangoValidationError(dict(errors))
    return service_area


def offer_search_text(*, offer: Offer, themes: list[Theme]) -> str:
    """What `q` searches on SQLite and what the PostgreSQL tsvector indexes besides the title: folded text."""
    parts = [offer.title, offer.description]
    for theme in themes:
        parts.extend((theme.label, theme.keywords))
    return fold_text(" ".join(part for part in parts if part))


def _user_organisation_ids(user) -> set[int]:
    if not (user and user.is_authenticated):
        return set()
    cached = getattr(user, "_ancrage_organisation_ids", None)
    if cached is None:
        cached = set(
            Organisation.editors.through.objects.filter(user_id=user.pk).values_list("organisation_id", flat=True)
        )
        user._ancrage_organisation_ids = cached
    return cached


def offer_can_edit(*, user, organisation_id: int | None) -> bool:
    """Admins edit every offer; editors those of the organisations they belong to; nobody else any."""
    if user is None:  # management commands and loaders run as the system
        return True
    if is_admin(user):
        return True
    return organisation_id is not None and organisation_id in _user_organisation_ids(user)


def _offer_draft(
    *,
    data: dict,
    offer: Offer | None,
    refs: OfferReferences,
    default_organisation: Organisation | None = None,
    prefix: str = "",
) -> tuple[OfferDraft | None, list[ErrorItem]]:
    """Parse raw values (API JSON, CSV text, mapped data·inclusion records), resolve codes and apply every rule.

    `data` holds only the fields to set (a partial update leaves the others as they are). Returns the draft, or
    None and every problem found (field by field).
    """
    errors: list[ErrorItem] = []

    def error(field: str, message: str, code: str = "invalid") -> None:
        errors.append(ErrorItem(field=f"{prefix}{field}", message=message, code=code))

    parsed: dict = {}
    for name, raw in data.items():
        if name not in OFFER_INPUT_FIELDS:
            continue
        try:
            parsed[name] = _PARSERS.get(name, _parse_text)(raw)
        except _ParseError as exc:
            error(name, str(exc))

    is_new = offer is None
    if is_new:
        offer = Offer()
        themes, audiences, service_area = [], [], []
    else:
        themes = list(offer.themes.all())
        audiences = list(offer.audiences.all())
        service_area = list(offer.service_area.all())
    before = {
        name: getattr(offer, name) for name in OFFER_SCALAR_FIELDS + ("domain_id", "organisation_id", "commune_id")
    }
    before_m2m = ({t.pk for t in themes}, {a.pk for a in audiences}, {s.pk for s in service_area})

    for name in OFFER_SCALAR_FIELDS:
        if name not in parsed:
            continue
        value = parsed[name]
        if name == "is_free" and value is None:
            value = False
        if name == "status" and value is None:
            value = OfferStatus.DRAFT if is_new else offer.status
        if name == "source" and not value:
            value = "manual"
        if value is None and name in (
            "title",
            "description",
            "price_details",
            "capacity_unit",
            "url",
            "contact",
            "accessibility",
            "external_id",
        ):
            value = ""
        setattr(offer, name, value)

    for name, resolve in (("domain", refs.domain), ("commune", refs.territory), ("organisation", refs.organisation)):
        value = parsed.get(name)
        if name not in parsed or _blank(value):
            if name == "organisation" and default_organisation is not None and not offer.organisation_id:
                offer.organisation = default_organisation
            elif is_new or name in parsed:
                error(name, "This field is required.", "required")
            continue
        try:
            setattr(offer, name, resolve(value))
        except _ParseError as exc:
            error(name, str(exc), "not_found")

    commune_changed = "commune" in parsed and not is_new and offer.commune_id != before["commune_id"]
    if commune_changed and "latitude" not in parsed and "longitude" not in parsed:
        offer.latitude = offer.longitude = None  # moved to another commune: its centroid, unless coordinates given
    for name, resolve in (("themes", refs.theme), ("audiences", refs.audience), ("service_area", refs.territory)):
        if name not in parsed:
            continue
        resolved = []
        for index, code in enumerate(parsed[name]):
            try:
                item = resolve(code)
            except _ParseError as exc:
                error(f"{name}.{index}", str(exc), "not_found")
                continue
            if item not in resolved:
                resolved.append(item)
        if name == "themes":
            themes = resolved
        elif name == "audiences":
            audiences = resolved
        else:
            service_area = resolved
    if commune_changed and "service_area" not in parsed and [s.pk for s in service_area] == [before["commune_id"]]:
        service_area = []  # the default follows the commune

    if any(error.field in (f"{prefix}domain", f"{prefix}commune") for error in errors):
        # The cross-field rules depend on them; still report every problem of the other fields.
        exclude = ["domain", "organisation", "commune", "search_text"]
        exclude += [name for name in ("latitude", "longitude") if getattr(offer, name) is None]
        try:
            offer.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except DjangoValidationError as exc:
            for name, messages in _validation_messages(exc).items():
                for message in messages:
                    error("" if name == "__all__" else name, message)
        return None, errors
    try:
        service_area = offer_validate(offer=offer, themes=themes, service_area=service_area)
    except DjangoValidationError as exc:
        for field, messages in _validation_messages(exc).items():
            for message in messages:
                error("" if field == "__all__" else field, message)
    if errors:
        return None, errors
    after = {name: getattr(offer, name) for name in before}
    after_m2m = ({t.pk for t in themes}, {a.pk for a in audiences}, {s.pk for s in service_area})
    changed = is_new or after != before or after_m2m != before_m2m
    return OfferDraft(offer=offer, themes=themes, audiences=audiences, service_area=service_area, changed=changed), []


def catalogue_changed() -> None:
    """Bump the catalogue version (inside the caller's transaction, so a rolled-back write bumps nothing): list
    ETags and cached list counts are keyed on it. Every write to offers, organisations or reference data calls it."""
    now = timezone.now()
    if not CatalogueVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=now):
        CatalogueVersion.objects.update_or_create(pk=1, defaults={"version": 1, "changed_at": now})


def _offer_save(draft: OfferDraft) -> Offer:
    offer = draft.offer
    offer.search_text = offer_search_text(offer=offer, themes=draft.themes)
    offer.save()
    offer.themes.set(draft.themes)
    offer.audiences.set(draft.audiences)
    offer.service_area.set(draft.service_area)
    catalogue_changed()
    return offer


def offer_create(*, user, data: dict) -> Offer:
    """Create an offer for one of the user's organisations (any organisation for admins)."""
    refs = OfferReferences()
    draft, errors = _offer_draft(data=data, offer=None, refs=refs)
    if errors:
        raise InvalidInput([ErrorItem(field=e.field or None, message=e.message, code=e.code) for e in errors])
    if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
        raise PermissionDenied("You can only create offers for an organisation you are an editor of.")
    with transaction.atomic():
        return _offer_save(draft)


def offer_update(*, user, offer: Offer, data: dict) -> Offer:
    """Change an offer; editors cannot move it to an organisation they do not belong to."""
    if not offer_can_edit(user=user, organisation_id=offer.organisation_id):
        raise PermissionDenied("You can only change the offers of the organisations you are an editor of.")
    draft, errors = _offer_draft(data=data, offer=offer, refs=OfferReferences())
    if errors:
        raise InvalidInput([ErrorItem(field=e.field or None, message=e.message, code=e.code) for e in errors])
    if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
        raise PermissionDenied("You cannot move an offer to an organisation you are not an editor of.")
    with transaction.atomic():
        return _offer_save(draft) if draft.changed else draft.offer


def offer_delete(*, user, offer: Offer) -> None:
    if not offer_can_edit(user=user, organisation_id=offer.organisation_id):
        raise PermissionDenied("You can only delete the offers of the organisations you are an editor of.")
    with transaction.atomic():
        offer.delete()
        catalogue_changed()


def offer_search_text_refresh(*, offer: Offer) -> None:
    """Recompute the search text after its themes changed outside `_offer_save` (the admin saves them last)."""
    search_text = offer_search_text(offer=offer, themes=list(offer.themes.all()))
    if search_text != offer.search_text:
        Offer.objects.filter(pk=offer.pk).update(search_text=search_text)
        offer.search_text = search_text
        catalogue_changed()


# Organisations ------------------------------------------------------------------------------------------------------

ORGANISATION_FIELDS = ("name", "slug", "kind", "territory", "email", "phone", "website")
ORGANISATION_CONTACT_FIELDS = ("email", "phone", "website")


def organisation_save(*, user, data: dict, organisation: Organisation | None = None) -> Organisation:
    """Create or change an organisation. Admins change everything; an editor of the organisation may change its
    contact fields (email, phone, website) only, since they are the ones who see them go stale."""
    if not is_admin(user):
        allowed = organisation is not None and offer_can_edit(user=user, organisation_id=organisation.pk)
        if not allowed:
            raise PermissionDenied("Only administrators can create organisations or change other organisations.")
        forbidden = sorted(set(data) - set(ORGANISATION_CONTACT_FIELDS))
        if forbidden:
            raise PermissionDenied(
                f"Editors can change the contact fields (email, phone, website) only, not {', '.join(forbidden)}."
            )
    organisation = organisation or Organisation()
    errors: list[ErrorItem] = []
    for name, value in data.items():
        if name not in ORGANISATION_FIELDS:
            continue
        if name == "territory":
            try:
                value = territory_resolve(code=value.qualified_code if isinstance(value, Territory) else value)
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
        setattr(organisation, name, value)
    if not organisation.slug and organisation.name:
        organisation.slug = slugify(organisation.name)[:80]
    if errors:
        raise InvalidInput(errors)
    organisation.full_clean(exclude=["territory"] if organisation.territory_id else None)
    with transaction.atomic():
        organisation.save()
        catalogue_changed()  # offers show their organisation's name
    return organisation


def organisation_delete(*, user, organisation: Organisation) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only administrators can delete organisations.")
    count = organisation.offers.count()
    if count:
        raise Conflict(
            f"The organisation {organisation.slug!r} still has {count} offer(s); delete or move them first."
        )
    with transaction.atomic():
        organisation.delete()
        catalogue_changed()


# Imports ------------------------------------------------------------------------------------------------------------

OFFER_IMPORT_COLUMNS = [
    Column(
        "external_id",
        ("identifiant", "id", "id externe", "référence"),
        required=True,
        help="Your stable identifier of the offer: re-importing the same (source, identifiant) updates it.",
    ),
    Column("title", ("titre", "nom", "intitulé"), required=True, help="Title, 200 characters at most."),
    Column("description", ("descriptif", "présentation"), required=True, help="Free French text."),
    Column("domain", ("domaine",), required=True, help="Domain code: jobs, housing, culture, tourism, daily-life."),
    Column(
        "themes",
        ("thèmes", "thème", "theme"),
        required=True,
        help="Theme codes of that domain, separated by `|` or `,` (e.g. `childcare|schools`).",
    ),
    Column(
        "organisation",
        ("organisme", "structure", "fournisseur"),
        help="Slug of the providing organisation (optional when a default organisation is given).",
    ),
    Column("commune", ("code commune", "code insee", "insee"), required=True, help="INSEE code of the commune."),
    Column("latitude", ("lat",), help="WGS 84; default: the commune's centre. `46.17` or `46,17`."),
    Column("longitude", ("lon", "lng"), help="WGS 84; default: the commune's centre."),
    Column(
        "service_area",
        ("zone", "zone desservie", "zone d'intervention", "territoires"),
        help="Territory codes served (commune INSEE, EPCI SIREN, département), separated by `|`; default: "
        "the commune.",
    ),
    Column(
        "audiences", ("publics", "public", "publics cibles"), help="Audience codes separated by `|`; empty = everyone."
    ),
    Column("is_free", ("gratuit",), help="oui/non, true/false."),
    Column("price_amount", ("prix", "tarif", "montant"), help="Price in euros (`12,50`)."),
    Column(
        "price_details",
        ("détails du prix", "précisions tarif", "conditions tarifaires"),
        help="Price conditions in words.",
    ),
    Column("capacity", ("capacité",), help="Whole number ≥ 0 (3 dwellings, 12 places…)."),
    Column("capacity_unit", ("unité", "unité de capacité"), help="What the capacity counts (logements, places…)."),
    Column("available_from", ("date de début", "début", "disponible à partir du"), help="YYYY-MM-DD or DD/MM/YYYY."),
    Column("available_until", ("date de fin", "fin", "disponible jusqu'au"), help="YYYY-MM-DD or DD/MM/YYYY."),
    Column("status", ("statut",), help="draft/brouillon, published/publiée, archived/archivée; default draft."),
    Column("url", ("lien", "site", "site web"), help="Web page of the offer."),
    Column("contact", ("contact",), help="Phone, e-mail or person to contact."),
    Column("accessibility", ("accessibilité",), help="Accessibility notes."),
]

IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 10_000
IMPORT_FORMATS = ("tabular", "data-inclusion")
DEMO_DIR = DATA_DIR / "demo"


@dataclass
class OfferImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    total: int = 0
    warnings: list[ErrorItem] = field(default_factory=list)

    def __str__(self) -> str:
        prefix = "Dry run, nothing written: would have " if self.dry_run else ""
        return (
            f"{prefix}{self.created} created, {self.updated} updated, {self.unchanged} unchanged ({self.total} rows)"
        )


ProgressCallback = Callable[[int, int], None]


def _offers_upsert(
    *,
    records: list[tuple[int, dict]],
    user,
    dry_run: bool,
    default_organisation: Organisation | None = None,
    refs: OfferReferences | None = None,
    errors: list[ErrorItem] | None = None,
    progress: ProgressCallback | None = None,
) -> OfferImportReport:
    """Validate every record (line, values with `source` and `external_id`) with the rules of the API, then write
    them all in one transaction, or nothing: any problem raises InvalidInput listing every bad line and field."""
    refs = refs or OfferReferences()
    errors = list(errors or [])
    keys = [(values.get("source") or "manual", str(values.get("external_id") or "").strip()) for _, values in records]
    existing: dict[tuple[str, str], Offer] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in keys:
        if external_id:
            by_source[source].append(external_id)
    for source, external_ids in by_source.items():
        for start in range(0, len(external_ids), 500):
            for offer in Offer.objects.filter(
                source=source, external_id__in=external_ids[start : start + 500]
            ).prefetch_related("themes", "audiences", "service_area"):
                existing[(offer.source, offer.external_id)] = offer

    report = OfferImportReport(dry_run=dry_run, total=len(records))
    drafts: list[OfferDraft] = []
    seen: dict[tuple[str, str], int] = {}
    total = len(records) * (1 if dry_run else 2)
    for index, ((line, values), key) in enumerate(zip(records, keys, strict=True), start=1):
        if progress:
            progress(index, total)
        if not key[1]:
            errors.append(
                ErrorItem(
                    line=line,
                    field="external_id",
                    code="required",
                    message="Every imported offer needs an identifier (external_id).",
                )
            )
            continue
        if key in seen:
            errors.append(
                ErrorItem(
                    line=line,
                    field="external_id",
                    code="duplicate",
                    message=f"The identifier {key[1]!r} is already used on line {seen[key]}.",
                )
            )
            continue
        seen[key] = line
        offer = existing.get(key)
        if offer is not None and not offer_can_edit(user=user, organisation_id=offer.organisation_id):
            errors.append(
                ErrorItem(
                    line=line,
                    field="external_id",
                    code="permission_denied",
                    message=f"The offer {key[1]!r} belongs to an organisation you are not an editor of.",
                )
            )
            continue
        draft, row_errors = _offer_draft(
            data=values, offer=offer, refs=refs, default_organisation=default_organisation
        )
        if row_errors:
            errors.extend(
                ErrorItem(line=line, field=e.field or None, code=e.code, message=e.message) for e in row_errors
            )
            continue
        if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
            errors.append(
                ErrorItem(
                    line=line,
                    field="organisation",
                    code="permission_denied",
                    message=f"You are not an editor of the organisation {draft.offer.organisation.slug!r}.",
                )
            )
            continue
        if offer is None:
            report.created += 1
        elif draft.changed:
            report.updated += 1
        else:
            report.unchanged += 1
        drafts.append(draft)
    if errors:
        bad_lines = len({error.line for error in errors})
        raise InvalidInput(
            sorted(errors, key=lambda e: e.line or 0),
            message=f"{len(errors)} problem(s) on {bad_lines} record(s); nothing was written.",
        )
    if dry_run:
        return report
    with transaction.atomic():
        for index, draft in enumerate(drafts, start=len(records) + 1):
            if draft.changed:
                _offer_save(draft)
            if progress:
                progress(index, total)
    return report


def offers_import(
    *,
    content: bytes,
    user=None,
    filename: str | None = None,
    content_type: str | None = None,
    source: str = "import",
    dry_run: bool = False,
    organisation: Organisation | None = None,
    format: str = "tabular",
    max_bytes: int = IMPORT_MAX_BYTES,
    max_rows: int = IMPORT_MAX_ROWS,
    progress: ProgressCallback | None = None,
) -> OfferImportReport:
    """Import offers from a CSV/JSON file (OFFER_IMPORT_COLUMNS, French headers accepted) or a data·inclusion
    services file (format="data-inclusion"); upsert by (source, external_id); all or nothing.

    `user` None = the system (management command). `organisation` is the default organisation of rows that do not
    name one (required for data·inclusion, whose services name structures we do not know).
    """
    if format not in IMPORT_FORMATS:
        raise InvalidInput(
            [ErrorItem(field="format", message=f"Unknown format {format!r}: use {' or '.join(IMPORT_FORMATS)}.")]
        )
    source = slugify(source or "")
    if format == "tabular" and not source:
        raise InvalidInput([ErrorItem(field="source", message="The source must be a short name such as `cd23`.")])
    if organisation is not None and not offer_can_edit(user=user, organisation_id=organisation.pk):
        raise PermissionDenied(f"You are not an editor of the organisation {organisation.slug!r}.")
    if user is not None and not is_admin(user) and not _user_organisation_ids(user):
        raise PermissionDenied("Importing offers is for editors of an organisation and administrators.")
    refs = OfferReferences()
    if format == "data-inclusion":
        rows = read_upload(
            content=content,
            columns=data_inclusion_columns(),
            filename=filename or "services.json",
            content_type=content_type,
            max_bytes=max_bytes,
            max_rows=max_rows,
            list_key="items",
        )
        if organisation is None:
            raise InvalidInput(
                [
                    ErrorItem(
                        field="organisation",
                        code="required",
                        message="A data·inclusion import needs the organisation (slug) that will hold the services.",
                    )
                ]
            )
        records, errors = [], []
        for row in rows:
            values, row_errors = data_inclusion_service_map(values=row.values, refs=refs)
            if row_errors:
                errors.extend(
                    ErrorItem(line=row.line, field=e.field, code=e.code, message=e.message) for e in row_errors
                )
            else:
                records.append((row.line, values))
        return _offers_upsert(
            records=records,
            user=user,
            dry_run=dry_run,
            default_organisation=organisation,
            refs=refs,
            errors=errors,
            progress=progress,
        )
    rows = read_upload(
        content=content,
        columns=OFFER_IMPORT_COLUMNS,
        filename=filename,
        content_type=content_type,
        max_bytes=max_bytes,
        max_rows=max_rows,
        list_key="offers",
    )
    records = [(row.line, {**row.values, "source": source}) for row in rows]
    return _offers_upsert(
        records=records, user=user, dry_run=dry_run, default_organisation=organisation, refs=refs, progress=progress
    )


# data·inclusion -----------------------------------------------------------------------------------------------------

DATA_INCLUSION_SCHEMA = DATA_DIR / "taxonomies" / "data-inclusion-service.schema.json"
# Older versions of the schema split the description in two; accepted so that older dumps import too.
_DATA_INCLUSION_LEGACY_FIELDS = ("presentation_resume", "presentation_detail", "prise_rdv", "structure")


def data_inclusion_columns() -> list[Column]:
    schema = json.loads(DATA_INCLUSION_SCHEMA.read_text(encoding="utf-8"))
    required = set(schema.get("required", ()))
    names = list(schema["properties"]) + [
        name for name in _DATA_INCLUSION_LEGACY_FIELDS if name not in schema["properties"]
    ]
    return [Column(name, required=name in required and name in ("id", "source", "nom")) for name in names]


def data_inclusion_service_map(*, values: dict, refs: OfferReferences) -> tuple[dict, list[ErrorItem]]:
    """One data·inclusion service -> the values of an offer (the same input the API and CSV import take).

    thematiques -> themes through Theme.data_inclusion_codes (the domain is the one most of them map to; themes
    of other domains are dropped); publics -> audiences through Audience.data_inclusion_codes ("tous-publics" or
    none = everyone); frais -> is_free; zone_eligibilite -> service area; id + source -> external_id + source.
    """
    errors: list[ErrorItem] = []
    theme_by_code: dict[str, list[Theme]] = defaultdict(list)
    for theme in refs.themes.values():
        for code in theme.data_inclusion_codes or []:
            theme_by_code[code].append(theme)
    audience_by_code: dict[str, list[Audience]] = defaultdict(list)
    for audience in refs.audiences.values():
        for code in audience.data_inclusion_codes or []:
            audience_by_code[code].append(audience)

    thematiques = _parse_list(values.get("thematiques"))
    themes: list[Theme] = []
    for code in thematiques:
        for theme in theme_by_code.get(code, []):
            if theme not in themes:
                themes.append(theme)
    if not themes:
        listed = ", ".join(thematiques) or "none"
        errors.append(
            ErrorItem(
                field="thematiques",
                code="unmapped",
                message=f"No thématique of this service maps to our taxonomy ({listed}).",
            )
        )
        domain = None
    else:
        counts: dict[int, int] = defaultdict(int)
        for theme in themes:
            counts[theme.domain_id] += 1
        domain_id = max(counts, key=lambda key: (counts[key], -[t.domain_id for t in themes].index(key)))
        themes = [theme for theme in themes if theme.domain_id == domain_id]
        domain = themes[0].domain

    audiences: list[Audience] = []
    for code in _parse_list(values.get("publics")):
        if code == "tous-publics":
            audiences = []
            break
        for audience in audience_by_code.get(code, []):
            if audience not in audiences:
                audiences.append(audience)

    frais = values.get("frais")
    details = _parse_text(values.get("frais_precisions"))
    if isinstance(frais, list):  # older schema: a list of fees
        frais = "gratuit" if frais == ["gratuit"] else ("payant" if frais else None)
    is_free = frais == "gratuit"
    if not is_free and not details:
        details = "Payant" if frais == "payant" else "Tarif non précisé par la source"

    description = "\n\n".join(
        part
        for part in (
            _parse_text(values.get(name)) for name in ("description", "presentation_resume", "presentation_detail")
        )
        if part
    )
    contact = " · ".join(
        part
        for part in (_parse_text(values.get(name)) for name in ("contact_nom_prenom", "telephone", "courriel"))
        if part
    )
    accessibility = _parse_text(values.get("conditions_acces"))
    mapped = {
        "source": slugify(str(values.get("source") or "")) or "data-inclusion",
        "external_id": _parse_text(values.get("id")),
        "title": _parse_text(values.get("nom")),
        "description": description or _parse_text(values.get("nom")),
        "domain": domain.code if domain else None,
        "themes": [theme.code for theme in themes],
        "audiences": [audience.code for audience in audiences],
        "commune": values.get("code_insee"),
        "latitude": values.get("latitude"),
        "longitude": values.get("longitude"),
        "service_area": _parse_list(values.get("zone_eligibilite")),
        "is_free": is_free,
        "price_details": "" if is_free else details[:200],
        "url": _parse_text(values.get("lien_source") or values.get("lien_mobilisation")),
        "contact": contact[:300],
        "accessibility": accessibility,
        "status": OfferStatus.PUBLISHED,
    }
    if _blank(mapped["commune"]):
        errors.append(
            ErrorItem(
                field="code_insee",
                code="required",
                message="The service has no code_insee: we cannot place it in a commune.",
            )
        )
    return mapped, errors


# Demo catalogue -----------------------------------------------------------------------------------------------------

DEMO_EDITOR_ORGANISATION_TERRITORY = "200034825"  # the Grand Guéret agglomeration


def offers_demo_load(
    *,
    organisations_path: Path | str = DEMO_DIR / "organisations.json",
    offers_path: Path | str = DEMO_DIR / "offers.json",
    today: datetime.date | None = None,
    editor_username: str | None = None,
) -> OfferImportReport:
    """Load the demo organisations (upsert by slug = key) and offers (upsert by source "demo" + external_id, with
    the validation of every import); idempotent. Dates are day offsets from `today` so the demo never expires.

    `editor_username`: that user becomes an editor of the Grand Guéret agglomeration's organisation (or of the
    first demo organisation when none is placed there).
    """
    today = today or timezone.localdate()
    organisations = _read_json(Path(organisations_path), "demo organisations file")
    offers = _read_json(Path(offers_path), "demo offers file")
    errors: list[ErrorItem] = []
    with transaction.atomic():
        catalogue_changed()
        keys = []
        for number, item in enumerate(organisations, start=1):
            slug = item.get("key")
            try:
                territory = territory_resolve(code=str(item.get("territory", "")), field="territory")
            except InvalidInput as exc:
                errors.extend(
                    ErrorItem(line=number, field=e.field, code=e.code, message=e.message) for e in exc.errors
                )
                continue
            values = {
                "name": item.get("name", ""),
                "kind": item.get("kind", ""),
                "territory": territory,
                "email": item.get("email") or "",
                "phone": item.get("phone") or "",
                "website": item.get("website") or "",
            }
            organisation = Organisation.objects.filter(slug=slug).first() or Organisation(slug=slug)
            for name, value in values.items():
                setattr(organisation, name, value)
            try:
                organisation.full_clean(exclude=["territory"])
            except DjangoValidationError as exc:
                for name, messages in _validation_messages(exc).items():
                    errors.extend(ErrorItem(line=number, field=name, message=message) for message in messages)
                continue
            organisation.save()
            keys.append(slug)
        if errors:
            raise InvalidInput(errors, message="The demo organisations file is invalid; nothing was loaded.")

        def offset(days):
            return None if days is None else today + datetime.timedelta(days=int(days))

        records = []
        for number, item in enumerate(offers, start=1):
            values = {name: item[name] for name in OFFER_INPUT_FIELDS if name in item}
            values.update(
                source="demo",
                available_from=offset(item.get("available_from_days")),
                available_until=offset(item.get("available_until_days")),
            )
            records.append((number, values))
        report = _offers_upsert(records=records, user=None, dry_run=False)
        if editor_username:
            _demo_editor_attach(username=editor_username, slugs=keys)
    return report


def _demo_editor_attach(*, username: str, slugs: list[str]) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not slugs:
        return
    candidates = Organisation.objects.filter(slug__in=slugs)
    organisation = (
        candidates.filter(territory__kind=TerritoryKind.EPCI, territory__code=DEMO_EDITOR_ORGANISATION_TERRITORY)
        .order_by("slug")
        .first()
        or candidates.filter(territory__path__startswith=f"r75/d23/e{DEMO_EDITOR_ORGANISATION_TERRITORY}/")
        .order_by("slug")
        .first()
        or candidates.order_by("slug").first()
    )
    organisation.editors.add(user)

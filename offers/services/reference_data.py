"""The one writer of reference data (territories, taxonomy, audiences) and of the catalogue version.

Every write here, like every write of offers and organisations, bumps the catalogue version in its transaction: the
offer index, cached list counts and ETags are keyed on it, so a new audience or a renamed theme is seen at once.
"""

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.model_update import model_full_clean, model_update
from api.text import fold_text
from offers.models import Audience, CatalogueVersion, Domain, Territory, TerritoryKind, Theme
from offers.territory_paths import path_child
from offers.validators import data_inclusion_codes_check

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_GEOJSON = DATA_DIR / "creuse-communes.geojson"
DEFAULT_EPCI_NAMES = DATA_DIR / "epci-names.json"
INSEE_NAMES = DATA_DIR / "insee-names.json"
DEFAULT_TAXONOMY = DATA_DIR / "taxonomy.json"

COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
DEPARTEMENT_CODE = re.compile(r"^(\d{2}|2[AB]|97\d)$")
REGION_CODE = re.compile(r"^\d{2}$")
EPCI_CODE = re.compile(r"^\d{9}$")


def catalogue_changed(*, public: bool = True) -> None:
    """Bump the catalogue version (inside the caller's transaction, so a rolled-back write bumps nothing): list
    ETags, cached list counts and the offer index are keyed on it. Every write to offers, organisations or
    reference data calls it; `public=False` when only drafts or archived offers changed, which must not move the
    public version that anonymous ETags key on (outsiders would see when a hidden draft is edited)."""
    now = timezone.now()
    changes = {"version": F("version") + 1, "changed_at": now}
    if public:
        changes.update(public_version=F("public_version") + 1, public_changed_at=now)
    if not CatalogueVersion.objects.filter(pk=1).update(**changes):
        CatalogueVersion.objects.update_or_create(
            pk=1, defaults={"version": 1, "changed_at": now, "public_version": 1, "public_changed_at": now}
        )


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


def read_json(source: Path | str | bytes | dict, what: str):
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


def _upsert(report: LoadReport, model: type[models.Model], *, lookup: dict, values: dict, kind: str) -> models.Model:
    """Create or update the row of `model` matching `lookup`, counted by outcome and kind in `report`."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        report.count("created", kind)
        return model.objects.create(**lookup, **values)
    _, changed = model_update(instance=obj, data=values)
    report.count("updated" if changed else "unchanged", kind)
    return obj


def _upsert_territory(report: LoadReport, *, kind, code, name, parent, latitude, longitude) -> Territory:
    values = {
        "name": name,
        "name_folded": fold_text(name),
        "parent": parent,
        "path": path_child(parent.path if parent else None, kind=kind, code=code),
        "latitude": latitude,
        "longitude": longitude,
    }
    return _upsert(report, Territory, lookup={"kind": kind, "code": code}, values=values, kind=kind)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 6)


def territories_load_geojson(
    *, source: Path | str | bytes | dict = DEFAULT_GEOJSON, epci_names: Path | str | dict | None = DEFAULT_EPCI_NAMES
) -> LoadReport:
    """Load communes (and their region, département and EPCI) from a GeoJSON FeatureCollection.

    Idempotent: territories are upserted by (kind, code). The file is validated whole before anything is
    written, and written in one transaction.
    """
    rows = _parse_communes(read_json(source, "GeoJSON file"))
    names = read_json(INSEE_NAMES, "INSEE names file")
    epci_name_map = read_json(epci_names, "EPCI names file") if epci_names is not None else {}

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


def _data_inclusion_problems(value, *, model: type[models.Model], field: str) -> list[ErrorItem]:
    """The model's own check of data·inclusion codes (the API and the admin run it too), as errors of a file."""
    try:
        data_inclusion_codes_check(value, model=model)
    except DjangoValidationError as exc:
        return [ErrorItem(field=f"{field}.data_inclusion", message=message) for message in exc.messages]
    return []


def taxonomy_load(*, source: Path | str | dict = DEFAULT_TAXONOMY) -> LoadReport:
    """Load domains, themes and reference audiences; idempotent upsert by code, in one transaction."""
    data = read_json(source, "taxonomy file")
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
            errors += _data_inclusion_problems(
                theme.get("data_inclusion", []), model=Theme, field=f"domains.{d_index}.themes.{t_index}"
            )
    for a_index, audience in enumerate(data["audiences"] if isinstance(data.get("audiences"), list) else []):
        if not isinstance(audience, dict):
            errors.append(ErrorItem(field=f"audiences.{a_index}", message="Expected an object (code, label...)."))
            continue
        for key in ("code", "label"):
            if not audience.get(key):
                errors.append(ErrorItem(field=f"audiences.{a_index}.{key}", message=f"missing {key}"))
        errors += _data_inclusion_problems(
            audience.get("data_inclusion", []), model=Audience, field=f"audiences.{a_index}"
        )
    if errors:
        raise InvalidInput(errors, message="The taxonomy file is invalid; nothing was loaded.")

    report = LoadReport()

    with transaction.atomic():
        catalogue_changed()
        for d_position, domain_data in enumerate(data["domains"]):
            domain = _upsert(
                report,
                Domain,
                lookup={"code": domain_data["code"]},
                values={
                    "label": domain_data["label"],
                    "description": domain_data.get("description", ""),
                    "position": d_position,
                },
                kind="domain",
            )
            for t_position, theme_data in enumerate(domain_data.get("themes") or []):
                _upsert(
                    report,
                    Theme,
                    lookup={"code": theme_data["code"]},
                    values={
                        "domain": domain,
                        "label": theme_data["label"],
                        "keywords": theme_data.get("keywords", ""),
                        "data_inclusion_codes": theme_data.get("data_inclusion", []),
                        "position": t_position,
                    },
                    kind="theme",
                )
        for a_position, audience_data in enumerate(data.get("audiences") or []):
            _upsert(
                report,
                Audience,
                lookup={"code": audience_data["code"]},
                values={
                    "label": audience_data["label"],
                    "description": audience_data.get("description", ""),
                    "data_inclusion_codes": audience_data.get("data_inclusion", []),
                    "position": a_position,
                },
                kind="audience",
            )
    return report


# Audiences: reference data that teams extend through the API, so they are written here with the taxonomy. ---------


@transaction.atomic
def audience_create(
    *, code: str, label: str, description: str = "", data_inclusion_codes: list | None = None, position: int = 0
) -> Audience:
    audience = Audience(
        code=code,
        label=label,
        description=description,
        data_inclusion_codes=[] if data_inclusion_codes is None else data_inclusion_codes,
        position=position,
    )
    model_full_clean(instance=audience)
    audience.save()
    catalogue_changed()
    return audience


@transaction.atomic
def audience_update(*, audience: Audience, values: dict) -> Audience:
    _, changed = model_update(instance=audience, data=values, save=False)
    model_full_clean(instance=audience)
    if changed:
        audience.save(update_fields=changed)
        catalogue_changed()
    return audience


@transaction.atomic
def audience_delete(*, audience: Audience, usage: dict[str, int]) -> None:
    """Delete an audience nothing refers to; otherwise 409 saying what still uses it.

    `usage` counts what refers to it, by kind (needs, surveys...: the audiences app reads it, offers never import it).
    """
    if usage:
        details = ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in usage.items())
        raise Conflict(f"The audience {audience.code!r} is still used by {details}; reassign or delete them first.")
    audience.delete()
    catalogue_changed()

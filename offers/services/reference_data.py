"""The one writer of reference data (territories, taxonomy, audiences) and of the catalogue version.

Every write here, like every write of offers and organisations, bumps the catalogue version in its transaction: the
offer index, cached list counts and ETags are keyed on it, so a new audience or a renamed theme is seen at once.
"""

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, ngettext_lazy

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.model_update import model_full_clean, model_update
from api.text import fold_text
from offers.geography import (
    FRANCE_DIR,
    Commune,
    Geography,
    Selection,
    geography_read,
    merge_successor,
    merges_read,
    selection_read,
)
from offers.models import (
    Audience,
    CatalogueVersion,
    Domain,
    Offer,
    OfferRemoval,
    Territory,
    TerritoryKind,
    TerritoryPostalCode,
    Theme,
)
from offers.territory_paths import COUNTRY_CODE, KINDS, country_path, path_child, path_segments
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


def catalogue_changed(*, public: bool = True, offers: Iterable[int] = (), removed: Iterable[int] = ()) -> int:
    """Bump the catalogue version (inside the caller's transaction, so a rolled-back write bumps nothing) and return
    it: list ETags, cached list counts and the offer index are keyed on it. Every write to offers, organisations or
    reference data calls it; `public=False` when only drafts or archived offers changed, which must not move the
    public version that anonymous ETags key on (outsiders would see when a hidden draft is edited).

    `offers` are the ids of the offers this write created or changed (their `catalogue_seq` becomes the new
    version), `removed` those it deleted (an `OfferRemoval` each): the live matching index applies exactly those.
    The version row stays locked until the caller's transaction ends, so versions become visible in commit order:
    a reader seeing version v can rely on every write numbered v or less being committed.
    """
    now = timezone.now()
    changes = {"version": F("version") + 1, "changed_at": now}
    if public:
        changes.update(public_version=F("public_version") + 1, public_changed_at=now)
    if not CatalogueVersion.objects.filter(pk=1).update(**changes):
        CatalogueVersion.objects.update_or_create(
            pk=1, defaults={"version": 1, "changed_at": now, "public_version": 1, "public_changed_at": now}
        )
    version = CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).get()
    offer_ids = sorted(set(offers))
    for start in range(0, len(offer_ids), _BATCH):
        Offer.objects.filter(pk__in=offer_ids[start : start + _BATCH]).update(catalogue_seq=version)
    removed_ids = sorted(set(removed))
    if removed_ids:
        OfferRemoval.objects.bulk_create(
            (OfferRemoval(offer_id=offer_id, seq=version) for offer_id in removed_ids), batch_size=_BATCH
        )
    return version


def offer_removals_purge(*, before_seq: int) -> int:
    """Delete the offer removals numbered below `before_seq` (the oldest catalogue state an offer index may still
    update from, plus one: an index at state S reads only removals above S); returns how many. Purging too much is
    safe, only slower: an index missing a version's removals re-reads every offer and reconciles them by id."""
    deleted, _by_model = OfferRemoval.objects.filter(seq__lt=before_seq).delete()
    return deleted


@dataclass
class LoadReport:
    """What a load did: totals, and per kind (`outcomes["commune"]["created"]`); `retired` counts territories
    newly marked gone from the geography; `notes` say how input was read ("'1' read as 01")."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: str, kind: str = "", number: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + number)
        if kind:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + number
            per_kind = self.outcomes.setdefault(kind, {})
            per_kind[outcome] = per_kind.get(outcome, 0) + number

    def __str__(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.by_kind.items())
        retired = f", {self.retired} retired" if self.retired else ""
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged{retired} ({kinds})"

    def summary_lines(self) -> list[str]:
        """One line per kind: 'commune: 120 created, 0 updated, 3 unchanged, 1 retired'."""
        lines = []
        for kind, counts in self.outcomes.items():
            shown = [outcome for outcome in _OUTCOMES if outcome in counts or outcome in _OUTCOMES[:3]]
            lines.append(f"{kind}: " + ", ".join(f"{counts.get(outcome, 0)} {outcome}" for outcome in shown))
        return lines + [f"note: {note}" for note in self.notes]


_OUTCOMES = ("created", "updated", "unchanged", "retired", "deleted")


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


def _upsert_territory(
    report: LoadReport, *, kind, code, name, parent, latitude, longitude, path=None, area_paths=None
) -> Territory:
    values = {
        "name": name,
        "name_folded": fold_text(name),
        "parent": parent,
        "path": path or path_child(parent.path if parent else None, kind=kind, code=code),
        "latitude": latitude,
        "longitude": longitude,
    }
    if area_paths is not None:
        values["area_paths"] = area_paths
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
        # Its communes sit under their own département, so it covers one path prefix per département (as
        # territories_load_france does).
        for code, (lat, lon) in group_centroids(lambda r: r.epci).items():
            main_departement = max(sorted(set(epci_departements[code])), key=epci_departements[code].count)
            prefixes = [
                path_child(parents[("departement", departement)].path, kind="epci", code=code)
                for departement in sorted(set(epci_departements[code]))
            ]
            parents[("epci", code)] = _upsert_territory(
                report,
                kind=TerritoryKind.EPCI,
                code=code,
                name=epci_name_map.get(code, f"EPCI {code}"),
                parent=parents[("departement", main_departement)],
                latitude=lat,
                longitude=lon,
                area_paths=prefixes if len(prefixes) > 1 else [],
            )
        for row in rows:
            above = path_child(parents[("departement", row.departement)].path, kind="epci", code=row.epci)
            _upsert_territory(
                report,
                kind=TerritoryKind.COMMUNE,
                code=row.code,
                name=row.name,
                parent=parents[("epci", row.epci)],
                latitude=row.latitude,
                longitude=row.longitude,
                path=path_child(above, kind="commune", code=row.code),
            )
        country_sync()
    return report


def country_sync() -> bool:
    """Write France (kind country, code FR), the service area of national offers, from the régions there are: its
    area is their paths, its population their sum. Loaders call it after writing régions; True when it changed.

    Not counted in load reports: it is derived from the régions like an EPCI's `area_paths` from its communes."""
    regions = list(Territory.objects.filter(kind=TerritoryKind.REGION).order_by("path").values("path", "population"))
    populations = [row["population"] for row in regions if row["population"] is not None]
    values = {
        "name": "France",
        "name_folded": fold_text("France"),
        "parent": None,
        "path": country_path(COUNTRY_CODE),
        "latitude": None,
        "longitude": None,
        "population": sum(populations) if populations else None,
        "area_paths": [row["path"] for row in regions],
    }
    country = Territory.objects.filter(kind=TerritoryKind.COUNTRY, code=COUNTRY_CODE).first()
    if country is None:
        Territory.objects.create(kind=TerritoryKind.COUNTRY, code=COUNTRY_CODE, **values)
        return True
    _, changed = model_update(instance=country, data=values)
    return bool(changed)


# All of France: the shipped geography files (offers/data/france/), any selection, in bulk. -----------------------

LoadProgress = Callable[[str], None]
_BATCH = 1000
_IN_BATCH = 900  # below SQLite's bound on the parameters of one statement
_FRANCE_FIELDS = (
    "name",
    "name_folded",
    "parent_id",
    "path",
    "latitude",
    "longitude",
    "population",
    "area_paths",
    "successor_id",
    "retired",
)


@dataclass
class _Aggregates:
    """Population sums and centroid means of the whole geography (not of the selection: a partial load writes
    the same figures as a full one, so loads of neighbouring selections never undo each other)."""

    population: dict[tuple[str, str], int]
    centroid: dict[tuple[str, str], tuple[float, float]]

    @classmethod
    def of(cls, geography: Geography) -> "_Aggregates":
        population: dict[tuple[str, str], int] = defaultdict(int)
        positions: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for commune in geography.communes.values():
            keys = [("region", commune.region), ("departement", commune.departement)]
            if commune.epci:
                keys.append(("epci", commune.epci))
            for key in keys:
                if commune.population is not None:
                    population[key] += commune.population
                if commune.latitude is not None:
                    positions[key].append((commune.latitude, commune.longitude))
        centroid = {
            key: (_mean([lat for lat, _ in points]), _mean([lon for _, lon in points]))
            for key, points in positions.items()
        }
        return cls(population=dict(population), centroid=centroid)


def _france_plan(geography: Geography, selection: Selection, commune_codes: set[str]) -> dict[str, dict[str, dict]]:
    """The values every territory to write must have, by kind then code; parents as (kind, code) keys."""
    aggregates = _Aggregates.of(geography)
    main_departement = geography.epci_main_departement()
    epci_departements = geography.epci_departements()
    communes = [geography.communes[code] for code in commune_codes]
    epci_codes = {commune.epci for commune in communes if commune.epci} | selection.epcis
    departement_codes = (
        {commune.departement for commune in communes}
        | selection.departements
        | {main_departement[code] for code in epci_codes}
        | {
            code
            for code, row in geography.departements.items()
            if selection.everything or row.region in selection.regions
        }
    )
    region_codes = {geography.departements[code].region for code in departement_codes} | selection.regions
    if selection.everything:
        region_codes |= set(geography.regions)

    def values(name: str, parent, path: str, population, position, area_paths=()) -> dict:
        latitude, longitude = position if position else (None, None)
        return {
            "name": name,
            "name_folded": fold_text(name),
            "parent": parent,
            "path": path,
            "latitude": latitude,
            "longitude": longitude,
            "population": population,
            "area_paths": list(area_paths),
            "successor_id": None,
            "retired": False,
        }

    plan: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
    for code in sorted(region_codes):
        key = ("region", code)
        plan["region"][code] = values(
            geography.regions[code].name,
            None,
            path_child(None, kind="region", code=code),
            aggregates.population.get(key),
            aggregates.centroid.get(key),
        )
    for code in sorted(departement_codes):
        key = ("departement", code)
        row = geography.departements[code]
        plan["departement"][code] = values(
            row.name,
            ("region", row.region),
            geography.departement_path(code),
            aggregates.population.get(key),
            aggregates.centroid.get(key),
        )
    for code in sorted(epci_codes):
        key = ("epci", code)
        main = main_departement[code]
        # Straddling EPCIs cover one path prefix per département of their communes (each commune sits under its own).
        prefixes = [path_child(geography.departement_path(d), kind="epci", code=code) for d in epci_departements[code]]
        plan["epci"][code] = values(
            geography.epcis[code].name,
            ("departement", main),
            path_child(geography.departement_path(main), kind="epci", code=code),
            geography.epcis[code].population,
            aggregates.centroid.get(key),
            prefixes if len(prefixes) > 1 else (),
        )
    for code in sorted(commune_codes):
        commune = geography.communes[code]
        above = geography.departement_path(commune.departement)
        if commune.epci:
            above = path_child(above, kind="epci", code=commune.epci)
        parent = ("epci", commune.epci) if commune.epci else ("departement", commune.departement)
        position = (commune.latitude, commune.longitude) if commune.latitude is not None else None
        plan["commune"][code] = values(
            commune.name,
            parent,
            path_child(above, kind="commune", code=code),
            commune.population,
            position,
        )
    return plan


def _write_level(
    kind: str, planned: dict[str, dict], existing: dict[tuple[str, str], dict], ids: dict, report: LoadReport
) -> None:
    """Create and update the territories of one kind in bulk; record their ids for the next level's parents."""
    to_create: list[Territory] = []
    to_update: list[Territory] = []
    changed_fields: set[str] = set()
    for code, planned_values in planned.items():
        parent = planned_values["parent"]
        values = {key: value for key, value in planned_values.items() if key != "parent"}
        values["parent_id"] = ids[parent] if parent else None
        row = existing.get((kind, code))
        if row is None:
            to_create.append(Territory(kind=kind, code=code, **values))
            continue
        changed = [name for name in _FRANCE_FIELDS if row[name] != values[name]]
        if changed:
            to_update.append(Territory(pk=row["id"], kind=kind, code=code, **values))
            changed_fields.update(changed)
        else:
            ids[(kind, code)] = row["id"]
    Territory.objects.bulk_create(to_create, batch_size=_BATCH)
    if to_update:
        Territory.objects.bulk_update(to_update, sorted(changed_fields), batch_size=_BATCH)
    for territory in to_create + to_update:
        ids[(kind, territory.code)] = territory.pk
    report.count("created", kind, len(to_create))
    report.count("updated", kind, len(to_update))
    report.count("unchanged", kind, len(planned) - len(to_create) - len(to_update))


def _postal_codes_sync(communes: dict[str, Commune], ids: dict, report: LoadReport) -> bool:
    """Make the loaded communes' postal codes those of the files (others' are left alone); True if any changed."""
    territory_codes = {ids[("commune", code)]: commune.postal_codes for code, commune in communes.items()}
    wanted = {(postal, territory_id) for territory_id, postals in territory_codes.items() for postal in postals}
    stale: list[int] = []
    present: set[tuple[str, int]] = set()
    rows = TerritoryPostalCode.objects.filter(territory__kind=TerritoryKind.COMMUNE).values_list(
        "pk", "code", "territory_id"
    )
    for pk, postal, territory_id in rows.iterator(chunk_size=5000):
        if territory_id not in territory_codes:
            continue
        if (postal, territory_id) in wanted:
            present.add((postal, territory_id))
        else:
            stale.append(pk)
    for start in range(0, len(stale), _IN_BATCH):
        TerritoryPostalCode.objects.filter(pk__in=stale[start : start + _IN_BATCH]).delete()
    TerritoryPostalCode.objects.bulk_create(
        [TerritoryPostalCode(code=postal, territory_id=tid) for postal, tid in sorted(wanted - present)],
        batch_size=_BATCH,
    )
    report.outcomes["postal code"] = {
        "created": len(wanted - present),
        "updated": 0,
        "unchanged": len(present),
        "deleted": len(stale),
    }
    return bool(stale or wanted - present)


def territories_load_france(
    *,
    regions: Iterable[str] = (),
    departements: Iterable[str] = (),
    epcis: Iterable[str] = (),
    everything: bool = False,
    source: Path | str = FRANCE_DIR,
    merges: Path | str | dict[str, str] | None = None,
    progress: LoadProgress | None = None,
) -> LoadReport:
    """Load the régions, départements and EPCIs asked (or everything) from the geography files in `source`, with
    every commune in them and every territory above those communes (their EPCI, département, région).

    Upsert by (kind, code), so a renamed territory keeps its id; population of communes and EPCIs from the files,
    summed over communes for départements and régions; postal codes synced. A commune (or an EPCI) of the
    selection that the files no longer have is kept (offers, needs and responses point to it) and marked
    `retired`, with its `successor` when `merges` ({old INSEE code: new}, or an old_code,new_code CSV) names one.
    Everything is validated before anything is written, then written in bulk in one transaction; a reload of the
    same files changes nothing (and does not bump the catalogue version).
    """
    say = progress or (lambda message: None)
    started = time.monotonic()
    geography = geography_read(source)
    selection = selection_read(
        geography, regions=regions, departements=departements, epcis=epcis, everything=everything
    )
    merge_map = merges if isinstance(merges, dict) else merges_read(merges) if merges is not None else {}
    say(
        f"read {len(geography.communes):,} communes, {len(geography.epcis):,} EPCIs, "
        f"{len(geography.departements)} départements, {len(geography.regions)} régions "
        f"({time.monotonic() - started:.1f} s)"
    )
    report = LoadReport(notes=list(selection.notes))
    with transaction.atomic():
        # Rows, not model instances: a reload of all France compares 36,000 of them and builds none.
        existing = {
            (row["kind"], row["code"]): row
            for row in Territory.objects.filter(kind__in=KINDS)
            .values("id", "kind", "code", *_FRANCE_FIELDS)
            .iterator(chunk_size=5000)
        }
        commune_codes = selection.communes(geography)
        gone: dict[tuple[str, str], dict] = {}
        for (kind, code), row in existing.items():
            if kind not in ("commune", "epci"):
                continue
            if not (selection.everything or selection.covers_path(dict(path_segments(row["path"])))):
                continue
            if kind == "commune" and code in geography.communes:
                commune_codes.add(code)  # moved out of the selection since: its new place is written
            elif code not in (geography.communes if kind == "commune" else geography.epcis):
                gone[(kind, code)] = row
        successors = {
            key: merge_successor(key[1], merge_map, geography.communes) for key in gone if key[0] == "commune"
        }
        commune_codes |= {code for code in successors.values() if code}
        plan = _france_plan(geography, selection, commune_codes)
        say(f"selected {len(commune_codes):,} communes ({time.monotonic() - started:.1f} s)")

        ids: dict[tuple[str, str], int] = {}
        for kind in KINDS:
            _write_level(kind, plan[kind], existing, ids, report)
            counts = report.outcomes[kind]
            say(
                f"{kind}: {counts['created']:,} created, {counts['updated']:,} updated, "
                f"{counts['unchanged']:,} unchanged ({time.monotonic() - started:.1f} s)"
            )
        postal_changed = _postal_codes_sync({code: geography.communes[code] for code in commune_codes}, ids, report)
        say(f"postal codes synced ({time.monotonic() - started:.1f} s)")

        retiring: list[Territory] = []
        for (kind, code), row in gone.items():
            successor = successors.get((kind, code))
            successor_id = ids[("commune", successor)] if successor else row["successor_id"]
            if row["retired"] and row["successor_id"] == successor_id:
                report.count("unchanged", kind)
                continue
            retiring.append(Territory(pk=row["id"], retired=True, successor_id=successor_id))
            report.count("retired", kind)
        Territory.objects.bulk_update(retiring, ["retired", "successor_id"], batch_size=_BATCH)
        country_changed = country_sync()
        if report.created or report.updated or report.retired or postal_changed or country_changed:
            catalogue_changed()
    say(f"done: {report} ({time.monotonic() - started:.1f} s)")
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
        texts_before = {row[0]: row[1:] for row in Theme.objects.values_list("pk", "label", "keywords")}
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
        # A theme's label and keywords are part of the text of each offer filed under it: stamp those offers, so
        # the live matching index recomputes exactly their rows instead of refitting the catalogue.
        texts_after = {row[0]: row[1:] for row in Theme.objects.values_list("pk", "label", "keywords")}
        retexted = [pk for pk, text in texts_after.items() if texts_before.get(pk, text) != text]
        if retexted:
            catalogue_changed(offers=Offer.objects.filter(themes__in=retexted).values_list("pk", flat=True).distinct())
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
        details = ", ".join(usage_phrase(what, count) for what, count in usage.items())
        raise Conflict(
            gettext("The audience %(audience)s is still used by %(details)s; reassign or delete them first.")
            % {"audience": repr(audience.code), "details": details}
        )
    audience.delete()
    catalogue_changed()


# What may still use reference data (the keys of audiences.selectors.audience_usage and
# offers.services.custom_territory_usage, underscores or spaces), counted in words.
_USAGE_PHRASES = {
    "needs": ngettext_lazy("%(count)s need", "%(count)s needs", "count"),
    "survey responses": ngettext_lazy("%(count)s survey response", "%(count)s survey responses", "count"),
    "surveys": ngettext_lazy("%(count)s survey", "%(count)s surveys", "count"),
    "offers": ngettext_lazy("%(count)s offer", "%(count)s offers", "count"),
    "matching runs": ngettext_lazy("%(count)s matching run", "%(count)s matching runs", "count"),
    "organisations": ngettext_lazy("%(count)s organisation", "%(count)s organisations", "count"),
}


def usage_phrase(what: str, count: int) -> str:
    """`count` rows of `what` (a usage key such as `needs` or `matching runs`) in words, in the active language."""
    name = what.replace("_", " ")
    phrase = _USAGE_PHRASES.get(name)
    return phrase % {"count": count} if phrase is not None else f"{count} {name}"

"""Reads of the offers app: territories (hierarchy by official code), the taxonomy, and offers as rows."""

import datetime
import functools
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FloatField, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import ACos, Cos, Least, Radians, Sin
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from api.conditional import etag_of
from api.exceptions import ErrorItem, InvalidInput
from api.geo import EARTH_RADIUS_KM, KM_PER_DEGREE_LATITUDE
from api.permissions import is_admin, is_analyst
from api.text import fold_text
from offers.models import (
    Audience,
    CatalogueVersion,
    Domain,
    Offer,
    OfferStatus,
    Organisation,
    Source,
    SourceSync,
    Territory,
    TerritoryKind,
    TerritoryPostalCode,
    Theme,
)
from offers.territory_paths import (
    COUNTRY_CODE,
    area_normalise,
    common_path,
    path_code,
    path_contains,
    path_segments,
)

TERRITORY_RESOLVE_CACHE_SECONDS = 3600
# What people and sources write for all of France besides FR: the word, and INSEE's country code (data·inclusion).
COUNTRY_ALIASES = ("france", "99100")


def territory_resolve(*, code: str, field: str = "territory", catalogue_key: str | None = None) -> Territory:
    """Find a territory by official code: `23096`, `200034825`, or qualified `departement:23` when ambiguous.

    Region and département codes overlap (region 75 and Paris 75), so a bare code that names several
    territories is refused with the qualified codes to use.

    `catalogue_key`: the key of a catalogue state read in the same request (`CatalogueState.key`). A code resolved
    once is then kept in the cache until that state changes (every write of territories bumps the version it
    names), so a portal's repeated territory filter costs no query. Refusals are not kept: they say why each time.
    """
    if catalogue_key is None:
        return _territory_resolve(code=code, field=field)
    key = "territories:resolve:" + hashlib.blake2b(f"{catalogue_key}|{code}".encode(), digest_size=16).hexdigest()
    territory = cache.get(key)
    if territory is None:
        territory = _territory_resolve(code=code, field=field)
        cache.set(key, territory, TERRITORY_RESOLVE_CACHE_SECONDS)
    return territory


def _territory_resolve(*, code: str, field: str) -> Territory:
    raw = (code or "").strip()
    if ":" in raw:
        kind, _colon, bare = raw.partition(":")
        if kind not in TerritoryKind.values:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=field,
                        message=gettext("Unknown territory kind %(kind)s: use %(kinds)s.")
                        % {"kind": repr(kind), "kinds": ", ".join(TerritoryKind.values)},
                    )
                ]
            )
        matches = list(Territory.objects.filter(kind=kind, code__in={bare, bare.upper()}))
    else:
        if raw.lower() in COUNTRY_ALIASES:
            raw = COUNTRY_CODE
        # Corsica's 2A/2B written in lower case; custom territories' codes are lower-case slugs, kept as given.
        matches = list(Territory.objects.filter(code__in={raw, raw.upper()}))
    if not matches:
        message = _territory_unknown_message(raw, raw.rpartition(":")[2].upper())
        raise InvalidInput([ErrorItem(field=field, code="not_found", message=message)])
    if len(matches) > 1:
        options = ", ".join(sorted(territory.qualified_code for territory in matches))
        message = gettext("The code %(code)s is ambiguous: use one of %(options)s.") % {
            "code": repr(raw),
            "options": options,
        }
        raise InvalidInput([ErrorItem(field=field, code="ambiguous", message=message)])
    return matches[0]


def _territory_unknown_message(raw: str, code: str) -> str:
    """Why no territory has the code `raw` (`code`: its bare code, upper case), with what it probably meant: a
    département without its leading zero, Corsica's old 20, an overseas département cut short."""
    values = {"code": repr(raw)}
    if code == "20":
        return (
            gettext(
                "No territory has the code %(code)s: Corsica is 2A (Corse-du-Sud) and 2B (Haute-Corse) since 1976."
            )
            % values
        )
    if code in ("97", "98"):
        return (
            gettext(
                "No territory has the code %(code)s: overseas départements have three digits (971 Guadeloupe ... 976 "
                "Mayotte)."
            )
            % values
        )
    if code.isdigit() and len(code) == 1:
        padded = Territory.objects.filter(kind=TerritoryKind.DEPARTEMENT, code=f"0{code}").first()
        if padded is not None:
            return gettext(
                "No territory has the code %(code)s: département codes have two digits, %(padded)s is %(name)s."
            ) % {**values, "padded": padded.qualified_code, "name": padded.name}
    return gettext("No territory has the code %(code)s.") % values


def territory_subtree_q(territory: Territory, *, prefix: str = "") -> Q:
    """Q matching `territory` and every territory below it, through the relation `prefix` (e.g. "commune__").

    Below means under one of its path prefixes (`Territory.paths`: both sides of an EPCI straddling two
    départements, every member of a custom territory), each an indexed `LIKE 'prefix%'`; and the custom
    territories whose members all lie there (a grouping of two EPCIs of the Pas-de-Calais is in the
    Pas-de-Calais; one straddling the Nord is not), through a subquery on the small members table."""
    customs = custom_territories_within(territory).values("id")
    return path_subtree_q(territory, field=f"{prefix}path") | Q(**{f"{prefix}id__in": customs})


def custom_territories_within(territory: Territory) -> QuerySet[Territory]:
    """The custom territories (other than `territory`) whose members all lie in `territory` (a lazy subquery)."""
    below = Territory.objects.filter(path_subtree_q(territory, field="path")).values("id")
    outside = Territory.members.through.objects.exclude(to_territory_id__in=below).values("from_territory_id")
    return (
        Territory.objects.filter(kind=TerritoryKind.CUSTOM, members__isnull=False)
        .exclude(id__in=outside)
        .exclude(pk=territory.pk)
        .distinct()
    )


def path_subtree_q(territory: Territory, *, field: str) -> Q:
    """Q matching rows whose path column `field` (a territory's path, or a copy such as a result's
    `territory_path`) is `territory`'s own path or below one of its prefixes."""
    q = Q(**{field: territory.path})
    for path in area_normalise([*territory.paths, territory.path]):
        q |= Q(**{f"{field}__startswith": path})
    return q


def territory_ancestors_q(territory: Territory, *, prefix: str = "") -> Q:
    """Q matching `territory` and every territory above it: each territory named by a segment of its paths
    (kind and code, so an EPCI straddling two départements is above its communes on both sides), the custom
    territories having one of those as a member, and the country (every territory lies in France)."""
    codes_by_kind: dict[str, set[str]] = defaultdict(set)
    for path in [*territory.paths, territory.path]:
        for kind, code in path_segments(path):
            codes_by_kind[kind].add(code)
    q = Q(**{f"{prefix}pk": territory.pk}) | Q(**{f"{prefix}kind": TerritoryKind.COUNTRY})
    named = Q()
    for kind, codes in sorted(codes_by_kind.items()):
        q |= Q(**{f"{prefix}kind": kind, f"{prefix}code__in": sorted(codes)})
        named |= Q(kind=kind, code__in=sorted(codes))
    if codes_by_kind:
        members = Territory.objects.filter(named).values("id")
        customs = Territory.members.through.objects.filter(to_territory_id__in=members).values("from_territory_id")
        q |= Q(**{f"{prefix}id__in": customs})
    return q


def territory_paths_canonical(paths: Iterable[str]) -> dict[str, str]:
    """Each path mapped to the path of the territory its last segment names (one query): the same for most, but
    `r75/d87/e200000001/` (the Haute-Vienne side of an EPCI filed under the Creuse) maps to `r75/d23/e200000001/`.
    Paths naming no territory are left out."""
    wanted = {path for path in paths if path}
    named = Q(pk__in=[])
    by_segment: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in wanted:
        segments = path_segments(path)
        if segments:
            by_segment[segments[-1]].append(path)
            named |= Q(kind=segments[-1][0], code=segments[-1][1])
    canonical = {}
    for kind, code, path in Territory.objects.filter(named).values_list("kind", "code", "path"):
        for given in by_segment[(kind, code)]:
            canonical[given] = path
    return canonical


def territories_subtree_q(territories: Iterable[Territory], *, prefix: str = "") -> Q:
    """Q matching every territory lying in one of `territories` (through the relation `prefix`): a prefix test on
    each path each of them covers (`Territory.paths`). No territory: a Q matching nothing."""
    paths = sorted({path for territory in territories for path in territory.paths})
    if not paths:
        return Q(pk__in=[])
    query = Q()
    for path in paths:
        query |= Q(**{f"{prefix}path__startswith": path})
    return query


def territory_list(
    *,
    kind: str | None = None,
    parent: Territory | None = None,
    within: Territory | None = None,
    search: str | None = None,
) -> QuerySet[Territory]:
    queryset = Territory.objects.select_related("parent", "successor").prefetch_related(
        Prefetch("postal_codes", queryset=TerritoryPostalCode.objects.order_by("code"))
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if parent is not None:
        queryset = queryset.filter(parent=parent)
    if within is not None:
        queryset = queryset.filter(territory_subtree_q(within))
    if search:
        queryset = queryset.filter(name_folded__contains=fold_text(search))
    return queryset


COMMUNE_VALUE_KINDS = ("auto", "insee", "postal_code", "name")
_INSEE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_NAME_WITH_DEPARTEMENT = re.compile(r"^(?P<name>.+?)\s*\((?P<departement>\d{2,3}|2[AB])\)$")


def _code_padded(value: str) -> str:
    """'1053' -> '01053': spreadsheets drop the leading zero of Ain's or Aisne's codes."""
    return value.zfill(5) if value.isdigit() and len(value) == 4 else value


# What a value of each reading is called in the messages of communes_resolve.
_COMMUNE_VALUE_NAMES = {
    "insee": _("INSEE code"),
    "postal_code": _("postal code"),
    "name": _("commune name"),
    "auto": _("INSEE code, postal code or commune name"),
}


def communes_resolve(
    values: Iterable[str], *, kind: str = "auto", within: Territory | None = None
) -> dict[str, Territory | str]:
    """Resolve what people write for a commune, value by value: its INSEE code, a postal code or its name.

    Returns, for each distinct value given, the Territory or a message saying why not (the
    caller adds line and column). A merged commune resolves to its successor. A postal code shared by several
    communes resolves to the smallest territory holding them all (often their EPCI): choosing one would be a guess.
    A name resolves when exactly one current commune bears it (within `within` when given); "Saint-Omer (62)"
    names the département. `kind` forces one reading ("auto" tries INSEE code, then postal code, then name, and
    refuses a 5-digit value that is both an INSEE code and another commune's postal code).
    """
    if kind not in COMMUNE_VALUE_KINDS:
        raise ValueError(f"kind must be one of {COMMUNE_VALUE_KINDS}")
    raw_values = {value for value in values if value and value.strip()}
    cleaned = {value: _code_padded(value.strip().upper()) for value in raw_values}
    communes = Territory.objects.filter(kind=TerritoryKind.COMMUNE)
    if within is not None:
        communes = communes.filter(territory_subtree_q(within))
    communes = communes.select_related("successor")

    def current(commune: Territory) -> Territory:
        seen = set()
        while commune.successor_id and commune.pk not in seen:  # guard against a (wrong) cycle in the data
            seen.add(commune.pk)
            commune = commune.successor
        return commune

    by_insee: dict[str, Territory] = {}
    if kind in ("auto", "insee"):
        codes = {code for code in cleaned.values() if _INSEE_CODE.match(code)}
        by_insee = {commune.code: current(commune) for commune in communes.filter(code__in=codes)}
    by_postal: dict[str, list[Territory]] = defaultdict(list)
    if kind in ("auto", "postal_code"):
        codes = {code for code in cleaned.values() if _POSTAL_CODE.match(code)}
        rows = (
            TerritoryPostalCode.objects.filter(
                code__in=codes, territory__in=communes, territory__successor=None, territory__retired=False
            )
            .select_related("territory")
            .order_by("code", "territory__path")
        )
        for row in rows:
            by_postal[row.code].append(row.territory)
    by_name: dict[tuple[str, str], list[Territory]] = defaultdict(list)
    wanted_names: dict[str, tuple[str, str]] = {}
    if kind in ("auto", "name"):
        for value in raw_values:
            match = _NAME_WITH_DEPARTEMENT.match(value.strip())
            name, departement = (match["name"], match["departement"]) if match else (value, "")
            wanted_names[value] = (fold_text(name), departement.upper())
        folded = {name for name, _departement in wanted_names.values()}
        for commune in communes.filter(name_folded__in=folded, successor=None, retired=False):
            by_name[(commune.name_folded, "")].append(commune)
            by_name[(commune.name_folded, path_code(commune.path, "departement"))].append(commune)

    resolved: dict[str, Territory | str] = {}
    for value in raw_values:
        code = cleaned[value]
        insee = by_insee.get(code)
        postal = by_postal.get(code, [])
        if insee is not None and postal and postal != [insee] and kind == "auto":
            resolved[value] = gettext(
                "%(value)s is both the INSEE code of %(commune)s and a postal code of %(communes)s: map the column "
                "as 'insee' or 'postal_code'."
            ) % {
                "value": repr(value),
                "commune": insee.name,
                "communes": ", ".join(commune.name for commune in postal),
            }
        elif insee is not None and insee.retired:
            resolved[value] = gettext(
                "%(value)s is the INSEE code of %(commune)s, a former commune with no known successor."
            ) % {"value": repr(value), "commune": insee.name}
        elif insee is not None:
            resolved[value] = insee
        elif len(postal) == 1:
            resolved[value] = postal[0]
        elif postal:
            resolved[value] = _smallest_common_territory(postal) or (
                gettext("%(value)s is a postal code of communes in several régions: use their INSEE codes.")
                % {"value": repr(value)}
            )
        elif (candidates := by_name.get(wanted_names.get(value, ("", "")), [])) and len(candidates) == 1:
            resolved[value] = candidates[0]
        elif candidates:
            options = ", ".join(
                f"{commune.name} ({path_code(commune.path, 'departement')})" for commune in candidates[:5]
            )
            resolved[value] = gettext(
                "%(value)s names several communes (%(options)s): write it as 'Name (département)'."
            ) % {"value": repr(value), "options": options}
        else:
            expected = _COMMUNE_VALUE_NAMES.get(kind, _COMMUNE_VALUE_NAMES["auto"])
            if within is None:
                message = gettext("%(value)s is not a known %(expected)s.")
            else:
                message = gettext("%(value)s is not a known %(expected)s in %(territory)s.")
            resolved[value] = message % {
                "value": repr(value),
                "expected": expected,
                "territory": getattr(within, "name", ""),
            }
    return resolved


def _smallest_common_territory(communes: list[Territory]) -> Territory | None:
    path = common_path(commune.path for commune in communes)
    return territories_by_path([path]).get(path) if path else None


def territories_by_path(paths: Iterable[str]) -> dict[str, Territory]:
    """The territory each path names (`territory_paths_canonical`, then one query): a straddling EPCI's prefix
    `r75/d23/e200066744/` gives that EPCI although its own path is under the Corrèze."""
    canonical = territory_paths_canonical(paths)
    by_path = {territory.path: territory for territory in Territory.objects.filter(path__in=set(canonical.values()))}
    return {path: by_path[own] for path, own in canonical.items() if own in by_path}


def taxonomy_domains() -> QuerySet[Domain]:
    return Domain.objects.prefetch_related(Prefetch("themes", queryset=Theme.objects.order_by("position", "code")))


def audience_list() -> QuerySet[Audience]:
    return Audience.objects.all()


# Offers ------------------------------------------------------------------------------------------------------------


def offer_list(*, user=None) -> QuerySet[Offer]:
    """The offers `user` may see: published ones for everybody, plus every offer of the organisations the user is
    an editor of; everything for admins. No join: the editor check is a subquery, so counts stay cheap."""
    queryset = Offer.objects.all()
    if is_admin(user):
        return queryset
    visible = Q(status=OfferStatus.PUBLISHED)
    if user is not None and user.is_authenticated:
        memberships = Organisation.editors.through.objects.filter(user_id=user.pk).values("organisation_id")
        visible |= Q(organisation_id__in=memberships)
    return queryset.filter(visible)


def offer_visibility_scope(*, user=None) -> str:
    """A short key for what `user` may see (part of list ETags: two users who see different drafts never share)."""
    if is_admin(user):
        return "admin"
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "public"


@dataclass(frozen=True)
class CatalogueState:
    """What the catalogue looks like, in one cheap query: `key` changes with every write (the services' version
    covers deletions and organisation renames, the latest `updated_at` covers everything else, even a bare model
    save); `last_modified` is the latest of the two times."""

    key: str
    last_modified: datetime.datetime | None


def catalogue_state(*, public: bool = False) -> CatalogueState:
    """One query: the version row, and the latest offer change from the top of an `updated_at` index. `public`:
    the state of what anonymous callers see only (the public version, the latest published offer), so that their
    ETags and Last-Modified never move when a hidden draft is edited."""
    offers = Offer.objects.filter(status=OfferStatus.PUBLISHED) if public else Offer.objects.all()
    latest = offers.order_by("-updated_at").values("updated_at")[:1]
    version, changed_at = ("public_version", "public_changed_at") if public else ("version", "changed_at")
    row = (
        CatalogueVersion.objects.filter(pk=1)
        .annotate(offers_changed=Subquery(latest))
        .values(version, changed_at, "offers_changed")
        .first()
    )
    if row is None:  # the row is made by a migration; a flushed test database may lack it
        row = {version: 0, changed_at: None, **offers.aggregate(offers_changed=Max("updated_at"))}
    times = [time for time in (row[changed_at], row["offers_changed"]) if time is not None]
    stamp = row["offers_changed"].isoformat() if row["offers_changed"] else ""
    return CatalogueState(key=f"{row[version]}/{stamp}", last_modified=max(times) if times else None)


def catalogue_state_for(*, user) -> CatalogueState:
    """The state of what `user` can see: everything for admins, the public catalogue for anonymous callers, and for
    other accounts the public catalogue plus the offers of the organisations they edit. So no caller's validators
    move when another organisation edits a hidden draft."""
    scope = offer_visibility_scope(user=user)
    if scope == "admin":
        return catalogue_state()
    state = catalogue_state(public=True)
    if scope == "public":
        return state
    own = Offer.objects.filter(organisation__editors=user).aggregate(changed=Max("updated_at"))["changed"]
    if own is None:
        return state
    last_modified = max(time for time in (state.last_modified, own) if time is not None)
    return CatalogueState(key=f"{state.key}/{own.isoformat()}", last_modified=last_modified)


COUNT_CACHE_SECONDS = 24 * 3600


def offer_list_count(queryset: QuerySet[Offer], *, cache_key: str | None = None) -> int:
    """Exact number of rows of a filtered offer queryset. With `cache_key` (which must name the catalogue state,
    the visibility scope and the filters), the count is computed once per catalogue change and kept in the cache:
    an exact count of ~90,000 visible offers costs 11-17 ms on PostgreSQL even from an index-only scan, more
    than a whole page of 20."""
    if cache_key is None:
        return queryset.order_by().count()
    key = "offers:count:" + hashlib.blake2b(cache_key.encode(), digest_size=16).hexdigest()
    count = cache.get(key)
    if count is None:
        count = queryset.order_by().count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return count


@dataclass
class OfferListAnswer:
    """What one offer list answer depends on: its validators, and its exact count, computed on first use so that
    a 304 never counts (see offer_list_answer)."""

    etag: str
    last_modified: datetime.datetime | None
    queryset: QuerySet[Offer]
    count_cache_key: str | None = None
    known_count: int | None = None

    def count(self) -> int:
        if self.known_count is None:
            self.known_count = offer_list_count(self.queryset, cache_key=self.count_cache_key)
        return self.known_count


def offer_list_answer(
    queryset: QuerySet[Offer], *, user, params: QueryDict, state: CatalogueState | None = None
) -> OfferListAnswer:
    """The ETag, Last-Modified and count of the filtered list `queryset` that `user` asked for with `params`,
    keyed on the catalogue state (`catalogue_state_for(user=user)`, read here unless given), what the user may see
    and the query string (page included)."""
    scope = offer_visibility_scope(user=user)
    state = state if state is not None else catalogue_state_for(user=user)
    query = params.urlencode()
    if scope.startswith("user:"):
        # An editor's drafts also depend on their memberships, which no catalogue write records: count afresh,
        # and let the count be part of the ETag.
        count = offer_list_count(queryset)
        etag = etag_of("offers", scope, state.key, count, query)
        return OfferListAnswer(etag, state.last_modified, queryset, known_count=count)
    filters = sorted((name, value) for name, value in params.lists() if name not in ("page", "page_size"))
    etag = etag_of("offers", scope, state.key, query)
    return OfferListAnswer(etag, state.last_modified, queryset, count_cache_key=f"{state.key}|{scope}|{filters}")


def offer_validators(row: dict, *, user) -> tuple[str, datetime.datetime]:
    """The ETag and Last-Modified of one offer (a row of offer_values). The answer also reads its organisation,
    domain, themes, audiences and territories, whose writes bump the catalogue version but not the offer's
    `updated_at`: both validators follow the state of what the caller can see too (catalogue_state_for)."""
    scope = offer_visibility_scope(user=user)
    state = catalogue_state_for(user=user)
    etag = etag_of("offer", row["id"], row["updated_at"].isoformat(), state.key, scope)
    return etag, max(time for time in (row["updated_at"], state.last_modified) if time is not None)


def offer_territory_q(territory: Territory) -> Q:
    """Offers in `territory` (their commune is in it) or serving it: a service-area territory inside it, or above
    it (an offer serving the whole département matches a query on one of its communes).

    Both halves are `id IN (subquery)` on small territory sets (path prefix on the territory table), so each is
    served by an index (offers.commune_id, service_area.territory_id) instead of a join filtered on the path."""
    communes = Territory.objects.filter(path_subtree_q(territory, field="path")).values("id")
    areas = Territory.objects.filter(territory_subtree_q(territory) | territory_ancestors_q(territory)).values("id")
    served = Offer.service_area.through.objects.filter(territory_id__in=areas).values("offer_id")
    return Q(commune_id__in=communes) | Q(id__in=served)


def offer_near(queryset: QuerySet[Offer], *, latitude: float, longitude: float, radius_km: float) -> QuerySet[Offer]:
    """Offers within `radius_km` of a point, annotated with their great-circle `distance_km`.

    A bounding box on the indexed (latitude, longitude) discards most rows first; the exact spherical law of
    cosines then runs in SQL on the rest (Least() guards acos against rounding just above 1).
    """
    delta_lat = radius_km / KM_PER_DEGREE_LATITUDE
    cos_lat = math.cos(math.radians(latitude))
    delta_lon = 180.0 if cos_lat < 1e-6 else min(180.0, radius_km / (KM_PER_DEGREE_LATITUDE * cos_lat))
    queryset = queryset.filter(
        latitude__gte=latitude - delta_lat,
        latitude__lte=latitude + delta_lat,
        longitude__gte=longitude - delta_lon,
        longitude__lte=longitude + delta_lon,
    )
    lat0 = math.radians(latitude)
    cosine = Value(math.sin(lat0)) * Sin(Radians(F("latitude"))) + Value(math.cos(lat0)) * Cos(
        Radians(F("latitude"))
    ) * Cos(Radians(F("longitude")) - Value(math.radians(longitude)))
    distance = Value(EARTH_RADIUS_KM) * ACos(Least(Value(1.0), cosine, output_field=FloatField()))
    return queryset.annotate(distance_km=distance).filter(distance_km__lte=radius_km)


OFFER_ROW_FIELDS = {
    "id": "id",
    "title": "title",
    "description": "description",
    "domain": "domain__code",
    "organisation": "organisation__slug",
    "organisation_name": "organisation__name",
    "commune": "commune__code",
    "commune_name": "commune__name",
    "latitude": "latitude",
    "longitude": "longitude",
    "remote": "remote",
    "is_free": "is_free",
    "price_amount": "price_amount",
    "price_details": "price_details",
    "capacity": "capacity",
    "capacity_unit": "capacity_unit",
    "available_from": "available_from",
    "available_until": "available_until",
    "status": "status",
    "url": "url",
    "contact": "contact",
    "accessibility": "accessibility",
    "source": "source",
    "external_id": "external_id",
    "origin": "origin__code",
    "source_url": "source_url",
    "last_sync": "last_sync_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def offer_values(queryset: QuerySet[Offer], *, fields: dict[str, str] = OFFER_ROW_FIELDS) -> QuerySet:
    """The offer columns as a `.values()` queryset (one query, no model instances); keeps `distance_km`."""
    names = list(fields.values())
    if "distance_km" in queryset.query.annotations:
        names.append("distance_km")
    return queryset.values(*names)


def offer_rows_attach(rows: list[dict], *, fields: dict[str, str] = OFFER_ROW_FIELDS) -> list[dict]:
    """Rename `.values()` rows to API names and add theme, audience and service-area codes: one query whatever
    the number of rows (a UNION of the three link tables; a page of the list pays one round trip, not three)."""
    renamed = [{name: row[column] for name, column in fields.items()} for row in rows]
    for row, source in zip(renamed, rows, strict=True):
        row["distance_km"] = source.get("distance_km")
    links: dict[str, dict[int, list]] = {group: defaultdict(list) for group in _OFFER_LINK_GROUPS}
    if renamed:
        for offer_id, group, kind, code, path in _offer_links(row["id"] for row in renamed):
            links[group][offer_id].append((kind, code, path))
    for row in renamed:
        offer_id = row["id"]
        row["themes"] = [code for _, code, _ in links["theme"][offer_id]]
        row["audiences"] = [code for _, code, _ in links["audience"][offer_id]]
        row["service_area"] = [f"{kind}:{code}" for kind, code, _ in links["area"][offer_id]]
        row["service_area_paths"] = [path for _, _, path in links["area"][offer_id]]
    return renamed


_OFFER_LINK_GROUPS = ("theme", "audience", "area")


def _offer_links(offer_ids: Iterable[int]) -> list[tuple[int, str, str, str, str]]:
    """(offer_id, link, kind, code, path) of the themes, audiences and service-area territories of these offers, in
    one query, each link in its display order: themes by domain then theme position, audiences by position, areas
    by path. The sort columns are part of the UNION, so the database orders them with its own collation, as the
    three queries did. Written as SQL once: building the three ORM querysets cost more than running them."""
    ids = list(offer_ids)
    if not ids:
        return []
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_offer_links_sql().format(ids=placeholders), ids * 3)
        return [row[:5] for row in cursor.fetchall()]


@functools.cache
def _offer_links_sql() -> str:
    """The UNION behind _offer_links, with `{ids}` where the offer ids' placeholders go (tables from the models)."""
    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in {
            "offer_themes": Offer.themes.through,
            "offer_audiences": Offer.audiences.through,
            "offer_areas": Offer.service_area.through,
            "theme": Theme,
            "domain": Domain,
            "audience": Audience,
            "territory": Territory,
        }.items()
    }
    return (
        "SELECT l.offer_id, 'theme', '', t.code, '', d.position, t.position, t.code"
        " FROM {offer_themes} l INNER JOIN {theme} t ON l.theme_id = t.id INNER JOIN {domain} d ON t.domain_id = d.id"
        " WHERE l.offer_id IN ({{ids}})"
        " UNION ALL SELECT l.offer_id, 'audience', '', a.code, '', a.position, 0, a.code"
        " FROM {offer_audiences} l INNER JOIN {audience} a ON l.audience_id = a.id WHERE l.offer_id IN ({{ids}})"
        " UNION ALL SELECT l.offer_id, 'area', t.kind, t.code, t.path, 0, 0, t.path"
        " FROM {offer_areas} l INNER JOIN {territory} t ON l.territory_id = t.id WHERE l.offer_id IN ({{ids}})"
        " ORDER BY 2, 1, 6, 7, 8"
    ).format(**tables)


def offer_rows_iter(queryset: QuerySet[Offer], *, chunk_size: int = 500) -> Iterator[dict]:
    """Every row of a (filtered, ordered) queryset, chunk by chunk: for streamed exports of any size."""
    keys = list(offer_values(queryset, fields={"id": "id"}))
    for start in range(0, len(keys), chunk_size):
        chunk = keys[start : start + chunk_size]
        by_id = {row["id"]: row for row in offer_values(Offer.objects.filter(id__in=[key["id"] for key in chunk]))}
        rows = offer_rows_attach([{**by_id[key["id"]], **key} for key in chunk])
        yield from rows


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("territory")


def organisation_resolve(*, slug: str, field: str = "organisation") -> Organisation:
    """The organisation with this slug, or a 400 naming `field` (a parameter, not a path: hence not a 404)."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise InvalidInput(
            [
                ErrorItem(
                    field=field, code="not_found", message=gettext("No organisation %(slug)s.") % {"slug": repr(slug)}
                )
            ]
        )
    return organisation


# ---------------------------------------------------------------------------
# Analysts' territories: which strategy material (needs, surveys, runs) an account sees
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalystScope:
    """The territories whose needs, surveys and matching runs an account may see and write.

    `instance_wide`: all of them, material of the whole instance (no territory) included: admins, and analysts whom
    no territory lists when `settings.ANALYSTS_WITHOUT_TERRITORY` is "all". Otherwise what lies within one of
    `territories` (a région's analysts see everything below it), and nothing when they are empty. Material lies
    within the scope when every path its territory covers (`Territory.paths`) does.
    """

    instance_wide: bool
    territories: tuple[Territory, ...] = ()
    # Territories covering several path prefixes (custom territories, EPCIs straddling two départements): those
    # lying wholly within the scope, and those whose own `path` is in it though part of their area is not.
    inside_ids: frozenset[int] = frozenset()
    partly_outside_ids: frozenset[int] = frozenset()

    @property
    def paths(self) -> list[str]:
        return sorted({path for territory in self.territories for path in territory.paths})

    def contains(self, territory: Territory | None) -> bool:
        """Whether material scoped to `territory` (None: the whole instance) lies within the scope."""
        if self.instance_wide:
            return True
        if territory is None:
            return False
        return _paths_within(territory.paths, self.paths)

    def q(self, field: str) -> Q:
        """Q matching the rows whose territory, the relation `field`, lies within the scope."""
        if self.instance_wide:
            return Q()
        inside = territories_subtree_q(self.territories, prefix=f"{field}__")
        if self.partly_outside_ids:
            inside &= ~Q(**{f"{field}_id__in": sorted(self.partly_outside_ids)})
        if self.inside_ids:
            inside |= Q(**{f"{field}_id__in": sorted(self.inside_ids)})
        return inside

    def territory_check(self, territory: Territory | None, *, field: str, default: bool = False) -> Territory | None:
        """`territory` when the account may scope material to it; with `default`, None becomes the account's only
        territory. Otherwise a 400 naming `field`: outside the account's territories, or none given."""
        if self.contains(territory):
            return territory
        if territory is None:
            if default and len(self.territories) == 1:
                return self.territories[0]
            if not self.territories:
                message = gettext("Your account belongs to no territory: ask an administrator to assign one.")
            else:
                message = gettext(
                    "The whole instance is outside your territories (%(territories)s): give the %(field)s "
                    "(official code)."
                ) % {"territories": self.describe(), "field": field}
            raise InvalidInput([ErrorItem(field=field, code="outside_territories", message=message)])
        raise InvalidInput(
            [
                ErrorItem(
                    field=field,
                    code="outside_territories",
                    message=gettext("%(territory)s (%(code)s) is outside your territories (%(territories)s).")
                    % {"territory": territory.name, "code": territory.qualified_code, "territories": self.describe()},
                )
            ]
        )

    def describe(self) -> str:
        described = ", ".join(f"{territory.name} ({territory.qualified_code})" for territory in self.territories)
        return described or gettext("none")


NO_ANALYST_SCOPE = AnalystScope(instance_wide=False)


def analyst_scope(*, user) -> AnalystScope:
    """What strategy material `user` sees: their memberships (`Territory.analysts`) decide; memoised on the user
    object, since one request asks several times (the queryset, then each write check)."""
    if not is_analyst(user):
        return NO_ANALYST_SCOPE
    cached = getattr(user, "_ancrage_analyst_scope", None)
    if cached is not None:
        return cached
    if is_admin(user):
        scope = AnalystScope(instance_wide=True)
    else:
        territories = tuple(Territory.objects.filter(analysts=user).order_by("path"))
        if not territories:
            scope = AnalystScope(instance_wide=settings.ANALYSTS_WITHOUT_TERRITORY == "all")
        else:
            scope = _analyst_scope_of(territories)
    user._ancrage_analyst_scope = scope
    return scope


def _paths_within(inner: Iterable[str], outer: list[str]) -> bool:
    """Every path of `inner` lies below one of `outer`."""
    return all(any(path_contains(prefix, path) for prefix in outer) for path in inner)


MULTI_PATH_CACHE_SECONDS = 3600


def _multi_path_territories() -> list[tuple[int, str, list[str]]]:
    """(id, path, area_paths) of the territories covering several path prefixes (custom territories, EPCIs
    straddling two départements): a few dozen, found by scanning every territory, so kept in the cache per catalogue
    version (every write of territories bumps it)."""
    version = CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    key = f"territories:multi-path:{version}"
    rows = cache.get(key)
    if rows is None:
        rows = list(Territory.objects.exclude(area_paths=[]).values_list("id", "path", "area_paths"))
        cache.set(key, rows, MULTI_PATH_CACHE_SECONDS)
    return rows


def _analyst_scope_of(territories: tuple[Territory, ...]) -> AnalystScope:
    """The scope of these territories, with the few territories of several paths sorted into inside and partly
    outside."""
    paths = AnalystScope(instance_wide=False, territories=territories).paths
    inside, partly_outside = set(), set()
    for territory_id, path, area_paths in _multi_path_territories():
        if _paths_within(area_paths, paths):
            inside.add(territory_id)
        elif _paths_within([path], paths):
            partly_outside.add(territory_id)
    return AnalystScope(
        instance_wide=False,
        territories=territories,
        inside_ids=frozenset(inside),
        partly_outside_ids=frozenset(partly_outside),
    )


def account_describe(*, user) -> dict:
    """Who the caller is to the API: roles, organisations edited, analyst territories (GET /me/)."""
    scope = analyst_scope(user=user)
    territories = Territory.objects.filter(analysts=user).order_by("path").values("kind", "code", "name")
    return {
        "username": user.get_username(),
        "is_admin": is_admin(user),
        "is_analyst": is_analyst(user),
        "organisations": list(user.organisations.order_by("slug").values_list("slug", flat=True)),
        "territories": [
            {"qualified_code": f"{row['kind']}:{row['code']}", "name": row["name"], "kind": row["kind"]}
            for row in territories
        ],
        "sees_every_territory": scope.instance_wide,
    }


def source_list(*, user) -> QuerySet:
    """The sources a user sees: every one for analysts and admins, those of their organisations for editors."""
    latest = SourceSync.objects.filter(source=OuterRef("pk")).order_by("-requested_at", "-id").values("pk")[:1]
    sources = (
        Source.objects.select_related("organisation")
        .annotate(offer_count=Count("offers"), last_sync_id=Subquery(latest))
        .order_by("code")
    )
    if is_analyst(user):
        return sources
    if not (user and user.is_authenticated):
        return sources.none()
    return sources.filter(organisation__editors=user)


def source_sync_list(*, user) -> QuerySet:
    """The syncs of the sources the user sees, newest first, without the uploaded files."""
    return (
        SourceSync.objects.filter(source__in=source_list(user=user).values("pk"))
        .select_related("source")
        .defer("upload")
    )

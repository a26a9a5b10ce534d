"""Custom territories: the territories of a strategy itself (Cornouaille, an agglomeration and its neighbour
promoting together), each a named set of EPCIs and/or communes with its own stable code.

A custom territory sits outside the administrative tree (path `x<code>/`); its `area_paths` are its members' path
prefixes, so every "X and everything below X" (`offers.selectors.territory_subtree_q`, the matching engine's
`inside`) covers its members. Its population is the sum over the distinct current communes it covers, its centroid
the population-weighted mean of its members' centroids. Reference data: every write bumps the catalogue version.
"""

import re
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext
from rest_framework.exceptions import PermissionDenied

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.text import fold_text
from offers.models import Territory, TerritoryKind
from offers.selectors import territory_resolve, territory_subtree_q
from offers.services.reference_data import catalogue_changed, usage_phrase
from offers.territory_paths import area_normalise, custom_path

CUSTOM_TERRITORY_CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
CUSTOM_TERRITORY_CODE_MAX_LENGTH = 40
CUSTOM_TERRITORY_MEMBER_KINDS = (TerritoryKind.EPCI, TerritoryKind.COMMUNE)
CUSTOM_TERRITORY_MAX_MEMBERS = 2000
# Reverse relations that are part of the territory itself, not uses of it.
_OWN_RELATIONS = {"members", "custom_territories", "children", "predecessors", "postal_codes"}


def custom_territory_members_resolve(values: Any, *, field: str = "members") -> list[Territory]:
    """The EPCIs and communes named by `values` (codes as `territory_resolve` reads them: `200069037`,
    `epci:200069037`, `29232`), each once in the order given; a 400 listing every unknown, ambiguous or
    wrong-kind value with its position."""
    if not isinstance(values, list | tuple) or not values:
        raise InvalidInput(
            [ErrorItem(field=field, code="required", message=gettext("Give at least one EPCI or commune code."))]
        )
    if len(values) > CUSTOM_TERRITORY_MAX_MEMBERS:
        raise InvalidInput(
            [
                ErrorItem(
                    field=field,
                    code="too_many",
                    message=gettext("%(count)s members; a custom territory has at most %(limit)s.")
                    % {"count": len(values), "limit": CUSTOM_TERRITORY_MAX_MEMBERS},
                )
            ]
        )
    errors: list[ErrorItem] = []
    members: dict[int, Territory] = {}
    for position, value in enumerate(values):
        where = f"{field}.{position}"
        if not isinstance(value, str) or not value.strip():
            errors.append(ErrorItem(field=where, code="invalid", message=gettext("Expected an EPCI or commune code.")))
            continue
        try:
            territory = territory_resolve(code=value, field=where)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            continue
        if territory.kind not in CUSTOM_TERRITORY_MEMBER_KINDS:
            errors.append(
                ErrorItem(
                    field=where,
                    code="wrong_kind",
                    message=gettext(
                        "%(value)s (%(territory)s) is a territory of kind %(kind)s: a custom territory is made of "
                        "EPCIs and communes only."
                    )
                    % {
                        "value": repr(value),
                        "territory": territory.name,
                        "kind": territory.get_kind_display().lower(),
                    },
                )
            )
            continue
        if territory.successor_id is not None:
            errors.append(
                ErrorItem(
                    field=where,
                    code="merged",
                    message=gettext("The commune %(value)s (%(territory)s) was merged; use its successor's code.")
                    % {"value": repr(value), "territory": territory.name},
                )
            )
            continue
        members.setdefault(territory.pk, territory)
    if errors:
        raise InvalidInput(errors)
    return list(members.values())


def _code_check(code: Any) -> str:
    text = code.strip() if isinstance(code, str) else ""
    problem = None
    if not text:
        problem = gettext("Give the custom territory's code (a slug such as `cornouaille`).")
    elif len(text) > CUSTOM_TERRITORY_CODE_MAX_LENGTH:
        problem = gettext("The code has %(length)s characters; the limit is %(limit)s.") % {
            "length": len(text),
            "limit": CUSTOM_TERRITORY_CODE_MAX_LENGTH,
        }
    elif not CUSTOM_TERRITORY_CODE.match(text):
        problem = gettext(
            "%(code)s is not a custom territory code: lowercase letters, digits and single hyphens, starting "
            "with a letter (`cornouaille`, `saint-omer-flandre`), so that it never reads as an official code."
        ) % {"code": repr(text)}
    elif Territory.objects.filter(kind=TerritoryKind.CUSTOM, code=text).exists():
        problem = _code_taken(text)
    if problem:
        raise InvalidInput([ErrorItem(field="code", code="invalid", message=problem)])
    return text


def _name_check(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise InvalidInput(
            [ErrorItem(field="name", code="required", message=gettext("Give the custom territory's name."))]
        )
    limit = Territory._meta.get_field("name").max_length
    if len(text) > limit:
        raise InvalidInput(
            [
                ErrorItem(
                    field="name",
                    code="too_long",
                    message=gettext("The name has %(length)s characters; the limit is %(limit)s.")
                    % {"length": len(text), "limit": limit},
                )
            ]
        )
    return text


def custom_territory_figures(members: Sequence[Territory]) -> dict[str, Any]:
    """`area_paths`, `population`, `latitude` and `longitude` of a territory made of `members`.

    Population: the sum over the distinct current communes the members cover (a commune inside a member EPCI
    counts once), None when one of them has no known population (a partial sum would flatter every
    per-inhabitant figure). Centroid: the members' centroids weighted by their population (equal weights when one
    is unknown), None when no member has one."""
    paths = area_normalise(path for member in members for path in member.paths)
    covered = Q(pk__in=[])
    for member in members:
        covered |= territory_subtree_q(member)
    populations = list(
        Territory.objects.filter(covered, kind=TerritoryKind.COMMUNE, successor=None)
        .order_by()
        .values_list("id", "population")
        .distinct()
    )
    population = None
    if populations and all(value is not None for _id, value in populations):
        population = sum(value for _id, value in populations)
    located = [member for member in members if member.latitude is not None and member.longitude is not None]
    latitude = longitude = None
    if located:
        weights = [member.population for member in located]
        if any(weight is None for weight in weights) or not sum(weights):
            weights = [1] * len(located)
        total = sum(weights)
        latitude = sum(member.latitude * weight for member, weight in zip(located, weights, strict=True)) / total
        longitude = sum(member.longitude * weight for member, weight in zip(located, weights, strict=True)) / total
    return {"area_paths": paths, "population": population, "latitude": latitude, "longitude": longitude}


@transaction.atomic
def custom_territory_create(*, code: Any, name: Any, members: Any, created_by=None) -> Territory:
    """Create a custom territory from its code (a slug, unique among custom territories), name and members (EPCI
    and commune codes); every problem of the request is reported at once, and nothing is written."""
    errors: list[ErrorItem] = []
    checked: dict[str, Any] = {}
    for key, check in (("code", _code_check), ("name", _name_check)):
        try:
            checked[key] = check(code if key == "code" else name)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    try:
        resolved = custom_territory_members_resolve(members)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            territory = Territory.objects.create(
                kind=TerritoryKind.CUSTOM,
                code=checked["code"],
                name=checked["name"],
                name_folded=fold_text(checked["name"])[:150],
                path=custom_path(checked["code"]),
                created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
                **custom_territory_figures(resolved),
            )
    except IntegrityError:  # the same code created by a concurrent request since the check
        raise InvalidInput([ErrorItem(field="code", code="invalid", message=_code_taken(code))]) from None
    territory.members.set(resolved)
    catalogue_changed()
    return territory


def custom_territory_check(*, territory: Territory) -> None:
    """403 unless `territory` is a custom territory (the others are loaded, never written by callers)."""
    if territory.kind != TerritoryKind.CUSTOM:
        raise PermissionDenied(
            gettext(
                "%(code)s (%(territory)s) is administrative reference data, loaded by `manage.py load_territories`: "
                "only custom territories are changed through the API."
            )
            % {"code": territory.qualified_code, "territory": territory.name},
            code="read_only_territory",
        )


@transaction.atomic
def custom_territory_update(*, territory: Territory, values: dict[str, Any]) -> Territory:
    """Rename a custom territory and/or replace its members (`name`, `members`); its code is stable."""
    custom_territory_check(territory=territory)
    errors: list[ErrorItem] = []
    if "code" in values and values["code"] != territory.code:
        errors.append(
            ErrorItem(
                field="code",
                code="read_only",
                message=gettext(
                    "A custom territory's code is stable (needs, runs and links use it): create another one."
                ),
            )
        )
    name = territory.name
    if "name" in values:
        try:
            name = _name_check(values["name"])
        except InvalidInput as exc:
            errors.extend(exc.errors)
    members = None
    if "members" in values:
        try:
            members = custom_territory_members_resolve(values["members"])
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    territory = Territory.objects.select_for_update().get(pk=territory.pk)
    changed = []
    if name != territory.name:
        territory.name, territory.name_folded = name, fold_text(name)[:150]
        changed += ["name", "name_folded"]
    if members is not None:
        for key, value in custom_territory_figures(members).items():
            if getattr(territory, key) != value:
                setattr(territory, key, value)
                changed.append(key)
        if {member.pk for member in members} != set(territory.members.values_list("pk", flat=True)):
            territory.members.set(members)
            changed.append("members")
    fields = [key for key in changed if key != "members"]
    if fields:
        territory.save(update_fields=fields)
    if changed:
        catalogue_changed()
    return territory


def custom_territory_usage(*, territory: Territory) -> dict[str, int]:
    """How many rows of every app still refer to `territory` (needs, surveys, matching runs, offers' service
    areas, organisations...), by their plural English name ("matching runs"); non-zero entries only. Read through
    the model's reverse relations, so offers/ counts what audiences/ and matching/ file under it without importing
    them."""
    usage: dict[str, int] = {}
    for relation in Territory._meta.related_objects:
        if relation.related_model is Territory or relation.get_accessor_name() in _OWN_RELATIONS:
            continue
        if relation.many_to_many:
            count = getattr(territory, relation.get_accessor_name()).count()
        else:
            count = relation.related_model._default_manager.filter(**{relation.field.name: territory}).count()
        if count:
            label = re.sub(r"(?<!^)(?=[A-Z])", " ", relation.related_model.__name__).lower() + "s"
            usage[label] = usage.get(label, 0) + count
    return usage


@transaction.atomic
def custom_territory_delete(*, territory: Territory) -> None:
    """Delete a custom territory nothing uses; otherwise 409 with what still uses it (reassign them first)."""
    custom_territory_check(territory=territory)
    usage = custom_territory_usage(territory=territory)
    if usage:
        details = ", ".join(usage_phrase(what, count) for what, count in sorted(usage.items()))
        raise Conflict(
            gettext("The custom territory %(code)s is still used by %(details)s; reassign or delete them first.")
            % {"code": repr(territory.code), "details": details},
            code="territory_in_use",
        )
    territory.members.clear()
    territory.delete()
    catalogue_changed()


def _code_taken(code: str) -> str:
    return gettext("A custom territory already has the code %(code)s.") % {"code": repr(code)}

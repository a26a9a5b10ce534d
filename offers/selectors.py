"""Reads of the offers app: territories (hierarchy by official code) and the taxonomy."""

from django.db.models import Prefetch, Q, QuerySet

from api.exceptions import ErrorItem, InvalidInput
from api.text import fold_text
from offers.models import Audience, Domain, Territory, TerritoryKind, Theme


def territory_resolve(*, code: str, field: str = "territory") -> Territory:
    """Find a territory by official code: `23096`, `200034825`, or qualified `departement:23` when ambiguous.

    Region and département codes overlap (region 75 and Paris 75), so a bare code that names several
    territories is refused with the qualified codes to use.
    """
    raw = (code or "").strip()
    if ":" in raw:
        kind, _, bare = raw.partition(":")
        if kind not in TerritoryKind.values:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=field, message=f"Unknown territory kind {kind!r}: use {', '.join(TerritoryKind.values)}."
                    )
                ]
            )
        matches = list(Territory.objects.filter(kind=kind, code=bare))
    else:
        matches = list(Territory.objects.filter(code=raw))
    if not matches:
        raise InvalidInput([ErrorItem(field=field, code="not_found", message=f"No territory has the code {raw!r}.")])
    if len(matches) > 1:
        options = ", ".join(sorted(territory.qualified_code for territory in matches))
        raise InvalidInput(
            [ErrorItem(field=field, code="ambiguous", message=f"The code {raw!r} is ambiguous: use one of {options}.")]
        )
    return matches[0]


def territory_subtree_q(territory: Territory, *, prefix: str = "") -> Q:
    """Q matching `territory` and every territory below it, through the relation `prefix` (e.g. "commune__")."""
    return Q(**{f"{prefix}path__startswith": territory.path})


def territory_ancestors_q(territory: Territory, *, prefix: str = "") -> Q:
    """Q matching `territory` and every territory above it (those whose path is a prefix of its path)."""
    segments = territory.path.strip("/").split("/")
    paths = ["/".join(segments[: depth + 1]) + "/" for depth in range(len(segments))]
    return Q(**{f"{prefix}path__in": paths})


def territory_list(
    *,
    kind: str | None = None,
    parent: Territory | None = None,
    within: Territory | None = None,
    search: str | None = None,
) -> QuerySet[Territory]:
    queryset = Territory.objects.select_related("parent")
    if kind:
        queryset = queryset.filter(kind=kind)
    if parent is not None:
        queryset = queryset.filter(parent=parent)
    if within is not None:
        queryset = queryset.filter(territory_subtree_q(within))
    if search:
        queryset = queryset.filter(name_folded__contains=fold_text(search))
    return queryset


def taxonomy_domains() -> QuerySet[Domain]:
    return Domain.objects.prefetch_related(Prefetch("themes", queryset=Theme.objects.order_by("position", "code")))


def audience_list() -> QuerySet[Audience]:
    return Audience.objects.all()

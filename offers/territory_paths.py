"""Materialised territory paths, built and read in one place (pure Python: the scoring imports it without Django).

A territory's path spells its ancestry from the région down, one segment per level, each the kind's prefix letter
followed by the official code: ``r75/d23/e200034825/c23096/``. "Everything below X" is then a prefix test, in SQL
(``path__startswith``) as in Python.

Some territories cover more than one path prefix: an EPCI straddling two départements (its communes sit under
both: ``r75/d23/e200034825/`` and ``r75/d87/e200034825/``) and a custom territory (the paths of its member EPCIs
and communes; its own path, ``xcornouaille/``, lies outside the administrative tree). Their *area* is that list of
prefixes, carried as one string key (``area_key``) where arrays and caches need a hashable value. Below a
territory means below one of its prefixes, or, for an administrative path, holding its last segment: two communes
of one EPCI are in it even when they sit under different départements and the EPCI's `area_paths` is stale.
"""

from __future__ import annotations

from collections.abc import Iterable

# Kinds from the widest to the narrowest; their values are TerritoryKind's.
KINDS: tuple[str, ...] = ("region", "departement", "epci", "commune")
PREFIX_BY_KIND: dict[str, str] = {"region": "r", "departement": "d", "epci": "e", "commune": "c"}
KIND_BY_PREFIX: dict[str, str] = {prefix: kind for kind, prefix in PREFIX_BY_KIND.items()}
KIND_RANK: dict[str, int] = {kind: rank for rank, kind in enumerate(KINDS)}
SEPARATOR = "/"
# Custom territories (TerritoryKind.CUSTOM) sit outside the tree, each at the root under this prefix.
CUSTOM_KIND = "custom"
CUSTOM_PREFIX = "x"
# The country (TerritoryKind.COUNTRY, code FR) sits at the root too, outside the tree like custom territories: its
# area is the paths of every région (`Territory.area_paths`), so "below France" is a prefix test like any other.
COUNTRY_KIND = "country"
COUNTRY_PREFIX = "p"
COUNTRY_CODE = "FR"
# Joins the prefixes of an area into one key; never part of a path.
AREA_SEPARATOR = "|"


def path_child(parent_path: str | None, *, kind: str, code: str) -> str:
    """The path of a territory of `kind` and `code` under `parent_path` ('' or None for a root)."""
    return f"{parent_path or ''}{PREFIX_BY_KIND[kind]}{code}{SEPARATOR}"


def _parts(path: str | None) -> list[str]:
    return [part for part in (path or "").split(SEPARATOR) if part]


def custom_path(code: str) -> str:
    """The path of the custom territory `code` ('cornouaille' -> 'xcornouaille/')."""
    return f"{CUSTOM_PREFIX}{code}{SEPARATOR}"


def country_path(code: str = COUNTRY_CODE) -> str:
    """The path of the country `code` ('FR' -> 'pFR/')."""
    return f"{COUNTRY_PREFIX}{code}{SEPARATOR}"


def path_segments(path: str | None) -> list[tuple[str, str]]:
    """'r75/d23/e200034825/' -> [('region', '75'), ('departement', '23'), ('epci', '200034825')];
    'xcornouaille/' -> [('custom', 'cornouaille')]; 'pFR/' -> [('country', 'FR')]."""
    segments = []
    for part in _parts(path):
        if part[0] in KIND_BY_PREFIX:
            segments.append((KIND_BY_PREFIX[part[0]], part[1:]))
        elif part[0] == CUSTOM_PREFIX:
            segments.append((CUSTOM_KIND, part[1:]))
        elif part[0] == COUNTRY_PREFIX:
            segments.append((COUNTRY_KIND, part[1:]))
    return segments


def path_ancestors(path: str | None) -> list[str]:
    """The path of every territory from the root down to `path` itself, widest first."""
    parts = _parts(path)
    return [SEPARATOR.join(parts[: depth + 1]) + SEPARATOR for depth in range(len(parts))]


def path_code(path: str | None, kind: str) -> str:
    """The code of the territory of `kind` on `path` ('' when the path has no such level)."""
    prefix = PREFIX_BY_KIND[kind]
    for part in _parts(path):
        if part.startswith(prefix):
            return part[len(prefix) :]
    return ""


def path_upto(path: str | None, kind: str) -> str | None:
    """`path` cut after its segment of `kind` (the path of that ancestor); None when it has no such level."""
    prefix = PREFIX_BY_KIND[kind]
    for ancestor, part in zip(path_ancestors(path), _parts(path), strict=True):
        if part.startswith(prefix):
            return ancestor
    return None


def path_contains(outer: str, inner: str) -> bool:
    """True when `inner` is `outer` or a territory below it: `outer` is a prefix of `inner`, or `inner` holds
    `outer`'s last segment (kind and code name one territory, wherever the tree files its communes)."""
    if inner.startswith(outer):
        return True
    last = path_last_segment(outer)
    return bool(last) and f"{SEPARATOR}{last}{SEPARATOR}" in f"{SEPARATOR}{inner}"


def path_last_segment(path: str | None) -> str:
    """'r75/d23/e200034825/' -> 'e200034825' ('' for no path)."""
    parts = _parts(path)
    return parts[-1] if parts else ""


def area_key(paths: Iterable[str]) -> str:
    """One string for the area made of `paths` (sorted, each once, empty ones dropped): the path itself for a
    one-path area, so a plain path is already its own key."""
    return AREA_SEPARATOR.join(area_normalise(paths))


def area_paths(key: str | None) -> list[str]:
    """The prefixes of an area key ([] for '' or None)."""
    return [path for path in (key or "").split(AREA_SEPARATOR) if path]


def area_normalise(paths: Iterable[str]) -> list[str]:
    """Sorted distinct prefixes, without any that another one already starts (a commune inside a member EPCI).
    By prefix only: both sides of a straddling EPCI stay, since SQL matches prefixes, not segments."""
    distinct = sorted({path for path in paths if path})
    return [path for path in distinct if not any(other != path and path.startswith(other) for other in distinct)]


def area_contains(area: str | Iterable[str], path: str) -> bool:
    """True when the territory at `path` lies in the area (a key or a list of prefixes)."""
    prefixes = area_paths(area) if isinstance(area, str) else list(area)
    return any(path_contains(prefix, path) for prefix in prefixes)


def area_overlaps(area: str | Iterable[str], path: str) -> bool:
    """True when `path` lies in the area or above one of its prefixes (a département overlaps an EPCI inside it)."""
    prefixes = area_paths(area) if isinstance(area, str) else list(area)
    return any(path_contains(prefix, path) or path_contains(path, prefix) for prefix in prefixes)


def common_path(paths: Iterable[str]) -> str | None:
    """Deepest path containing every path given ('r75/d23/e1/c1/', 'r75/d23/e2/c2/' -> 'r75/d23/'); None if none."""
    common: list[str] | None = None
    for path in paths:
        parts = _parts(path)
        if common is None:
            common = parts
            continue
        depth = 0
        while depth < min(len(common), len(parts)) and common[depth] == parts[depth]:
            depth += 1
        common = common[:depth]
    if not common:
        return None
    return SEPARATOR.join(common) + SEPARATOR

"""Materialised territory paths, built and read in one place (pure Python: the scoring imports it without Django).

A territory's path spells its ancestry from the région down, one segment per level, each the kind's prefix letter
followed by the official code: ``r75/d23/e200034825/c23096/``. "Everything below X" is then a prefix test, in SQL
(``path__startswith``) as in Python.
"""

from __future__ import annotations

from collections.abc import Iterable

# Kinds from the widest to the narrowest; their values are TerritoryKind's.
KINDS: tuple[str, ...] = ("region", "departement", "epci", "commune")
PREFIX_BY_KIND: dict[str, str] = {"region": "r", "departement": "d", "epci": "e", "commune": "c"}
KIND_BY_PREFIX: dict[str, str] = {prefix: kind for kind, prefix in PREFIX_BY_KIND.items()}
KIND_RANK: dict[str, int] = {kind: rank for rank, kind in enumerate(KINDS)}
SEPARATOR = "/"


def path_child(parent_path: str | None, *, kind: str, code: str) -> str:
    """The path of a territory of `kind` and `code` under `parent_path` ('' or None for a root)."""
    return f"{parent_path or ''}{PREFIX_BY_KIND[kind]}{code}{SEPARATOR}"


def _parts(path: str | None) -> list[str]:
    return [part for part in (path or "").split(SEPARATOR) if part]


def path_segments(path: str | None) -> list[tuple[str, str]]:
    """'r75/d23/e200034825/' -> [('region', '75'), ('departement', '23'), ('epci', '200034825')]."""
    return [(KIND_BY_PREFIX[part[0]], part[1:]) for part in _parts(path) if part[0] in KIND_BY_PREFIX]


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
    """True when `inner` is `outer` or a territory below it."""
    return inner.startswith(outer)


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

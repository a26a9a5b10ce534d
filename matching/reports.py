"""Gap reports, run comparisons and IPA tables computed from a run's stored per-need results (pure Python, no Django).

Input rows are plain dicts as returned by `matching.selectors.report_rows()` (a `.values()` query): `id` (result),
`need_id`, `statement`, `audience_code`, `domain_code`, `theme_codes`, `territory_path`, `epci_code`,
`commune_code`, `importance`, `satisfaction`, `demand_volume`, `stage`, `coverage`, `gap`, `recommendation`.

Grouping rules, shared by the report and the comparison:
- `domain`, `audience`, `stage` (the journey stage: attract, welcome, anchor): the need's code; a result without
  stage is grouped under "Étape non renseignée" (code "").
- `theme`: a need with several themes counts in EACH of its themes (so the theme groups' need counts and gap totals
  add up to more than the run's totals); a need without theme is grouped under "Sans thème" (code "").
- `territory`: at `territory_level` (`region`, `departement`, `epci` or `commune`), from the need's territory path
  (`r75/d23/e200034825/c23096/`). A need scoped to a wider area than the level (a whole département, a whole EPCI
  at commune level) is grouped under that wider territory, labelled e.g. "Creuse (tout le département)"; a need
  without territory under "Tout le territoire" (code ""). A need whose territory covers several territories of the
  level (a custom territory of two EPCIs at EPCI level, an EPCI straddling two départements at département level:
  `ReportLabels.areas`) is grouped under its own territory, labelled e.g. "Cornouaille (territoire de projet)"; when
  all its prefixes fall in one territory of the level, under that one. Territory codes are qualified:
  `epci:200034825`, `custom:cornouaille`.
Labels come from a `ReportLabels` (taxonomy and territory names); an unknown code is shown as itself.

Per-inhabitant figures (`report_per_inhabitant`): each group's territory (its territory dimension, else the run's
scope) gives a `population`; demand volume and gap per 1,000 inhabitants and published offers located in the
territory (of the group's domain, theme or audience when grouped by one) per 10,000 inhabitants; null where the
population is unknown.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching import scoring
from matching.reasons import MAINTAIN, RECOMMENDATION_LABELS, RECOMMENDATIONS
from matching.scoring import CROSSHAIR_RULES as CROSSHAIR_RULES  # The IPA query's rules (the schema's enum).
from offers.territory_paths import (
    CUSTOM_KIND,
    KIND_RANK,
    PREFIX_BY_KIND,
    SEPARATOR,
    area_contains,
    path_last_segment,
    path_segments,
)

DIMENSIONS = ("domain", "theme", "audience", "territory", "stage")
TERRITORY_LEVELS = ("region", "departement", "epci", "commune")
DIMENSION_LABELS = {
    "domain": "Domaine",
    "theme": "Thème",
    "audience": "Public cible",
    "territory": "Territoire",
    "stage": "Étape du parcours",
}
TERRITORY_LEVEL_LABELS = {
    "region": "Région",
    "departement": "Département",
    "epci": "Intercommunalité",
    "commune": "Commune",
}
NO_THEME_LABEL = "Sans thème"
NO_STAGE_LABEL = "Étape non renseignée"
WHOLE_TERRITORY_LABEL = "Tout le territoire"
WIDER_SCOPE_SUFFIX = {
    "region": "toute la région",
    "departement": "tout le département",
    "epci": "toute l'intercommunalité",
}
CUSTOM_SUFFIX = "territoire de projet"
SPREAD_SUFFIX = {
    "region": "sur plusieurs régions",
    "departement": "sur plusieurs départements",
    "epci": "sur plusieurs intercommunalités",
    "commune": "sur plusieurs communes",
}
GAP_LEGEND = "Écart pondéré (importance × (1 − couverture))"

DECIMALS = 4


@dataclass(frozen=True)
class ReportLabels:
    """French labels by code: taxonomy (domain, theme, audience), journey stages and territory names by qualified
    code."""

    domain: Mapping[str, str] = field(default_factory=dict)
    theme: Mapping[str, str] = field(default_factory=dict)
    audience: Mapping[str, str] = field(default_factory=dict)
    territory: Mapping[str, str] = field(default_factory=dict)
    # By qualified code, for territories covering several path prefixes (custom territories, EPCIs straddling
    # départements): those prefixes. Territories with one prefix (their path) are left out.
    areas: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Known populations by qualified code (communes, EPCIs, départements, régions, custom territories).
    population: Mapping[str, int] = field(default_factory=dict)
    stage: Mapping[str, str] = field(default_factory=dict)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def territory_group_code(row: Mapping, level: str, areas: Mapping[str, Sequence[str]] | None = None) -> str:
    """Qualified code of the territory a need is grouped under at `level` ('' = the whole territory)."""
    segments = path_segments(row.get("territory_path"))
    if segments and areas:
        own = "{}:{}".format(*segments[-1])
        if own in areas:
            # Several prefixes: the one territory of the level holding them all, else the need's own territory.
            codes = {territory_group_code({"territory_path": path}, level) for path in areas[own]}
            return codes.pop() if len(codes) == 1 else own
    if segments and segments[-1][0] == CUSTOM_KIND:
        return "{}:{}".format(*segments[-1])
    if not segments:
        # Results written without a path still carry their codes.
        if row.get("commune_code"):
            segments.append(("commune", row["commune_code"]))
        elif row.get("epci_code"):
            segments.append(("epci", row["epci_code"]))
    for kind, code in segments:
        if kind == level:
            return f"{kind}:{code}"
    wider = [(kind, code) for kind, code in segments if KIND_RANK.get(kind, -1) < KIND_RANK[level]]
    if wider:
        kind, code = wider[-1]
        return f"{kind}:{code}"
    return ""


def territory_label(code: str, level: str, labels: ReportLabels) -> str:
    if not code:
        return WHOLE_TERRITORY_LABEL
    kind = code.split(":", 1)[0]
    name = labels.territory.get(code, code.split(":", 1)[-1])
    if kind == CUSTOM_KIND:
        return f"{name} ({CUSTOM_SUFFIX})"
    if kind != level and kind in KIND_RANK and KIND_RANK[kind] > KIND_RANK[level]:
        return f"{name} ({SPREAD_SUFFIX[level]})"
    if kind != level and kind in WIDER_SCOPE_SUFFIX:
        return f"{name} ({WIDER_SCOPE_SUFFIX[kind]})"
    return name


def dimension_values(
    row: Mapping, dimension: str, *, territory_level: str, areas: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """The group codes of a row along one dimension (several for a need with several themes)."""
    if dimension == "domain":
        return [row.get("domain_code") or ""]
    if dimension == "audience":
        return [row.get("audience_code") or ""]
    if dimension == "stage":
        return [row.get("stage") or ""]
    if dimension == "theme":
        # dict.fromkeys keeps order and drops a theme listed twice, so a need never counts twice in one group.
        return list(dict.fromkeys(row.get("theme_codes") or [])) or [""]
    if dimension == "territory":
        return [territory_group_code(row, territory_level, areas)]
    raise ValueError(f"Unknown dimension {dimension!r}; allowed: {', '.join(DIMENSIONS)}.")


def dimension_label(dimension: str, code: str, *, labels: ReportLabels, territory_level: str) -> str:
    if dimension == "territory":
        return territory_label(code, territory_level, labels)
    if dimension == "theme" and not code:
        return NO_THEME_LABEL
    if dimension == "stage" and not code:
        return NO_STAGE_LABEL
    return getattr(labels, dimension).get(code, code)


def _group_keys(
    row: Mapping, group_by: Sequence[str], territory_level: str, areas: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [()]
    for dimension in group_by:
        values = dimension_values(row, dimension, territory_level=territory_level, areas=areas)
        keys = [(*key, value) for key in keys for value in values]
    return keys


def _dimensions(key: tuple[str, ...], group_by: Sequence[str], labels: ReportLabels, territory_level: str):
    return [
        {
            "dimension": dimension,
            "code": code,
            "label": dimension_label(dimension, code, labels=labels, territory_level=territory_level),
        }
        for dimension, code in zip(group_by, key, strict=True)
    ]


class _Figures:
    """Running sums of one group."""

    def __init__(self) -> None:
        self.rows: list[Mapping] = []
        self.importance = 0.0
        self.volume = 0
        self.volume_known = 0
        self.coverage = 0.0
        self.gap = 0.0
        self.satisfaction = 0.0
        self.satisfaction_known = 0
        self.recommendations: Counter = Counter()

    def add(self, row: Mapping) -> None:
        self.rows.append(row)
        self.importance += row["importance"]
        if row.get("demand_volume") is not None:
            self.volume += row["demand_volume"]
            self.volume_known += 1
        self.coverage += row["coverage"]
        self.gap += row["gap"]
        if row.get("satisfaction") is not None:
            self.satisfaction += row["satisfaction"]
            self.satisfaction_known += 1
        self.recommendations[row["recommendation"]] += 1

    def as_dict(self, top: int, labels: ReportLabels) -> dict:
        count = len(self.rows)
        top_rows = sorted(self.rows, key=_gap_order)[:top]
        return {
            "need_count": count,
            "importance_total": _round(self.importance),
            "demand_volume_total": self.volume if self.volume_known else None,
            "demand_volume_known": self.volume_known,
            "coverage_mean": _round(self.coverage / count) if count else None,
            "gap_total": _round(self.gap),
            "gap_mean": _round(self.gap / count) if count else None,
            "satisfaction_mean": (
                _round(self.satisfaction / self.satisfaction_known) if self.satisfaction_known else None
            ),
            "recommendations": {code: self.recommendations.get(code, 0) for code in RECOMMENDATIONS},
            "top_gaps": [
                {
                    "need_id": row.get("need_id"),
                    "statement": row["statement"],
                    "gap": _round(row["gap"]),
                    "coverage": _round(row["coverage"]),
                    "importance": _round(row["importance"]),
                    "recommendation": row["recommendation"],
                    "recommendation_label": RECOMMENDATION_LABELS.get(row["recommendation"], row["recommendation"]),
                    # The same survey item yields one need per audience and EPCI: say whose need and where.
                    "audience_label": labels.audience.get(row.get("audience_code") or "", row.get("audience_code")),
                    "territory_label": _own_territory_label(row, labels),
                }
                for row in top_rows
            ],
        }


def _own_territory_label(row: Mapping, labels: ReportLabels) -> str:
    """Name of the need's own scope (its most specific territory), or the whole-territory label."""
    code = territory_group_code(row, "commune")
    return labels.territory.get(code, code.split(":", 1)[-1]) if code else WHOLE_TERRITORY_LABEL


def _gap_order(row: Mapping):
    # Ties broken by need id, then result id, so the same data always lists the same top gaps.
    return (-row["gap"], row.get("need_id") or 0, row.get("id") or 0)


def _check_group_by(group_by: Sequence[str], territory_level: str) -> None:
    unknown = [dimension for dimension in group_by if dimension not in DIMENSIONS]
    if unknown or not 1 <= len(group_by) <= 2 or len(set(group_by)) != len(group_by):
        raise ValueError(f"group_by must be one or two distinct of {', '.join(DIMENSIONS)}; got {list(group_by)}.")
    if territory_level not in TERRITORY_LEVELS:
        raise ValueError(f"territory_level must be one of {', '.join(TERRITORY_LEVELS)}.")


def report_aggregate(
    rows: Iterable[Mapping],
    *,
    group_by: Sequence[str],
    labels: ReportLabels,
    territory_level: str = "epci",
    top: int = 3,
) -> dict:
    """Figures of every group of one or two dimensions, and of the whole run (`totals`).

    Per group: need count, demand weight (sum of importance; sum of demand volume over the needs that state one,
    with how many do), mean coverage (unweighted), total and mean gap, mean satisfaction (over the needs that
    have one), count per recommendation and the `top` largest gaps. Groups are ordered by total gap, largest
    first, then by label. Figures are rounded to 4 decimals.
    """
    _check_group_by(group_by, territory_level)
    totals = _Figures()
    groups: dict[tuple[str, ...], _Figures] = {}
    for row in rows:
        totals.add(row)
        for key in _group_keys(row, group_by, territory_level, labels.areas):
            groups.setdefault(key, _Figures()).add(row)
    items = [
        {"dimensions": _dimensions(key, group_by, labels, territory_level), **figures.as_dict(top, labels)}
        for key, figures in groups.items()
    ]
    items.sort(key=lambda item: (-item["gap_total"], [value["label"] for value in item["dimensions"]]))
    return {
        "group_by": list(group_by),
        "territory_level": territory_level,
        "top": top,
        "totals": totals.as_dict(top, labels),
        "groups": items,
    }


# Per-inhabitant figures -------------------------------------------------------------------------------------------

PER_INHABITANT_FIELDS = (
    "population",
    "offer_count",
    "demand_volume_per_1000",
    "gap_per_1000",
    "offers_per_10000",
)


def _per(value: float | None, population: int | None, inhabitants: int) -> float | None:
    if value is None or not population:
        return None
    return _round(value * inhabitants / population)


def _offer_segments(offer: Mapping) -> set[str]:
    return {part for part in (offer.get("commune_path") or "").split(SEPARATOR) if part}


def _territory_offers(code: str, by_segment: Mapping[str, list[int]], areas, everything: list[int]) -> set[int]:
    """Positions of the offers located in the territory with qualified code `code` ('' = all the offers given)."""
    if not code:
        return set(everything)
    if code in areas:
        return {p for path in areas[code] for p in by_segment.get(path_last_segment(path), ())}
    kind, _, bare = code.partition(":")
    prefix = PREFIX_BY_KIND.get(kind)
    return set(by_segment.get(f"{prefix}{bare}", ())) if prefix else set()


def _offer_fits(offer: Mapping, dimension: str, code: str) -> bool:
    if dimension == "domain":
        return offer.get("domain_code") == code
    if dimension == "theme":
        themes = offer.get("theme_codes") or []
        return code in themes if code else not themes
    if dimension == "audience":
        audiences = offer.get("audience_codes") or []
        return not audiences or code in audiences  # an offer for everyone serves every audience
    return True


def report_per_inhabitant(
    report: Mapping, *, offers: Sequence[Mapping], labels: ReportLabels, scope_code: str = ""
) -> dict:
    """The report with per-inhabitant figures on its totals and each group (see PER_INHABITANT_FIELDS).

    A group's territory is its `territory` dimension, else the run's scope (`scope_code`, '' = none); its
    population comes from `labels.population` (null when unknown: the figures are then null too). `offers` are the
    published offers that may lie in those territories (`commune_path`, `domain_code`, `theme_codes`,
    `audience_codes`); a group counts those located in its territory and, when grouped by domain, theme or
    audience, of that domain or theme, or for that audience (or for everyone)."""
    by_segment: dict[str, list[int]] = {}
    for position, offer in enumerate(offers):
        for segment in _offer_segments(offer):
            by_segment.setdefault(segment, []).append(position)
    everything = list(range(len(offers)))

    def figures(item: Mapping, territory_code: str, others: Sequence[Mapping]) -> dict:
        population = labels.population.get(territory_code) if territory_code else None
        if not territory_code and scope_code:
            population = labels.population.get(scope_code)
            territory_code = scope_code
        located = _territory_offers(territory_code, by_segment, labels.areas, everything)
        count = sum(
            1
            for position in located
            if all(_offer_fits(offers[position], other["dimension"], other["code"]) for other in others)
        )
        return {
            **item,
            "population": population,
            "offer_count": count,
            "demand_volume_per_1000": _per(item["demand_volume_total"], population, 1000),
            "gap_per_1000": _per(item["gap_total"], population, 1000),
            "offers_per_10000": _per(count, population, 10000),
        }

    groups = []
    for group in report["groups"]:
        territory = next((value for value in group["dimensions"] if value["dimension"] == "territory"), None)
        others = [value for value in group["dimensions"] if value["dimension"] != "territory"]
        groups.append(figures(group, territory["code"] if territory else "", others))
    return {**report, "totals": figures(report["totals"], "", []), "groups": groups}


REPORT_CSV_HEADER = [
    "Dimension 1",
    "Code 1",
    "Libellé 1",
    "Dimension 2",
    "Code 2",
    "Libellé 2",
    "Besoins",
    "Importance cumulée",
    "Volume de demande",
    "Besoins avec volume",
    "Couverture moyenne",
    "Écart total",
    "Écart moyen",
    "Satisfaction moyenne",
    *(f"Reco. {RECOMMENDATION_LABELS[code]}" for code in RECOMMENDATIONS),
    "Population",
    "Offres situées",
    "Volume de demande pour 1 000 habitants",
    "Écart pour 1 000 habitants",
    "Offres pour 10 000 habitants",
    "Principaux écarts",
]


def report_csv_rows(report: Mapping) -> Iterable[list]:
    """One line per group, matching REPORT_CSV_HEADER; the top gaps are joined in one cell."""
    for group in report["groups"]:
        dims = group["dimensions"] + [None] * (2 - len(group["dimensions"]))
        cells: list = []
        for value in dims:
            if value is None:
                cells += ["", "", ""]
            else:
                cells += [DIMENSION_LABELS[value["dimension"]], value["code"], value["label"]]
        cells += [
            group["need_count"],
            group["importance_total"],
            group["demand_volume_total"],
            group["demand_volume_known"],
            group["coverage_mean"],
            group["gap_total"],
            group["gap_mean"],
            group["satisfaction_mean"],
            *(group["recommendations"][code] for code in RECOMMENDATIONS),
            *(group.get(key) for key in PER_INHABITANT_FIELDS),
            " | ".join(
                f"{top['statement']} – {top['audience_label']}, {top['territory_label']} "
                f"(écart {top['gap']:.2f}, {top['recommendation_label']})"
                for top in group["top_gaps"]
            ),
        ]
        yield cells


def report_matrix(report: Mapping) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Total gap laid out for a chart: (row labels, column labels, values; None = no need in that cell).

    Rows are the first dimension, columns the second (a single column when there is one dimension); both are
    ordered by their total gap, largest first, so the largest problems sit top-left.
    """
    rows: dict[str, float] = {}
    cols: dict[str, float] = {}
    cells: dict[tuple[str, str], float] = {}
    for group in report["groups"]:
        dims = group["dimensions"]
        row = dims[0]["label"]
        col = dims[1]["label"] if len(dims) > 1 else ""
        rows[row] = rows.get(row, 0.0) + group["gap_total"]
        cols[col] = cols.get(col, 0.0) + group["gap_total"]
        cells[(row, col)] = group["gap_total"]
    row_labels = sorted(rows, key=lambda label: (-rows[label], label))
    col_labels = sorted(cols, key=lambda label: (-cols[label], label))
    values = [[cells.get((row, col)) for col in col_labels] for row in row_labels]
    return row_labels, col_labels, values


# Comparison of two runs -------------------------------------------------------------------------------------------

COMPARE_STATUS_LABELS = {
    "opened": "Écart apparu",
    "closed": "Écart résorbé",
    "grew": "Écart aggravé",
    "shrank": "Écart réduit",
    "unchanged": "Stable",
    "new": "Nouveau besoin",
    "removed": "Besoin retiré",
    "out_of_scope": "Hors du périmètre commun",
}
COMPARE_STATUSES: tuple[str, ...] = tuple(COMPARE_STATUS_LABELS)
DEFAULT_GAP_FLOOR = 0.05
DEFAULT_GAP_DELTA = 0.05


def gap_is_open(row: Mapping, *, gap_floor: float) -> bool:
    """A need has an open gap when its gap exceeds the floor and it is not recommended `maintain`."""
    return row["gap"] > gap_floor and row["recommendation"] != MAINTAIN


def compare_status(
    before: Mapping | None,
    after: Mapping | None,
    *,
    gap_floor: float = DEFAULT_GAP_FLOOR,
    gap_delta: float = DEFAULT_GAP_DELTA,
) -> str:
    """How a need's gap evolved between the baseline (`before`) and the run (`after`).

    new / removed: present in one run only. opened: no open gap before (gap <= gap_floor or `maintain`), an open
    gap now; closed: the reverse. Both open: grew when the gap rose by at least `gap_delta`, shrank when it fell
    by at least `gap_delta`, else unchanged. Neither open: unchanged.
    """
    if before is None and after is None:
        raise ValueError("compare_status needs at least one of before and after")
    if before is None:
        return "new"
    if after is None:
        return "removed"
    was_open, is_open = gap_is_open(before, gap_floor=gap_floor), gap_is_open(after, gap_floor=gap_floor)
    if is_open and not was_open:
        return "opened"
    if was_open and not is_open:
        return "closed"
    if was_open and is_open:
        delta = after["gap"] - before["gap"]
        # The epsilon keeps a delta of exactly gap_delta from being lost to float rounding (0.3 - 0.25).
        if delta >= gap_delta - 1e-9:
            return "grew"
        if delta <= -gap_delta + 1e-9:
            return "shrank"
    return "unchanged"


def scope_contains(scope: Mapping, row: Mapping, areas: Mapping[str, Sequence[str]] | None = None) -> bool:
    """Whether a need (a result row) lies in a run's scope, by the rule of `selectors.need_scope_q`: under the scope's
    `territory_paths` (its `territory_path` alone when not given; a need without a territory is in every scope; a
    need of a territory covering several prefixes, `areas`, when all of them are), of its `audiences` and
    `domains` (empty = all)."""
    path, need_path = scope.get("territory_path"), row.get("territory_path")
    prefixes = scope.get("territory_paths") or ([path] if path else [])
    if prefixes and need_path and need_path != path:
        segments = path_segments(need_path)
        own = "{}:{}".format(*segments[-1]) if segments else ""
        need_prefixes = (areas or {}).get(own) or [need_path]
        if not all(area_contains(prefixes, prefix) for prefix in need_prefixes):
            return False
    if scope.get("audiences") and row.get("audience_code") not in scope["audiences"]:
        return False
    return not scope.get("domains") or row.get("domain_code") in scope["domains"]


def scopes_differ(scope: Mapping, baseline_scope: Mapping) -> bool:
    """Whether two runs' scopes (territory path, audiences, domains) differ."""
    return any(
        (scope.get(key) or None) != (baseline_scope.get(key) or None)
        for key in ("territory_path", "audiences", "domains")
    )


def _need_identity(row: Mapping) -> dict:
    """The first fields of a need in the per-need lists (compare, IPA), and of their CSV lines."""
    return {
        "need_id": row.get("need_id"),
        "statement": row["statement"],
        "domain_code": row.get("domain_code") or "",
        "audience_code": row.get("audience_code") or "",
    }


def _need_key(row: Mapping):
    # A result whose need was deleted cannot be matched across runs: it stays on its own.
    return ("need", row["need_id"]) if row.get("need_id") is not None else ("result", row.get("id"))


def compare_pairs(
    rows: Iterable[Mapping], baseline_rows: Iterable[Mapping]
) -> list[tuple[Mapping | None, Mapping | None]]:
    """The (run row, baseline row) pairs of a comparison, either side None for a need in one run only: rows of the
    same need first; then rows left alone that share a `wave_key` (the same survey item x audience x territory in
    two waves of a survey), when exactly one on each side does. The run's rows in order, then the baseline's own."""
    after_by_key = {_need_key(row): row for row in rows}
    before_by_key = {_need_key(row): row for row in baseline_rows}
    alone_after: dict[str, list] = {}
    alone_before: dict[str, list] = {}
    for side, own, other in ((alone_after, after_by_key, before_by_key), (alone_before, before_by_key, after_by_key)):
        for key, row in own.items():
            if key not in other and row.get("wave_key"):
                side.setdefault(row["wave_key"], []).append(key)
    partner = {}
    for wave_key, keys in alone_after.items():
        if len(keys) == 1 and len(alone_before.get(wave_key, ())) == 1:
            partner[keys[0]] = alone_before[wave_key][0]
    paired = set(partner.values())
    pairs = [(row, before_by_key.get(partner.get(key, key))) for key, row in after_by_key.items()]
    pairs += [(None, row) for key, row in before_by_key.items() if key not in after_by_key and key not in paired]
    return pairs


def compare_runs(
    rows: Iterable[Mapping],
    baseline_rows: Iterable[Mapping],
    *,
    labels: ReportLabels,
    group_by: Sequence[str] = (),
    territory_level: str = "epci",
    gap_floor: float = DEFAULT_GAP_FLOOR,
    gap_delta: float = DEFAULT_GAP_DELTA,
    statuses: Sequence[str] | None = None,
    scope: Mapping | None = None,
    baseline_scope: Mapping | None = None,
) -> dict:
    """Per need present in either run (paired by `compare_pairs`: need id, then survey waves): status, both gaps,
    coverages, recommendations, importance and satisfaction, delta.

    Also the count per status (`summary`), the gap totals before/after, and, with `group_by`, the same per group
    (a need is grouped by its description in the run, or in the baseline when it was removed). `statuses`
    restricts the per-need list (not the summary nor the groups). Needs are ordered by the size of their gap
    change, largest first.

    When the runs' scopes differ (`scope`, `baseline_scope`: see `scope_contains`), a need in one run only that
    lies outside the other run's scope is `out_of_scope`, not `new` or `removed`: the other run could not have
    seen it. Such needs are counted and listed, but left out of the gap totals and of the groups, which compare
    the common scope only.
    """
    if group_by:
        _check_group_by(group_by, territory_level)
    differ = scope is not None and baseline_scope is not None and scopes_differ(scope, baseline_scope)
    summary = Counter()
    groups: dict[tuple[str, ...], dict] = {}
    needs = []
    gap_before_total = gap_after_total = 0.0
    for after, before in compare_pairs(rows, baseline_rows):
        status = compare_status(before, after, gap_floor=gap_floor, gap_delta=gap_delta)
        described = after or before
        if differ and (
            (before is None and not scope_contains(baseline_scope, after, labels.areas))
            or (after is None and not scope_contains(scope, before, labels.areas))
        ):
            status = "out_of_scope"
        summary[status] += 1
        gap_before = before["gap"] if before else 0.0
        gap_after = after["gap"] if after else 0.0
        common = status != "out_of_scope"
        if common:
            gap_before_total += gap_before
            gap_after_total += gap_after
        keys = _group_keys(described, group_by, territory_level, labels.areas) if group_by and common else ()
        for group_key in keys:
            group = groups.setdefault(group_key, {"before": 0.0, "after": 0.0, "statuses": Counter(), "count": 0})
            group["before"] += gap_before
            group["after"] += gap_after
            group["statuses"][status] += 1
            group["count"] += 1
        if statuses and status not in statuses:
            continue
        needs.append(
            {
                **_need_identity(described),
                "status": status,
                "status_label": COMPARE_STATUS_LABELS[status],
                "gap_before": _round(before["gap"]) if before else None,
                "gap_after": _round(after["gap"]) if after else None,
                "gap_delta": _round(gap_after - gap_before),
                "baseline_need_id": before.get("need_id") if before else None,
                "importance_before": _round(before.get("importance")) if before else None,
                "importance_after": _round(after.get("importance")) if after else None,
                "satisfaction_before": _round(before.get("satisfaction")) if before else None,
                "satisfaction_after": _round(after.get("satisfaction")) if after else None,
                "coverage_before": _round(before["coverage"]) if before else None,
                "coverage_after": _round(after["coverage"]) if after else None,
                "recommendation_before": before["recommendation"] if before else None,
                "recommendation_after": after["recommendation"] if after else None,
                "recommendation_before_label": RECOMMENDATION_LABELS.get(before["recommendation"]) if before else None,
                "recommendation_after_label": RECOMMENDATION_LABELS.get(after["recommendation"]) if after else None,
            }
        )
    needs.sort(key=lambda need: (-abs(need["gap_delta"]), COMPARE_STATUSES.index(need["status"]), need["statement"]))
    group_items = [
        {
            "dimensions": _dimensions(key, group_by, labels, territory_level),
            "need_count": group["count"],
            "gap_before_total": _round(group["before"]),
            "gap_after_total": _round(group["after"]),
            "gap_delta": _round(group["after"] - group["before"]),
            "statuses": {status: group["statuses"].get(status, 0) for status in COMPARE_STATUSES},
        }
        for key, group in groups.items()
    ]
    group_items.sort(key=lambda item: (item["gap_delta"], [value["label"] for value in item["dimensions"]]))
    return {
        "group_by": list(group_by),
        "territory_level": territory_level,
        "gap_floor": gap_floor,
        "gap_delta": gap_delta,
        "scopes_differ": differ,
        "summary": {
            "statuses": {status: summary.get(status, 0) for status in COMPARE_STATUSES},
            "status_labels": dict(COMPARE_STATUS_LABELS),
            "gap_before_total": _round(gap_before_total),
            "gap_after_total": _round(gap_after_total),
            "gap_delta": _round(gap_after_total - gap_before_total),
        },
        "groups": group_items,
        "needs": needs,
    }


# The per-need CSV files (compare, IPA): the need's id, statement, domain and audience labels, then their own
# columns as (header, key of the need's dict).
def _need_csv_header(columns: Sequence[tuple[str, str]]) -> list[str]:
    return ["Identifiant du besoin", "Besoin", "Domaine", "Public cible", *(header for header, _key in columns)]


def _need_csv_rows(
    needs: Iterable[Mapping], labels: ReportLabels, columns: Sequence[tuple[str, str]]
) -> Iterable[list]:
    for need in needs:
        yield [
            need["need_id"],
            need["statement"],
            labels.domain.get(need["domain_code"], need["domain_code"]),
            labels.audience.get(need["audience_code"], need["audience_code"]),
            *(need[key] for _header, key in columns),
        ]


_COMPARE_CSV_COLUMNS = (
    ("Statut", "status"),
    ("Libellé du statut", "status_label"),
    ("Écart avant", "gap_before"),
    ("Écart après", "gap_after"),
    ("Variation de l'écart", "gap_delta"),
    ("Identifiant du besoin de référence", "baseline_need_id"),
    ("Importance avant", "importance_before"),
    ("Importance après", "importance_after"),
    ("Satisfaction avant", "satisfaction_before"),
    ("Satisfaction après", "satisfaction_after"),
    ("Couverture avant", "coverage_before"),
    ("Couverture après", "coverage_after"),
    ("Recommandation avant", "recommendation_before_label"),
    ("Recommandation après", "recommendation_after_label"),
)
COMPARE_CSV_HEADER = _need_csv_header(_COMPARE_CSV_COLUMNS)


def compare_csv_rows(comparison: Mapping, labels: ReportLabels) -> Iterable[list]:
    return _need_csv_rows(comparison["needs"], labels, _COMPARE_CSV_COLUMNS)


# Importance-Performance Analysis ----------------------------------------------------------------------------------

IPA_QUADRANT_LABELS = {
    "concentrate-here": "Concentrer les efforts",
    "keep-up-the-good-work": "Maintenir le bon travail",
    "low-priority": "Faible priorité",
    "possible-overkill": "Effort peut-être excessif",
    "": "Non classé",
}


def ipa_table(rows: Iterable[Mapping], *, rule: str = "mean", given: tuple[float, float] | None = None) -> dict:
    """Each need's importance, satisfaction, IPA quadrant and diagonal gap, with crosshairs recomputed by `rule`.

    Importance and satisfaction are on the unit scale [0, 1] (the midpoint rule cuts at 0.5). Needs without
    satisfaction are listed with quadrant "" (Non classé) and are not used to place the crosshairs.
    """
    rows = list(rows)
    importance = np.array([row["importance"] for row in rows], dtype=np.float64)
    satisfaction = np.array(
        [math.nan if row.get("satisfaction") is None else row["satisfaction"] for row in rows], dtype=np.float64
    )
    i_cross, s_cross = scoring.ipa_crosshairs(importance, satisfaction, rule=rule, scale=(0.0, 1.0), given=given)
    if math.isnan(i_cross):
        quadrants = [""] * len(rows)
    else:
        quadrants = [str(code) for code in scoring.ipa_quadrants(importance, satisfaction, i_cross, s_cross)]
    gaps = scoring.ipa_diagonal_gap(importance, satisfaction)
    needs = [
        {
            **_need_identity(row),
            "importance": _round(row["importance"]),
            "satisfaction": _round(row.get("satisfaction")),
            "quadrant": quadrant,
            "quadrant_label": IPA_QUADRANT_LABELS[quadrant],
            "ipa_gap": None if math.isnan(gap) else _round(float(gap)),
        }
        for row, quadrant, gap in zip(rows, quadrants, gaps, strict=True)
    ]
    needs.sort(key=lambda need: (-(need["ipa_gap"] if need["ipa_gap"] is not None else -math.inf), need["statement"]))
    counts = Counter(quadrants)
    return {
        "crosshair": {
            "rule": rule,
            "importance": None if math.isnan(i_cross) else _round(i_cross),
            "satisfaction": None if math.isnan(s_cross) else _round(s_cross),
        },
        "quadrants": [
            {"code": code, "label": IPA_QUADRANT_LABELS[code], "need_count": counts.get(code, 0)}
            for code in (*scoring.IPA_QUADRANTS, "")
        ],
        "needs": needs,
    }


_IPA_CSV_COLUMNS = (
    ("Importance", "importance"),
    ("Satisfaction", "satisfaction"),
    ("Quadrant", "quadrant"),
    ("Libellé du quadrant", "quadrant_label"),
    ("Écart importance − satisfaction", "ipa_gap"),
)
IPA_CSV_HEADER = _need_csv_header(_IPA_CSV_COLUMNS)


def ipa_csv_rows(table: Mapping, labels: ReportLabels) -> Iterable[list]:
    return _need_csv_rows(table["needs"], labels, _IPA_CSV_COLUMNS)

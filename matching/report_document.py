"""The printable HTML documents of the report, comparison and IPA answers (`format=html`): what a strategist opens,
prints to PDF and sends to elected officials.

Each document is one self-contained page (CSS inline, charts inline as SVG, no external request of any kind),
rendered from the `matching/templates/matching/documents/` templates with a context built here: the scope, what
the run read (catalogue and needs state, survey sources and dates), the method in plain words with every parameter
and the algorithm version, then the figures of the answer. Templates escape everything; only our own charts' SVG
is marked safe, in `inline_svg`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy

from matching import labels as texts
from matching import reports, selectors
from matching.models import MatchingRun
from matching.reasons import CREATE, RECOMMENDATIONS
from matching.scoring import MatchingParameters

# How many of the largest gaps the report document details (reasons and offers), and how many needs each list of
# the comparison and IPA documents shows (the CSV has them all).
HEADLINE_GAPS = 10
LISTED_NEEDS = 25
OFFERS_PER_GAP = 3
# The comparison statuses a strategist acts on, in the order the document tells them.
COMPARE_STORY = ("opened", "grew", "shrank", "closed")

# Every parameter a run stores, in plain words. A key missing here (added to the engine later) is still listed,
# under its own name.
PARAMETER_DESCRIPTIONS = {
    "text_weight": gettext_lazy("Weight of the wording similarity between the need and the offer in relevance"),
    "theme_weight": gettext_lazy("Weight of the shared themes in relevance"),
    "theme_same_domain": gettext_lazy("Credit given to an offer of another theme of the same domain"),
    "audience_mismatch": gettext_lazy("Credit kept by an offer reserved to other audiences"),
    "relevance_threshold": gettext_lazy("Relevance from which an offer answers the need at all"),
    "coverage_threshold": gettext_lazy("Coverage below which relevant offers must be adjusted"),
    "constraint_threshold": gettext_lazy(
        "Level below which a constraint (distance, audience, dates, capacity) counts as failing"
    ),
    "satisfaction_threshold": gettext_lazy("Satisfaction below which a covered need calls for promoting the offer"),
    "n_best": gettext_lazy("Number of best offers combined into the coverage of a need"),
    "k_candidates": gettext_lazy("Offers examined per need after the text search"),
    "candidate_threshold": gettext_lazy("Smallest text similarity for an offer to be examined"),
    "decay_km": gettext_lazy("Distance scale (km) over which an offer's reach decreases"),
    "decay_kind": gettext_lazy("Shape of that decrease"),
    "top_offers_per_need": gettext_lazy("Offers kept and explained per need"),
    "semantic_weight": gettext_lazy("Weight of the closeness in meaning in the text term of a search (not of runs)"),
    "semantic_floor": gettext_lazy("Closeness in meaning below which a search counts none (not runs)"),
    "ipa_rule": gettext_lazy("Where the importance-performance grid is cut"),
    "ipa_importance_cross": gettext_lazy("Importance at which the grid is cut (fixed values only)"),
    "ipa_satisfaction_cross": gettext_lazy("Satisfaction at which the grid is cut (fixed values only)"),
    "max_attempts": gettext_lazy("Attempts allowed per batch of needs (technical)"),
    "chunk_time_limit_seconds": gettext_lazy("Time limit per batch of needs, in seconds (technical)"),
}
CROSSHAIR_RULE_LABELS = {
    "mean": gettext_lazy("at the mean of the needs"),
    "median": gettext_lazy("at the median of the needs"),
    "midpoint": gettext_lazy("at the middle of the scale"),
    "given": gettext_lazy("at fixed values"),
}
NEED_SOURCE_LABELS = {
    "survey": gettext_lazy("Survey"),
    "workshop": gettext_lazy("Workshop"),
    "interview": gettext_lazy("Interview"),
    "study": gettext_lazy("Study"),
}

# The report document's chart shows the largest crossings only: past these an A4 page cannot hold readable labels
# (and matplotlib takes seconds per thousand annotated cells); the table under it lists every group.
PRINT_CHART_ROWS = 40
PRINT_CHART_COLUMNS = 12

_SVG_START = re.compile(r"<svg\b")


def printable_matrix(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    titles: Sequence[str],
) -> tuple[list[str], list[str], list[list[float | None]], list[str]]:
    """A report matrix (`reports.report_matrix`) cut for a printed page: the longer dimension down the page, then
    its PRINT_CHART_ROWS and the other's PRINT_CHART_COLUMNS values of largest total gap (both come ordered so)."""
    rows, cols, cells, titles = list(row_labels), list(col_labels), [list(row) for row in values], list(titles)
    if len(titles) == 2 and len(cols) > len(rows):
        rows, cols, titles = cols, rows, titles[::-1]
        cells = [list(column) for column in zip(*cells, strict=True)] if cells else []
    rows, cols = rows[:PRINT_CHART_ROWS], cols[:PRINT_CHART_COLUMNS]
    return rows, cols, [row[: len(cols)] for row in cells[: len(rows)]], titles


def inline_svg(svg: bytes, *, title: str) -> SafeString:
    """Our own chart's SVG, ready to sit inside the page: the XML prolog, doctype and metadata removed, an
    accessible name added. Marked safe here only: it is matplotlib's output from our figures, and every text in
    it (labels from the database) is escaped by matplotlib's SVG writer."""
    text = svg.decode("utf-8")
    start = _SVG_START.search(text)
    text = text[start.start() :] if start else text
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    # `title` comes from our own captions but may quote database labels: escape it for the attribute.
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    text = _SVG_START.sub(f'<svg role="img" aria-label="{label}"', text, count=1)
    return mark_safe(text)  # noqa: S308 -- our charts' markup, see the docstring.


def _parameters(run: MatchingRun) -> list[dict[str, Any]]:
    """Every stored parameter in the engine's order, then the run's own, with its description and default."""
    defaults = MatchingParameters().to_dict()
    keys = [key for key in defaults if key in run.parameters]
    keys += sorted(key for key in run.parameters if key not in defaults)
    return [
        {
            "key": key,
            "description": PARAMETER_DESCRIPTIONS.get(key, key),
            "value": run.parameters[key],
            # None for the run's own keys (IPA rule, attempts...): only the engine's have a default to compare with.
            "is_default": defaults[key] == run.parameters[key] if key in defaults else None,
        }
        for key in keys
    ]


def _sources(need_ids: Iterable[int | None]) -> list[dict[str, Any]]:
    lines = []
    for row in selectors.report_sources(need_ids=need_ids):
        survey = row["survey_item__survey__title"]
        lines.append(
            {
                "kind": NEED_SOURCE_LABELS.get(row["source"], row["source"]),
                "name": survey or row["source_reference"],
                "reference": row["survey_item__survey__reference"] if survey else "",
                "survey_date": row["survey_item__survey__date"],
                "first_date": row["first_date"],
                "last_date": row["last_date"],
                "need_count": row["need_count"],
            }
        )
    return lines


def _datetime(value: str | None):
    """A snapshot's ISO date-time as an aware datetime (the template shows it in the local time zone)."""
    parsed = parse_datetime(value) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


def run_facts(run: MatchingRun, *, rows: Iterable[Mapping], labels: reports.ReportLabels) -> dict[str, Any]:
    """What every document says about a run: its scope, what it read (`rows`: its results the reader sees), how it
    scored."""
    snapshot = run.snapshot or {}
    facts = {
        "run": run,
        "scope": {
            "territory": run.scope_territory.name if run.scope_territory_id else None,
            "audiences": [labels.audience.get(code, code) for code in run.scope_audiences],
            "domains": [labels.domain.get(code, code) for code in run.scope_domains],
        },
        "data": {
            "offers_count": snapshot.get("offers_count"),
            "offers_published": snapshot.get("offers_published"),
            "offers_updated_at": _datetime(snapshot.get("offers_updated_at")),
            "catalogue_version": snapshot.get("catalogue_version"),
            "catalogue_states": run.catalogue_states,
            "needs_count": snapshot.get("needs_count", run.needs_total),
            "needs_updated_at": _datetime(snapshot.get("needs_updated_at")),
            "sources": _sources(row.get("need_id") for row in rows),
        },
        "parameters": _parameters(run),
        "ipa_rule_label": CROSSHAIR_RULE_LABELS.get(run.parameters.get("ipa_rule", "mean"), ""),
    }
    # The page's own run at the top level (title, scope...), and the whole as `facts` for the shared sections.
    return {**facts, "facts": facts}


def _offers_concerned(result) -> list:
    """The offers a need's reasons name (those too far, reserved to others, closed, full...), at most
    OFFERS_PER_GAP; without named offers, its best matched ones, unless no offer answers it at all (`create`)."""
    named = [offer_id for reason in result.reasons for offer_id in reason.get("offers") or ()]
    by_offer = {offer.offer_id: offer for offer in result.ranked_offers if offer.offer_id is not None}
    if named:
        offers = [by_offer[offer_id] for offer_id in dict.fromkeys(named) if offer_id in by_offer]
    elif result.recommendation == CREATE:
        offers = []
    else:
        offers = result.ranked_offers
    return offers[:OFFERS_PER_GAP]


def _top_gap_details(run: MatchingRun, top_gaps: Sequence[Mapping]) -> list[dict[str, Any]]:
    """The largest gaps with why (the stored reasons) and which offers are concerned."""
    details = selectors.report_result_details(run=run, need_ids=[gap["need_id"] for gap in top_gaps if gap["need_id"]])
    lines = []
    for gap in top_gaps:
        result = details.get(gap["need_id"])
        lines.append(
            {
                **gap,
                "reasons": [texts.reason_message(reason) for reason in result.reasons] if result else [],
                "offers": _offers_concerned(result) if result else [],
            }
        )
    return lines


def _recommendation_counts(figures: Mapping) -> list[dict[str, Any]]:
    total = figures["need_count"] or 1
    labels = texts.recommendation_labels()
    return [
        {
            "code": code,
            "label": labels[code],
            "count": figures["recommendations"][code],
            "share": figures["recommendations"][code] / total,
        }
        for code in RECOMMENDATIONS
    ]


def _dimension_titles(group_by: Sequence[str], territory_level: str) -> list[str]:
    return [
        texts.dimension_label(dimension)
        + (f" ({texts.territory_level_label(territory_level).lower()})" if dimension == "territory" else "")
        for dimension in group_by
    ]


def _render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(
        f"matching/documents/{template}",
        {**context, "language": get_language() or "fr", "generated_at": timezone.now()},
    )


def report_html(
    *,
    run: MatchingRun,
    rows: Sequence[Mapping],
    report: Mapping,
    labels: reports.ReportLabels,
    chart_svg: bytes,
    ipa_svg: bytes,
    ipa: Mapping,
) -> str:
    """The gap report document."""
    group_by, territory_level = report["group_by"], report["territory_level"]
    headline = reports.report_aggregate(rows, group_by=["domain"], labels=labels, top=HEADLINE_GAPS)["totals"]
    stages = reports.report_aggregate(rows, group_by=["stage"], labels=labels, top=0)["groups"]
    titles = _dimension_titles(group_by, territory_level)
    chart_title = gettext("Weighted gap by %(dimensions)s") % {"dimensions": ", ".join(t.lower() for t in titles)}
    full = reports.report_matrix(report)
    printed = printable_matrix(*full, titles)
    chart_cut = None
    if len(printed[0]) * max(len(printed[1]), 1) < len(full[0]) * max(len(full[1]), 1):
        chart_cut = gettext(
            "The chart shows the %(rows)d values of %(row_title)s with the largest gaps (of %(row_total)d)"
        ) % {"rows": len(printed[0]), "row_title": printed[3][0].lower(), "row_total": max(len(full[0]), len(full[1]))}
        if len(titles) == 2:
            chart_cut += gettext(", crossed with the %(cols)d largest values of %(col_title)s") % {
                "cols": len(printed[1]),
                "col_title": printed[3][1].lower(),
            }
        chart_cut += gettext("; the table below lists every group.")
    # Per-inhabitant figures (`reports.report_per_inhabitant`): columns shown when some population is known.
    per_inhabitant = any(item.get("population") for item in (report["totals"], *report["groups"]))
    return _render(
        "report.html",
        {
            **run_facts(run, rows=rows, labels=labels),
            "title": gettext("Gap report"),
            "report": report,
            "dimension_titles": titles,
            "totals": report["totals"],
            "recommendations": _recommendation_counts(report["totals"]),
            "top_gaps": _top_gap_details(run, headline["top_gaps"]),
            "stages": stages,
            "chart": inline_svg(chart_svg, title=chart_title),
            "chart_title": chart_title,
            "chart_cut": chart_cut,
            "per_inhabitant": per_inhabitant,
            "per_inhabitant_columns": 3 if per_inhabitant else 0,
            "ipa": ipa,
            "ipa_chart": inline_svg(ipa_svg, title=gettext("Importance-performance analysis of the needs")),
            "gap_legend": texts.gap_legend(),
        },
    )


def comparison_html(
    *,
    run: MatchingRun,
    baseline: MatchingRun,
    rows: Sequence[Mapping],
    baseline_rows: Sequence[Mapping],
    comparison: Mapping,
    labels: reports.ReportLabels,
) -> str:
    """The comparison document: what opened, grew, shrank and closed between the baseline and the run."""
    statuses = comparison["summary"]["statuses"]
    stories = []
    for status in COMPARE_STORY:
        needs = [need for need in comparison["needs"] if need["status"] == status]
        stories.append(
            {
                "status": status,
                "label": texts.compare_status_labels()[status],
                "count": statuses[status],
                "needs": [_labelled(need, labels) for need in needs[:LISTED_NEEDS]],
                "more": max(0, len(needs) - LISTED_NEEDS),
            }
        )
    return _render(
        "compare.html",
        {
            **run_facts(run, rows=rows, labels=labels),
            "baseline": run_facts(baseline, rows=baseline_rows, labels=labels),
            "title": gettext("How the gaps evolved"),
            "comparison": comparison,
            "status_counts": [
                {"code": code, "label": texts.compare_status_labels()[code], "count": count}
                for code, count in statuses.items()
            ],
            "stories": stories,
            "dimension_titles": _dimension_titles(comparison["group_by"], comparison["territory_level"]),
            "listed_needs": LISTED_NEEDS,
        },
    )


def _labelled(need: Mapping, labels: reports.ReportLabels) -> dict[str, Any]:
    """A need of a per-need list with the labels of its domain and audience."""
    return {
        **need,
        "domain_label": labels.domain.get(need["domain_code"], need["domain_code"]),
        "audience_label": labels.audience.get(need["audience_code"], need["audience_code"]),
    }


def ipa_html(
    *, run: MatchingRun, rows: Sequence[Mapping], table: Mapping, labels: reports.ReportLabels, ipa_svg: bytes
) -> str:
    """The Importance-Performance Analysis document."""
    concentrate = [need for need in table["needs"] if need["quadrant"] == "concentrate-here"]
    return _render(
        "ipa.html",
        {
            **run_facts(run, rows=rows, labels=labels),
            "title": gettext("Importance-performance analysis"),
            "ipa": table,
            "crosshair_label": CROSSHAIR_RULE_LABELS.get(table["crosshair"]["rule"], ""),
            "ipa_chart": inline_svg(ipa_svg, title=gettext("Importance-performance analysis of the needs")),
            "concentrate": [_labelled(need, labels) for need in concentrate[:LISTED_NEEDS]],
            "concentrate_more": max(0, len(concentrate) - LISTED_NEEDS),
            "listed_needs": LISTED_NEEDS,
        },
    )

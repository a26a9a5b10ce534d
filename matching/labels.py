"""The matching's human-readable texts in the active language: recommendation, status and quadrant labels, report
texts, and the sentences of a need's reasons.

`matching.reasons`, `matching.reports` and `matching.charts` are pure (no Django): they return codes and parameters,
or take their labels as arguments. This module is where those codes become text, through Django's translation
framework (English msgids, French in `matching/locale/fr/`), so a report reads in the language of the request.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from matching import reasons as reason_codes
from matching import reports
from matching.models import IpaQuadrant, Recommendation, RunStatus

COMPARE_STATUS_LABELS = {
    "opened": _("Gap opened"),
    "closed": _("Gap closed"),
    "grew": _("Gap grew"),
    "shrank": _("Gap shrank"),
    "unchanged": _("Unchanged"),
    "new": _("New need"),
    "removed": _("Need removed"),
    "out_of_scope": _("Outside the common scope"),
}
DIMENSION_LABELS = {
    "domain": _("Domain"),
    "theme": _("Theme"),
    "audience": _("Target audience"),
    "territory": _("Territory"),
    "stage": _("Journey stage"),
}
TERRITORY_LEVEL_LABELS = {
    "region": _("Region"),
    "departement": _("Département"),
    "epci": _("Intercommunality"),
    "commune": _("Commune"),
}
WIDER_SCOPE_SUFFIX = {
    "region": _("the whole region"),
    "departement": _("the whole département"),
    "epci": _("the whole intercommunality"),
}
SPREAD_SUFFIX = {
    "region": _("over several regions"),
    "departement": _("over several départements"),
    "epci": _("over several intercommunalities"),
    "commune": _("over several communes"),
}
CROSSHAIR_LABELS = {
    "mean": _("at the mean"),
    "median": _("at the median"),
    "midpoint": _("at the middle of the scale"),
    "given": _("at the given values"),
}


def _texts(labels: Mapping[str, Any]) -> dict[str, str]:
    return {code: str(label) for code, label in labels.items()}


def recommendation_labels() -> dict[str, str]:
    return _texts(dict(Recommendation.choices))


def run_status_labels() -> dict[str, str]:
    return _texts(dict(RunStatus.choices))


def ipa_quadrant_labels() -> dict[str, str]:
    return _texts(dict(IpaQuadrant.choices))


def compare_status_labels() -> dict[str, str]:
    return _texts(COMPARE_STATUS_LABELS)


def report_texts() -> reports.ReportTexts:
    """Every text `matching.reports` writes into a report, in the active language."""
    return reports.ReportTexts(
        recommendation=recommendation_labels(),
        compare_status=compare_status_labels(),
        ipa_quadrant=ipa_quadrant_labels(),
        no_theme=gettext("No theme"),
        no_stage=gettext("Stage not given"),
        whole_territory=gettext("Whole territory"),
        wider_scope=_texts(WIDER_SCOPE_SUFFIX),
        custom=gettext("project territory"),
        spread=_texts(SPREAD_SUFFIX),
    )


def dimension_label(dimension: str) -> str:
    return str(DIMENSION_LABELS[dimension])


def territory_level_label(level: str) -> str:
    return str(TERRITORY_LEVEL_LABELS[level])


def crosshair_label(rule: str) -> str:
    return str(CROSSHAIR_LABELS[rule])


def gap_legend() -> str:
    return gettext("Weighted gap (importance × (1 − coverage))")


# Reasons ----------------------------------------------------------------------------------------------------------

_CONSTRAINT_MESSAGES = {
    "distance": _("too far or outside the need's territory"),
    "audience": _("reserved for audiences other than “%(audience)s”"),
    "availability": _("not available on %(date)s (unpublished or outside their opening dates)"),
    "capacity": _("with too little capacity for the demand (%(demand)s)"),
}


def _number(value: float) -> str:
    return formats.number_format(value, 2)


def _titles(titles: Sequence[str], count: int) -> str:
    quoted = ", ".join(gettext("“%(title)s”") % {"title": title} for title in titles)
    more = count - len(titles)
    if more > 0:
        return quoted + gettext(" and %(count)s other(s)") % {"count": more}
    return quoted


def reason_message(reason: Mapping[str, Any]) -> str:
    """The sentence that explains one stored reason, in the active language.

    Results scored before reasons carried their parameters (`offer_count`) keep the French message stored with them.
    """
    code = reason["code"]
    if "message" in reason:
        return reason["message"]
    titles = _titles(reason.get("offer_titles", []), reason.get("offer_count", 0))
    if code == reason_codes.NO_RELEVANT_OFFER:
        return gettext(
            "No offer of the catalogue meets this need, even regardless of place, audience, dates and capacity "
            "(best relevance %(relevance)s, threshold %(threshold)s): an offer must be created."
        ) % {"relevance": _number(reason["best_relevance"]), "threshold": _number(reason["relevance_threshold"])}
    if code in _CONSTRAINT_MESSAGES:
        demand = reason.get("demand")
        reference_date = reason.get("reference_date")
        what = str(_CONSTRAINT_MESSAGES[code]) % {
            "audience": reason.get("audience_label", ""),
            "date": formats.date_format(datetime.date.fromisoformat(reference_date), "SHORT_DATE_FORMAT")
            if reference_date
            else "",
            "demand": gettext("unknown") if demand is None else demand,
        }
        return gettext(
            "%(count)s relevant offer(s) but %(what)s: %(titles)s. Adjusting these offers would cover the need."
        ) % {"count": reason.get("offer_count", 0), "what": what, "titles": titles}
    if code == reason_codes.WEAK_MATCH:
        return gettext(
            "Relevant offers exist but none covers the need enough, with no particular constraint in the way: "
            "%(titles)s."
        ) % {"titles": titles}
    if code == reason_codes.LOW_SATISFACTION:
        return gettext(
            "The need is covered (%(titles)s) but satisfaction is low (%(satisfaction)s): a problem of visibility "
            "or perception, not a missing offer. Make these offers known."
        ) % {"titles": titles, "satisfaction": _number(reason["satisfaction"])}
    if code == reason_codes.COVERED:
        return gettext("The need is covered by %(titles)s.") % {"titles": titles}
    if code == reason_codes.THEMES_INFERRED:
        return gettext("The need had no theme; scored with the themes inferred from its statement: %(themes)s.") % {
            "themes": ", ".join(f"{theme['label']} ({_number(theme['confidence'])})" for theme in reason["themes"])
        }
    if code == reason_codes.SATISFACTION_UNKNOWN:
        return gettext(
            "Satisfaction unknown: measuring it (a survey) will tell whether the offer should be promoted too."
        )
    return code


# The parameters a reason's sentence is made of; the API shows the sentence, not them.
_REASON_PARAMETERS = (
    "offer_titles",
    "offer_count",
    "relevance_threshold",
    "audience_label",
    "reference_date",
    "demand",
)


def reasons_render(reasons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored reasons as the API shows them: each with its `message` in the active language."""
    return [
        {
            **{key: value for key, value in reason.items() if key not in _REASON_PARAMETERS},
            "message": reason_message(reason),
        }
        for reason in reasons
    ]

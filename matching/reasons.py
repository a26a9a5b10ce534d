"""What to do about a need and why: the recommendation and reason codes `matching.scoring.recommend` decides with,
and the parameters of the sentences that explain them to a strategist (pure Python, no Django: the sentences are
`matching.labels`'s, in the reader's language)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from matching.arrays import NeedArrays

if TYPE_CHECKING:  # The engine and the scoring import this module.
    from matching.engine import OfferIndex
    from matching.scoring import MatchingParameters

CREATE, ADJUST, PROMOTE, MAINTAIN = "create", "adjust", "promote", "maintain"
RECOMMENDATIONS: tuple[str, ...] = (CREATE, ADJUST, PROMOTE, MAINTAIN)
# The French labels of the recommendations, as the CSV report's headers spell them (CSV headers are not translated;
# every other text comes from `matching.labels` in the request's language).
RECOMMENDATION_LABELS: dict[str, str] = {
    CREATE: "Créer une offre",
    ADJUST: "Adapter l'offre existante",
    PROMOTE: "Faire connaître l'offre",
    MAINTAIN: "Maintenir",
}

# The reasons of each recommendation: create, no relevant offer; adjust, each failing constraint (in this order) or
# a weak match; promote, a low satisfaction; maintain, covered (and the satisfaction may be unknown).
NO_RELEVANT_OFFER = "no-relevant-offer"
CONSTRAINTS: tuple[str, ...] = ("distance", "audience", "availability", "capacity")
WEAK_MATCH = "weak-match"
LOW_SATISFACTION = "low-satisfaction"
COVERED = "covered"
SATISFACTION_UNKNOWN = "satisfaction-unknown"
# Not a reason for the recommendation: the need had no theme, these were inferred from its statement and scored.
THEMES_INFERRED = "themes-inferred"
# How many offer titles a reason keeps to name the offers concerned (the ids are all kept).
TITLES_KEPT = 3


def _covering(top: list[dict], params: MatchingParameters) -> list[int]:
    return reasons_coverings([top], params)[0]


def reasons_coverings(tops: Sequence[list[dict]], params: MatchingParameters) -> list[list[int]]:
    """Per need (its top offers' breakdowns), the positions of the offers behind its coverage: relevant ones that
    serve the need (service at least `coverage_threshold`), best service first (ties: the higher-ranked offer), at
    most `n_best`. One `pair_service` over every need's offers: a chunk explains thousands of needs."""
    from matching.scoring import pair_service  # The scoring imports this module.

    offers = [offer for top in tops for offer in top]
    if not offers:
        return [[] for _top in tops]
    service = pair_service(
        [offer["relevance"] for offer in offers],
        [offer["geography"] for offer in offers],
        [offer["audience"] for offer in offers],
        [offer["availability"] for offer in offers],
        [offer["capacity"] for offer in offers],
        params,
    ).tolist()
    coverings, start = [], 0
    for top in tops:
        own, start = service[start : start + len(top)], start + len(top)
        serving = [p for p, value in enumerate(own) if value >= params.coverage_threshold]
        serving.sort(key=lambda p: -own[p])  # stable: equal services keep their rank order
        coverings.append([int(top[p]["offer_position"]) for p in serving][: params.n_best])
    return coverings


def _titles(index: OfferIndex, positions: Sequence[int]) -> dict[str, Any]:
    return {
        "offer_titles": [str(index.offers.titles[p]) for p in positions[:TITLES_KEPT]],
        "offer_count": len(positions),
    }


def reasons_explain(
    *,
    decision: dict[str, Any],
    index: OfferIndex,
    top: list[dict],
    params: MatchingParameters,
    reference_date: date,
    needs: NeedArrays,
    position: int,
    covering: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Turn the engine's reasons (offer positions) into JSON: offer ids and the parameters of the sentence that
    explains each reason (`matching.labels.reason_message` writes it in the reader's language). `covering`: the
    need's entry of `reasons_coverings` when the caller computed them for many needs at once."""
    # The offers behind the coverage: relevant ones that serve the need (service near the best), best first.
    covering = _covering(top, params) if covering is None else covering
    reasons = []
    for reason in decision["reasons"]:
        code = reason["code"]
        positions = [int(p) for p in reason.get("offers", [])]
        item: dict[str, Any] = {"code": code}
        if code == NO_RELEVANT_OFFER:
            item["best_relevance"] = reason["best_relevance"]
            item["relevance_threshold"] = params.relevance_threshold
        elif code in CONSTRAINTS:
            item["constraint"] = code
            item.update(_titles(index, positions))
            if code == "audience":
                item["audience_label"] = index.taxonomy.audience_labels[needs.audience[position]]
            elif code == "availability":
                item["reference_date"] = reference_date.isoformat()
            elif code == "capacity":
                demand = needs.demand_volume[position]
                item["demand"] = None if np.isnan(demand) else int(demand)
        elif code == WEAK_MATCH:
            item.update(_titles(index, positions))
        elif code == LOW_SATISFACTION:
            item["satisfaction"] = reason["satisfaction"]
            positions = covering
            item.update(_titles(index, covering))
        elif code == COVERED:
            positions = covering
            item.update(_titles(index, covering))
        elif code != SATISFACTION_UNKNOWN:
            item.update({key: value for key, value in reason.items() if key not in ("code", "offers")})
        item["offers"] = [int(index.offers.ids[p]) for p in positions]
        reasons.append(item)
    return reasons


def themes_inferred_reason(taxonomy: Any, inferred: Sequence[Any]) -> list[dict[str, Any]]:
    """`[]`, or one `themes-inferred` item listing the themes inferred for a need filed without any (code, label,
    confidence), so the result says what its theme factor was computed against."""
    if not inferred:
        return []
    themes = [
        {
            "code": taxonomy.theme_codes[theme.position],
            "label": taxonomy.theme_labels[theme.position],
            "confidence": round(theme.confidence, 3),
        }
        for theme in inferred
    ]
    return [{"code": THEMES_INFERRED, "themes": themes}]

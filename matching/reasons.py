"""What to do about a need and why: the recommendation and reason codes `matching.scoring.recommend` decides with,
and the French sentences that explain them to a strategist (pure Python, no Django)."""

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
RECOMMENDATION_LABELS: dict[str, str] = {
    CREATE: "Créer une offre",
    ADJUST: "Adapter l'offre existante",
    PROMOTE: "Faire connaître l'offre",
    MAINTAIN: "Maintenir",
}
RECOMMENDATIONS: tuple[str, ...] = tuple(RECOMMENDATION_LABELS)

# The reasons of each recommendation: create, no relevant offer; adjust, each failing constraint (in this order) or
# a weak match; promote, a low satisfaction; maintain, covered (and the satisfaction may be unknown).
NO_RELEVANT_OFFER = "no-relevant-offer"
_CONSTRAINT_MESSAGES = {
    "distance": "trop loin ou hors du territoire du besoin",
    "audience": "réservée(s) à d'autres publics que « {audience} »",
    "availability": "non disponible(s) au {date} (non publiée(s) ou hors de leurs dates d'ouverture)",
    "capacity": "de capacité insuffisante pour la demande ({demand})",
}
CONSTRAINTS: tuple[str, ...] = tuple(_CONSTRAINT_MESSAGES)
WEAK_MATCH = "weak-match"
LOW_SATISFACTION = "low-satisfaction"
COVERED = "covered"
SATISFACTION_UNKNOWN = "satisfaction-unknown"


def _titles(index: OfferIndex, positions: Sequence[int], limit: int = 3) -> str:
    quoted = [f"« {index.offers.titles[p]} »" for p in positions[:limit]]
    more = len(positions) - limit
    return ", ".join(quoted) + (f" et {more} autre(s)" if more > 0 else "")


def _number(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def reasons_explain(
    *,
    decision: dict[str, Any],
    index: OfferIndex,
    top: list[dict],
    params: MatchingParameters,
    reference_date: date,
    needs: NeedArrays,
    position: int,
) -> list[dict[str, Any]]:
    """Turn the engine's reasons (offer positions) into JSON with offer ids and a French sentence each."""
    # The offers behind the coverage: relevant ones with a non-zero fit, best first.
    covering = [
        offer["offer_position"]
        for offer in top
        if offer["score"] > 0 and offer["relevance"] >= params.relevance_threshold
    ][: params.n_best]
    reasons = []
    for reason in decision["reasons"]:
        code = reason["code"]
        positions = [int(p) for p in reason.get("offers", [])]
        item: dict[str, Any] = {"code": code}
        if code == NO_RELEVANT_OFFER:
            item["best_relevance"] = reason["best_relevance"]
            item["message"] = (
                "Aucune offre du catalogue ne répond à ce besoin, même sans tenir compte du lieu, du public, des "
                f"dates ni de la capacité (meilleure pertinence {_number(reason['best_relevance'])}, seuil "
                f"{_number(params.relevance_threshold)}) : une offre est à créer."
            )
        elif code in _CONSTRAINT_MESSAGES:
            demand = needs.demand_volume[position]
            what = _CONSTRAINT_MESSAGES[code].format(
                audience=index.taxonomy.audience_labels[needs.audience[position]],
                date=reference_date.strftime("%d/%m/%Y"),
                demand="inconnue" if np.isnan(demand) else int(demand),
            )
            item["constraint"] = code
            item["message"] = (
                f"{len(positions)} offre(s) pertinente(s) mais {what} : {_titles(index, positions)}. "
                "Adapter ces offres couvrirait le besoin."
            )
        elif code == WEAK_MATCH:
            item["message"] = (
                "Des offres pertinentes existent mais aucune ne couvre assez le besoin, sans qu'une contrainte "
                f"précise ne bloque : {_titles(index, positions)}."
            )
        elif code == LOW_SATISFACTION:
            item["satisfaction"] = reason["satisfaction"]
            positions = covering
            item["message"] = (
                f"Le besoin est couvert ({_titles(index, covering)}) mais la satisfaction est faible "
                f"({_number(reason['satisfaction'])}) : un problème de visibilité ou de perception, pas d'offre "
                "manquante. Faire connaître ces offres."
            )
        elif code == COVERED:
            positions = covering
            item["message"] = f"Le besoin est couvert par {_titles(index, covering)}."
        elif code == SATISFACTION_UNKNOWN:
            item["message"] = "Satisfaction inconnue : la mesurer (enquête) dira s'il faut aussi promouvoir l'offre."
        else:
            item.update({key: value for key, value in reason.items() if key not in ("code", "offers")})
            item["message"] = code
        item["offers"] = [int(index.offers.ids[p]) for p in positions]
        reasons.append(item)
    return reasons

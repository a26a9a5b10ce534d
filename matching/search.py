"""Search for welcome portals: a newcomer's free text ranked against the published offers with the run's scoring."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from api.exceptions import ErrorItem, InvalidInput
from matching import selectors
from matching.engine import OfferIndex, offers_search
from matching.index import offer_index_get, semantic_encoder
from matching.scoring import MatchingParameters
from matching.theme_cache import theme_classifier_get
from matching.theme_inference import DEFAULT_CONFIDENCE_FLOOR, InferredTheme, themes_split
from offers.selectors import territory_resolve
from offers.territory_paths import area_key

DEFAULT_RADIUS_KM = 10.0


def offer_search(
    *,
    text: str,
    audience: str | None = None,
    domain: str | None = None,
    territory: str | None = None,
    near: dict[str, float] | None = None,
    radius_km: float | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Published offers best fitting the request, each with its commune, distance and score breakdown.

    Uses the cached offer index (refitted only when the catalogue changes) and the default parameters. The
    request's themes are inferred (`request_themes`) and give the theme factor; each hit's breakdown lists them.
    """
    index = offer_index_get(allow_stale=True)
    # The request's vector and its dense cosines with every offer are computed in a thread (the C engine and BLAS
    # release the GIL) while the request is checked, its themes inferred and the lexical candidates retrieved.
    dense = _dense_cosines_start(index, text)
    taxonomy = index.taxonomy
    errors = []
    audience_position = domain_position = None
    if audience:
        if audience not in taxonomy.audience_codes:
            errors.append(
                ErrorItem(
                    field="audience",
                    code="not_found",
                    message=gettext("Unknown audience %(code)r.") % {"code": audience},
                )
            )
        else:
            audience_position = taxonomy.audience_codes.index(audience)
    if domain:
        if domain not in taxonomy.domain_codes:
            errors.append(
                ErrorItem(
                    field="domain", code="not_found", message=gettext("Unknown domain %(code)r.") % {"code": domain}
                )
            )
        else:
            domain_position = taxonomy.domain_codes.index(domain)
    territory_area = None
    if territory:
        try:
            territory_area = area_key(territory_resolve(code=territory, field="territory").paths)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    centroids = selectors.commune_centroids(paths=[territory_area]) if territory_area else {}
    themes, related_themes = request_themes(index, text, domain_position=domain_position)
    point = (near["lat"], near["lon"]) if near else None
    hits = offers_search(
        index=index,
        text=text,
        params=MatchingParameters(),
        today=timezone.localdate(),
        domain_position=domain_position,
        audience_position=audience_position,
        territory_area=territory_area,
        centroids=centroids,
        near=point,
        radius_km=(radius_km or DEFAULT_RADIUS_KM) if point else None,
        limit=limit,
        themes=themes,
        related_themes=related_themes,
        dense_cosines=None if dense is None else dense.result,
    )
    themes_shown = [
        {
            "code": taxonomy.theme_codes[t.position],
            "label": taxonomy.theme_labels[t.position],
            "confidence": round(t.confidence, 3),
        }
        for t in themes
    ]
    results = []
    for hit in hits:
        commune = index.offers.commune[hit["offer_position"]]
        results.append(
            {
                "id": hit["offer_id"],
                "title": hit["offer_title"],
                # null for an offer without a place (delivered at a distance, or serving an area).
                "commune": None
                if commune < 0
                else {"code": taxonomy.territory_codes[commune], "name": taxonomy.territory_names[commune]},
                "distance_km": hit["distance_km"],
                "score": hit["score"],
                "breakdown": {
                    **{
                        key: hit[key]
                        for key in (
                            "relevance",
                            "text",
                            "semantic",
                            "theme",
                            "audience",
                            "geography",
                            "availability",
                            "capacity",
                            "matched_words",
                        )
                    },
                    "themes": themes_shown,
                },
            }
        )
    return results


_encoding_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-encoder")


def _dense_cosines_start(index: OfferIndex, text: str) -> Future | None:
    """The dense cosine of the request with every offer (`OfferIndex.dense_cosines`), being computed (None:
    semantic search off or unavailable, or no offer has a vector yet, when encoding the request would be wasted)."""
    if index.vectors is None or not index.vectors.any:
        return None
    encoder = semantic_encoder()
    if encoder is None:
        return None
    return _encoding_pool.submit(lambda: index.dense_cosines(encoder.encode_query(text)))


def request_themes(
    index: OfferIndex, text: str, *, domain_position: int | None = None
) -> tuple[list[InferredTheme], list[InferredTheme]]:
    """The themes the request is about (confidence >= the floor) and the runners-up below it among the
    classifier's best few (they only grade the theme factor), most confident first; with a domain, only its themes
    (an inferred theme outside the domain the caller chose is a misreading)."""
    _version, classifier = theme_classifier_get(index)
    themes = classifier.infer([text], floor=0.0)[0]
    if domain_position is not None:
        themes = [t for t in themes if index.taxonomy.theme_domain[t.position] == domain_position]
    return themes_split(themes, DEFAULT_CONFIDENCE_FLOOR)

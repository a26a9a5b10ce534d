"""`reasons.reasons_coverings` (one service computation for a chunk's needs) names, per need, the offers the
per-need computation named: service at least the threshold, best first, ties in rank order, at most `n_best`."""

import numpy as np

from matching.reasons import reasons_coverings
from matching.scoring import MatchingParameters, pair_service


def _per_need(top, params):
    """The covering as `reasons_explain` computed it one need at a time before `reasons_coverings`."""
    if not top:
        return []
    service = pair_service(
        [offer["relevance"] for offer in top],
        [offer["geography"] for offer in top],
        [offer["audience"] for offer in top],
        [offer["availability"] for offer in top],
        [offer["capacity"] for offer in top],
        params,
    )
    covering = [p for p in np.lexsort((np.arange(service.size), -service)) if service[p] >= params.coverage_threshold]
    return [int(top[p]["offer_position"]) for p in covering][: params.n_best]


def test_coverings_of_many_needs_are_the_per_need_ones():
    rng = np.random.default_rng(3)
    params = MatchingParameters()
    factor_values = [0.0, 0.3, 1.0]  # few distinct values: equal services, whose order is the rank order
    tops = [
        [
            {
                "offer_position": int(rng.integers(0, 1000)),
                "relevance": float(rng.choice([0.2, 0.6, 0.9, 1.0])),
                "geography": float(rng.choice(factor_values)),
                "audience": float(rng.choice(factor_values)),
                "availability": 1.0,
                "capacity": float(rng.choice(factor_values)),
            }
            for _rank in range(int(rng.integers(0, 12)))
        ]
        for _need in range(60)
    ]
    coverings = reasons_coverings(tops, params)
    assert coverings == [_per_need(top, params) for top in tops]
    assert any(len(covering) > 1 for covering in coverings) and any(not top for top in tops)
    assert reasons_coverings([], params) == [] and reasons_coverings([[], []], params) == [[], []]

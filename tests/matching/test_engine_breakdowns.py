"""`engine._pair_breakdowns` (every explained pair of a chunk at once) gives what the per-pair breakdown gave: the
`float()` of each factor, the clipped text term, the rounded distance or None, same keys in the same order."""

import numpy as np

from matching.engine import Factors, _pair_breakdowns
from matching.matched_words import matched_words
from tests.matching.test_engine_areas import _index


def _per_pair(index, factors, pair, col, statement):
    """The breakdown as the run built it one pair at a time before `_pair_breakdowns`."""
    distance = factors.distance_km[pair]
    return {
        "offer_position": col,
        "offer_id": int(index.offers.ids[col]),
        "offer_title": index.offers.titles[col],
        "score": float(factors.fit[pair]),
        "relevance": float(factors.relevance[pair]),
        "text": float(np.clip(factors.text[pair], 0.0, 1.0)),
        "theme": float(factors.theme[pair]),
        "audience": float(factors.audience[pair]),
        "geography": float(factors.geography[pair]),
        "availability": float(factors.availability[pair]),
        "capacity": float(factors.capacity[pair]),
        "distance_km": None if np.isnan(distance) else round(float(distance), 3),
        "matched_words": matched_words(statement, index.offers.documents[col]),
    }


def test_breakdowns_of_many_pairs_are_the_per_pair_ones():
    index = _index(communes=[4, 5, 7, 4], service_areas=[[], [], [], [3]])
    rng = np.random.default_rng(7)
    n = 40
    distance = rng.uniform(0.0, 80.0, n)
    distance[::3] = np.nan
    factors = Factors(
        text=rng.uniform(-0.1, 1.1, n),  # clipped to [0, 1]
        theme=rng.uniform(0.0, 1.0, n).astype(np.float32),
        audience=rng.random(n) > 0.5,  # a bool factor is stored as 1.0 / 0.0
        geography=rng.uniform(0.0, 1.0, n),
        availability=np.ones(n, dtype=np.int64),
        capacity=rng.uniform(0.0, 1.0, n),
        distance_km=distance,
        relevance=rng.uniform(0.0, 1.0, n),
        fit=rng.uniform(0.0, 1.0, n),
    )
    pairs = rng.permutation(n)[:25]
    cols = rng.integers(0, 4, pairs.size)
    statements = [["Une crèche pour garder les enfants", "garde d'enfant le soir", ""][p % 3] for p in pairs]
    got = _pair_breakdowns(index, factors, pairs, cols, statements)
    expected = [
        _per_pair(index, factors, int(pair), int(col), statement)
        for pair, col, statement in zip(pairs, cols, statements, strict=True)
    ]
    assert repr(got) == repr(expected)  # values, their Python types and the keys' order
    assert any(breakdown["matched_words"] for breakdown in got)
    assert any(breakdown["distance_km"] is None for breakdown in got)
    assert _pair_breakdowns(index, factors, pairs[:0], cols[:0], []) == []

"""The run path's retrieval and text cosines (pure, no Django): the pair cosines equal the rows' dot products in
any pair order and batch size, and a run's retrieval gives the same results on any number of threads."""

from datetime import date

import numpy as np
import pytest
import scipy.sparse as sp

from matching import engine
from matching.engine import needs_score, pair_cosines
from matching.partitions import GEOGRAPHY_FLOOR
from matching.scoring import MatchingParameters
from tests.matching.test_partitions import (
    AIX,
    ARRAS,
    LILLE,
    MARSEILLE,
    PARIS,
    TERRITORIES,
    TOPICS,
    _centroids,
    _index,
    _needs,
)


@pytest.mark.parametrize("batch", [1, 7, 8192])
def test_pair_cosines_are_the_dot_products_of_the_paired_rows(monkeypatch, batch):
    monkeypatch.setattr(engine, "_COSINE_PAIRS", batch)
    rng = np.random.default_rng(5)
    left = sp.random(30, 50, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    right = sp.random(40, 50, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    right.indices = right.indices.copy()
    rows = rng.integers(0, 30, 200)  # unsorted, repeated
    cols = rng.integers(0, 40, 200)
    expected = (left.toarray().astype(np.float64) @ right.toarray().T.astype(np.float64))[rows, cols]
    np.testing.assert_allclose(pair_cosines(left, right, rows, cols), expected, rtol=1e-5, atol=1e-7)
    assert pair_cosines(left, right, rows[:0], cols[:0]).shape == (0,)


def test_pair_cosines_read_rows_whose_indices_are_unsorted():
    left = sp.csr_matrix((np.array([1.0, 2.0], np.float32), np.array([3, 1]), np.array([0, 2])), shape=(1, 5))
    right = sp.csr_matrix((np.array([5.0, 7.0], np.float32), np.array([1, 3]), np.array([0, 2])), shape=(1, 5))
    assert pair_cosines(left, right, np.array([0]), np.array([0])).tolist() == [2.0 * 5.0 + 1.0 * 7.0]


def test_a_run_scores_the_same_on_two_retrieval_threads():
    communes = (ARRAS, LILLE, MARSEILLE, AIX, PARIS)  # the last three out of reach of the Hauts-de-France needs
    index = _index([(commune, n % len(TOPICS), [], None) for commune in communes for n in range(8)])
    areas = [TERRITORIES[ARRAS][0], "", TERRITORIES[LILLE][0], TERRITORIES[13][0]]
    needs = _needs(areas, [TOPICS[0], TOPICS[1], TOPICS[2], TOPICS[3]])
    common = {"index": index, "needs": needs, "params": MatchingParameters(), "reference_date": date(2026, 6, 1)}
    for floor in (0.0, GEOGRAPHY_FLOOR):  # every offer searched, then the partitioned search
        common |= {"scope_area": "r32/", "centroids": _centroids([*areas, "r32/"]), "geography_floor": floor}
        one = needs_score(**common)
        assert needs_score(**common, retrieval_threads=2) == one
        assert all(result["top"] for result in one)

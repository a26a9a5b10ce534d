"""A chunk's result rows stored through PostgreSQL COPY are the rows `bulk_create` stores: same values (floats to
the bit, JSON, NULLs, awkward text), same id order."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from matching import services
from matching.models import MatchedOffer, NeedResult, RunStatus
from matching.services.result_writes import MATCHED_OFFER_FIELDS, RESULT_FIELDS, results_insert
from tests.conftest import make_user
from tests.matching.conftest import run_chunks

pytestmark = pytest.mark.django_db

# The ORM path everywhere; COPY where the database has it.
PATHS = [False, True] if connection.vendor == "postgresql" else [False]


def _run():
    user = User.objects.filter(username="writer").first() or make_user("writer", analyst=True)
    return services.run_start(launched_by=user)


def _stored(run):
    """Every stored row of the run, results by id with their matched offers by rank (ids themselves left out)."""
    results = list(NeedResult.objects.filter(run=run).order_by("id").values_list("id", *RESULT_FIELDS))
    offers = {}
    for result_id, *values in (
        MatchedOffer.objects.filter(result__run=run).order_by("id").values_list("result_id", *MATCHED_OFFER_FIELDS)
    ):
        offers.setdefault(result_id, []).append(tuple(values))
    return [(tuple(values), offers.get(result_id, [])) for result_id, *values in results]


def _rewrite(run, rows, *, copy):
    NeedResult.objects.filter(run=run).delete()
    results_insert(
        run_id=run.id,
        result_rows=[row for row, _offers in rows],
        offer_rows=[offers for _row, offers in rows],
        copy=copy,
    )
    return _stored(run)


def _assert_ids_follow_rows(run):
    """Ids rise with the row order: results in the order given, each result's offers by rank."""
    results = list(NeedResult.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    assert results == sorted(results)
    ranks = list(MatchedOffer.objects.filter(result__run=run).order_by("id").values_list("result_id", "rank"))
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("copy", PATHS)
def test_a_scored_chunk_stores_the_same_rows_through_either_path(catalogue, copy):
    run = _run()
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    scored = _stored(run)
    assert len(scored) == 5 and sum(len(offers) for _row, offers in scored) > 0
    assert any(row[RESULT_FIELDS.index("reasons")] for row, _offers in scored)
    assert _rewrite(run, scored, copy=copy) == scored
    _assert_ids_follow_rows(run)


def test_copy_and_bulk_create_store_identical_awkward_values(catalogue):
    run = _run()
    awkward = 'tab\there, newline\nthere, back\\slash, "quotes", \\N, é€😀'
    floats = [1.0 / 3.0, 5e-324, 1.7976931348623157e308, -0.0, 0.1 + 0.2, 2.0**-40]
    rows = [
        (
            (
                None,
                awkward,
                "everyone",
                "health",
                ["health-care", awkward],
                "/23/200000172/23096",
                "200000172",
                "23096",
                floats[i % 6],
                None if i % 2 else floats[(i + 1) % 6],
                None if i % 3 else 7 + i,
                "",
                floats[(i + 2) % 6],
                floats[(i + 3) % 6],
                floats[(i + 4) % 6],
                "create",
                [
                    {
                        "code": "no-relevant-offer",
                        "best_relevance": floats[(i % 2) * 4],
                        "text": awkward,
                        "nested": [1, None],
                    }
                ],
                "",
                None if i % 2 else floats[(i + 5) % 6],
            ),
            [
                (
                    None,
                    f"{awkward} {rank}",
                    rank,
                    *[floats[(rank + j) % 6] for j in range(8)],
                    None if rank % 2 else floats[rank % 6],
                    [awkward, "mot"] if rank % 2 else [],
                )
                for rank in range(1, 4 if i else 1)
            ],
        )
        for i in range(4)
    ]
    stored = [_rewrite(run, rows, copy=copy) for copy in PATHS]
    assert stored[0] == [(row, offers) for row, offers in rows]
    assert all(other == stored[0] for other in stored[1:])
    _assert_ids_follow_rows(run)


def test_rows_and_matched_offer_lists_must_pair_up(catalogue):
    with pytest.raises(ValueError, match="2 results but 1 lists"):
        results_insert(run_id=_run().id, result_rows=[(), ()], offer_rows=[[]])

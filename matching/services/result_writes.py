"""The rows a chunk writes: its needs' results and their matched offers, inside the caller's transaction.

On PostgreSQL they go through COPY (a run of 10,000 needs writes 110,000 rows: the ORM spent more time building
model instances and their INSERT parameters than the server spent storing them); elsewhere through `bulk_create`.
Both store the same rows with the same ids: the results' ids are drawn from their sequence in row order, as an
INSERT would draw them, and the matched offers take theirs in row order during the COPY."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from matching.models import MatchedOffer, NeedResult


def _fields(model: type[models.Model], *, parent: str) -> tuple[str, ...]:
    """The model's columns (attnames) in declaration order, without its id and its parent key: the order in which
    a chunk builds each row's values (a field added to the model changes the rows the chunk must build)."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname not in ("id", parent))


def _json_positions(model: type[models.Model], fields: Sequence[str]) -> tuple[int, ...]:
    """Positions of the JSON columns, whose values COPY takes serialised (`JSONField` stores `json.dumps`)."""
    return tuple(i for i, name in enumerate(fields) if isinstance(model._meta.get_field(name), models.JSONField))


# Field names (attnames) of the values in each row, in the order the chunk builds them.
RESULT_FIELDS = _fields(NeedResult, parent="run_id")
MATCHED_OFFER_FIELDS = _fields(MatchedOffer, parent="result_id")
_RESULT_JSON = _json_positions(NeedResult, RESULT_FIELDS)
_MATCHED_OFFER_JSON = _json_positions(MatchedOffer, MATCHED_OFFER_FIELDS)


def results_insert(
    *, run_id: Any, result_rows: Sequence[tuple], offer_rows: Sequence[Sequence[tuple]], copy: bool | None = None
) -> None:
    """Insert one result per row of `result_rows` (values in `RESULT_FIELDS` order) and, for each, its matched
    offers (`offer_rows[i]`, values in `MATCHED_OFFER_FIELDS` order). `copy` forces the PostgreSQL COPY path (True)
    or the ORM's (False); None picks COPY on PostgreSQL."""
    if len(result_rows) != len(offer_rows):
        raise ValueError(f"{len(result_rows)} results but {len(offer_rows)} lists of matched offers")
    if copy is None:
        copy = connection.vendor == "postgresql"
    if copy:
        _results_copy(run_id, result_rows, offer_rows)
    else:
        _results_bulk_create(run_id, result_rows, offer_rows)


def _results_bulk_create(run_id: Any, result_rows: Sequence[tuple], offer_rows: Sequence[Sequence[tuple]]) -> None:
    created = NeedResult.objects.bulk_create(
        [NeedResult(run_id=run_id, **dict(zip(RESULT_FIELDS, row, strict=True))) for row in result_rows],
        batch_size=500,
    )
    MatchedOffer.objects.bulk_create(
        (
            MatchedOffer(result_id=result.id, **dict(zip(MATCHED_OFFER_FIELDS, row, strict=True)))
            for result, rows in zip(created, offer_rows, strict=True)
            for row in rows
        ),
        batch_size=2000,
    )


def _results_copy(run_id: Any, result_rows: Sequence[tuple], offer_rows: Sequence[Sequence[tuple]]) -> None:
    if not result_rows:
        return
    results_table = connection.ops.quote_name(NeedResult._meta.db_table)
    offers_table = connection.ops.quote_name(MatchedOffer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [NeedResult._meta.db_table, len(result_rows)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        columns = ", ".join(connection.ops.quote_name(name) for name in ("id", "run_id", *RESULT_FIELDS))
        with cursor.copy(f"COPY {results_table} ({columns}) FROM STDIN") as copy:
            for result_id, row in zip(ids, result_rows, strict=True):
                values = list(row)
                for at in _RESULT_JSON:  # JSONField stores json.dumps (no encoder) of the value
                    values[at] = json.dumps(values[at])
                copy.write_row((result_id, run_id, *values))
        columns = ", ".join(connection.ops.quote_name(name) for name in ("result_id", *MATCHED_OFFER_FIELDS))
        with cursor.copy(f"COPY {offers_table} ({columns}) FROM STDIN") as copy:
            for result_id, rows in zip(ids, offer_rows, strict=True):
                for row in rows:
                    values = list(row)
                    for at in _MATCHED_OFFER_JSON:
                        values[at] = json.dumps(values[at])
                    copy.write_row((result_id, *values))

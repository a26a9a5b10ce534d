"""Writes of the matching app: starting a run, scoring a chunk of it, failing, retrying and recovering chunks.

A run is split into chunks of needs; each chunk is one task (`matching.tasks`). A worker claims a chunk (attempt
+ 1, a lease), scores it with no transaction open, then writes every result, the chunk status and the run progress
in ONE transaction guarded by a compare-and-set on (status, attempt): an attempt whose lease expired and whose chunk
was handed to another worker cannot write anything. The run's watchdog task re-queues chunks whose lease expired
(dead worker) until `max_attempts`, then fails the run with the reason. A run records the catalogue version it starts
on and each chunk checks it against its index (read from one snapshot, see `matching.index`): a chunk that finds
the catalogue changed fails the run with the reason, as no worker can read an older catalogue, so the chunks of a
succeeded run all scored one catalogue.

`runs` starts, fails and recovers runs and owns their parameters; `chunks` claims, scores, writes and fails chunks;
`queue` enqueues their tasks.
"""

from matching.services.chunks import (
    CatalogueChanged,
    ChunkTimeLimitExceeded,
    StaleAttempt,
    chunk_claim,
    chunk_fail,
    chunk_score,
)
from matching.services.runs import (
    ACTIVE_STATUSES,
    MAX_CHUNK_SIZE,
    run_engine_parameters,
    run_fail,
    run_max_attempts,
    run_parameters_validate,
    run_recover,
    run_start,
    run_watch,
    runs_recover,
)

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_CHUNK_SIZE",
    "CatalogueChanged",
    "ChunkTimeLimitExceeded",
    "StaleAttempt",
    "chunk_claim",
    "chunk_fail",
    "chunk_score",
    "run_engine_parameters",
    "run_fail",
    "run_max_attempts",
    "run_parameters_validate",
    "run_recover",
    "run_start",
    "run_watch",
    "runs_recover",
]

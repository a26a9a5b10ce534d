"""Writes of the matching app: starting a run, scoring a chunk of it, failing, retrying and recovering chunks.

A run is split into chunks of needs; each chunk is one task (`matching.tasks`). A worker claims a chunk (attempt
+ 1, a lease), scores it with no transaction open, then writes every result, the chunk status and the run progress
in ONE transaction guarded by a compare-and-set on (status, attempt): an attempt whose lease expired and whose chunk
was handed to another worker cannot write anything. The run's watchdog task re-queues chunks whose lease expired
(dead worker) until `max_attempts`, then fails the run with the reason. The catalogue is never frozen for a run: it
records the catalogue state it starts on, each chunk scores against the latest offer index at its claim and records
that index's version and state, and the run lists the states its results used, so edits never fail a run.

`runs` starts, fails and recovers runs and owns their parameters; `chunks` claims, scores, writes and fails chunks;
`queue` enqueues their tasks.
"""

from matching.services.chunks import (
    ChunkTimeLimitExceeded,
    StaleAttempt,
    chunk_claim,
    chunk_fail,
    chunk_score,
    scored_states_add,
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
    "scored_states_add",
]

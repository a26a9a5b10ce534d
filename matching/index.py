"""The process-wide OfferIndex: built from the database, cached in memory, rebuilt only when the catalogue changes.

Runs and searches call `offer_index_get()`; it costs one cheap version query when the cache is fresh. A rebuild
happens under a lock, so concurrent requests of a threaded server fit the model once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction

from matching import selectors
from matching.engine import OfferIndex, offer_index_fit

logger = logging.getLogger("matching")

_cache: dict[str, OfferIndex] = {}
_build_lock = threading.Lock()


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Make the reads inside see one state of the database, whatever commits meanwhile.

    Without it each query sees the latest commit: an import committing between the version query and the offer
    rows labels new offers with the old version (a run's chunk would pass its version check on the wrong data), and
    one committing between the offer rows and their themes breaks the arrays. PostgreSQL: a REPEATABLE READ
    read-only transaction. SQLite: a transaction (BEGIN IMMEDIATE here, so writers wait for the reads).
    Inside a caller's transaction, its isolation applies (tests; nothing calls this from a request's transaction).
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def offer_index_build() -> OfferIndex:
    """Read every offer (published or not) and fit the index; deterministic for the same data. The version and the
    offers come from one snapshot, so the version names exactly the catalogue the index was fitted on."""
    started = time.perf_counter()
    with _one_snapshot():
        version = selectors.catalogue_version()
        taxonomy = selectors.taxonomy_arrays()
        offers = selectors.offer_arrays(taxonomy=taxonomy)
    index = offer_index_fit(version=version, offers=offers, taxonomy=taxonomy)
    index.build_seconds = time.perf_counter() - started
    logger.info("Offer index built: %d offers, version %s, %.2f s", index.size, version, index.build_seconds)
    return index


def offer_index_get(*, allow_stale: bool = False) -> OfferIndex:
    """The cached index if the catalogue has not changed since it was built, else a fresh one.

    With `allow_stale` (search), a changed catalogue larger than MATCHING_SYNC_REBUILD_MAX_OFFERS does not make
    the caller wait for the refit (minutes for 100,000 offers): the previous index is returned while one background
    thread builds the new one. Small catalogues are refitted in the request (a second or two).
    Runs never accept a stale index: their chunks must all score against the catalogue version they started on.
    """
    version = selectors.catalogue_version()
    index = _cache.get("default")
    if index is not None and index.version == version:
        return index
    if allow_stale and index is not None and index.size > settings.MATCHING_SYNC_REBUILD_MAX_OFFERS:
        _rebuild_in_background(version)
        return index
    with _build_lock:
        index = _cache.get("default")
        if index is not None and index.version == version:
            return index
        index = offer_index_build()  # reads the version again, in the snapshot it fits
        _cache["default"] = index
        return index


def _rebuild_in_background(seen_version: str) -> None:
    """Refit in a thread; the new index is labelled by the version it reads, `seen_version` or a later one."""
    if not _build_lock.acquire(blocking=False):
        return  # a build is already under way

    def build() -> None:
        try:
            _cache["default"] = offer_index_build()
        except Exception:
            logger.exception("Background rebuild of the offer index for version %s failed", seen_version)
        finally:
            connection.close()
            _build_lock.release()

    threading.Thread(target=build, name="offer-index-rebuild", daemon=True).start()


def offer_index_clear() -> None:
    """Forget the cached index (tests, and the benchmark between catalogue sizes)."""
    _cache.clear()

"""The process-wide OfferIndex: built from the database, cached in memory, rebuilt only when the catalogue changes.

Runs and searches call `offer_index_get()`; it costs one cheap version query when the cache is fresh. A rebuild
happens under a lock, so concurrent requests of a threaded server fit the model once.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from matching import selectors
from matching.engine import OfferIndex, offer_index_fit

logger = logging.getLogger("matching")

_cache: dict[str, OfferIndex] = {}
_build_lock = threading.Lock()


def offer_index_build(*, version: str | None = None) -> OfferIndex:
    """Read every offer (published or not) and fit the index; deterministic for the same data."""
    started = time.perf_counter()
    version = version or selectors.catalogue_version()
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
        index = offer_index_build(version=version)
        _cache["default"] = index
        return index


def _rebuild_in_background(version: str) -> None:
    if not _build_lock.acquire(blocking=False):
        return  # a build is already under way

    def build() -> None:
        from django.db import connection

        try:
            _cache["default"] = offer_index_build(version=version)
        except Exception:
            logger.exception("Background rebuild of the offer index failed")
        finally:
            connection.close()
            _build_lock.release()

    threading.Thread(target=build, name="offer-index-rebuild", daemon=True).start()


def offer_index_clear() -> None:
    """Forget the cached index (tests, and the benchmark between catalogue sizes)."""
    _cache.clear()

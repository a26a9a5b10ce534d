"""The process-wide OfferIndex: built from the database, cached in memory, rebuilt only when the catalogue changes.

Runs and searches call `offer_index_get()`; it costs one cheap version query when the cache is fresh. A rebuild
happens under a lock, so concurrent requests of a threaded server fit the model once.
"""

from __future__ import annotations

import logging
import threading
import time

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


def offer_index_get() -> OfferIndex:
    """The cached index if the catalogue has not changed since it was built, else a fresh one."""
    version = selectors.catalogue_version()
    index = _cache.get("default")
    if index is not None and index.version == version:
        return index
    with _build_lock:
        index = _cache.get("default")
        if index is not None and index.version == version:
            return index
        index = offer_index_build(version=version)
        _cache["default"] = index
        return index


def offer_index_clear() -> None:
    """Forget the cached index (tests, and the benchmark between catalogue sizes)."""
    _cache.clear()

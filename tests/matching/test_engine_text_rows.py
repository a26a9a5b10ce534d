"""`engine.need_text_rows` gives the rows `model.transform` gives, to the bit, whatever the statements hold."""

import numpy as np
import pytest
import scipy.sparse as sp

from matching.engine import need_text_rows, offer_index_model
from matching.scoring import TextRelevanceModel, need_document

STATEMENTS = [
    "Je cherche une crèche à Guéret pour mon fils",
    "Cours de natation le week-end.",
    "l'Île-aux-Enfants : garde périscolaire ?!",
    "  espaces   et\ttabulations\n",
    "Œuvres, cœur et Straße",
    "e\u0301cole de musique (accent décomposé)",
    "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ",  # Greek capitals: a final sigma lowercases by context
    "snake_case et chiffres 2024 n°3",
    "emoji 😀 entre les mots",
    "statement . with the join inside . twice",
    "a",
    "",
    "ends with the join .",
    "—",
]
THEMES = [
    ([], []),
    (["Petite enfance"], ["crèche garde assistante maternelle"]),
    (["Sport", "Santé"], ["piscine natation", "médecin généraliste"]),
    (["Σ thème"], ["'apostrophe au début", "tiret-final-"]),
]


def _fitted() -> TextRelevanceModel:
    return offer_index_model().fit(
        [
            "Micro-crèche de Guéret : garde d'enfants, assistante maternelle",
            "Piscine municipale, natation et club sportif le week-end",
            "École de musique, cours collectifs ; ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ",
            "Maison de santé : médecin généraliste et infirmiers",
        ]
    )


def _bits(matrix: sp.csr_matrix) -> tuple:
    return matrix.shape, matrix.indptr.tolist(), matrix.indices.tolist(), matrix.data.dtype, matrix.data.tobytes()


def test_documents_and_statements_rows_are_transform_s_to_the_bit():
    model = _fitted()
    statements, documents = [], []
    for position, statement in enumerate(STATEMENTS * len(THEMES)):
        labels, keywords = THEMES[position % len(THEMES)]
        statements.append(statement)
        documents.append(need_document(statement, labels, keywords))
    # Documents of another form (not the statement then " . "): hashed whole, still exact.
    statements += ["garde d'enfants", "natation"]
    documents += ["une autre requête", "natation.sport"]
    document_rows, statement_rows = need_text_rows(model, documents, statements)
    assert _bits(document_rows) == _bits(model.transform(documents))
    assert _bits(statement_rows) == _bits(model.transform(statements))
    assert document_rows.nnz > statement_rows.nnz > 0


@pytest.mark.parametrize("char_weight", [0.0, 1.0])
def test_one_branch_models_too(char_weight):
    model = offer_index_model().set_params(char_weight=char_weight)
    model.fit(["crèche et garde d'enfants", "piscine, natation"])
    documents = [need_document(s, ["Petite enfance"], ["crèche garde"]) for s in STATEMENTS]
    document_rows, statement_rows = need_text_rows(model, documents, STATEMENTS)
    assert _bits(document_rows) == _bits(model.transform(documents))
    assert _bits(statement_rows) == _bits(model.transform(STATEMENTS))


def test_raw_counts_add_up_over_the_join():
    model = _fitted()
    joined = model.raw_counts([need_document("crèche à Guéret", ["Petite enfance"], ["garde"])])
    parts = model.raw_counts(["crèche à Guéret"]) + model.raw_counts(["Petite enfance . garde"])
    assert np.array_equal(joined.toarray(), parts.toarray())


def test_theme_texts_hashed_by_an_earlier_chunk_give_the_same_rows():
    # The rows of theme texts are kept across calls (chunks), per model parameters: a model with other parameters
    # hashing the same texts must not get the first one's rows.
    documents = [need_document(s, ["Petite enfance", "Sport"], ["crèche garde", "piscine"]) for s in STATEMENTS]
    for char_weight in (0.0, 1.0, 0.5, 0.0):
        model = offer_index_model().set_params(char_weight=char_weight)
        model.fit(["crèche et garde d'enfants", "piscine, natation"])
        for _ in range(2):
            document_rows, _statement_rows = need_text_rows(model, documents, STATEMENTS)
            assert _bits(document_rows) == _bits(model.transform(documents))

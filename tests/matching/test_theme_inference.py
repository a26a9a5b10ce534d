"""ThemeClassifier: pure, no database; small hand-made catalogues."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone

from matching.text_normalise import keep_accents_text
from matching.theme_inference import (
    DEFAULT_CONFIDENCE_FLOOR,
    InferredTheme,
    ThemeClassifier,
    theme_vocabulary,
    themes_split,
)

LABELS = ["Garde d'enfants", "Sport", "Commerces"]
KEYWORDS = ["crèche nounou assistante maternelle", "club judo football piscine", "épicerie boulangerie marché"]
TEXTS = [
    "Micro-crèche de 12 places à Ahun",
    "Maison d'assistantes maternelles",
    "Club de judo pour les enfants dès 4 ans",
    "École de football du mercredi",
    "Épicerie multiservice du bourg",
    "Marché hebdomadaire le samedi matin",
    "Offre sans thème",
]
THEMES = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]], dtype=bool)


def fitted(**params):
    return ThemeClassifier(**params).fit(TEXTS, THEMES, theme_texts=theme_vocabulary(LABELS, KEYWORDS))


def test_predicts_the_theme_of_everyday_requests():
    classifier = fitted()
    assert classifier.predict(
        ["une nounou pour mon bébé", "inscrire ma fille au judo", "une boulangerie ouverte"]
    ).tolist() == [
        0,
        1,
        2,
    ]
    probabilities = classifier.predict_proba(["une nounou pour mon bébé"])
    assert probabilities.shape == (1, 3)
    assert probabilities.sum() == pytest.approx(1.0)


def test_infer_keeps_confident_themes_only():
    classifier = fitted()
    (themes,) = classifier.infer(["une place en crèche"])
    assert [t.position for t in themes][:1] == [0] and themes[0].confidence >= DEFAULT_CONFIDENCE_FLOOR
    # A text with no known word is far less certain than one naming the theme.
    assert classifier.predict_proba(["xyzzy qwerty"]).max() < themes[0].confidence
    assert classifier.infer(["une place en crèche"], floor=1.01)[0] == []


def test_themes_split_at_the_floor_keeps_the_order():
    themes = [InferredTheme(2, 0.6), InferredTheme(0, 0.4), InferredTheme(1, 0.39)]
    assert themes_split(themes, 0.4) == (themes[:2], themes[2:])
    assert themes_split(themes, 0.7) == ([], themes)
    assert themes_split([], 0.4) == ([], [])
    # The classifier's best few at floor 0, split at the default floor: the themes infer keeps, then the rest.
    classifier = fitted()
    kept, related = themes_split(classifier.infer(["une place en crèche"], floor=0.0)[0])
    assert kept == classifier.infer(["une place en crèche"])[0]
    assert all(t.confidence < DEFAULT_CONFIDENCE_FLOOR for t in related) and len(kept) + len(related) <= 3


def test_untagged_texts_are_ignored_and_a_small_catalogue_learns_from_the_taxonomy():
    classifier = ThemeClassifier().fit(TEXTS[-1:], THEMES[-1:], theme_texts=theme_vocabulary(LABELS, KEYWORDS))
    assert classifier.n_training_texts_ > 3  # label + keywords texts only
    assert classifier.predict(["un club de football"]).tolist() == [1]


def test_fit_is_deterministic_and_caps_documents_per_theme():
    many_texts = TEXTS[:2] * 50 + TEXTS[2:6]
    many_themes = np.vstack([np.repeat(THEMES[:2], 50, axis=0), THEMES[2:6]])
    first = ThemeClassifier(max_documents_per_theme=10, random_state=3).fit(many_texts, many_themes)
    second = clone(first).fit(many_texts, many_themes)
    assert first.n_training_texts_ == 14  # 10 childcare + 2 sport + 2 shops
    np.testing.assert_array_equal(first.predict_proba(TEXTS), second.predict_proba(TEXTS))


def test_fit_reads_only_the_texts_of_its_training_rows():
    """A caller reads only the texts of `training_rows` (the catalogue's cache passes "" for the others): the
    classifier is the one fitted on every text."""
    many_texts = [f"{text} numéro {n}" for n in range(40) for text in TEXTS]
    many_themes = np.tile(THEMES, (40, 1))
    vocabulary = theme_vocabulary(LABELS, KEYWORDS)
    classifier = ThemeClassifier(max_documents_per_theme=15, random_state=5)
    rows = classifier.training_rows(many_themes)
    assert rows.size == 45 and set(rows.tolist()) < set(np.flatnonzero(many_themes.any(axis=1)).tolist())
    only_rows = ["" for _text in many_texts]
    for row in rows.tolist():
        only_rows[row] = many_texts[row]
    full = clone(classifier).fit(many_texts, many_themes, theme_texts=vocabulary)
    partial = classifier.fit(only_rows, many_themes, theme_texts=vocabulary)
    requests = ["une nounou pour mon bébé", "inscrire ma fille au judo numéro 7", "une boulangerie"]
    np.testing.assert_array_equal(partial.predict_proba(requests), full.predict_proba(requests))


def test_one_theme_or_none():
    single = ThemeClassifier().fit(TEXTS[:2], THEMES[:2, :1])
    assert single.predict_proba(["n'importe quoi"]).tolist() == [[1.0]]
    empty = ThemeClassifier().fit(TEXTS[-1:], THEMES[-1:])
    assert empty.infer(["crèche"]) == [[]]


def test_bad_arguments():
    with pytest.raises(ValueError, match="themes must have shape"):
        ThemeClassifier().fit(TEXTS, THEMES[:2])
    with pytest.raises(ValueError, match="theme texts"):
        ThemeClassifier().fit(TEXTS, THEMES, theme_texts=["a"])
    with pytest.raises(TypeError):
        fitted().predict_proba("une crèche")


def test_accents_are_kept_on_words_and_separate_marche_from_marché():
    assert keep_accents_text("Le Marché de Noël, l'Île") == "le marché de noël l île"
    assert keep_accents_text("marche\u0301") == "marché"  # decomposed accent = composed
    assert keep_accents_text(None) == ""
    labels = ["Commerces", "Activité de loisirs"]
    keywords = ["marché épicerie courses", "marche nordique randonnée balade"]
    classifier = ThemeClassifier().fit([], np.zeros((0, 2), bool), theme_texts=theme_vocabulary(labels, keywords))
    assert classifier.predict(["le marché du samedi", "la marche du dimanche"]).tolist() == [0, 1]


def test_theme_inference_and_text_normalise_never_import_django():
    code = "import sys, matching.theme_inference, matching.text_normalise; print('django' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"

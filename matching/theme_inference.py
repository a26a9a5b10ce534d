"""Theme inference: which themes of the taxonomy a free-text request (or an untagged need) is about, with a confidence.

A multinomial logistic regression on word and character TF-IDF, trained on the catalogue's own tagged offers
(title and description: the text a request resembles) plus the taxonomy's vocabulary (each theme's label and
everyday keywords, whole and word by word), so it also works on a catalogue of a few offers. The regression weighs
each word by how well it separates themes: "nounou" pulls to childcare alone, while a word shared by many themes'
labels ("hébergement", "accompagnement") gets little weight, which plain TF-IDF similarity cannot do.

Pure scikit-learn and NumPy: never imports Django (`matching.theme_cache` fits and caches it next to the index).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from api.text import fold_text
from matching.scoring import FRENCH_STOP_WORDS
from matching.text_normalise import keep_accents_text

__all__ = ["DEFAULT_CONFIDENCE_FLOOR", "InferredTheme", "ThemeClassifier", "themes_split", "theme_vocabulary"]

# Inferred themes below this confidence are ignored. Chosen on the labelled set's 85 needs (bench/eval_matching.py,
# "Theme inference" table, bench/results/eval_matching.md): from 0.3 to 0.7 recall@5 of text-only search stays on a
# plateau (0.837-0.854, one or two needs; 0.843-0.861 since search grades the theme factor by the inference) while
# the precision of the kept themes rises from 0.92 to 1.00 and the share of needs getting a theme falls from 0.71 to
# 0.27; below 0.3 wrong themes creep in (precision 0.81 and recall 0.774 at 0.2; 0.810 graded): a wrong theme costs
# more than none, as it lifts every offer of that theme. 0.4 (precision 0.95, two needs in three get a theme) sits
# inside the plateau, not on its best single value.
DEFAULT_CONFIDENCE_FLOOR = 0.4
# At most this many themes per request: a request rarely spans more, and each extra one dilutes the theme factor.
DEFAULT_MAX_THEMES = 3


@dataclasses.dataclass(frozen=True)
class InferredTheme:
    """A theme (column of the taxonomy's theme arrays) and the classifier's probability for it."""

    position: int
    confidence: float


def themes_split(
    themes: Sequence[InferredTheme], floor: float = DEFAULT_CONFIDENCE_FLOOR
) -> tuple[list[InferredTheme], list[InferredTheme]]:
    """The themes at or above ``floor`` (the request is taken to be about them) and the runners-up below it (they
    only grade the search's theme factor: `engine.offers_search` ``related_themes``), order kept."""
    return [t for t in themes if t.confidence >= floor], [t for t in themes if t.confidence < floor]


def theme_vocabulary(labels: Sequence[str], keywords: Sequence[str]) -> list[str]:
    """One text per theme: its label then its everyday keywords (the taxonomy's words for it)."""
    return [f"{label} . {words}" if words else label for label, words in zip(labels, keywords, strict=True)]


def _theme_word_texts(text: str) -> list[str]:
    """The distinct words of a theme's vocabulary, each as its own short training text (stop words left out)."""
    seen: dict[str, None] = {}
    for word in keep_accents_text(text).split():
        if len(word) > 2 and fold_text(word) not in FRENCH_STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


class ThemeClassifier(ClassifierMixin, BaseEstimator):
    """Predicts a probability per theme for texts; fitted on tagged texts plus each theme's vocabulary.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    char_ngram_range : tuple of int
        Character n-gram sizes (``char_wb``, folded: tolerates missing accents and typos).
    max_features : int or None
        Cap on each branch's vocabulary, which bounds the model's memory whatever the catalogue.
    max_documents_per_theme : int or None
        Tagged texts kept per theme (a seeded random sample): fitting stays cheap at 100,000 offers, and
        frequent themes do not drown rare ones. None keeps all.
    vocabulary_weight : float
        Sample weight of each theme's vocabulary texts (a tagged text weighs 1, split among its themes).
    max_iter : int
        Iterations of the newton-cg solver.
    random_state : int, RandomState or None
        Seeds the per-theme sample.
    """

    def __init__(
        self,
        *,
        C: float = 10.0,
        char_ngram_range: tuple[int, int] = (3, 5),
        max_features: int | None = 100_000,
        max_documents_per_theme: int | None = 200,
        vocabulary_weight: float = 1.0,
        max_iter: int = 100,
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.C = C
        self.char_ngram_range = char_ngram_range
        self.max_features = max_features
        self.max_documents_per_theme = max_documents_per_theme
        self.vocabulary_weight = vocabulary_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(
        self, texts: Sequence[str], themes: np.ndarray, *, theme_texts: Sequence[str] | None = None
    ) -> ThemeClassifier:
        """Learn from ``texts`` tagged with ``themes`` (bool, one row per text, one column per theme) and, when
        given, ``theme_texts`` (one per column: `theme_vocabulary`). Untagged texts are ignored."""
        texts = _as_text_list(texts)
        themes = np.asarray(themes, dtype=bool)
        if themes.ndim != 2 or themes.shape[0] != len(texts):
            raise ValueError(f"themes must have shape ({len(texts)}, n_themes), got {themes.shape}")
        n_themes = themes.shape[1]
        if theme_texts is not None and len(theme_texts) != n_themes:
            raise ValueError(f"{len(theme_texts)} theme texts for {n_themes} themes")
        kept = self.training_rows(themes)
        rows, labels = np.nonzero(themes[kept])
        sample_texts = [texts[kept[row]] for row in rows]
        sample_labels = labels.tolist()
        weights = (1.0 / themes[kept].sum(axis=1))[rows].tolist()
        for position, text in enumerate(theme_texts or ()):
            for sample in (text, *_theme_word_texts(text)):
                sample_texts.append(sample)
                sample_labels.append(position)
                weights.append(self.vocabulary_weight)
        self.n_themes_ = n_themes
        self.classes_ = np.unique(np.asarray(sample_labels, dtype=np.int64))
        self.n_training_texts_ = len(sample_texts)
        if self.classes_.size < 2:
            # One theme (or none) to choose from: nothing to learn; every text gets it with confidence 1.
            self.pipeline_ = None
            return self
        self.pipeline_ = Pipeline(
            [
                ("features", self._features()),
                (
                    "classifier",
                    # newton-cg: a few Newton steps; lbfgs needed 25 times longer here on a loaded machine.
                    LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter, solver="newton-cg"),
                ),
            ]
        )
        self.pipeline_.fit(sample_texts, sample_labels, classifier__sample_weight=np.asarray(weights))
        return self

    def training_rows(self, themes: np.ndarray) -> np.ndarray:
        """Row positions `fit` learns from (the same for the same `themes` and `random_state`): tagged rows, at
        most `max_documents_per_theme` drawn per theme. Only these rows' texts are read: a caller may pass "" for
        the others (at 100,000 offers, 7,600 texts are read instead of 100,000)."""
        themes = np.asarray(themes, dtype=bool)
        rng = check_random_state(self.random_state)
        tagged = np.flatnonzero(themes.any(axis=1))
        if self.max_documents_per_theme is None:
            return tagged
        kept = set()
        for column in range(themes.shape[1]):
            rows = np.flatnonzero(themes[:, column])
            if rows.size > self.max_documents_per_theme:
                rows = rng.choice(rows, size=self.max_documents_per_theme, replace=False)
            kept.update(rows.tolist())
        return np.array(sorted(kept), dtype=np.int64)

    def _features(self) -> FeatureUnion:
        common = {"sublinear_tf": True, "max_features": self.max_features, "dtype": np.float32}
        stop_words = sorted(FRENCH_STOP_WORDS | {keep_accents_text(word) for word in FRENCH_STOP_WORDS})
        return FeatureUnion(
            [
                # Accents kept on words (marché is not marche); folded character n-grams catch "creche" and typos.
                (
                    "word",
                    TfidfVectorizer(preprocessor=keep_accents_text, stop_words=stop_words, **common),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        preprocessor=fold_text, analyzer="char_wb", ngram_range=self.char_ngram_range, **common
                    ),
                ),
            ]
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each theme (columns as in ``fit``; 0 for themes never seen), rows summing to 1."""
        check_is_fitted(self, "classes_")
        texts = _as_text_list(texts)
        result = np.zeros((len(texts), self.n_themes_), dtype=np.float64)
        if self.classes_.size == 0:
            return result
        if self.pipeline_ is None:
            result[:, self.classes_[0]] = 1.0
            return result
        # The union's transform goes through joblib even on one job (a few ms of set-up per search request):
        # the two vectorizers are stacked here instead, as FeatureUnion does without weights.
        features = self.pipeline_.named_steps["features"]
        stacked = sp.hstack([vectorizer.transform(texts) for _name, vectorizer in features.transformer_list])
        result[:, self.classes_] = self.pipeline_.named_steps["classifier"].predict_proba(stacked.tocsr())
        return result

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Most probable theme column per text."""
        return np.argmax(self.predict_proba(texts), axis=1)

    def infer(
        self,
        texts: Sequence[str],
        *,
        floor: float = DEFAULT_CONFIDENCE_FLOOR,
        max_themes: int = DEFAULT_MAX_THEMES,
    ) -> list[list[InferredTheme]]:
        """Per text, the themes with probability >= ``floor``, most confident first, at most ``max_themes``."""
        probabilities = self.predict_proba(texts)
        results = []
        for row in probabilities:
            order = np.lexsort((np.arange(row.size), -row))[:max_themes]
            results.append([InferredTheme(int(t), float(row[t])) for t in order if row[t] >= floor and row[t] > 0])
        return results


def _as_text_list(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):  # A bare string would be read as one text per character.
        raise TypeError("expected an iterable of texts, got a single string")
    return ["" if text is None else text for text in texts]

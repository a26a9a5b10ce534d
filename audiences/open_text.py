"""Open survey answers, pure: masking personal data in quotes, and grouping answers into taxonomy themes with the
text model of the matching (`matching.scoring`: folded text, word + character TF-IDF, top-k cosine).

Nothing here imports Django (a test asserts it): the service (`audiences.services.open_answers`) reads the rows and
the themes, calls these functions and records the analyst's decisions. `matching.scoring` is pure too, so this
import does not make the audiences app depend on the matching app's models or services.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from api.text import fold_text
from matching.scoring import TextRelevanceModel, need_document, top_k_similarity

# ---------------------------------------------------------------------------
# Personal data
# ---------------------------------------------------------------------------

EMAIL_MARKER = "[courriel masqué]"
PHONE_MARKER = "[téléphone masqué]"
URL_MARKER = "[lien masqué]"
NAME_MARKER = "[nom masqué]"

_EMAIL = re.compile(r"[\w.+-]+\s?(?:@|\[at\]|\(at\))\s?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]]", re.IGNORECASE)
# A French number: 0 then a non-zero digit and four pairs, or +33 / 0033 (optionally "(0)") and the nine digits,
# in any usual writing (spaces, dots, dashes or nothing between the pairs). The digit look-arounds keep a longer
# run of digits (an identifier, a SIRET) whole, and years, postal codes (5 digits), prices and times are far
# shorter than the ten digits a number needs.
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\s?33[\s.\-]?(?:\(0\)[\s.\-]?)?|\(?0)[1-9]\)?(?:[\s.\-]?\d{2}){4}(?![\d])")
# A civility followed by a capitalised name ("Mme Durand", "M. Jean Martin"): a cheap, safe catch of the names
# respondents leave; a name alone ("Durand") cannot be told from a place and stays.
_CIVILITY_NAME = re.compile(
    r"\b(Mme|Mlle|Mr|M\.|Madame|Mademoiselle|Monsieur|Dr|Docteur)(\s+)"
    r"(?:[A-ZÀ-ÖØ-Þ][\w'-]*\.?)(?:\s+[A-ZÀ-ÖØ-Þ][\w'-]*)?"
)


MASK_MARKERS = {"email": EMAIL_MARKER, "phone": PHONE_MARKER, "url": URL_MARKER, "name": NAME_MARKER}


def personal_data_mask(text: str, *, markers: bool | Mapping[str, str] = True) -> str:
    """`text` with e-mail addresses, French phone numbers, links and names after a civility replaced by a marker
    ("[téléphone masqué]"; the caller may give its own, by kind as in MASK_MARKERS, such as in the reader's
    language), or removed when `markers` is False (what the classifier reads)."""
    if not text:
        return ""
    shown = MASK_MARKERS if markers is True else markers or {}

    def marker(kind: str) -> str:
        return shown.get(kind, "")

    masked = _EMAIL.sub(marker("email"), text)
    masked = _URL.sub(marker("url"), masked)
    masked = _PHONE.sub(marker("phone"), masked)
    masked = _CIVILITY_NAME.sub(lambda match: match.group(1) + match.group(2) + marker("name"), masked)
    return masked if markers else re.sub(r"\s{2,}", " ", masked).strip()


# ---------------------------------------------------------------------------
# Themes
# ---------------------------------------------------------------------------

# Cosine of an answer (or one of its parts) with a theme's text above which it is filed under that theme. Chosen on
# a plateau of tests/audiences/open_answers_labelled.py (0.10 to 0.13 file the same 55 answers of 62 right), where
# off-topic answers ("rien" 0.095, "je ne sais pas" 0.093) stay below and one-word needs ("bus" 0.19) above. With the
# enriched taxonomy and THEME_CHAR_WEIGHT the plateau is 0.09 to 0.12 (55 first in their theme; 0.13: 54), "rien"
# 0.061, "je ne sais pas" 0.083, "bus" 0.26.
THEME_THRESHOLD = 0.12
# An answer naming several things is filed under at most this many themes (its best-scoring parts); a theme after
# the first must score clearly, not just pass: a stray part ("il n'y en a plus que 2 par jour") reaching 0.12 on a
# word of another theme ("séjour") must not file the answer twice.
MAX_THEMES_PER_ANSWER = 2
SECOND_THEME_THRESHOLD = 0.15
# A part of an answer that a theme already kept scores at least this share of the part's best is that theme's, not
# a second need ("fibre": coworking 0.18, digital 0.16).
EXPLAINED_RATIO = 0.75

# Where an answer lists several things: punctuation, "et", "ou", "+", "&", "ainsi que", "aussi", line breaks.
_SEGMENT_SEPARATORS = re.compile(r"[,;/+&\n.!?()]+|\s(?:et|ou|ainsi que|aussi|puis|avec)\s", re.IGNORECASE)


def theme_document(label: str, keywords: str) -> str:
    """A theme's text, as the matching queries a need's themes (`need_document` without a statement)."""
    return need_document(None, [label], [keywords] if keywords else [])


def answer_segments(text: str) -> list[str]:
    """The parts of an answer that may name different needs ("une crèche et un médecin" -> two parts)."""
    return [part.strip() for part in _SEGMENT_SEPARATORS.split(text) if fold_text(part)]


@dataclasses.dataclass(frozen=True)
class ThemeClassifier:
    """The matching's text model fitted on the themes' texts, and one L2-normalised row per theme."""

    model: TextRelevanceModel
    matrix: sp.csr_matrix
    theme_count: int


# Share of the character branch when answers are compared with theme documents. The matching's 0.75 was measured
# on offers (long texts, where n-grams catch "nounou"/"garde"); a theme document is a list of short keywords, and
# with the enriched taxonomy (several phrasings per theme) 0.75 lets n-grams of frequent words outweigh the word the
# answer names: "des pistes cyclables pour aller au travail en velo" went to coworking ("espace de travail",
# "poste de travail", "travail à distance"), "le train pour aller a Limoges" to accommodation. Measured on
# tests/audiences/open_answers_labelled.py: 0.3 to 0.6 file 55 answers of 62 first in their theme (0.75: 53, 0.9:
# 52); 0.6, the plateau's end nearest the matching, keeps a stray part ("le notre est parti à la retraite": 0.148 on
# "maison de retraite" of social-services, 0.152 at 0.5) under SECOND_THEME_THRESHOLD.
THEME_CHAR_WEIGHT = 0.6


def theme_classifier_fit(documents: Sequence[str]) -> ThemeClassifier:
    """Fit the matching's `TextRelevanceModel` on the theme documents, one per theme (its parameters but the
    character share, `THEME_CHAR_WEIGHT`)."""
    model = TextRelevanceModel(char_weight=THEME_CHAR_WEIGHT)
    matrix = model.fit_transform(list(documents)) if documents else sp.csr_matrix((0, 0))
    return ThemeClassifier(model=model, matrix=sp.csr_matrix(matrix), theme_count=len(documents))


@dataclasses.dataclass(frozen=True)
class ThemeScore:
    theme: int  # position in the documents the classifier was fitted on
    score: float


def answers_classify(
    classifier: ThemeClassifier,
    texts: Sequence[str],
    *,
    threshold: float = THEME_THRESHOLD,
    second_threshold: float = SECOND_THEME_THRESHOLD,
    max_themes: int = MAX_THEMES_PER_ANSWER,
) -> list[list[ThemeScore]]:
    """Per answer, its themes best first (empty: unclassified).

    The whole answer and each of its parts are scored against every theme (`top_k_similarity`, the matching's
    retrieval). The answer's theme is the best (theme, cosine) of the whole or a part, when it reaches `threshold`.
    Another part adds its own best theme when it reaches `second_threshold` and no theme already kept explains that
    part nearly as well (`EXPLAINED_RATIO`): "la fibre et internet" is one digital need even though "fibre" alone
    leans to coworking, while "une crèche et un médecin" is two. Personal data is removed before scoring.
    """
    if not texts:
        return []
    if classifier.theme_count == 0:
        return [[] for _ in texts]
    cleaned = [personal_data_mask(text, markers=False) for text in texts]
    spans: list[tuple[int, int]] = []  # per answer, its rows in the queries: the whole answer, then its parts
    queries: list[str] = []
    for text in cleaned:
        parts = answer_segments(text)
        start = len(queries)
        queries.extend([text, *parts] if len(parts) > 1 else [text])
        spans.append((start, len(queries)))
    indices, scores = top_k_similarity(
        classifier.model.transform(queries), classifier.matrix, k=classifier.theme_count
    )
    cosines = np.zeros((len(queries), classifier.theme_count))
    rows, ranks = np.nonzero(indices >= 0)
    cosines[rows, indices[rows, ranks]] = scores[rows, ranks]
    classified = []
    for start, stop in spans:
        block = cosines[start:stop]
        query, theme = np.unravel_index(int(np.argmax(block)), block.shape)
        if block[query, theme] < threshold:
            classified.append([])
            continue
        kept = [(int(theme), float(block[query, theme]))]
        extra = []
        for part in block[1:]:
            best = int(np.argmax(part))
            if part[best] < second_threshold or any(part[t] >= EXPLAINED_RATIO * part[best] for t, _ in kept):
                continue
            extra.append((best, float(part[best])))
        for theme_score in sorted(extra, key=lambda item: (-item[1], item[0])):
            if len(kept) < max_themes and theme_score[0] not in {t for t, _ in kept}:
                kept.append(theme_score)
        classified.append([ThemeScore(theme, round(score, 4)) for theme, score in kept])
    return classified


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

UNCLASSIFIED = None  # the theme of the group of answers no theme reached


@dataclasses.dataclass(frozen=True)
class OpenAnswerRow:
    """One answer as the grouping reads it (the service builds these from `.values()` rows)."""

    id: int
    question: str
    respondent_id: str
    text: str
    audience: str | None
    weight: float


@dataclasses.dataclass
class Quote:
    answer_id: int
    respondent_id: str
    text: str  # masked
    score: float | None


@dataclasses.dataclass
class AnswerGroup:
    """The answers of one question filed under one theme (None: unclassified), optionally of one audience."""

    question: str
    theme: int | None
    audience: str | None
    answer_ids: list[int] = dataclasses.field(default_factory=list)
    count: int = 0
    weighted_count: float = 0.0
    audiences: dict[str | None, tuple[int, float]] = dataclasses.field(default_factory=dict)
    scored: list[tuple[float, OpenAnswerRow]] = dataclasses.field(default_factory=list)

    def add(self, row: OpenAnswerRow, score: float) -> None:
        self.answer_ids.append(row.id)
        self.count += 1
        self.weighted_count += row.weight
        count, weight = self.audiences.get(row.audience, (0, 0.0))
        self.audiences[row.audience] = (count + 1, weight + row.weight)
        self.scored.append((score, row))

    def quotes(self, limit: int, *, markers: bool | Mapping[str, str] = True) -> list[Quote]:
        """The most representative answers first (highest score, then shortest), masked (`markers` as in
        `personal_data_mask`), each text once."""
        seen: set[str] = set()
        quotes = []
        for score, row in sorted(self.scored, key=lambda item: (-item[0], len(item[1].text), item[1].id)):
            masked = personal_data_mask(row.text.strip(), markers=markers)
            folded = fold_text(masked)
            if folded in seen:
                continue
            seen.add(folded)
            quotes.append(Quote(row.id, row.respondent_id, masked, None if self.theme is None else score))
            if len(quotes) == limit:
                break
        return quotes


def answers_group(
    rows: Sequence[OpenAnswerRow],
    themes: Sequence[Sequence[ThemeScore]],
    *,
    by_audience: bool,
) -> dict[tuple[str, int | None, str | None], AnswerGroup]:
    """Groups by (question, theme, audience when `by_audience`), in first-seen order; an answer with two themes
    counts in both, an answer with none in the question's unclassified group (theme None)."""
    groups: dict[tuple[str, int | None, str | None], AnswerGroup] = {}
    for row, found in zip(rows, themes, strict=True):
        audience = row.audience if by_audience else None
        for theme_score in found or [ThemeScore(UNCLASSIFIED, 0.0)]:  # type: ignore[arg-type]
            key = (row.question, theme_score.theme, audience)
            group = groups.get(key)
            if group is None:
                group = groups[key] = AnswerGroup(question=row.question, theme=theme_score.theme, audience=audience)
            group.add(row, theme_score.score)
    return groups


def question_totals(rows: Iterable[OpenAnswerRow], *, by_audience: bool) -> dict[tuple[str, str | None], float]:
    """Weighted respondents per question (and audience): the denominator of every share."""
    totals: dict[tuple[str, str | None], float] = {}
    for row in rows:
        keys = [(row.question, None)] + ([(row.question, row.audience)] if by_audience else [])
        for key in keys:
            totals[key] = totals.get(key, 0.0) + row.weight
    return totals


def group_fingerprint(rows: Iterable[OpenAnswerRow]) -> str:
    """What a decision was taken on: the group's answers (respondent, text, audience, weight), order-free. A new
    upload that leaves a group's answers as they were keeps its fingerprint, and so the analyst's decision."""
    content = sorted((row.respondent_id, row.text, row.audience or "", round(row.weight, 9)) for row in rows)
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------
# Importance
# ---------------------------------------------------------------------------

# Share of a question's (weighted) respondents who name the theme unprompted -> proposed importance. Spontaneous
# mentions are rare: one respondent in five naming the same thing in an open question is a strong signal.
IMPORTANCE_STEPS: tuple[tuple[float, float], ...] = ((0.20, 0.9), (0.10, 0.75), (0.05, 0.6), (0.0, 0.4))


def importance_from_share(share: float) -> float:
    """The proposed importance (0-1) of a candidate need from the share of respondents behind it."""
    if not np.isfinite(share) or share < 0:
        raise ValueError(f"share must be a finite number >= 0, got {share!r}")
    for floor, importance in IMPORTANCE_STEPS:
        if share >= floor:
            return importance
    return IMPORTANCE_STEPS[-1][1]  # pragma: no cover - the last floor is 0

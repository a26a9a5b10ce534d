"""Which words of a need matched an offer: the words a strategist reads next to a score to see why it is there
(pure Python, no Django)."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass

from api.text import fold_text
from matching.scoring import FRENCH_STOP_WORDS

__all__ = ["MATCH_KINDS", "WordMatch", "matched_words", "word_matches"]

# Words as written: letters and digits; apostrophes, hyphens and punctuation separate words (as in fold_text).
_WORD = re.compile(r"[^\W_]+")
# Below this a word is too short for a shared prefix or n-grams to mean anything ("bus" still matches exactly).
_MIN_FUZZY_LENGTH = 4
# Shared prefix: at least this many letters, and all but `_STEM_SLACK` letters of the shorter word, so inflections
# ("enfant"/"enfants", "garde"/"garder", "famille"/"familial") match and "garde"/"garage" does not.
_MIN_PREFIX = 4
_STEM_SLACK = 2
# Character 3-grams (word padded with one boundary mark): Jaccard at least this is a "strong overlap" (a compound or
# a variant spelling: "visioconference"/"visio-conference" split differently).
_NGRAM_JACCARD = 0.6
_MAX_WORDS = 12  # Shown next to a score: a reader takes in a handful, not the whole statement.

EXACT, STEM, NGRAM = "exact", "stem", "ngram"
MATCH_KINDS: tuple[str, ...] = (EXACT, STEM, NGRAM)


@dataclass(frozen=True)
class WordMatch:
    """One word of the need (as written), the offer word it matched (folded) and how."""

    word: str
    offer_word: str
    kind: str


@functools.lru_cache(maxsize=65536)  # A vocabulary's words recur across offers and needs.
def _trigrams(word: str) -> frozenset[str]:
    padded = f"^{word}$"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@dataclass(frozen=True)
class _OfferWords:
    words: frozenset[str]
    by_prefix: dict[str, tuple[str, ...]]  # first _MIN_PREFIX letters -> words
    fuzzy: tuple[str, ...]  # words long enough for a stem or n-gram match, sorted


@functools.lru_cache(maxsize=8192)  # A run explains each offer for many needs: analyse its document once.
def _offer_words(document: str) -> _OfferWords:
    words = frozenset(word for word in fold_text(document).split() if word not in FRENCH_STOP_WORDS)
    fuzzy = tuple(sorted(word for word in words if len(word) >= _MIN_FUZZY_LENGTH))
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for word in fuzzy:
        by_prefix[word[:_MIN_PREFIX]].append(word)
    return _OfferWords(words, {key: tuple(value) for key, value in by_prefix.items()}, fuzzy)


@functools.lru_cache(maxsize=65536)  # Each need is explained against several offers.
def _statement_words(statement: str) -> tuple[tuple[str, str], ...]:
    """The statement's distinct content words, in order: (as written, folded)."""
    seen: set[str] = set()
    words = []
    for word in _WORD.findall(statement):
        folded = fold_text(word)
        if not folded or folded in seen or folded in FRENCH_STOP_WORDS or folded.isdigit():
            continue
        seen.add(folded)
        words.append((word, folded))
    return tuple(words)


def _shared_prefix(left: str, right: str) -> int:
    length = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        length += 1
    return length


@functools.lru_cache(maxsize=65536)  # The same words meet the same offers across needs (a survey's items).
def _match_word(folded: str, document: str) -> tuple[str, str] | None:
    return _match_one(folded, _offer_words(document))


def _match_one(folded: str, offer: _OfferWords) -> tuple[str, str] | None:
    if folded in offer.words:
        return folded, EXACT
    if len(folded) < _MIN_FUZZY_LENGTH:
        return None
    best: tuple[tuple[int, int], str] | None = None
    for candidate in offer.by_prefix.get(folded[:_MIN_PREFIX], ()):
        shared = _shared_prefix(folded, candidate)
        if shared >= max(_MIN_PREFIX, min(len(folded), len(candidate)) - _STEM_SLACK):
            key = (shared, -abs(len(candidate) - len(folded)))  # Longest shared prefix, then closest length.
            if best is None or key > best[0]:
                best = (key, candidate)
    if best is not None:
        return best[1], STEM
    grams = _trigrams(folded)
    best_ngram: tuple[float, str] | None = None
    for candidate in offer.fuzzy:
        other = _trigrams(candidate)
        # Jaccard >= t needs the smaller 3-gram set to hold at least t of the larger: skip other sizes cheaply.
        if min(len(other), len(grams)) < _NGRAM_JACCARD * max(len(other), len(grams)):
            continue
        shared = len(grams & other)
        jaccard = shared / (len(grams) + len(other) - shared)
        if jaccard >= _NGRAM_JACCARD and (best_ngram is None or jaccard > best_ngram[0]):
            best_ngram = (jaccard, candidate)
    return (best_ngram[1], NGRAM) if best_ngram else None


def word_matches(statement: str | None, document: str | None) -> list[WordMatch]:
    """The need's words (stop words excluded) found in the offer's document, in the statement's order, each once:
    the same folded word, a shared stem (a common prefix of all but two letters of the shorter word, four at
    least), or a strong character 3-gram overlap (Jaccard >= 0.6). At most twelve."""
    if not statement or not document:
        return []
    matches = []
    for word, folded in _statement_words(statement):
        found = _match_word(folded, document)
        if found is not None:
            matches.append(WordMatch(word=word, offer_word=found[0], kind=found[1]))
            if len(matches) == _MAX_WORDS:
                break
    return matches


def matched_words(statement: str | None, document: str | None) -> list[str]:
    """The need's words (as written) that matched the offer's document; see :func:`word_matches`."""
    return [match.word for match in word_matches(statement, document)]

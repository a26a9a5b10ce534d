"""Which words of a need matched an offer: the words a strategist reads next to a score to see why it is there
(pure Python, no Django)."""

from __future__ import annotations

import functools
import re
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


# Most pairs are settled by searching the offer's folded text for each need word, without splitting the text into
# words: only a word that may have an n-gram match needs the offer's word list (`_offer_grams`).


@functools.lru_cache(maxsize=8192)  # A run explains each offer for many needs: fold its document once.
def _offer_text(document: str) -> str:
    """The document folded, with a space at each end: " word " finds a whole word."""
    return f" {fold_text(document)} "


@dataclass(frozen=True)
class _NeedWord:
    """A folded need word and the substrings of an offer's text that settle it."""

    folded: str
    whole: str  # " word ": the same word in the offer
    prefix: str  # " " + its first _MIN_PREFIX letters: the offer's words that may share its stem
    grams: frozenset[str]
    gram_texts: tuple[str, ...]  # its 3-grams as they read in the offer's text (a word boundary is a space)
    least_grams: int  # below this many of them in the offer's text, no offer word reaches _NGRAM_JACCARD


@functools.lru_cache(maxsize=65536)  # Each need is explained against several offers.
def _need_word(folded: str) -> _NeedWord:
    grams = _trigrams(folded)
    # Jaccard >= 0.6 needs shared >= 0.6 x union >= 0.6 x len(grams): 5 x shared >= 3 x len(grams), in integers.
    return _NeedWord(
        folded=folded,
        whole=f" {folded} ",
        prefix=f" {folded[:_MIN_PREFIX]}",
        grams=grams,
        gram_texts=tuple(gram.replace("^", " ").replace("$", " ") for gram in grams),
        least_grams=-(-3 * len(grams) // 5),
    )


@functools.lru_cache(maxsize=8192)  # Only for the offers whose text may hold an n-gram match.
def _offer_grams(document: str) -> tuple[tuple[str, frozenset[str], int], ...]:
    """The offer's words long enough for an n-gram match (stop words left out), sorted, each with its 3-grams and
    their number."""
    words = frozenset(_offer_text(document).split()) - FRENCH_STOP_WORDS
    fuzzy = sorted(word for word in words if len(word) >= _MIN_FUZZY_LENGTH)
    return tuple((word, grams, len(grams)) for word, grams in zip(fuzzy, map(_trigrams, fuzzy), strict=True))


@functools.lru_cache(maxsize=65536)  # Each need is explained against several offers.
def _statement_words(statement: str) -> tuple[tuple[str, _NeedWord], ...]:
    """The statement's distinct content words, in order: as written, and folded."""
    seen: set[str] = set()
    words = []
    for word in _WORD.findall(statement):
        folded = fold_text(word)
        if not folded or folded in seen or folded in FRENCH_STOP_WORDS or folded.isdigit():
            continue
        seen.add(folded)
        words.append((word, _need_word(folded)))
    return tuple(words)


def _shared_prefix(left: str, right: str) -> int:
    length = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        length += 1
    return length


def _words_starting(text: str, start: str) -> list[str]:
    """The distinct words of `text` (" word word ") that begin with `start` (" " + letters), sorted; stop words
    and words shorter than _MIN_FUZZY_LENGTH left out."""
    found = set()
    at = text.find(start)
    while at >= 0:
        end = text.index(" ", at + 1)
        found.add(text[at + 1 : end])
        at = text.find(start, end)
    return sorted(word for word in found if len(word) >= _MIN_FUZZY_LENGTH and word not in FRENCH_STOP_WORDS)


def _match_fuzzy(need: _NeedWord, text: str, document: str) -> tuple[str, str] | None:
    """A stem or n-gram match for a need word (long enough) not in the offer's text."""
    folded = need.folded
    best: tuple[tuple[int, int], str] | None = None
    for candidate in _words_starting(text, need.prefix) if need.prefix in text else ():
        shared = _shared_prefix(folded, candidate)
        if shared >= max(_MIN_PREFIX, min(len(folded), len(candidate)) - _STEM_SLACK):
            key = (shared, -abs(len(candidate) - len(folded)))  # Longest shared prefix, then closest length.
            if best is None or key > best[0]:
                best = (key, candidate)
    if best is not None:
        return best[1], STEM
    # An offer word's 3-grams are all in the text: too few of this word's there, and no offer word can match.
    misses_left = len(need.gram_texts) - need.least_grams
    for gram in need.gram_texts:
        if gram not in text:
            misses_left -= 1
            if misses_left < 0:
                return None
    grams, size = need.grams, len(need.grams)
    best_ngram: tuple[float, str] | None = None
    for candidate, other, other_size in _offer_grams(document):
        # Jaccard >= t needs the smaller 3-gram set to hold at least t of the larger: skip other sizes cheaply.
        if min(other_size, size) < _NGRAM_JACCARD * max(other_size, size):
            continue
        shared = len(grams & other)
        jaccard = shared / (size + other_size - shared)
        if jaccard >= _NGRAM_JACCARD and (best_ngram is None or jaccard > best_ngram[0]):
            best_ngram = (jaccard, candidate)
    return (best_ngram[1], NGRAM) if best_ngram else None


def _matches(statement: str | None, document: str | None) -> list[tuple[str, str, str]]:
    if not statement or not document:
        return []
    matches = []
    text = _offer_text(document)
    for word, need in _statement_words(statement):
        if need.whole in text:  # a need word is never a stop word
            found: tuple[str, str] | None = (need.folded, EXACT)
        elif len(need.folded) >= _MIN_FUZZY_LENGTH:
            found = _match_fuzzy(need, text, document)
        else:
            continue
        if found is not None:
            matches.append((word, *found))
            if len(matches) == _MAX_WORDS:
                break
    return matches


def word_matches(statement: str | None, document: str | None) -> list[WordMatch]:
    """The need's words (stop words excluded) found in the offer's document, in the statement's order, each once:
    the same folded word, a shared stem (a common prefix of all but two letters of the shorter word, four at
    least), or a strong character 3-gram overlap (Jaccard >= 0.6). At most twelve."""
    return [WordMatch(word, offer_word, kind) for word, offer_word, kind in _matches(statement, document)]


def matched_words(statement: str | None, document: str | None) -> list[str]:
    """The need's words (as written) that matched the offer's document; see :func:`word_matches`."""
    return [match[0] for match in _matches(statement, document)]

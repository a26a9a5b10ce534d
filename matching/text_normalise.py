"""Text normalisation for the word branch of text matching: accents kept where they separate French words.

`api.text.fold_text` strips accents everywhere, which tolerates requests typed without them ("creche") but merges
different words: "marché" (a market) and "marche" (a walk), "pêche" (fishing) and "pèche", "côte" and "cote".
Whole words are where such pairs matter, so the word branch of `scoring.TextRelevanceModel` uses
`keep_accents_text`, while its character n-gram branch stays folded and still matches accent-free typing.
Pure Python: never imports Django.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["keep_accents_text"]

# Same ligatures as fold_text, so "cœur" is one word in both branches.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_LIGATURE_LETTERS = tuple(map(chr, _LIGATURES))
# Apostrophes, hyphens and punctuation separate words, as in fold_text ("l'Île-aux-Enfants" -> l île aux enfants).
_SEPARATORS = re.compile(r"[\W_]+")


def keep_accents_text(text: str | None) -> str:
    """Lowercase, composed Unicode (NFC), punctuation as spaces, whitespace collapsed; accents are KEPT.

    "Le Marché de Noël" -> "le marché de noël"; "marche nordique" -> "marche nordique" (another word).
    A decomposed "e" + combining accent (some copy-pastes) gives the same word as the composed "é".
    """
    if not text:
        return ""
    text = text.lower()
    if not text.isascii():
        if any(letter in text for letter in _LIGATURE_LETTERS):  # `translate` is slow on a long text: when needed.
            text = text.translate(_LIGATURES)
        text = unicodedata.normalize("NFC", text)
    return _SEPARATORS.sub(" ", text).strip()

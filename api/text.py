"""Text normalisation shared by search filters and the matching engine (pure Python: never imports Django)."""

import re
import unicodedata

# Letters NFKD does not decompose; without this "cœur" would fold to "cur".
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})
_LIGATURE_LETTERS = tuple(map(chr, _LIGATURES))
_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]+")
# Everything that is not a letter or digit (apostrophes, hyphens, punctuation, "_") separates words.
_SEPARATORS = re.compile(r"[\W_]+")


def fold_text(text: str | None) -> str:
    """Lowercase, strip accents, turn punctuation into spaces and collapse whitespace; None gives "".

    "Crèche l'Île-aux-Enfants" -> "creche l ile aux enfants".
    """
    if not text:
        return ""
    text = text.lower()
    if not text.isascii():  # Fast path: most identifiers and many titles are plain ASCII.
        # `translate` walks the whole text slowly (half of the folding of a long accented text): only when needed.
        if any(letter in text for letter in _LIGATURE_LETTERS):
            text = text.translate(_LIGATURES)
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _SEPARATORS.sub(" ", text).strip()

"""Text normalisation shared by search filters and the matching engine (pure Python, no Django import)."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold_text(text: str | None) -> str:
    """Lowercase, strip accents and punctuation, collapse spaces.

    "Crèche l'Île-aux-Enfants" -> "creche l ile aux enfants".
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_only = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_only = ascii_only.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return _NON_WORD.sub(" ", ascii_only).strip()

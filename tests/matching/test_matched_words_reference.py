"""`matched_words.word_matches` gives, on many generated and real-looking statements and offers, exactly what its
first implementation gave (kept here as the reference): the same words, offer words, kinds, order and cap."""

import functools
import random
import re
from collections import defaultdict

import pytest

from api.text import fold_text
from matching.matched_words import matched_words, word_matches
from matching.scoring import FRENCH_STOP_WORDS


@functools.cache
def _reference_trigrams(word):
    padded = f"^{word}$"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _reference_offer_words(document):
    words = frozenset(word for word in fold_text(document).split() if word not in FRENCH_STOP_WORDS)
    fuzzy = tuple(sorted(word for word in words if len(word) >= 4))
    by_prefix = defaultdict(list)
    for word in fuzzy:
        by_prefix[word[:4]].append(word)
    return words, by_prefix, fuzzy


def _reference_match_one(folded, offer):
    words, by_prefix, fuzzy = offer
    if folded in words:
        return folded, "exact"
    if len(folded) < 4:
        return None
    best = None
    for candidate in by_prefix.get(folded[:4], ()):
        shared = 0
        for a, b in zip(folded, candidate, strict=False):
            if a != b:
                break
            shared += 1
        if shared >= max(4, min(len(folded), len(candidate)) - 2):
            key = (shared, -abs(len(candidate) - len(folded)))
            if best is None or key > best[0]:
                best = (key, candidate)
    if best is not None:
        return best[1], "stem"
    grams = _reference_trigrams(folded)
    best_ngram = None
    for candidate in fuzzy:
        other = _reference_trigrams(candidate)
        if min(len(other), len(grams)) < 0.6 * max(len(other), len(grams)):
            continue
        shared = len(grams & other)
        jaccard = shared / (len(grams) + len(other) - shared)
        if jaccard >= 0.6 and (best_ngram is None or jaccard > best_ngram[0]):
            best_ngram = (jaccard, candidate)
    return (best_ngram[1], "ngram") if best_ngram else None


def _reference(statement, document):
    """The first implementation of `word_matches`, one offer word set per pair and every offer word tried."""
    if not statement or not document:
        return []
    offer = _reference_offer_words(document)
    seen, matches = set(), []
    for word in re.findall(r"[^\W_]+", statement):
        folded = fold_text(word)
        if not folded or folded in seen or folded in FRENCH_STOP_WORDS or folded.isdigit():
            continue
        seen.add(folded)
        found = _reference_match_one(folded, offer)
        if found is not None:
            matches.append((word, *found))
            if len(matches) == 12:
                break
    return matches


_STEMS = (
    "crèche",
    "enfant",
    "garde",
    "garder",
    "famille",
    "familial",
    "médecin",
    "médecins",
    "logement",
    "loger",
    "commerce",
    "ecommerce",
    "visio",
    "conférence",
    "visioconférence",
    "emploi",
    "employeur",
    "formation",
    "former",
    "transport",
    "mobilité",
    "covoiturage",
    "cœur",
    "œuvre",
    "straße",
    "ørsted",
    "łódź",
    "santé",
    "sénior",
    "séniors",
    "handicap",
    "accessibilité",
    "numérique",
    "accompagnement",
    "accompagner",
    "association",
    "sport",
    "sportif",
    "piscine",
    "natation",
    "culture",
    "musée",
    "théâtre",
    "bus",
    "car",
    "gare",
    "train",
    "vélo",
    "aide",
    "aides",
    "apprentissage",
    "apprenti",
    "jeune",
    "jeunesse",
    "petite",
    "enfance",
    "école",
    "scolaire",
    "cantine",
    "repas",
    "marché",
    "marche",
    "pêche",
    "côte",
    "cote",
    "hôpital",
    "urgence",
    "urgences",
    "multi",
    "accueil",
    "maternelle",
    "nounou",
    "montagne",
    "mont",
    "parents",
    "parking",
    "garage",
    "place",
    "créer",
    "création",
    "entreprise",
    "entrepreneur",
    "installer",
    "installation",
    "télétravail",
    "coworking",
    "tiers-lieu",
)
_GLUE = (" ", " ", " ", ", ", " . ", "'", "-", " : ", "_", "  ", "\n", "/", " (", ") ")


def _word(rng):
    word = rng.choice(_STEMS)
    roll = rng.random()
    if roll < 0.15:
        word = word[: rng.randint(2, len(word))]  # a cut: a shorter word sharing a prefix
    elif roll < 0.3:
        word += rng.choice(("s", "e", "es", "er", "ent", "ement", "ique", "té"))
    elif roll < 0.4:
        word = rng.choice(_STEMS) + word  # a compound
    elif roll < 0.45:
        word = word.upper()
    elif roll < 0.5:
        word = rng.choice(sorted(FRENCH_STOP_WORDS))
    elif roll < 0.53:
        word = str(rng.randint(0, 999))
    elif roll < 0.56:
        word = word.replace("e", "e\u0301", 1)  # a decomposed accent
    return word


def _text(rng, n_words):
    return "".join(_word(rng) + rng.choice(_GLUE) for _ in range(n_words)).strip()


@pytest.mark.parametrize("seed", range(3))
def test_generated_statements_and_offers_match_as_the_reference(seed):
    rng = random.Random(seed)
    statements = [_text(rng, rng.randint(0, 25)) for _ in range(150)]
    documents = [_text(rng, rng.randint(0, 80)) for _ in range(150)]
    for _ in range(1000):
        statement, document = rng.choice(statements), rng.choice(documents)
        expected = _reference(statement, document)
        assert [(m.word, m.offer_word, m.kind) for m in word_matches(statement, document)] == expected
        assert matched_words(statement, document) == [word for word, _, _ in expected]


def test_real_looking_pairs_match_as_the_reference_with_every_kind():
    statements = [
        "Avoir accès à loger séjour camping pour notre famille",
        "faire garder mes enfants en crèche à Guéret",
        "vendre en ecommerce depuis chez moi",
        "Trouver un médecin généraliste, des urgences et un kiné",
        "une visioconférence pour le télétravail au tiers-lieu",
        "Crèche, crèche et enfants : une crèche pour nos enfants",
        "transport à la demande, covoiturage, vélo et bus pour les séniors handicapés",
    ]
    documents = [
        "Service famille gîte de Saint-Priest . Hébergement touristique : famille gîte séjour camping en lien avec "
        "les associations locales. Renseignements sur séjour et camping et loger, accessible aux personnes à "
        "mobilité réduite. . Hébergement touristique . gîte chambre d'hôtes camping hôtel séjour nuitée",
        "Micro-crèche de l'hôpital . Garde d'enfants de 10 semaines à 3 ans . crèche multi-accueil nounou",
        "boutique de commerce en ligne . visio-conférence, coworking",
        "Médecins généralistes . maison de santé pluriprofessionnelle . urgence kinésithérapeute",
        "Mobilité solidaire : transports, covoiturage, vélos électriques, aide aux seniors et au handicap",
    ]
    kinds = set()
    for statement in statements:
        for document in documents:
            expected = _reference(statement, document)
            assert [(m.word, m.offer_word, m.kind) for m in word_matches(statement, document)] == expected
            kinds.update(kind for _, _, kind in expected)
    assert kinds == {"exact", "stem", "ngram"}

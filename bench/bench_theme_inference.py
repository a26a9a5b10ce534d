"""Fit and prediction time of the theme classifier (matching.theme_inference) on synthetic catalogues.

Offers are generated from the taxonomy's vocabulary (seeded, as matching/bench.py does for the database
benchmark), so no database is needed: the figure is the classifier alone, what a catalogue change costs on top of
the index. Run from the repository root, on an idle machine for real figures:

    .venv/bin/python bench/bench_theme_inference.py --offers 1000 10000 100000 --repeat 3

Validate at small scale: ``--offers 500 2000 --repeat 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The repository root is not installed as a package; these imports need the path set above.
from matching.scoring import offer_document  # noqa: E402
from matching.theme_inference import ThemeClassifier, theme_vocabulary  # noqa: E402

TAXONOMY = REPO / "offers" / "data" / "taxonomy.json"
_OPENINGS = ("Ouvert du lundi au vendredi", "Accueil sur rendez-vous", "Permanence le mardi", "Sur inscription")
_PLACES = ("Guéret", "Aubusson", "La Souterraine", "Bourganeuf", "Boussac", "Felletin", "Ahun", "Évaux-les-Bains")


def synthetic_catalogue(n_offers: int, seed: int) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """Texts and themes of `n_offers` offers (30 % with a second theme), plus the vocabulary and some requests."""
    taxonomy = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    themes = [theme for domain in taxonomy["domains"] for theme in domain["themes"]]
    words = [[word for word in theme["keywords"].split() if len(word) > 2] for theme in themes]
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n_offers, len(themes)), dtype=bool)
    for row in range(n_offers):
        theme = int(rng.integers(len(themes)))
        labels[row, theme] = True
        if rng.random() < 0.3:
            labels[row, int(rng.integers(len(themes)))] = True
        picked = rng.choice(words[theme], size=min(6, len(words[theme])), replace=False)
        place = _PLACES[int(rng.integers(len(_PLACES)))]
        title = f"{picked[0].capitalize()} {picked[1 % len(picked)]} à {place}"
        description = f"{' '.join(picked[2:])}. {_OPENINGS[int(rng.integers(len(_OPENINGS)))]} à {place}."
        texts.append(offer_document(title, description))
    vocabulary = theme_vocabulary([theme["label"] for theme in themes], [theme["keywords"] for theme in themes])
    requests = [
        f"je cherche {' '.join(rng.choice(words[int(rng.integers(len(themes)))], size=2))}" for _ in range(200)
    ]
    return texts, labels, vocabulary, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"# Theme classifier: fit and prediction time (load average before: {os.getloadavg()[0]:.2f})\n")
    print("| offers | training texts | fit median (s) | fit per 1,000 offers (s) | predict one request, median (ms) |")
    print("|---|---|---|---|---|")
    for n_offers in args.offers:
        texts, labels, vocabulary, requests = synthetic_catalogue(n_offers, args.seed)
        fits, predictions = [], []
        classifier = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            classifier = ThemeClassifier().fit(texts, labels, theme_texts=vocabulary)
            fits.append(time.perf_counter() - started)
            for request in requests[:50]:
                started = time.perf_counter()
                classifier.infer([request])
                predictions.append(time.perf_counter() - started)
        fit = statistics.median(fits)
        print(
            f"| {n_offers:,} | {classifier.n_training_texts_:,} | {fit:.2f} | {fit / n_offers * 1000:.3f} "
            f"| {statistics.median(predictions) * 1000:.2f} |"
        )
    print(f"\nLoad average after: {os.getloadavg()[0]:.2f}.")
    print("Training texts are capped at 200 per theme (a seeded sample): the fit time flattens once every theme has")
    print("200 offers (about 5,000 offers), whatever the catalogue size.")


if __name__ == "__main__":
    main()

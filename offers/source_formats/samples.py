"""Large synthetic France Travail files, for the benchmark of a 50,000-record sync and for tests of scale.

Deterministic (a seeded generator): the same arguments give the same bytes. The offers use real communes of the
chosen départements (`offers/data/france/communes.csv.gz`: INSEE code, postal code, centroid) and real ROME codes,
with the share of awkward records a national feed has: offers placed only by their département ("23 - Creuse") or
by a libellé, offers without coordinates, without salary, fully remote, and a few unusable ones (no id, abroad).

A second sync of the same source is simulated with `first_id` (shift the window of identifiers: offers before it
disappear, new ones appear after) and `revision` (every 10th offer of the window gets a new description and
salary), e.g. `france_travail_sample(50_000)` then `france_travail_sample(50_000, first_id=1_000, revision=1)`
removes 1,000, adds 1,000 and changes about 4,900.

`dates_shift` moves the dates of a hand-written sample file (the demo's, the tests') to today, so that its events
are never over and its job offers never years old.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
from datetime import date, timedelta
from functools import cache

from offers.source_formats.base import DATA_DIR

COMMUNES_FILE = DATA_DIR / "france" / "communes.csv.gz"
ROME = (
    ("J1501", "Soins d'hygiène, de confort du patient", "Aide-soignant / Aide-soignante"),
    ("J1506", "Soins infirmiers généralistes", "Infirmier / Infirmière"),
    ("K1302", "Assistance auprès d'adultes", "Assistant / Assistante de vie aux familles"),
    ("K1303", "Assistance auprès d'enfants", "Assistant maternel / Assistante maternelle"),
    ("K2204", "Nettoyage de locaux", "Agent / Agente de propreté"),
    ("G1602", "Personnel de cuisine", "Cuisinier / Cuisinière"),
    ("G1803", "Service en restauration", "Serveur / Serveuse en restauration"),
    ("D1102", "Boulangerie - viennoiserie", "Boulanger / Boulangère"),
    ("D1106", "Vente en alimentation", "Vendeur / Vendeuse en alimentation"),
    ("A1405", "Arboriculture et viticulture", "Ouvrier / Ouvrière agricole"),
    ("A1203", "Aménagement et entretien des espaces verts", "Jardinier / Jardinière d'espaces verts"),
    ("F1703", "Maçonnerie", "Maçon / Maçonne"),
    ("F1603", "Installation d'équipements sanitaires et thermiques", "Plombier chauffagiste / Plombière"),
    ("I1604", "Mécanique automobile et entretien de véhicules", "Mécanicien / Mécanicienne automobile"),
    ("N4101", "Conduite de transport de marchandises sur longue distance", "Conducteur / Conductrice poids lourd"),
    ("N4103", "Conduite de transport en commun sur route", "Conducteur / Conductrice de car"),
    ("N1103", "Magasinage et préparation de commandes", "Préparateur / Préparatrice de commandes"),
    ("H2909", "Montage-assemblage mécanique", "Opérateur / Opératrice de production"),
    ("M1607", "Secrétariat", "Secrétaire"),
    ("M1805", "Études et développement informatique", "Développeur / Développeuse informatique"),
    ("K2111", "Formation professionnelle", "Formateur / Formatrice"),
    ("K1801", "Conseil en emploi et insertion socioprofessionnelle", "Conseiller / Conseillère en insertion"),
)
CONTRACTS = (
    ("CDI", "Contrat à durée indéterminée"),
    ("CDD", "Contrat à durée déterminée - 6 Mois"),
    ("MIS", "Mission intérimaire - 3 Mois"),
    ("SAI", "Contrat travail saisonnier - 4 Mois"),
)
SALARIES = ("Mensuel de 1801.80 Euros sur 12 mois", "Mensuel de 2100.00 Euros sur 12 mois", "Horaire de 11.88 Euros")


@cache
def _communes(departements: tuple[str, ...]) -> list[dict]:
    with gzip.open(COMMUNES_FILE, "rt", encoding="utf-8", newline="") as handle:
        return [
            row
            for row in csv.DictReader(handle)
            if row["departement"] in departements and row["latitude"] and row["postal_codes"]
        ]


def france_travail_offers(
    count: int,
    *,
    seed: int = 0,
    first_id: int = 0,
    revision: int = 0,
    departements: tuple[str, ...] = ("23",),
    published: date = date(2026, 11, 1),
) -> list[dict]:
    """`count` offers as the API writes them, identifiers FT0000000... from `first_id`; each offer depends on its
    identifier only (and `revision`), so two windows agree on the offers they share."""
    communes = _communes(tuple(departements))
    if not communes:
        raise ValueError(f"no commune with coordinates in départements {departements}")
    offers = []
    for number in range(first_id, first_id + count):
        rng = random.Random(f"{seed}:{number}")
        commune = rng.choice(communes)
        code, label, appellation = rng.choice(ROME)
        contract, contract_label = rng.choice(CONTRACTS)
        changed = revision and number % 10 == 0
        kind = rng.random()
        place: dict = {
            "libelle": f"{commune['departement']} - {commune['name'].upper()}",
            "codePostal": commune["postal_codes"].split()[0],
            "commune": commune["code"],
            "latitude": round(float(commune["latitude"]) + rng.uniform(-0.01, 0.01), 6),
            "longitude": round(float(commune["longitude"]) + rng.uniform(-0.01, 0.01), 6),
        }
        if kind < 0.05:  # commune only, no coordinates
            del place["latitude"], place["longitude"]
        elif kind < 0.09:  # the département only
            place = {"libelle": f"{commune['departement']} - Creuse" if commune["departement"] == "23" else "France"}
        elif kind < 0.11:  # a libellé only
            place = {"libelle": f"{commune['departement']} - {commune['name'].upper()}"}
        offer = {
            "id": f"FT{number:07d}",
            "intitule": f"{appellation} (H/F)",
            "description": (
                f"Poste de {appellation.lower()} à {commune['name']}. "
                + ("Missions revues : polyvalence demandée. " if changed else "")
                + "Vous rejoignez une équipe de "
                + str(rng.randint(2, 40))
                + " personnes."
            ),
            "dateCreation": f"{published - timedelta(days=rng.randint(0, 60))}T08:00:00.000Z",
            "dateActualisation": f"{published}T08:00:00.000Z",
            "lieuTravail": place,
            "romeCode": code,
            "romeLibelle": label,
            "appellationlibelle": appellation,
            "entreprise": {"nom": f"ENTREPRISE {number % 5000:04d}"},
            "typeContrat": contract,
            "typeContratLibelle": contract_label,
            "alternance": rng.random() < 0.04,
            "nombrePostes": rng.choice((1, 1, 1, 2, 3)),
            "origineOffre": {
                "origine": "1",
                "urlOrigine": f"https://candidat.francetravail.fr/offres/recherche/detail/FT{number:07d}",
            },
        }
        if rng.random() < 0.7 or changed:
            offer["salaire"] = {"libelle": SALARIES[(rng.randrange(3) + (1 if changed else 0)) % 3]}
        if rng.random() < 0.01:
            offer["intitule"] += " - 100 % télétravail"
        if rng.random() < 0.003:
            del offer["id"]
        elif rng.random() < 0.002:
            offer["lieuTravail"] = {"libelle": "99 - SUISSE"}
        offers.append(offer)
    return offers


def france_travail_sample(count: int, **options) -> bytes:
    """A France Travail API answer (`{"resultats": [...]}`) of `count` offers, as UTF-8 JSON bytes."""
    buffer = io.StringIO()
    json.dump({"resultats": france_travail_offers(count, **options)}, buffer, ensure_ascii=False)
    return buffer.getvalue().encode("utf-8")


_ISO_DATE = re.compile(rb"(?<![0-9A-Za-z])(\d{4})-(\d{2})-(\d{2})(?![0-9])")


def dates_shift(content: bytes, *, written_on: date, today: date) -> bytes:
    """`content` with each ISO date (alone or starting a date-time) moved by the days between `written_on` (the day
    the file was written: its dates are right as of then) and `today`."""
    delta = today - written_on

    def shift(match: re.Match) -> bytes:
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:  # not a date after all
            return match.group(0)
        return (day + delta).isoformat().encode()

    return _ISO_DATE.sub(shift, content) if delta else content

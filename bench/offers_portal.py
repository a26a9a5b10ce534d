"""Portal queries on the offers catalogue: p50/p95 of the real API view against a bare `.values()` + JSON view of
the same query, in the same process, on N synthetic offers (default 100,000) in the database named by DATABASE_URL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_offers .venv/bin/python bench/offers_portal.py
    DATABASE_URL=sqlite:///var/bench-offers.sqlite3 .venv/bin/python bench/offers_portal.py --offers 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_france .venv/bin/python bench/offers_portal.py --france 32

`--france REGION` loads the whole of France (every commune, EPCI, département and région) and spreads the offers
over the communes of one région, then measures the list filtered by that région, its most populous département
and its most populous EPCI (use a database of its own: the offers of the Creuse run and of this one differ).

Refuses a database holding anything but bench offers. Writes its table to docs/benchmarks.md ("Portal queries").
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import BooleanField, FloatField, Value  # noqa: E402
from django.db.models.expressions import RawSQL  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from api.text import fold_text  # noqa: E402
from offers.filters import search_tokens  # noqa: E402
from offers.models import Domain, Offer, Organisation, OrganisationKind, Territory, Theme  # noqa: E402
from offers.selectors import offer_near, offer_territory_q, territory_resolve  # noqa: E402
from offers.services import (  # noqa: E402
    catalogue_changed,
    taxonomy_load,
    territories_load_france,
    territories_load_geojson,
)

SOURCE = "bench"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Portal queries (offers)"

# Realistic French vocabulary per domain: (title stems, description phrases).
VOCABULARY = {
    "jobs": (
        [
            "Poste d'infirmier",
            "Offre d'emploi aide-soignant",
            "Reprise de boulangerie",
            "Création d'entreprise",
            "Espace de coworking",
            "Formation cariste",
            "Poste de secrétaire médicale",
            "Reprise de commerce",
        ],
        [
            "CDI à temps plein",
            "accompagnement des candidats",
            "local commercial équipé",
            "clientèle fidèle",
            "postes de travail et salle de réunion",
            "formation qualifiante financée",
            "prise de poste rapide",
        ],
    ),
    "housing": (
        [
            "Maison à louer",
            "Appartement T3 à louer",
            "Maison à vendre",
            "Logement social",
            "Terrain à bâtir",
            "Studio meublé",
            "Logement temporaire pour saisonniers",
        ],
        [
            "trois chambres et jardin",
            "proche des écoles",
            "chauffage au bois",
            "loyer modéré",
            "centre-bourg",
            "rénové récemment",
            "viabilisé",
            "disponible immédiatement",
        ],
    ),
    "culture": (
        [
            "Festival de musique",
            "Cinéma associatif",
            "Atelier de tapisserie",
            "Médiathèque",
            "Chorale",
            "Exposition d'art contemporain",
            "Théâtre amateur",
        ],
        [
            "programmation toute l'année",
            "ateliers pour enfants",
            "concerts en plein air",
            "cours collectifs",
            "entrée libre",
            "artistes locaux",
        ],
    ),
    "tourism": (
        [
            "Gîte rural",
            "Chambre d'hôtes",
            "Randonnée guidée",
            "Camping municipal",
            "Visite du château",
            "Base de loisirs",
            "Fête médiévale",
        ],
        [
            "vue sur le lac",
            "sentiers balisés",
            "animaux acceptés",
            "piscine chauffée",
            "patrimoine classé",
            "location de canoës",
        ],
    ),
    "daily-life": (
        [
            "Crèche multi-accueil",
            "Micro-crèche",
            "Assistante maternelle",
            "École primaire",
            "Médecin généraliste",
            "Maison de santé",
            "Transport à la demande",
            "Épicerie solidaire",
            "France Services",
            "Club de football",
        ],
        [
            "places disponibles",
            "accueil régulier ou occasionnel",
            "consultations sans rendez-vous",
            "navette vers la gare",
            "aide aux démarches en ligne",
            "horaires élargis",
            "tarif selon quotient familial",
        ],
    ),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def ensure_reference(*, france: bool = False) -> None:
    if france:
        started = time.perf_counter()
        report = territories_load_france(everything=True)
        print(f"France: {report} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    elif not Territory.objects.filter(kind="commune", code="23096").exists():
        territories_load_geojson()
    if not Domain.objects.exists():
        taxonomy_load()


def region_queries(region_code: str) -> list[tuple[str, dict]]:
    """The portal list filtered by the région, its most populous département and EPCI (plain list for reference)."""
    region = Territory.objects.get(kind="region", code=region_code)
    below = Territory.objects.filter(path__startswith=region.path, retired=False).order_by("-population", "code")
    departement = below.filter(kind="departement").first()
    epci = below.filter(kind="epci").first()
    return [
        (f"région ({region.name}), page of 20", {"territory": region.qualified_code}),
        (f"département ({departement.name}), page of 20", {"territory": departement.qualified_code}),
        (f"EPCI ({epci.name}), page of 20", {"territory": epci.qualified_code}),
        ("plain list, page of 20", {}),
    ]


def refuse_foreign_data() -> None:
    foreign = (
        Offer.objects.exclude(source=SOURCE).exists()
        or Organisation.objects.exclude(slug__startswith="bench-").exists()
    )
    if foreign:
        sys.exit(
            f"Refusing to run: {connection.settings_dict['NAME']} holds offers or organisations that are not bench "
            "data. Point DATABASE_URL at an empty or bench database."
        )


def generate(count: int, *, seed: int = 7, region: str | None = None) -> None:
    existing = Offer.objects.filter(source=SOURCE).count()
    region_path = Territory.objects.get(kind="region", code=region).path if region else None
    if region_path and Offer.objects.filter(source=SOURCE).exclude(commune__path__startswith=region_path).exists():
        existing = -1  # offers of another run (the Creuse's): regenerate them in the région
    if existing == count:
        print(f"{count:,} bench offers already there", file=sys.stderr)
        return
    if existing:
        print("replacing the bench offers", file=sys.stderr)
        Offer.objects.filter(source=SOURCE).delete()
    rng = random.Random(seed)
    communes = Territory.objects.filter(kind="commune", latitude__isnull=False, retired=False)
    epcis = Territory.objects.filter(kind="epci", retired=False)
    if region_path:
        communes, epcis = communes.filter(path__startswith=region_path), epcis.filter(path__startswith=region_path)
    communes, epcis = list(communes.select_related("parent")), list(epcis)
    domains = {domain.code: domain for domain in Domain.objects.all()}
    themes = {code: list(Theme.objects.filter(domain__code=code)) for code in domains}
    audiences = list(Offer.audiences.field.related_model.objects.all())
    organisations = []
    for number in range(20):
        organisation, _ = Organisation.objects.get_or_create(
            slug=f"bench-{number}",
            defaults={
                "name": f"Organisation {number}",
                "kind": OrganisationKind.ASSOCIATION,
                "territory": rng.choice(communes),
            },
        )
        organisations.append(organisation)
    started = time.perf_counter()
    batch = 5000
    for start in range(0, count, batch):
        offers, chosen = [], []
        for _ in range(min(batch, count - start)):
            domain = rng.choice(list(domains))
            titles, phrases = VOCABULARY[domain]
            commune = rng.choice(communes)
            picked = rng.sample(themes[domain], k=min(len(themes[domain]), rng.choice((1, 1, 2))))
            title = f"{rng.choice(titles)} à {commune.name}"
            description = ", ".join(rng.sample(phrases, k=3)).capitalize() + "."
            words = " ".join([title, description] + [f"{t.label} {t.keywords}" for t in picked])
            paid = rng.random() < 0.5
            offers.append(
                Offer(
                    title=title,
                    description=description,
                    domain=domains[domain],
                    organisation=rng.choice(organisations),
                    commune=commune,
                    latitude=commune.latitude + rng.uniform(-0.02, 0.02),
                    longitude=commune.longitude + rng.uniform(-0.02, 0.02),
                    is_free=not paid,
                    price_amount=rng.randint(5, 900) if paid else None,
                    status="published" if rng.random() < 0.9 else "draft",
                    source=SOURCE,
                    external_id=f"b-{start + len(offers)}",
                    search_text=fold_text(words),
                )
            )
            area = [commune] if rng.random() < 0.7 else [commune.parent if rng.random() < 0.8 else rng.choice(epcis)]
            chosen.append((picked, rng.sample(audiences, k=rng.choice((0, 0, 1, 2))), area))
        with transaction.atomic():
            created = Offer.objects.bulk_create(offers)
            Offer.themes.through.objects.bulk_create(
                [
                    Offer.themes.through(offer_id=o.pk, theme_id=t.pk)
                    for o, c in zip(created, chosen, strict=True)
                    for t in c[0]
                ]
            )
            Offer.audiences.through.objects.bulk_create(
                [
                    Offer.audiences.through(offer_id=o.pk, audience_id=a.pk)
                    for o, c in zip(created, chosen, strict=True)
                    for a in c[1]
                ]
            )
            Offer.service_area.through.objects.bulk_create(
                [
                    Offer.service_area.through(offer_id=o.pk, territory_id=t.pk)
                    for o, c in zip(created, chosen, strict=True)
                    for t in c[2]
                ]
            )
        print(f"\rgenerated {start + len(offers):,}/{count:,}", end="", file=sys.stderr)
    print(f" in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with transaction.atomic():  # bulk writes bypass the services
        catalogue_changed(offers=Offer.objects.values_list("pk", flat=True))


def analyze() -> None:
    """Fresh statistics and visibility map (index-only counts), as autovacuum would leave a quiet catalogue."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


BARE_FIELDS = (
    "id",
    "title",
    "description",
    "domain__code",
    "organisation__slug",
    "commune__code",
    "latitude",
    "longitude",
    "is_free",
    "price_amount",
    "status",
    "updated_at",
)


def bare_view(params: dict) -> HttpResponse:
    """The same query with nothing around it: filters, 20 rows as `.values()`, json.dumps."""
    queryset = Offer.objects.filter(status="published")
    if "domain" in params:
        queryset = queryset.filter(domain__code=params["domain"])
    if "theme" in params:
        queryset = queryset.filter(
            id__in=Offer.themes.through.objects.filter(theme__code=params["theme"]).values("offer_id")
        )
    if "territory" in params:
        queryset = queryset.filter(offer_territory_q(territory_resolve(code=params["territory"])))
    if "near" in params:
        lat, lon = map(float, params["near"].split(","))
        queryset = offer_near(queryset, latitude=lat, longitude=lon, radius_km=float(params["radius_km"]))
    ordering = ("distance_km", "title", "id") if "near" in params else ("title", "id")
    if "q" in params:
        # Same match and the same default order as the API (relevance first), or it would not be the same query.
        ordering = ("-relevance", "title", "id")
        if connection.vendor == "postgresql":
            tsquery = "websearch_to_tsquery('french_unaccent', %s)"
            queryset = queryset.filter(
                RawSQL(f"offers_offer.search_vector @@ {tsquery}", [params["q"]], output_field=BooleanField())
            ).annotate(
                relevance=RawSQL(
                    f"ts_rank_cd(offers_offer.search_vector, {tsquery})", [params["q"]], output_field=FloatField()
                )
            )
        else:
            for token in search_tokens(params["q"]):
                queryset = queryset.filter(search_text__contains=token)
            queryset = queryset.annotate(relevance=Value(0.0, output_field=FloatField()))
    rows = list(queryset.order_by(*ordering).values(*BARE_FIELDS)[:20])
    return HttpResponse(json.dumps(rows, default=str), content_type="application/json")


QUERIES = [
    (
        "domain + near 30 km + q, page of 20",
        {"domain": "daily-life", "near": "46.1667,1.8667", "radius_km": "30", "q": "crèche"},
    ),
    ("territory (EPCI) + theme, page of 20", {"territory": "200034825", "theme": "childcare"}),
    ("plain list, page of 20", {}),
]


def measure(runs: int, queries: list[tuple[str, dict]] = QUERIES) -> list[dict]:
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    results = []
    for label, params in queries:
        api_times, cold_times, bare_times = [], [], []
        for index in range(runs + 3):
            cache.clear()  # cold: the exact count is computed, as for the first request after a catalogue change
            started = time.perf_counter()
            client.get("/api/v1/offers/", {**params, "page_size": 20})
            cold_elapsed = time.perf_counter() - started
            started = time.perf_counter()
            response = client.get("/api/v1/offers/", {**params, "page_size": 20})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.content[:500]
            started = time.perf_counter()
            bare_view(params)
            bare_elapsed = time.perf_counter() - started
            if index >= 3:  # warm-up
                api_times.append(elapsed * 1000)
                cold_times.append(cold_elapsed * 1000)
                bare_times.append(bare_elapsed * 1000)
        results.append(
            {
                "label": label,
                "count": response.json()["count"],
                "api_p50": statistics.median(api_times),
                "api_p95": percentile(api_times, 0.95),
                "cold_p50": statistics.median(cold_times),
                "cold_p95": percentile(cold_times, 0.95),
                "bare_p50": statistics.median(bare_times),
                "bare_p95": percentile(bare_times, 0.95),
            }
        )
    return results


def table(results: list[dict], *, vendor: str, count: int, runs: int, where: str = "") -> str:
    lines = [
        f"**{vendor}, {count:,} offers{where}** ({runs} runs after 3 warm-ups; {timezone.now():%Y-%m-%d}). API = the "
        "count cached for this catalogue state (every repeated query); API cold = cache cleared before the request "
        "(first request after a catalogue change, or a query nobody asked before).",
        "",
        "| query | matches | API p50 ms | API p95 ms | bare p50 ms | bare p95 ms | p50 ratio | API cold p50 ms "
        "| API cold p95 ms | cold p50 ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        lines.append(
            f"| {row['label']} | {row['count']:,} | {row['api_p50']:.1f} | {row['api_p95']:.1f} | "
            f"{row['bare_p50']:.1f} | {row['bare_p95']:.1f} | {row['api_p50'] / row['bare_p50']:.2f} | "
            f"{row['cold_p50']:.1f} | {row['cold_p95']:.1f} | {row['cold_p50'] / row['bare_p50']:.2f} |"
        )
    return "\n".join(lines)


def write_docs(block: str, vendor: str, key: str = "") -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    intro = (
        "`bench/offers_portal.py` (DATABASE_URL selects the database; `--offers N`, default 100,000). The API is "
        "the real `/api/v1/offers/` view through Django's test client (filters, permissions, paginated count, "
        "ETag, serialization); the baseline is a bare `.values()` + `json.dumps` of the same filtered query, "
        "measured in the same loop."
    )
    marker_start = f"<!-- offers-portal:{vendor}{key} -->"
    marker_end = f"<!-- /offers-portal:{vendor}{key} -->"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n"
    head, _, rest = text.partition(SECTION)
    body, separator, tail = rest.partition("\n## ")
    body = body.replace("(to be measured)", "").strip("\n")
    if not body.startswith("`bench/offers_portal.py`"):
        body = intro + ("\n\n" + body if body else "")
    new_block = f"{marker_start}\n{block}\n{marker_end}"
    if marker_start in body:
        before, _, after = body.partition(marker_start)
        _, _, after = after.partition(marker_end)
        body = before + new_block + after
    else:
        body = body.rstrip("\n") + "\n\n" + new_block
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(
        head + SECTION + "\n\n" + body.strip("\n") + "\n" + (separator + tail if separator else ""), encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="Print the table without updating the docs.")
    parser.add_argument(
        "--france", metavar="REGION", help="Load all of France and spread the offers over this région (e.g. 32)."
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    refuse_foreign_data()
    ensure_reference(france=bool(args.france))
    generate(args.offers, region=args.france)
    analyze()
    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    queries = region_queries(args.france) if args.france else QUERIES
    where = f", all of France loaded, offers over région {args.france}" if args.france else ""
    block = table(measure(args.runs, queries), vendor=vendor, count=args.offers, runs=args.runs, where=where)
    print(block)
    if not args.no_write:
        write_docs(block, vendor, key=f":france-{args.france}" if args.france else "")


if __name__ == "__main__":
    main()

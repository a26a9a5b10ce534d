"""The live offer index at N synthetic offers: full build (time, peak RSS, non-zeros, hash buckets shared),
index work per edited offer, edit -> search visibility through the API, search p50/p95 through the API (without
and with a territory).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_live .venv/bin/python bench/bench_live_index.py \
        --offers 100000
    DATABASE_URL=sqlite:///var/bench-live.sqlite3 .venv/bin/python bench/bench_live_index.py --offers 2000 --edits 20

Semantic search (issue 12): every synthetic offer gets a RANDOM unit vector stored as its e5 vector (encoding 100,000
real passages takes about an hour here); the dense step's cost (one matrix-vector product, the candidates' union)
does not depend on the values, so this measures latency only, never relevance. Requests are really encoded, with the
encoder's cache emptied before each timed search (every request new). `--no-semantic` measures the lexical search.

Search goes through the real view stack (`django.test.Client`, POST /api/v1/matching/search/) in this process, after
one warm-up request. Edits go through the offers service (what PATCH /api/v1/offers/<id>/ calls). Refuses a
database holding anything but bench offers and needs (use a throwaway database). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")
# The benchmark sends hundreds of searches from one client: lift the anonymous rates, not the view's work.
os.environ.setdefault("DJANGO_THROTTLE_SEARCH", "1000000/minute")
os.environ.setdefault("DJANGO_THROTTLE_ANON", "1000000/minute")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from bench.service import random_vectors_fill  # noqa: E402
from matching import bench, index  # noqa: E402
from offers.models import Offer, Territory  # noqa: E402
from offers.services import catalogue_changed  # noqa: E402

SEARCH = "/api/v1/matching/search/"
QUERIES = [
    "je cherche une crèche pour mon bébé",
    "maison à louer avec jardin",
    "médecin généraliste qui prend de nouveaux patients",
    "emploi infirmier à temps plein",
    "espace de coworking avec fibre",
    "cours de musique pour enfants",
    "reprendre une boulangerie",
    "logement temporaire pour saisonnier",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def search(client: Client, text: str, territory: str | None = None) -> tuple[float, list[dict]]:
    body = {"text": text, "limit": 10} | ({"territory": territory} if territory else {})
    started = time.perf_counter()
    response = client.post(SEARCH, body, content_type="application/json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return elapsed, response.json()["results"]


def edit(offer_id: int, title: str) -> None:
    """What the offers service does for a PATCH of the title: save, stamp the change, in one transaction."""
    with transaction.atomic():
        Offer.objects.filter(pk=offer_id).update(title=title)
        catalogue_changed(offers=[offer_id])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=50, help="single edits measured one by one")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="keep existing bench offers of the same count")
    parser.add_argument(
        "--no-semantic", dest="semantic", action="store_false", help="lexical search (MATCHING_SEMANTIC off)"
    )
    args = parser.parse_args()
    settings.MATCHING_SEMANTIC = args.semantic

    call_command("migrate", verbosity=0)  # a new throwaway database has no tables yet
    alone, why = bench.bench_data_is_alone()
    if not alone:
        sys.exit(f"Refusing to run: {why}. Use an empty throwaway database.")
    if not Territory.objects.filter(kind="commune").exists():
        from offers.services import taxonomy_load, territories_load_geojson

        territories_load_geojson()
        taxonomy_load()
    if not (args.reuse and Offer.objects.count() == args.offers):
        bench.bench_clear()
        bench.bench_generate(offers=args.offers, needs=0, seed=args.seed)

    filled = random_vectors_fill(seed=args.seed) if args.semantic else 0
    encoder = index.semantic_encoder()
    index.offer_index_clear(stored=True)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    built = index.offer_index_get()
    build_seconds = time.perf_counter() - started
    rss_build = peak_rss_mb()
    base = built.live.base
    used_buckets = int(np.count_nonzero(base.document_frequencies))
    buckets = built.model.n_features_out
    # Expected share of used buckets holding two or more distinct features, if hashing were uniform:
    # occupancy with f features in m buckets; a lower bound on what collisions cost (bench/eval_matching.py).
    load = used_buckets / buckets

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    cache.clear()
    for text in QUERIES:  # warm-up: the first request maps the files
        search(client, text)
    rng = random.Random(args.seed)
    timings, encodings = [], []
    for _ in range(args.searches):
        text = rng.choice(QUERIES)
        if encoder is not None:
            encoder.cache_clear()  # every request encoded, as if each were new
        timings.append(search(client, text)[0])
    # The same requests with a territory (a commune or an EPCI of the catalogue): the place's own best offers join
    # the candidates (engine.offers_search), one more pass over the matrix when the place holds many offers.
    places = list(Territory.objects.filter(kind__in=["commune", "epci"]).values_list("code", flat=True))
    place_rng = random.Random(args.seed + 1)
    for text in QUERIES:
        search(client, text, place_rng.choice(places))
    local_timings = []
    for _ in range(args.searches):
        text, place = place_rng.choice(QUERIES), place_rng.choice(places)
        if encoder is not None:
            encoder.cache_clear()
        local_timings.append(search(client, text, place)[0])
    if encoder is not None:
        for text in QUERIES * 5:
            encoder.cache_clear()
            started = time.perf_counter()
            encoder.encode_query(text)
            encodings.append(time.perf_counter() - started)

    ids = list(Offer.objects.filter(status="published").values_list("pk", flat=True))  # search shows these
    work, visible = [], []
    run = format(int(time.time()) % 46656, "x")
    for n in range(args.edits):
        offer_id = rng.choice(ids)
        word = f"zyx{run}q{n}v"  # a word no other offer has
        started = time.perf_counter()
        edit(offer_id, f"Atelier {word} de vannerie")
        # Visibility: the next search after the commit finds the new title (the update happens in that request).
        # The unique word alone: the request's inferred theme (issue 12) must not decide whether the edit is found.
        elapsed, results = search(client, word)
        visible.append(time.perf_counter() - started)
        assert offer_id in [hit["id"] for hit in results], (offer_id, results[:1])
        work.append(index.offer_index_get().update_seconds)
    after = index.offer_index_get()
    rebuilds = index.build_count - 1

    load_avg = os.getloadavg()
    rows = [
        ("offers", f"{built.size:,}"),
        ("database", connection.vendor),
        ("full build (s)", f"{build_seconds:.2f}"),
        ("peak RSS before / after build (MB)", f"{rss_before:.0f} / {rss_build:.0f}"),
        ("matrix non-zeros (row-major; the feature-major copy has as many)", f"{base.rows.nnz:,}"),
        ("hash buckets used / total", f"{used_buckets:,} / {buckets:,} (load {load:.3f})"),
        ("semantic vectors", f"{built.vectors.size:,} RANDOM unit vectors ({filled:,} stored now): latency only"
         if built.vectors is not None and encoder is not None else "none (lexical search)"),
        ("request encoding alone p50 / p95 (ms)", f"{1000 * statistics.median(encodings):.1f} / "
         f"{1000 * percentile(encodings, 95):.1f}" if encodings else "-"),
        ("search p50 / p95 through the API (ms)", f"{1000 * statistics.median(timings):.1f} / "
         f"{1000 * percentile(timings, 95):.1f}"),
        ("search with a territory (commune or EPCI) p50 / p95 (ms)", f"{1000 * statistics.median(local_timings):.1f}"
         f" / {1000 * percentile(local_timings, 95):.1f}"),
        ("index work per edited offer, median / max (ms)", f"{1000 * statistics.median(work):.1f} / "
         f"{1000 * max(work):.1f}"),
        ("edit -> found by search, median / max (ms)", f"{1000 * statistics.median(visible):.1f} / "
         f"{1000 * max(visible):.1f}"),
        ("full rebuilds during the edits", str(rebuilds)),
        ("delta rows / dead base rows after the edits", f"{after.live.delta.shape[0]} / {after.live.dead_rows}"),
        ("load average (1, 5, 15 min)", ", ".join(f"{value:.2f}" for value in load_avg)),
    ]  # fmt: skip
    print(f"\n## Live offer index, {built.size:,} offers ({connection.vendor})\n")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

"""Benchmark of a source sync: a synthetic job-offer file of 50,000 records synced into an empty catalogue, then a
second file with 5 % changes (2 % removed, 2 % changed, 1 % added), then the same file again (nothing to write).

Runs in a throwaway test database (PostgreSQL with DATABASE_URL; SQLite otherwise, for a quick check). Each sync goes
through `offers.services.sources.source_sync`, the service the worker and `manage.py sync_source` run: reading with
the source's format, mapping, the validation of every offer write, and the reconciliation in one transaction.
`--format` picks the file generator: `france_travail` (the France Travail "Offres d'emploi" API shape, used when
that format is registered) or `test_jsonl` (the tests' JSON-lines format, always available); France Travail files
come from `offers.source_formats.samples` (`--generator samples`, the default) or from plain rows (`rows`). Target:
the first sync of 50,000 records under 3 minutes on PostgreSQL. Prints a Markdown table and the load average.

Full scale: DATABASE_URL=postgres://postgres@127.0.0.1:5432/anc_bench python bench/bench_source_sync.py
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")
os.environ.setdefault("SOURCE_SYNC_EXTRA_FORMATS", "tests.offers.sources_jsonl.JSON_LINES")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

RECORDS = 50_000
ROME_CODES = ("J1501", "K2111", "N4101", "G1602", "D1106", "H2909")  # care, training, driving, kitchen, sales...


def job_rows(count: int, *, communes: list[tuple[str, str, str]], start: int = 1, seed: int = 0) -> list[dict]:
    """Neutral job-offer rows (what every generator writes in its own format)."""
    rng = random.Random(seed)
    rows = []
    for number in range(start, start + count):
        insee, postal, name = communes[rng.randrange(len(communes))]
        rows.append(
            {
                "id": f"{number:07d}X",
                "title": f"Poste {number} : agent polyvalent H/F",
                "description": f"Offre {number}. Contrat à durée indéterminée, temps plein, débutant accepté.",
                "rome": ROME_CODES[number % len(ROME_CODES)],
                "insee": insee,
                "postal": postal,
                "commune": name,
                "salary": f"Mensuel de {1800 + number % 700} Euros sur 12 mois" if number % 3 else "",
            }
        )
    return rows


def france_travail_file(rows: list[dict]) -> bytes:
    """The France Travail "Offres d'emploi v2" search answer: {"resultats": [offre, ...]}."""
    offers = [
        {
            "id": row["id"],
            "intitule": row["title"],
            "description": row["description"],
            "romeCode": row["rome"],
            "lieuTravail": {"libelle": f"23 - {row['commune']}", "codePostal": row["postal"], "commune": row["insee"]},
            "dateCreation": "2026-11-20T10:00:00.000Z",
            "typeContrat": "CDI",
            "salaire": {"libelle": row["salary"]} if row["salary"] else {},
            "origineOffre": {"urlOrigine": f"https://candidat.francetravail.fr/offres/recherche/detail/{row['id']}"},
        }
        for row in rows
    ]
    return json.dumps({"resultats": offers}, ensure_ascii=False).encode()


def test_jsonl_file(rows: list[dict]) -> bytes:
    lines = [
        json.dumps(
            {
                "external_id": row["id"],
                "title": row["title"],
                "description": row["description"],
                "categories": ["job"],
                "domain": "jobs",
                "commune_code": row["insee"],
                "is_free": True,
                "price_details": row["salary"],
                "extra": {"source_url": f"https://example.org/offres/{row['id']}"},
            },
            ensure_ascii=False,
        )
        for row in rows
    ]
    return ("\n".join(lines) + "\n").encode()


GENERATORS = {"france_travail": france_travail_file, "test_jsonl": test_jsonl_file}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--format", choices=sorted(GENERATORS), default=None, help="default: france_travail if known")
    parser.add_argument(
        "--generator",
        choices=("samples", "rows"),
        default="samples",
        help="france_travail files from offers.source_formats.samples (default) or from the bench's plain rows",
    )
    arguments = parser.parse_args()
    print(f"start: load average {os.getloadavg()}", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from offers.models import Offer, Organisation, Source, Territory
        from offers.services import taxonomy_load, territories_load_geojson
        from offers.services.sources import source_formats, source_sync
        from offers.source_formats.samples import france_travail_offers

        territories_load_geojson()
        taxonomy_load()
        format_code = arguments.format or ("france_travail" if "france_travail" in source_formats() else "test_jsonl")
        communes = [
            (t.code, (t.postal_codes.first().code if t.postal_codes.exists() else ""), t.name)
            for t in Territory.objects.filter(kind="commune", retired=False).prefetch_related("postal_codes")
        ]
        organisation = Organisation.objects.create(
            name="France Travail Guéret",
            slug="ft-bench",
            kind="public-body",
            territory=Territory.objects.get(code="23"),
        )
        source = Source.objects.create(
            organisation=organisation, code="ft-bench", name="Bench", format=format_code, failure_share_max=0.05
        )
        count = arguments.records
        # 5 % changes: the first 2 % removed, the next 2 % changed, 1 % added.
        removed, changed, added = count * 2 // 100, count * 2 // 100, count // 100
        if arguments.generator == "samples" and format_code == "france_travail":
            # offers.source_formats.samples: the API's variety (places given four ways, a few records skipped).
            first = france_travail_offers(count)
            second = [dict(offer) for offer in first[removed:]]
            for offer in second[:changed]:
                offer["intitule"] += " (modifiée)"
            second += france_travail_offers(added, first_id=count)
            files = [
                ("first sync", json.dumps({"resultats": first}, ensure_ascii=False).encode()),
                ("5 % changes", json.dumps({"resultats": second}, ensure_ascii=False).encode()),
            ]
        else:
            generate = GENERATORS[format_code]
            first_rows = job_rows(count, communes=communes)
            second_rows = [dict(row) for row in first_rows[removed:]]
            for row in second_rows[:changed]:
                row["title"] += " (modifiée)"
            second_rows += job_rows(added, communes=communes, start=count + 1, seed=1)
            files = [("first sync", generate(first_rows)), ("5 % changes", generate(second_rows))]
        files.append(("same file again", files[1][1]))
        generator = arguments.generator if format_code == "france_travail" else "rows"
        print(f"format {format_code} ({generator}), {count:,} records, {len(files[0][1]) / 1e6:.1f} MB", flush=True)
        from matching import index as live_index

        print(
            "\n| sync | seconds | created | updated | archived | unchanged | skipped | status | "
            "index after it (s) | full index builds |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for number, (label, content) in enumerate(files):
            start = time.perf_counter()
            sync = source_sync(source=source, content=content)
            seconds = time.perf_counter() - start
            # The live index after the sync: the first one builds it; later ones must apply only the changes.
            builds_before = live_index.build_count
            start = time.perf_counter()
            live_index.offer_index_get()
            index_seconds = time.perf_counter() - start
            builds = live_index.build_count - builds_before
            print(
                f"| {label} | {seconds:.1f} | {sync.created} | {sync.updated} | {sync.archived} | {sync.unchanged} | "
                f"{sync.skipped} | {sync.status} {sync.failure_message[:80]} | {index_seconds:.2f} | "
                f"{builds}{' (first build)' if number == 0 else ''} |",
                flush=True,
            )
        print(f"\noffers of the source: {Offer.objects.filter(origin=source).count():,}")
        print(f"database: {connection.vendor}; end: load average {os.getloadavg()}")
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()

"""Territorial partitioning: one région's needs scored against a national catalogue and against that région's alone.

Builds a seeded synthetic catalogue over every département of France (communes drawn by population, from
offers/data/france; documents as long as the DB benchmark's) as engine arrays, without the database, then fits
(a) an index of all of it and (b) an index of only the région's offers (located there, or remote and serving it).
The same needs (a run scoped to the région: 60 % on a commune, 25 % on an EPCI, 15 % without territory) are scored
with `engine.needs_score` in chunks, as the workers do, against both; the table gives the median of `--repeat`
runs of each, alternated, their ratio (issue 11's target: a) <= 1.5 x b)), index sizes, peak RSS and load average.
`--unpartitioned` adds (c) the national index and (d) the région's index searched whole (the engine before
partitioning). "searched per need" is the number of offers each need's retrieval scores on average (the work that
grows with the catalogue; the rest of a run grows with needs and candidates only); `--reach` adds the offers
*within reach* per need (geography factor at or above the floor: what an exact selection would search, the least
any search keeping today's results can score); `--coverage-k K` scores the needs again with K text candidates
instead of 50 on both indexes and compares their coverage and decisions, and the newcomer search's pages (the
needs' statements and territories as requests). "retrieval CPU s" is the CPU
of each call up to its retrieval checkpoint (the needs' text rows and the top-k search), "ns/searched" that per
offer searched: their (a)/(b) ratio tells a kernel dearer per offer on the national blocks from more offers searched
(on a shared machine read the CPU columns, not the seconds). Each index is built as a
deployment stores it (`live_matrix.base_matrix_build`: chunked, written to `--store`, then memory-mapped), so the
build's peak memory is bounded by a chunk, not by the catalogue; "peak RSS" lines follow each stage.

`--region 32,53,84` compares several régions against one national build (the ratio depends on the neighbours).
`--store DIR --build-only` builds the national and région-only indexes into DIR and stops; `--store DIR --reuse`
then loads them (checked against a digest of the regenerated documents) and only times the runs.

    .venv/bin/python bench/bench_partition.py --offers 50000 --needs 2000 --region 32 --repeat 3

At full scale (measured 2026-12-02, load average about 3: build 930 s and peak RSS 1.8 GB; the stored national
matrix is 5.5 GB per layout, plus 8 GB of scratch while building; the runs' peak RSS 10.7 GB, 4.3 GB of it
anonymous with the 1.9 GB of cached blocks; about 23 minutes in all; `--unpartitioned` adds several minutes per
repetition). Build the indexes once (need not be idle: 31 min at load average 4-5, plus 1.5 min per région), then
time the runs on an idle machine (the offers are regenerated, 30 to 100 s, and checked against the stored digest):

    .venv/bin/python bench/bench_partition.py --offers 1000000 --region 32,53,84 --store DIR --build-only
    .venv/bin/python bench/bench_partition.py --offers 1000000 --needs 2000 --region 32 --repeat 3 --store DIR --reuse
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gc
import hashlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from matching import bench, partitions  # noqa: E402
from matching.engine import (  # noqa: E402
    OfferIndex,
    _geography,
    needs_score,
    offer_base_model,
    offer_index_model,
    offers_search,
)
from matching.live_matrix import META, LiveMatrix, base_matrix_build, base_matrix_load  # noqa: E402
from matching.partitions import GEOGRAPHY_FLOOR, area_points, geography_cutoff_km, offer_partitions  # noqa: E402
from matching.scoring import MatchingParameters  # noqa: E402

# No floor: the whole index is searched, as before partitioning.
UNPARTITIONED_FLOOR = 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _matrix_mb(index) -> float:
    """One layout (row-major) of the stored matrix; the feature-major one is as large."""
    rows = index.live.base.rows
    return (rows.data.nbytes + rows.indices.nbytes + rows.indptr.nbytes) / 1e6


def _stage(label: str) -> None:
    """Peak and current resident memory after a stage (the anonymous part is what the mapped files do not hold)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    print(
        f"  after {label}: peak RSS {_peak_rss_mb():.0f} MB, RSS now {int(status['VmRSS'].split()[0]) / 1024:.0f} MB "
        f"(anonymous {int(status.get('RssAnon', '0 kB').split()[0]) / 1024:.0f} MB); load {_load()}",
        flush=True,
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _documents_digest(offers) -> str:
    """What a stored index was built from (its documents and ids): a store built by another seed, scale or
    generator is never reused."""
    digest = hashlib.sha256(np.ascontiguousarray(offers.ids, dtype=np.int64).tobytes())
    for document in offers.documents:
        digest.update(document.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _fit_stored(version: str, offers, taxonomy, store: Path, *, reuse: bool = False) -> tuple[OfferIndex, float]:
    """The index as a deployment holds it: built chunk by chunk into `store/version`, memory-mapped back. With
    `reuse`, an index already stored there from the same documents is loaded instead of rebuilt (0 build seconds);
    one from other documents is an error (remove it, or use another `--store`)."""
    path = store / version
    digest = _documents_digest(offers)
    started = time.perf_counter()
    if reuse and (path / META).exists():
        base = base_matrix_load(path)
        if base.meta.get("documents_sha256") != digest:
            raise SystemExit(f"{path} holds an index of other documents: remove it to rebuild")
        seconds = 0.0
    else:
        shutil.rmtree(path, ignore_errors=True)
        path = base_matrix_build(
            offers.documents,
            model=offer_index_model(),
            ids=offers.ids,
            state=0,
            label=version,
            directory=store,
            meta={"documents_sha256": digest},
        )
        seconds = time.perf_counter() - started
        base = base_matrix_load(path)
    model = offer_base_model(base, offer_index_model())
    live = LiveMatrix.of_base(base)
    index = OfferIndex(version=version, state=0, model=model, live=live, offers=offers, taxonomy=taxonomy)
    return index, seconds


def _score(index, needs, scope, centroids, params, chunk_size: int, floor: float) -> tuple[tuple, list[dict]]:
    """(seconds, CPU seconds, retrieval CPU seconds) to score every need, chunk by chunk (each chunk is what one
    worker claim scores), and the results. Retrieval is each call's CPU up to its "retrieval" checkpoint: the needs'
    text rows (the same work on any index) and the top-k search, the part that grows with the offers searched."""
    results = []
    retrieval_cpu = 0.0
    started, started_cpu = time.perf_counter(), time.process_time()
    for start in range(0, needs.ids.size, chunk_size):
        chunk = _need_slice(needs, start, start + chunk_size)
        call_cpu = time.process_time()
        marks: dict[str, float] = {}
        results += needs_score(
            index=index,
            needs=chunk,
            params=params,
            reference_date=date(2026, 6, 1),
            scope_area=scope,
            centroids=centroids,
            geography_floor=floor,
            checkpoint=lambda phase, marks=marks: marks.setdefault(phase, time.process_time()),
        )
        retrieval_cpu += marks["retrieval"] - call_cpu
    return (time.perf_counter() - started, time.process_time() - started_cpu, retrieval_cpu), results


def _searched_per_need(index, needs, scope, centroids, cutoff: float) -> float:
    """Average number of offers a need's retrieval scores (an offer in two selected blocks counts twice)."""
    blocks = offer_partitions(index)
    total = 0
    for area in needs.territory_areas:
        selection = blocks.select(area or scope, area_points(centroids, area or scope), cutoff)
        total += index.size if selection.everything else sum(blocks.blocks[b].size for b in selection.blocks)
    return total / max(needs.ids.size, 1)


def _reachable_per_need(index, needs, scope, centroids, cutoff: float, params, floor: float) -> float:
    """Average number of offers whose geography factor for a need's area reaches the floor: the offers an exact
    retrieval must score (any of them can be a candidate), whatever the blocks. Its (a)/(b) ratio is the least
    (a)/(b) of offers searched that a search keeping today's results can reach."""
    blocks = offer_partitions(index)
    need_areas = np.asarray([area or scope for area in needs.territory_areas], dtype=object)
    areas, counts = np.unique(need_areas, return_counts=True)
    total = 0
    for area, count in zip(areas.tolist(), counts.tolist(), strict=True):
        selection = blocks.select(area, area_points(centroids, area), cutoff)
        if selection.everything:
            cols = np.arange(index.size)
        else:  # every offer that can reach the floor is in a selected block (tests/matching/test_partitions.py)
            cols = np.unique(np.concatenate([blocks.blocks[block] for block in selection.blocks]))
        factor, _distance = _geography(index, [area] * cols.size, cols, centroids, params)
        total += count * int((factor >= floor).sum())
    return total / max(needs.ids.size, 1)


def _median(times: list[tuple[float, float, float]], which: int) -> float:
    """Median seconds (`which` 0), CPU seconds (1) or retrieval CPU seconds (2) of the runs."""
    return statistics.median(run[which] for run in times)


def _per_searched_ns(times: list[tuple[float, float, float]], searched_per_need: float, needs: int) -> float:
    """Median retrieval CPU nanoseconds per offer searched (what the kernel costs per offer, its fixed part aside)."""
    return _median(times, 2) * 1e9 / max(searched_per_need * needs, 1.0)


def _need_slice(needs, start: int, stop: int):
    import dataclasses

    values = {}
    for field in dataclasses.fields(needs):
        value = getattr(needs, field.name)
        values[field.name] = value[start:stop]
    return type(needs)(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=50_000, help="Offers of the national catalogue.")
    parser.add_argument("--needs", type=int, default=2_000, help="Needs of the région's run.")
    parser.add_argument(
        "--region",
        default="32",
        help="INSEE code of the région (32: Hauts-de-France), or several separated by commas.",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=500, help="Needs per needs_score call (a worker chunk).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor", type=float, default=GEOGRAPHY_FLOOR, help="Geography floor of the partitioning.")
    parser.add_argument("--unpartitioned", action="store_true", help="Also time the national index searched whole.")
    parser.add_argument(
        "--coverage-k",
        type=int,
        help="Also score the needs on both indexes with this many text candidates per need (instead of the "
        "default 50) and compare their coverage and decisions.",
    )
    parser.add_argument(
        "--reach",
        action="store_true",
        help="Also count, per need, the offers whose geography factor reaches the floor (an exact selection).",
    )
    parser.add_argument(
        "--cell-degrees", type=float, default=partitions.CELL_DEGREES, help="Grid cell of the located offers' blocks."
    )
    parser.add_argument("--store", type=Path, help="Directory of the stored indexes (default: a temporary one).")
    parser.add_argument("--keep", action="store_true", help="Keep the stored indexes.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Load the indexes already in --store (built by an earlier run with the same --offers and --seed) "
        "instead of rebuilding them; build and keep the missing ones.",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="Build the stored indexes (with --store, --keep implied) and stop."
    )
    parser.add_argument(
        "--block-cache-mb",
        type=float,
        default=4000,
        help="Megabytes of cached partition blocks of the national index (live_matrix.RESTRICTED_CACHE_BYTES).",
    )
    args = parser.parse_args()
    partitions.CELL_DEGREES = args.cell_degrees
    if (args.reuse or args.build_only) and args.store is None:
        parser.error("--reuse and --build-only need --store")
    keep = args.keep or args.reuse or args.build_only
    store = args.store or Path(tempfile.mkdtemp(prefix="bench-partition-"))
    try:
        _run(args, store)
    finally:
        if not keep:
            for path in [store / "national", *store.glob("region-*")]:
                shutil.rmtree(path, ignore_errors=True)
            if args.store is None:
                shutil.rmtree(store, ignore_errors=True)


def _run(args, store: Path) -> None:
    print(f"load average at start: {_load()}", flush=True)
    started = time.perf_counter()
    geography = bench.national_geography()
    offers = bench.national_offer_arrays(geography, offers=args.offers, seed=args.seed)
    generate_seconds = time.perf_counter() - started
    _stage(f"generating {args.offers} offers ({generate_seconds:.1f} s)")
    national, national_seconds = _fit_stored("national", offers, geography.taxonomy, store, reuse=args.reuse)
    _stage(f"the national build ({national_seconds:.1f} s)")
    started = time.perf_counter()
    national.live.base.restricted.budget_bytes = int(args.block_cache_mb * 1e6)
    national_blocks = offer_partitions(national)
    partition_seconds = time.perf_counter() - started
    print(
        f"national index: {national.size} offers, {_matrix_mb(national):.0f} MB per layout ({national.nnz} "
        f"non-zeros); build {national_seconds:.1f} s (generation {generate_seconds:.1f} s before it); partitions "
        f"{partition_seconds:.2f} s: {len(national_blocks.departement_paths)} départements, "
        f"{len(national_blocks.blocks)} blocks, {national_blocks.wide.size} wide offers",
        flush=True,
    )
    for region in args.region.split(","):
        _compare(args, geography, offers, national, region.strip(), store)
    print(f"peak RSS {_peak_rss_mb():.0f} MB; load average at the end {_load()}")


def _compare(args, geography, offers, national, region: str, store: Path) -> None:
    """One région's run against the national index and against an index of the région's offers only."""
    needs, scope, centroids = bench.national_need_arrays(
        geography, region_code=region, needs=args.needs, seed=args.seed + 1
    )
    region_offers = bench.offer_arrays_subset(offers, bench.region_offer_positions(geography, offers, region))
    region_only, region_seconds = _fit_stored(
        f"region-{region}", region_offers, geography.taxonomy, store, reuse=args.reuse
    )
    if args.build_only:
        print(f"région {region}: {region_only.size} offers, build {region_seconds:.1f} s", flush=True)
        return
    offer_partitions(region_only)
    gc.collect()
    params = MatchingParameters()
    cutoff = geography_cutoff_km(decay_km=params.decay_km, decay_kind=params.decay_kind, floor=args.floor)
    # Warm-up: both indexes once (partition selections and blocks cached, as in a long-lived worker).
    run = {"needs": needs, "scope": scope, "centroids": centroids, "params": params, "chunk_size": args.chunk_size}
    (cold_national, *_), national_results = _score(national, **run, floor=args.floor)
    (cold_region, *_), region_results = _score(region_only, **run, floor=args.floor)
    _stage(f"région {region}'s build ({region_seconds:.1f} s) and first runs (national {cold_national:.2f} s, "
           f"région {cold_region:.2f} s)")  # fmt: skip
    # (seconds, CPU seconds, retrieval CPU seconds) per run: on a shared machine CPU seconds are the steadier.
    national_times, region_times, whole_times, region_whole_times = [], [], [], []
    for _ in range(args.repeat):
        national_times.append(_score(national, needs, scope, centroids, params, args.chunk_size, args.floor)[0])
        region_times.append(_score(region_only, needs, scope, centroids, params, args.chunk_size, args.floor)[0])
        if args.unpartitioned:
            whole_times.append(
                _score(national, needs, scope, centroids, params, args.chunk_size, UNPARTITIONED_FLOOR)[0]
            )
            region_whole_times.append(
                _score(region_only, needs, scope, centroids, params, args.chunk_size, UNPARTITIONED_FLOOR)[0]
            )

    searched_national = _searched_per_need(national, needs, scope, centroids, cutoff)
    searched_region = _searched_per_need(region_only, needs, scope, centroids, cutoff)
    rows = [
        ("(a) national index, partitioned", national.size, searched_national, national_times),
        ("(b) région's offers only, partitioned", region_only.size, searched_region, region_times),
    ]
    if whole_times:
        rows.append(("(c) national index, searched whole", national.size, national.size, whole_times))
        rows.append(
            ("(d) région's offers only, searched whole", region_only.size, region_only.size, region_whole_times)
        )
    print(
        f"Partitioned retrieval: {args.needs} needs of région {region} (chunks of {args.chunk_size}), "
        f"{args.offers} offers over every département, geography floor {args.floor:g} (cutoff {cutoff:.1f} km), "
        f"cells of {args.cell_degrees:g} degrees"
    )
    print(
        f"{'index':<42}{'offers':>10}{'searched/need':>15}{'median s':>10}{'median CPU s':>14}"
        f"{'retrieval CPU s':>17}{'ns/searched':>13}  runs (s)"
    )
    for label, size, searched, times in rows:
        print(
            f"{label:<42}{size:>10}{searched:>15.0f}{_median(times, 0):>10.3f}{_median(times, 1):>14.3f}"
            f"{_median(times, 2):>17.3f}{_per_searched_ns(times, searched, args.needs):>13.1f}  "
            f"{', '.join(f'{seconds:.3f}' for seconds, _cpu, _retrieval in times)}"
        )
    print(
        f"ratio (a)/(b): {_median(national_times, 0) / _median(region_times, 0):.3f}   (target <= 1.5); "
        f"in CPU seconds {_median(national_times, 1) / _median(region_times, 1):.3f}; "
        f"retrieval CPU seconds {_median(national_times, 2) / _median(region_times, 2):.3f}"
    )
    print(f"offers searched per need (a)/(b): {searched_national / searched_region:.3f}")
    if args.reach:
        reach_national = _reachable_per_need(national, needs, scope, centroids, cutoff, params, args.floor)
        reach_region = _reachable_per_need(region_only, needs, scope, centroids, cutoff, params, args.floor)
        print(
            f"offers within reach per need (factor >= floor, what an exact selection would search): "
            f"(a) {reach_national:.0f}, (b) {reach_region:.0f}, (a)/(b) {reach_national / reach_region:.3f}"
        )
    national_ns = _per_searched_ns(national_times, searched_national, args.needs)
    region_ns = _per_searched_ns(region_times, searched_region, args.needs)
    print(
        "cost per offer searched (a)/(b): CPU seconds "
        f"{_median(national_times, 1) / searched_national / (_median(region_times, 1) / searched_region):.3f}, "
        f"retrieval CPU seconds {national_ns / region_ns:.3f}"
    )
    if whole_times:
        print(f"ratio (a)/(d): {_median(national_times, 0) / _median(region_whole_times, 0):.3f}")
        print(f"ratio (c)/(d): {_median(whole_times, 0) / _median(region_whole_times, 0):.3f}")
    if args.coverage_k:
        wider = {**run, "params": dataclasses.replace(params, k_candidates=args.coverage_k)}
        _coverage_compare(
            params.k_candidates,
            args.coverage_k,
            {
                "(a) national": (national_results, _score(national, **wider, floor=args.floor)[1]),
                "(b) région only": (region_results, _score(region_only, **wider, floor=args.floor)[1]),
            },
        )
        for label, index in (("(a) national", national), ("(b) région only", region_only)):
            _search_compare(label, index, needs, centroids, params, args.coverage_k)
    blocks = national.live.base.restricted
    print(
        f"région index {_matrix_mb(region_only):.0f} MB; national blocks cached {blocks.nbytes / 1e6:.0f} MB "
        f"({blocks.built} built so far); peak RSS {_peak_rss_mb():.0f} MB; load average {_load()}",
        flush=True,
    )


def _coverage_compare(k: int, wider_k: int, runs: dict[str, tuple[list[dict], list[dict]]]) -> None:
    """Mean coverage and decisions of the same needs with `k` and `wider_k` text candidates per need, per index.
    The candidates are the k best by text among the offers within reach: where far offers outnumber near ones they
    take the slots of nearer, better-fitting offers, and coverage drops for needs that the offers do serve."""
    print(f"{'coverage and decisions':<34}{'mean coverage':>14}{'needs covered more':>20}  decisions")
    for label, (results, wider_results) in runs.items():
        base = np.array([result["coverage"] for result in results])
        for candidates, scored in ((k, results), (wider_k, wider_results)):
            coverage = np.array([result["coverage"] for result in scored])
            decisions = collections.Counter(result["decision"]["code"] for result in scored)
            more = f"{int((coverage > base + 1e-9).sum())} / {base.size}" if candidates != k else "-"
            print(
                f"{f'{label}, k {candidates}':<34}{coverage.mean():>14.3f}{more:>20}  "
                + ", ".join(f"{code} {decisions[code]}" for code in ("create", "adjust", "promote", "maintain"))
            )


def _search_compare(label: str, index, needs, centroids, params, wider_k: int, searches: int = 300) -> None:
    """The newcomer search's candidates (the `max(k, 5 x limit)` best offers by text in the whole catalogue, and as
    many of the request's territory), then ranked by fit: with the first needs' statements and territories as
    requests (page of 10), how many pages hold none of the territory's offers where `wider_k` candidates put one
    there, and how many get a better first hit."""
    wider = dataclasses.replace(params, k_candidates=wider_k)
    missed = better = done = 0
    for need in range(needs.ids.size):
        area = needs.territory_areas[need]
        if not area or done == searches:
            continue
        request = {
            "index": index,
            "text": needs.statements[need],
            "today": date(2026, 6, 1),
            "domain_position": None,
            "audience_position": None,
            "territory_area": area,
            "centroids": centroids,
            "near": None,
            "radius_km": None,
            "limit": 10,
        }
        hits, wider_hits = offers_search(params=params, **request), offers_search(params=wider, **request)
        inside = max((hit["geography"] for hit in hits), default=0.0) >= 1.0
        missed += not inside and max((hit["geography"] for hit in wider_hits), default=0.0) >= 1.0
        better += bool(wider_hits) and (not hits or wider_hits[0]["score"] > hits[0]["score"] + 1e-9)
        done += 1
    print(
        f"search, {label}: {done} requests with a territory; none of its offers on the page but one with "
        f"{wider_k} candidates: {missed}; a better first hit with {wider_k}: {better}"
    )


if __name__ == "__main__":
    main()

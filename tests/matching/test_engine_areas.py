"""The engine's territory relation (`OfferIndex.inside`) on areas of several prefixes: an EPCI straddling two
départements, a custom territory, service areas; and geography without any centroid (no database)."""

import subprocess
import sys

import numpy as np

from matching import engine
from matching.arrays import OfferArrays, TaxonomyArrays
from matching.engine import _geography, offer_index_fit
from matching.scoring import MatchingParameters
from offers.territory_paths import area_key

# Territory positions: 0 région, 1-2 départements, 3 the straddling EPCI (seat in the Creuse), 4-5 its communes on
# either side, 6 another EPCI of the Haute-Vienne and 7 its commune, 8 a custom territory of EPCI 3 and commune 7.
PATHS = [
    "r75/",
    "r75/d23/",
    "r75/d87/",
    "r75/d23/e200000001/",
    "r75/d23/e200000001/c23500/",
    "r75/d87/e200000001/c87500/",
    "r75/d87/e200000002/",
    "r75/d87/e200000002/c87700/",
    "xduo/",
]
AREAS = {
    3: ["r75/d23/e200000001/", "r75/d87/e200000001/"],
    8: ["r75/d23/e200000001/", "r75/d87/e200000001/", PATHS[7]],
}


def _index(*, communes, service_areas, stale_areas=False):
    n = len(communes)
    areas = [area_key(AREAS.get(t, [path])) for t, path in enumerate(PATHS)]
    if stale_areas:  # the EPCI's area_paths not filled in: only its own path
        areas[3] = PATHS[3]
    taxonomy = TaxonomyArrays(
        theme_ids=np.zeros(0, np.int64),
        theme_domain=np.zeros(0, np.int64),
        theme_labels=[],
        theme_keywords=[],
        theme_codes=[],
        domain_ids=np.array([1]),
        domain_codes=["daily-life"],
        audience_ids=np.zeros(0, np.int64),
        audience_codes=[],
        audience_labels=[],
        territory_ids=np.arange(len(PATHS), dtype=np.int64),
        territory_paths=np.array(PATHS, dtype=object),
        territory_kinds=np.array(["region"] * len(PATHS), dtype=object),
        territory_codes=[str(t) for t in range(len(PATHS))],
        territory_names=[str(t) for t in range(len(PATHS))],
        territory_lat=np.full(len(PATHS), np.nan),
        territory_lon=np.full(len(PATHS), np.nan),
        territory_areas=areas,
    )
    lengths = [len(area) for area in service_areas]
    offers = OfferArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        titles=[f"Offre {i}" for i in range(n)],
        documents=["crèche garde enfants"] * n,
        published=np.ones(n, bool),
        available_from=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        available_until=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        capacity=np.full(n, np.nan),
        latitude=np.full(n, 46.0),
        longitude=np.full(n, 1.5),
        commune=np.array(communes, dtype=np.int64),
        domain=np.zeros(n, np.int64),
        themes=np.zeros((n, 0), bool),
        audiences=np.zeros((n, 0), bool),
        service_area_indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        service_area=np.array([t for area in service_areas for t in area], dtype=np.int64),
    )
    return offer_index_fit(version="test", offers=offers, taxonomy=taxonomy)


def test_a_straddling_epci_holds_its_communes_on_both_sides():
    index = _index(communes=[4, 5, 7], service_areas=[[], [], []])
    epci = area_key(AREAS[3])
    assert index.inside(epci).tolist() == [True, True, False]
    assert index.inside(PATHS[2]).tolist() == [False, True, True]  # the Haute-Vienne: its side only
    assert index.inside(area_key(AREAS[8])).tolist() == [True, True, True]  # the custom territory


def test_segments_keep_the_relation_when_area_paths_are_stale():
    index = _index(communes=[4, 5, 7], service_areas=[[], [], []], stale_areas=True)
    # Only the EPCI's own path is known, yet its commune filed under the Haute-Vienne is in it.
    assert index.inside(PATHS[3]).tolist() == [True, True, False]


def test_service_areas_overlap_through_every_prefix():
    # Offers located elsewhere (commune 7) serving the straddling EPCI, the custom territory, the Creuse.
    index = _index(communes=[7, 7, 7], service_areas=[[3], [8], [1]])
    other_side = PATHS[5]  # a need in the Haute-Vienne commune of the straddling EPCI
    assert index.inside(other_side).tolist() == [True, True, False]
    assert index.inside(PATHS[4]).tolist() == [True, True, True]


def test_the_inside_cache_keeps_the_most_recent_areas_within_its_budget(monkeypatch):
    index = _index(communes=[4, 5, 7], service_areas=[[3], [], [1]])
    areas = [PATHS[t] for t in range(len(PATHS))]
    fresh = {area: _index(communes=[4, 5, 7], service_areas=[[3], [], [1]]).inside(area).tolist() for area in areas}
    # Room for two areas' answers: two bits per territory each (packed in bytes).
    monkeypatch.setattr(engine, "INSIDE_CACHE_BYTES", 2 * 2 * -(-len(PATHS) // 8))
    for area in [*areas, areas[0], *areas]:
        assert index.inside(area).tolist() == fresh[area]
        assert len(index._inside_cache) <= 2
    assert list(index._inside_cache) == areas[-2:]  # the least recently used went first


def test_geography_without_any_centroid_is_neutral():
    index = _index(communes=[7, 7], service_areas=[[], []])
    area = area_key(AREAS[3])
    factor, distance = _geography(
        index, [area, area], np.array([0, 1]), {area: (np.zeros(0), np.zeros(0))}, MatchingParameters()
    )
    assert np.isnan(distance).all() and factor.tolist() == [1.0, 1.0]
    factor, distance = _geography(index, [area], np.array([0]), {}, MatchingParameters())
    assert np.isnan(distance).all() and factor.tolist() == [1.0]


def test_geography_of_interleaved_areas_is_each_area_s_own():
    # Offers: located in the Creuse commune, in the Haute-Vienne commune, and one without a place serving the EPCI.
    index = _index(communes=[4, 7, -1], service_areas=[[], [], [3]])
    index.offers.latitude[2] = index.offers.longitude[2] = np.nan
    index.offers.latitude[1] = 45.8
    centroids = {
        PATHS[4]: (np.array([46.1]), np.array([1.9])),
        PATHS[7]: (np.array([45.8, 45.9]), np.array([1.2, 1.3])),
        area_key(AREAS[3]): (np.array([46.0, 45.9]), np.array([1.8, 1.6])),
    }
    areas = [PATHS[4], "", PATHS[7], area_key(AREAS[3]), PATHS[4], PATHS[7], "", area_key(AREAS[3]), PATHS[4]]
    cols = np.array([0, 1, 2, 1, 2, 0, 0, 2, 1])
    factor, distance = _geography(index, areas, cols, centroids, MatchingParameters())
    for area in set(areas):
        alone = [i for i, a in enumerate(areas) if a == area]
        own_factor, own_distance = _geography(index, [area] * len(alone), cols[alone], centroids, MatchingParameters())
        assert factor[alone].tobytes() == own_factor.tobytes() and distance[alone].tobytes() == own_distance.tobytes()
    assert np.isnan(distance[[1, 6]]).all() and factor[[1, 6]].tolist() == [1.0, 1.0]  # no area: neutral
    assert (distance[~np.isnan(distance)] >= 0).all() and np.nanmax(distance) > 0


def test_engine_imports_without_django():
    code = "import sys, matching.engine; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_inside_of_some_positions_is_that_of_every_offer_at_those_positions():
    # Offers with and without a commune, with no, one or two service areas; positions repeated, unordered, none.
    index = _index(communes=[4, -1, 7, 5, -1], service_areas=[[3], [8], [], [1, 6], []])
    rng = np.random.default_rng(5)
    for area in [*PATHS, area_key(AREAS[3]), area_key(AREAS[8])]:
        every = index.inside(area)
        for positions in ([], [2], [4, 0, 1, 1, 3], rng.integers(0, index.size, size=12)):
            positions = np.asarray(positions, dtype=np.int64)
            assert index.inside(area, positions).tolist() == every[positions].tolist(), (area, positions)

"""Territorial partitioning of retrieval (`matching.partitions`, `engine.candidate_pairs` with areas): a need searches
the offers near its area, those serving it and the wide ones, and loses only offers whose geography factor is below
the floor (no database: arrays built here, real text model, real coordinates)."""

import subprocess
import sys
from datetime import date

import numpy as np
import pytest

from matching import engine
from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.engine import _geography, candidate_pairs, needs_score, offer_index_fit, offers_search
from matching.partitions import (
    GEOGRAPHY_FLOOR,
    area_points,
    bbox_distance_lower_km,
    geography_cutoff_km,
    offer_partitions,
    points_box_distance_lower_km,
)
from matching.scoring import MatchingParameters, geography_factor, haversine_km

# Territories: three régions far apart, a département in each (two in Hauts-de-France), an EPCI and communes with
# their real centroids. Arras-Paris is about 160 km, Marseille-Paris 660 km, Arras-Saint-Omer 60 km.
TERRITORIES = [
    # path, kind, latitude, longitude
    ("r11/", "region", np.nan, np.nan),  # 0
    ("r32/", "region", np.nan, np.nan),  # 1
    ("r93/", "region", np.nan, np.nan),  # 2
    ("r11/d75/", "departement", np.nan, np.nan),  # 3
    ("r32/d62/", "departement", np.nan, np.nan),  # 4
    ("r32/d59/", "departement", np.nan, np.nan),  # 5
    ("r93/d13/", "departement", np.nan, np.nan),  # 6
    ("r11/d75/e200054781/c75056/", "commune", 48.8566, 2.3522),  # 7 Paris
    ("r32/d62/e200033579/c62041/", "commune", 50.2910, 2.7775),  # 8 Arras
    ("r32/d62/e200069037/c62765/", "commune", 50.7500, 2.2520),  # 9 Saint-Omer
    ("r32/d59/e200093201/c59350/", "commune", 50.6292, 3.0573),  # 10 Lille
    ("r93/d13/e200054807/c13055/", "commune", 43.2965, 5.3698),  # 11 Marseille
    ("r93/d13/e200054807/c13001/", "commune", 43.5297, 5.4474),  # 12 Aix-en-Provence
    ("r32/d62/e200033579/", "epci", np.nan, np.nan),  # 13 CU d'Arras
    ("pFR/", "country", np.nan, np.nan),  # 14 France: its area is every région's path
    ("r94/", "region", np.nan, np.nan),  # 15 Corse, none of its départements in this taxonomy
]
AREAS = {14: "r11/|r32/|r93/"}  # area keys that are not the territory's own path
PARIS, ARRAS, SAINT_OMER, LILLE, MARSEILLE, AIX = 7, 8, 9, 10, 11, 12
REGION_IDF, REGION_HDF, REGION_PACA, DEPARTEMENT_62, FRANCE, CORSE = 0, 1, 2, 4, 14, 15
TOPICS = (
    "crèche garde d'enfants multi-accueil petite enfance",
    "médecin généraliste maison de santé consultation",
    "espace de coworking bureaux partagés fibre",
    "club de football stade sport licence",
)


def _taxonomy():
    return TaxonomyArrays(
        theme_ids=np.zeros(0, np.int64),
        theme_domain=np.zeros(0, np.int64),
        theme_labels=[],
        theme_keywords=[],
        theme_codes=[],
        domain_ids=np.array([1]),
        domain_codes=["daily-life"],
        audience_ids=np.array([1]),
        audience_codes=["families"],
        audience_labels=["Familles"],
        territory_ids=np.arange(1, len(TERRITORIES) + 1, dtype=np.int64),
        territory_paths=np.array([row[0] for row in TERRITORIES], dtype=object),
        territory_kinds=np.array([row[1] for row in TERRITORIES], dtype=object),
        territory_codes=[row[0] for row in TERRITORIES],
        territory_names=[row[0] for row in TERRITORIES],
        territory_lat=np.array([row[2] for row in TERRITORIES]),
        territory_lon=np.array([row[3] for row in TERRITORIES]),
        territory_areas=[AREAS.get(t, row[0]) for t, row in enumerate(TERRITORIES)],
    )


def _index(offers, documents=None):
    """`offers`: (commune position or -1, topic, service area territory positions, (lat, lon) or None);
    `documents` replaces the texts made from the topics."""
    taxonomy = _taxonomy()
    n = len(offers)
    rng = np.random.default_rng(7)
    latitude, longitude = np.full(n, np.nan), np.full(n, np.nan)
    for position, (commune, _topic, _area, place) in enumerate(offers):
        if place is not None:
            latitude[position], longitude[position] = place
        elif commune >= 0:  # a few hundred metres from the commune's centroid, like a street address
            latitude[position] = taxonomy.territory_lat[commune] + rng.normal(0, 0.01)
            longitude[position] = taxonomy.territory_lon[commune] + rng.normal(0, 0.01)
    lengths = [len(area) for _commune, _topic, area, _place in offers]
    arrays = OfferArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        titles=[f"Offre {position}" for position in range(n)],
        documents=documents
        or [f"{TOPICS[topic]} offre numéro {position}" for position, (_c, topic, _a, _p) in enumerate(offers)],
        published=np.ones(n, bool),
        available_from=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        available_until=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        capacity=np.full(n, np.nan),
        latitude=latitude,
        longitude=longitude,
        commune=np.array([commune for commune, _t, _a, _p in offers], dtype=np.int64),
        domain=np.zeros(n, np.int64),
        themes=np.zeros((n, 0), bool),
        audiences=np.zeros((n, 1), bool),
        service_area_indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        service_area=np.array([t for _c, _t, area, _p in offers for t in area], dtype=np.int64),
    )
    return offer_index_fit(version="test", offers=arrays, taxonomy=taxonomy)


def _centroids(areas):
    """Commune centroids of each area key, as `selectors.commune_centroids` gives them."""
    taxonomy = _taxonomy()
    result = {}
    for area in set(areas) - {""}:
        inside = [
            t for t, (path, kind, _lat, _lon) in enumerate(TERRITORIES) if kind == "commune" and path.startswith(area)
        ]
        result[area] = (taxonomy.territory_lat[inside], taxonomy.territory_lon[inside])
    return result


def _cutoff():
    params = MatchingParameters()
    return geography_cutoff_km(decay_km=params.decay_km, decay_kind=params.decay_kind)


def _pairs_by_need(pairs):
    return [pairs.cols[pairs.indptr[row] : pairs.indptr[row + 1]].tolist() for row in range(pairs.indptr.size - 1)]


def _national(per_commune=6):
    """Offers of every topic in each commune of the three régions."""
    communes = (PARIS, ARRAS, SAINT_OMER, LILLE, MARSEILLE, AIX)
    return [(commune, n % len(TOPICS), [], None) for commune in communes for n in range(per_commune)]


def test_the_partitions_module_does_not_import_django():
    code = "import sys, matching.partitions; assert 'django' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kind", ["exponential", "gaussian", "linear"])
@pytest.mark.parametrize("floor", [0.001, 0.05, 0.5])
def test_the_cutoff_is_where_the_geography_factor_crosses_the_floor(kind, floor):
    cutoff = geography_cutoff_km(decay_km=15.0, decay_kind=kind, floor=floor)
    beyond = geography_factor(False, cutoff * (1 + 1e-9), decay_km=15.0, kind=kind)
    within = geography_factor(False, cutoff * (1 - 1e-6), decay_km=15.0, kind=kind)
    assert beyond < floor <= within


def test_the_cutoff_refuses_a_floor_outside_zero_one():
    for floor in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="floor"):
            geography_cutoff_km(decay_km=15.0, decay_kind="exponential", floor=floor)


def test_the_box_distances_never_exceed_the_true_distance():
    rng = np.random.default_rng(3)
    for _ in range(200):
        # Boxes anywhere, overseas and across the antimeridian included.
        lat_a, lat_b = np.sort(rng.uniform(-60, 60, 2)), np.sort(rng.uniform(-60, 60, 2))
        lon_a, lon_b = rng.uniform(-180, 170), rng.uniform(-180, 170)
        box_a = (lat_a[0], lat_a[1], lon_a, lon_a + rng.uniform(0, 10))
        box_b = (lat_b[0], lat_b[1], lon_b, lon_b + rng.uniform(0, 10))
        points_a = np.column_stack([rng.uniform(*box_a[:2], 300), rng.uniform(*box_a[2:], 300)])
        points_b = np.column_stack([rng.uniform(*box_b[:2], 300), rng.uniform(*box_b[2:], 300)])
        true = haversine_km(points_a[:, :1], points_a[:, 1:], points_b[:, 0], points_b[:, 1]).min()
        assert bbox_distance_lower_km(box_a, box_b) <= true + 1e-6
        assert points_box_distance_lower_km(points_a, np.array([box_b]))[0] <= true + 1e-6


def test_with_every_offer_in_range_the_partitioned_search_is_the_whole_search():
    # Hauts-de-France only: Arras, Saint-Omer and Lille are all within the cutoff (69 km) of one another.
    index = _index([(commune, n % len(TOPICS), [], None) for commune in (ARRAS, SAINT_OMER, LILLE) for n in range(8)])
    areas = [TERRITORIES[ARRAS][0], TERRITORIES[SAINT_OMER][0], "r32/", TERRITORIES[LILLE][0], ""]
    query = index.model.transform([TOPICS[n % len(TOPICS)] for n in range(len(areas))])
    whole = candidate_pairs(index, query, k=5, threshold=0.0)
    split = candidate_pairs(
        index, query, k=5, threshold=0.0, areas=areas, centroids=_centroids(areas), cutoff_km=_cutoff()
    )
    assert _pairs_by_need(split) == _pairs_by_need(whole)
    assert split.rows.tolist() == whole.rows.tolist()


def test_needs_score_gives_the_same_results_when_every_offer_is_in_range():
    index = _index([(commune, n % len(TOPICS), [], None) for commune in (ARRAS, SAINT_OMER, LILLE) for n in range(8)])
    areas = [TERRITORIES[ARRAS][0], "", TERRITORIES[LILLE][0], TERRITORIES[13][0]]
    needs = _needs(areas, [TOPICS[0], TOPICS[1], TOPICS[2], TOPICS[3]])
    centroids = _centroids([*areas, "r32/"])
    common = {"index": index, "needs": needs, "params": MatchingParameters(), "reference_date": date(2026, 6, 1)}
    partitioned = needs_score(**common, scope_area="r32/", centroids=centroids)
    whole = needs_score(**common, scope_area="r32/", centroids=centroids, geography_floor=0.0)
    assert partitioned == whole
    assert all(result["top"] for result in partitioned)


def _needs(areas, statements):
    n = len(areas)
    return NeedArrays(
        ids=np.arange(1, n + 1, dtype=np.int64),
        statements=list(statements),
        documents=list(statements),
        audience=np.zeros(n, np.int64),
        audience_codes=["families"] * n,
        domain=np.zeros(n, np.int64),
        domain_codes=["daily-life"] * n,
        themes=np.zeros((n, 0), bool),
        theme_codes=[[] for _ in range(n)],
        territory_paths=list(areas),
        territory_areas=list(areas),
        importance=np.full(n, 0.8),
        satisfaction=np.full(n, np.nan),
        demand_volume=np.full(n, np.nan),
        updated_at=[None] * n,
        stages=["welcome"] * n,
    )


def test_an_offer_left_out_would_only_have_had_a_geography_factor_below_the_floor():
    params = MatchingParameters()
    index = _index(_national())
    areas = [TERRITORIES[t][0] for t in (PARIS, ARRAS, SAINT_OMER, LILLE, MARSEILLE, AIX)] + ["r32/", "r93/d13/"]
    centroids = _centroids(areas)
    query = index.model.transform([TOPICS[n % len(TOPICS)] for n in range(len(areas))])
    k = index.size  # every offer with a positive cosine is a candidate of the whole search
    whole = _pairs_by_need(candidate_pairs(index, query, k=k, threshold=0.0))
    split = _pairs_by_need(
        candidate_pairs(index, query, k=k, threshold=0.0, areas=areas, centroids=centroids, cutoff_km=_cutoff())
    )
    left_out = 0
    for need, area in enumerate(areas):
        missing = np.array(sorted(set(whole[need]) - set(split[need])), dtype=np.int64)
        factor, _distance = _geography(index, [area] * missing.size, missing, centroids, params)
        assert (factor < GEOGRAPHY_FLOOR).all(), (area, missing, factor)
        kept = np.array(split[need], dtype=np.int64)
        factor, _distance = _geography(index, [area] * kept.size, kept, centroids, params)
        assert set(split[need]) <= set(whole[need])
        # Every offer that can score is still there.
        every = np.arange(index.size)
        factor_all, _ = _geography(index, [area] * index.size, every, centroids, params)
        assert set(every[factor_all >= GEOGRAPHY_FLOOR]) & set(whole[need]) <= set(split[need])
        left_out += missing.size
    assert left_out > 0  # the partitioning did leave far offers out
    # Paris needs see no Marseille offer; Marseille needs no Hauts-de-France one.
    marseille_offers = {p for p in range(index.size) if index.offers.commune[p] in (MARSEILLE, AIX)}
    assert not marseille_offers & set(split[0])
    assert set(split[4]) <= marseille_offers


def _searched(index, area):
    """The offer positions a need of `area` searches, and whether that is the whole catalogue."""
    partitions = offer_partitions(index)
    selection = partitions.select(area, area_points(_centroids([area]), area), _cutoff())
    if selection.everything:
        return set(range(index.size)), True
    return {int(p) for block in selection.blocks for p in partitions.blocks[block]}, False


def _filler():
    """`_national` with more offers in Paris, so that neither Hauts-de-France's nor Provence's needs select more than
    half of the catalogue (`WHOLE_SEARCH_SHARE`: they would then search everything)."""
    return [*_national(), *[(PARIS, n % len(TOPICS), [], None) for n in range(20)]]


def test_a_far_offer_serving_a_need_s_area_stays_a_candidate():
    far_in_marseille = (MARSEILLE, 0, [REGION_HDF], None)  # located in Marseille, serves all of Hauts-de-France
    region_wide = (MARSEILLE, 0, [REGION_PACA], None)  # serves its own région: wider than a département
    remote = (-1, 0, [REGION_IDF], None)  # no commune, no coordinates
    departement_wide = (LILLE, 0, [DEPARTEMENT_62], None)  # located in the Nord, serves the Pas-de-Calais
    nord = [(LILLE, 0, [], None) for _ in range(4)]
    index = _index([far_in_marseille, region_wide, remote, departement_wide, *nord])
    partitions = offer_partitions(index)
    # Each goes to the service-area blocks of the départements it serves: none is searched by every need.
    assert partitions.wide.size == 0
    areas = [TERRITORIES[SAINT_OMER][0]]
    query = index.model.transform([TOPICS[0]])
    pairs = candidate_pairs(
        index, query, k=20, threshold=0.0, areas=areas, centroids=_centroids(areas), cutoff_km=10.0
    )
    # A cutoff of 10 km leaves the Nord (Lille, 50 km away) out; the offers serving the area stay, those serving
    # Provence or Île-de-France (geography factor 0 in Saint-Omer) are left out.
    assert sorted(_pairs_by_need(pairs)[0]) == [0, 3]
    assert offer_partitions(index) is partitions  # kept on the index


def test_a_remote_offer_serving_one_region_is_searched_by_that_region_s_needs_only():
    remote = (-1, 0, [REGION_HDF], None)  # no commune, no coordinates, serves Hauts-de-France
    index = _index([*_filler(), remote])
    position = index.size - 1
    for area in (TERRITORIES[SAINT_OMER][0], TERRITORIES[LILLE][0], TERRITORIES[13][0], "r32/d59/", "r32/"):
        assert position in _searched(index, area)[0], area
    for area in (TERRITORIES[MARSEILLE][0], TERRITORIES[PARIS][0], "r93/"):
        searched, everything = _searched(index, area)
        assert not everything and position not in searched, area


def test_a_located_offer_serving_a_region_is_reached_inside_it_and_near_its_place():
    # Located in Arras (Hauts-de-France), serves Île-de-France: inside it (Paris, 160 km away), factor 1; near
    # Arras (Lille, 45 km, outside Île-de-France), its distance counts; Provence is neither.
    in_arras = (ARRAS, 0, [REGION_IDF], None)
    index = _index([*_filler(), in_arras])
    position = index.size - 1
    params = MatchingParameters()
    for area in (TERRITORIES[PARIS][0], "r11/", "r11/d75/", TERRITORIES[LILLE][0], TERRITORIES[SAINT_OMER][0]):
        searched, everything = _searched(index, area)
        assert not everything and position in searched, area
        factor, _distance = _geography(index, [area], np.array([position]), _centroids([area]), params)
        assert factor[0] >= GEOGRAPHY_FLOOR, area
    for area in (TERRITORIES[MARSEILLE][0], TERRITORIES[AIX][0], "r93/"):
        searched, everything = _searched(index, area)
        assert not everything and position not in searched, area


def test_offers_serving_france_or_an_unresolved_area_stay_in_the_wide_block():
    remote_france = (-1, 0, [FRANCE], None)
    located_france = (MARSEILLE, 0, [FRANCE], None)
    every_region = (-1, 0, [REGION_IDF, REGION_HDF, REGION_PACA], None)  # covers every département too
    corse = (-1, 0, [CORSE], None)  # a région with no known département: where it lies is unknown
    index = _index([*_filler(), remote_france, located_france, every_region, corse])
    special = list(range(index.size - 4, index.size))
    assert sorted(offer_partitions(index).wide.tolist()) == special
    for t in (PARIS, ARRAS, SAINT_OMER, LILLE, MARSEILLE, AIX, 13, REGION_IDF, REGION_PACA, DEPARTEMENT_62):
        assert set(special) <= _searched(index, TERRITORIES[t][0])[0], t


def test_an_offer_without_place_commune_or_service_area_is_searched_by_no_partitioned_need():
    nowhere = (-1, 0, [], None)  # geography factor 0 for every area
    index = _index([*_filler(), nowhere])
    for t in (PARIS, LILLE, MARSEILLE, REGION_IDF):
        searched, everything = _searched(index, TERRITORIES[t][0])
        assert not everything and index.size - 1 not in searched
    # Without an area, a need searches everything.
    query = index.model.transform([TOPICS[0]])
    pairs = candidate_pairs(index, query, k=index.size, threshold=0.0, areas=[""], centroids={}, cutoff_km=_cutoff())
    assert index.size - 1 in _pairs_by_need(pairs)[0]


def test_every_offer_a_need_does_not_search_has_a_geography_factor_below_the_floor():
    # Random offers of every kind (located, geocoded far from their commune, placed without a commune, remote;
    # serving nothing, communes, an EPCI, départements, régions, France, an unresolved région), random areas.
    rng = np.random.default_rng(2026)
    params = MatchingParameters()
    communes = [PARIS, ARRAS, SAINT_OMER, LILLE, MARSEILLE, AIX]
    served = [t for t in range(len(TERRITORIES)) if t not in (FRANCE, CORSE)]
    offers = []
    for _ in range(400):
        commune = int(rng.choice(communes)) if rng.random() < 0.7 else -1
        kind = rng.random()
        if kind < 0.4:
            place = None  # a street address in its commune (none without one)
        elif kind < 0.7:
            place = (float(rng.uniform(42.5, 51.0)), float(rng.uniform(-1.0, 7.0)))  # anywhere in France
        else:
            place = (np.nan, np.nan)  # no coordinates
        area = [int(t) for t in rng.choice(served, size=int(rng.integers(0, 3)), replace=False)]
        if rng.random() < 0.02:
            area.append(int(rng.choice([FRANCE, CORSE])))
        offers.append((commune, int(rng.integers(len(TOPICS))), area, place))
    index = _index(offers)
    areas = sorted({TERRITORIES[t][0] for t in range(len(TERRITORIES)) if t not in (FRANCE, CORSE)})
    areas += ["r11/|r93/d13/", TERRITORIES[ARRAS][0] + "|" + TERRITORIES[MARSEILLE][0]]  # several prefixes
    centroids = _centroids(areas)
    every = np.arange(index.size)
    partitioned = left_out = 0
    for area in areas:
        searched, everything = _searched(index, area)
        factor, _distance = _geography(index, [area] * index.size, every, centroids, params)
        missing = np.array(sorted(set(every.tolist()) - searched), dtype=np.int64)
        assert (factor[missing] < GEOGRAPHY_FLOOR).all(), (area, missing[factor[missing] >= GEOGRAPHY_FLOOR])
        partitioned += not everything
        left_out += missing.size
    assert partitioned >= len(areas) // 2 and left_out > 0  # the partitioning did leave offers out


def test_needs_of_several_areas_are_grouped_and_each_searches_its_own_neighbourhood():
    index = _index(_national(per_commune=4))
    commune = np.asarray(index.offers.commune)
    paris, marseille = TERRITORIES[PARIS][0], TERRITORIES[MARSEILLE][0]
    areas = [paris, marseille, paris, "", marseille, TERRITORIES[ARRAS][0]]
    query = index.model.transform([TOPICS[n % len(TOPICS)] for n in range(len(areas))])
    split = _pairs_by_need(
        candidate_pairs(
            index, query, k=index.size, threshold=0.0, areas=areas, centroids=_centroids(areas), cutoff_km=_cutoff()
        )
    )
    whole = _pairs_by_need(candidate_pairs(index, query, k=index.size, threshold=0.0))

    def located(need):
        return set(commune[split[need]].tolist())

    assert located(0) == located(2) == {PARIS}
    assert located(1) == located(4) == {MARSEILLE, AIX}
    assert located(5) == {ARRAS, SAINT_OMER, LILLE}
    assert split[3] == whole[3]  # no area: the whole catalogue
    # Within its neighbourhood each need keeps the whole search's ranking order.
    for need in range(len(areas)):
        assert split[need] == [offer for offer in whole[need] if offer in set(split[need])]


def test_an_area_without_any_known_centroid_searches_everything():
    index = _index(_national(per_commune=2))
    areas = ["r32/d62/e999999999/"]
    query = index.model.transform([TOPICS[0]])
    split = candidate_pairs(index, query, k=index.size, threshold=0.0, areas=areas, centroids={}, cutoff_km=_cutoff())
    whole = candidate_pairs(index, query, k=index.size, threshold=0.0)
    assert _pairs_by_need(split) == _pairs_by_need(whole)


def test_the_top_k_of_a_subset_returns_positions_of_the_catalogue():
    index = _index(_national(per_commune=2))
    rows = np.array([1, 4, 7, 10], dtype=np.int64)
    query = index.model.transform([TOPICS[0], TOPICS[1]])
    indices, scores = index.top_k(query, k=3, threshold=0.0, rows=rows)
    assert set(indices[indices >= 0].tolist()) <= set(rows.tolist())
    dense = (query @ index.row_matrix(rows).T).toarray()
    for need in range(2):
        expected = rows[np.lexsort((rows, -dense[need]))][:3]
        assert indices[need].tolist() == expected[dense[need][np.lexsort((rows, -dense[need]))][:3] > 0].tolist()
        assert np.allclose(scores[need][: len(expected)], np.sort(dense[need])[::-1][:3], atol=1e-6)


def test_on_the_national_catalogue_every_offer_that_can_score_is_selected():
    # Real geography (every commune of France), synthetic offers drawn by population; areas of several kinds.
    from matching import bench

    geography = bench.national_geography()
    offers = bench.national_offer_arrays(geography, offers=3000, seed=5, region_share=0.01, remote_share=0.01)
    index = offer_index_fit(version="national", offers=offers, taxonomy=geography.taxonomy)
    taxonomy = geography.taxonomy
    kinds_codes = zip(taxonomy.territory_kinds, taxonomy.territory_codes, strict=True)
    codes = {(kind, code): t for t, (kind, code) in enumerate(kinds_codes)}
    areas = [
        taxonomy.territory_areas[codes[key]]
        for key in (
            ("commune", "62041"),  # Arras
            ("epci", "200069037"),  # Pays de Saint-Omer
            ("region", "32"),  # Hauts-de-France
            ("departement", "2A"),  # Corse-du-Sud
            ("commune", "29019"),  # Brest
        )
    ]
    centroids = bench.area_centroids(geography, areas)
    params = MatchingParameters()
    cutoff = geography_cutoff_km(decay_km=params.decay_km, decay_kind=params.decay_kind)
    partitions = offer_partitions(index)
    assert len(partitions.departement_paths) >= 100
    every = np.arange(index.size)
    for area in areas:
        selection = partitions.select(area, np.column_stack(centroids[area]), cutoff)
        assert not selection.everything
        selected = np.unique(np.concatenate([partitions.blocks[block] for block in selection.blocks]))
        factor, _distance = _geography(index, [area] * index.size, every, centroids, params)
        assert set(every[factor >= GEOGRAPHY_FLOOR]) <= set(selected.tolist()), area
        assert selected.size < index.size / 2  # and far fewer than all of France
    # The région's offers (located there, or remote and serving it) are those a région-only catalogue holds.
    regional = bench.region_offer_positions(geography, offers, "32")
    located = offers.commune[regional]
    assert all(str(taxonomy.territory_paths[t]).startswith("r32/") for t in located[located >= 0])


def test_distances_to_many_centroids_are_those_of_every_pair():
    # A région's communes: min_distance_km looks the nearest up in a k-d tree; same distances as measuring them all.
    from matching.scoring import min_distance_km

    rng = np.random.default_rng(11)
    points_lat, points_lon = rng.uniform(49.0, 51.1, 3800), rng.uniform(1.4, 4.3, 3800)
    lat, lon = rng.uniform(41.0, 51.5, 2000), rng.uniform(-5.0, 9.6, 2000)
    lat[[3, 50]] = np.nan  # offers without coordinates
    fast = min_distance_km(lat, lon, points_lat, points_lon)
    every = haversine_km(lat[:, None], lon[:, None], points_lat, points_lon).min(axis=1)
    assert np.array_equal(np.isnan(fast), np.isnan(every))
    assert np.allclose(fast[~np.isnan(fast)], every[~np.isnan(every)], rtol=1e-12, atol=1e-9)


# A town's crèche, and thirty crèches of a city 50 km away whose texts match the request better.
CRECHE_REQUEST = "crèche garde d'enfants multi-accueil petite enfance"
CITY_CRECHES = [(LILLE, 0, [], None)] * 30
CITY_CRECHE_TEXT = "crèche garde d'enfants multi-accueil petite enfance, accueil régulier et occasionnel"


def _local_search(index, *, territory=None, near=None, radius_km=None, limit=3):
    area = TERRITORIES[territory][0] if territory is not None else None
    return offers_search(
        index=index,
        text=CRECHE_REQUEST,
        params=MatchingParameters(k_candidates=5),
        today=date(2026, 1, 1),
        domain_position=None,
        audience_position=None,
        territory_area=area,
        centroids=_centroids([area]) if area else {},
        near=near,
        radius_km=radius_km,
        limit=limit,
    )


@pytest.mark.parametrize("place", ["territory", "near"])
@pytest.mark.parametrize(
    "exact_rows, list_size",
    [(256, 4096), (0, 4096), (0, 20)],
    ids=["cosines of the place's offers", "from the longer list", "a pass restricted to the place"],
)
def test_a_search_finds_the_offers_of_its_place_when_better_matches_elsewhere_fill_the_candidates(
    place, exact_rows, list_size, monkeypatch
):
    monkeypatch.setattr(engine, "SEARCH_LOCAL_EXACT_ROWS", exact_rows)
    monkeypatch.setattr(engine, "SEARCH_LOCAL_LIST", list_size)
    # The k best by text (5 here, the request's page of 3 asks for 15) are all in Lille: the Arras crèche, whose
    # text matches less, is a candidate as one of the place's best, and ranks first once its geography counts.
    offers = [*CITY_CRECHES] * 3 + [(ARRAS, 0, [], None)]
    documents = [CITY_CRECHE_TEXT] * 90 + ["Crèche multi-accueil petite enfance à Arras"]
    index = _index(offers, documents)
    arras = (TERRITORIES[ARRAS][2], TERRITORIES[ARRAS][3])
    hits = (
        _local_search(index, territory=ARRAS)
        if place == "territory"
        else _local_search(index, near=arras, radius_km=5.0)
    )
    assert hits[0]["offer_position"] == 90
    assert hits[0]["geography"] == 1.0
    assert all(hit["geography"] < 0.1 for hit in hits[1:])  # Lille, 50 km away


def test_a_search_without_a_place_or_with_nothing_matching_there_is_unchanged():
    # The place's offers join the candidates only by their text (or meaning): an unrelated offer in Arras does not.
    offers = [*CITY_CRECHES, (ARRAS, 1, [], None)]
    index = _index(offers, [CITY_CRECHE_TEXT] * 30 + ["Médecin généraliste, maison de santé"])
    anywhere = [hit["offer_position"] for hit in _local_search(index)]
    in_arras = [hit["offer_position"] for hit in _local_search(index, territory=ARRAS)]
    assert 30 not in anywhere and 30 not in in_arras
    assert len(in_arras) == 3

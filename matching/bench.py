"""Synthetic French offers and needs for the matching benchmark, seeded, built from the taxonomy's vocabulary.

Only `manage.py bench_matching` and bench/ use this module. Bench rows are marked (`source="bench"` on offers,
`source_reference="bench"` on needs) so the command can recognise a database that holds nothing else. The national
catalogue (every département, a million offers) is built as engine arrays without the database (`national_*`, for
bench/bench_partition.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.db import transaction

from audiences.models import Need, NeedSource
from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.scoring import need_document, offer_document
from offers.models import Audience, Offer, Organisation, OrganisationKind, Territory, TerritoryKind, Theme
from offers.services import catalogue_changed
from offers.territory_paths import SEPARATOR, area_key, area_paths, path_child, path_last_segment

BENCH_SOURCE = "bench"

_OPENINGS = (
    "Ouvert du lundi au vendredi",
    "Accueil sur rendez-vous",
    "Permanence le mardi et le jeudi",
    "Ouvert toute l'année",
    "Accueil le samedi matin",
    "Sur inscription auprès de l'accueil",
)
_QUALIFIERS = (
    "pour tous les âges",
    "accessible aux personnes à mobilité réduite",
    "à deux pas du centre-bourg",
    "avec un accompagnement personnalisé",
    "en lien avec les associations locales",
    "proposé par la communauté de communes",
    "dans un cadre rural et calme",
    "avec une équipe de bénévoles",
)
_NOUNS = (
    "service",
    "accueil",
    "espace",
    "point d'information",
    "permanence",
    "atelier",
    "dispositif",
    "lieu",
)
_NEED_OPENINGS = (
    "Je cherche",
    "Nous avons besoin d'",
    "Trouver facilement",
    "Avoir accès à",
    "Il manque",
    "Pouvoir bénéficier d'",
)
_NEED_ENDINGS = (
    "près de chez nous",
    "sans faire trop de route",
    "pour notre famille",
    "à un prix raisonnable",
    "le week-end",
    "rapidement après notre installation",
    "dans le bourg",
)


def bench_data_is_alone() -> tuple[bool, str]:
    """True when every offer and need in the database was made by the benchmark (or there are none)."""
    foreign_offers = Offer.objects.exclude(source=BENCH_SOURCE).count()
    foreign_needs = Need.objects.exclude(source_reference=BENCH_SOURCE).count()
    if foreign_offers or foreign_needs:
        return False, f"{foreign_offers} offers and {foreign_needs} needs were not made by the benchmark"
    return True, ""


def bench_clear() -> None:
    from matching.models import MatchingRun

    MatchingRun.objects.all().delete()
    Need.objects.filter(source_reference=BENCH_SOURCE).delete()
    with transaction.atomic():
        offers = Offer.objects.filter(source=BENCH_SOURCE)
        removed = list(offers.values_list("pk", flat=True))
        offers.delete()
        catalogue_changed(removed=removed)
    Organisation.objects.filter(slug__startswith="bench-").delete()


def _words(keywords: str) -> list[str]:
    return [word for word in keywords.replace(",", " ").split() if len(word) > 2]


def bench_generate(*, offers: int, needs: int, seed: int = 0, batch: int = 5000) -> None:
    """Create `offers` offers and `needs` needs spread over the Creuse communes and every theme."""
    rng = np.random.default_rng(seed)
    themes = list(Theme.objects.select_related("domain").order_by("id"))
    audiences = list(Audience.objects.order_by("id"))
    communes = list(Territory.objects.filter(kind=TerritoryKind.COMMUNE).order_by("code"))
    epcis = list(Territory.objects.filter(kind=TerritoryKind.EPCI).order_by("code"))
    if not themes or not communes:
        raise RuntimeError("Load the taxonomy and the territories first (manage.py load_demo or load_reference).")
    vocabulary = {theme.id: _words(theme.keywords) or [theme.label.lower()] for theme in themes}
    organisations = [
        Organisation.objects.get_or_create(
            slug=f"bench-{number}",
            defaults={
                "name": f"Organisation de test {number}",
                "kind": OrganisationKind.ASSOCIATION,
                "territory": communes[number % len(communes)],
            },
        )[0]
        for number in range(20)
    ]
    Through = Offer.themes.through
    AudienceThrough = Offer.audiences.through
    AreaThrough = Offer.service_area.through
    for start in range(0, offers, batch):
        size = min(batch, offers - start)
        rows, theme_links, audience_links, area_links = [], [], [], []
        for position in range(start, start + size):
            theme = themes[rng.integers(len(themes))]
            second = themes[rng.integers(len(themes))] if rng.random() < 0.3 else None
            words = vocabulary[theme.id]
            picked = rng.choice(words, size=min(len(words), 6), replace=False)
            commune = communes[rng.integers(len(communes))]
            noun = _NOUNS[rng.integers(len(_NOUNS))].capitalize()
            title = f"{noun} {picked[0]} {picked[1 % len(picked)]} de {commune.name}"
            description = (
                f"{theme.label} : {' '.join(picked[:4])} {_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}. "
                f"{_OPENINGS[rng.integers(len(_OPENINGS))]} à {commune.name}. "
                f"Renseignements sur {' et '.join(picked[2:5]) or picked[0]}, "
                f"{_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}."
            )
            status = "published" if rng.random() < 0.85 else ("draft" if rng.random() < 0.5 else "archived")
            rows.append(
                Offer(
                    title=title[:200],
                    description=description,
                    domain=theme.domain,
                    organisation=organisations[position % len(organisations)],
                    commune=commune,
                    latitude=commune.latitude + rng.normal(0, 0.01),
                    longitude=commune.longitude + rng.normal(0, 0.01),
                    is_free=True,
                    capacity=int(rng.integers(1, 60)) if rng.random() < 0.4 else None,
                    status=status,
                    source=BENCH_SOURCE,
                    external_id=f"bench-{position}",
                )
            )
            theme_links.append([theme.id] + ([second.id] if second and second.id != theme.id else []))
            audience_links.append(
                [audiences[rng.integers(len(audiences))].id] if audiences and rng.random() < 0.25 else []
            )
            area_links.append([epcis[rng.integers(len(epcis))].id] if epcis and rng.random() < 0.2 else [])
        with transaction.atomic():
            created = Offer.objects.bulk_create(rows)
            Through.objects.bulk_create(
                Through(offer_id=offer.id, theme_id=theme_id)
                for offer, ids in zip(created, theme_links, strict=True)
                for theme_id in ids
            )
            AudienceThrough.objects.bulk_create(
                AudienceThrough(offer_id=offer.id, audience_id=audience_id)
                for offer, ids in zip(created, audience_links, strict=True)
                for audience_id in ids
            )
            AreaThrough.objects.bulk_create(
                AreaThrough(offer_id=offer.id, territory_id=territory_id)
                for offer, ids in zip(created, area_links, strict=True)
                for territory_id in ids
            )
            catalogue_changed(offers=[offer.id for offer in created])  # bulk writes bypass the services
    NeedThrough = Need.themes.through
    for start in range(0, needs, batch):
        size = min(batch, needs - start)
        rows, theme_links = [], []
        for _position in range(start, start + size):
            theme = themes[rng.integers(len(themes))]
            words = vocabulary[theme.id]
            picked = rng.choice(words, size=min(len(words), 3), replace=False)
            statement = (
                f"{_NEED_OPENINGS[rng.integers(len(_NEED_OPENINGS))]} {' '.join(picked)} "
                f"{_NEED_ENDINGS[rng.integers(len(_NEED_ENDINGS))]}"
            )
            place = rng.random()
            territory = (
                communes[rng.integers(len(communes))]
                if place < 0.6
                else (epcis[rng.integers(len(epcis))] if place < 0.85 and epcis else None)
            )
            rows.append(
                Need(
                    audience=audiences[rng.integers(len(audiences))],
                    domain=theme.domain,
                    statement=statement,
                    territory=territory,
                    importance=float(rng.uniform(0.2, 1.0)),
                    satisfaction=float(rng.uniform(0.0, 1.0)) if rng.random() < 0.7 else None,
                    demand_volume=int(rng.integers(1, 200)) if rng.random() < 0.3 else None,
                    source=NeedSource.STUDY,
                    source_reference=BENCH_SOURCE,
                )
            )
            theme_links.append(theme.id)
        with transaction.atomic():
            created = Need.objects.bulk_create(rows)
            NeedThrough.objects.bulk_create(
                NeedThrough(need_id=need.id, theme_id=theme_id)
                for need, theme_id in zip(created, theme_links, strict=True)
            )


def bench_reader():
    """An unsaved superuser for the benchmarks and picture scripts that call the report builders directly: the
    builders take the caller, and an administrator sees every run whatever the territories."""
    from django.contrib.auth import get_user_model

    return get_user_model()(username="bench", is_staff=True, is_superuser=True)


# ---------------------------------------------------------------------------
# A synthetic national catalogue as arrays (no database): bench/bench_partition.py
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NationalGeography:
    """All of France as the engine sees it (`TaxonomyArrays`), with what the generators draw from: per commune
    (territory position) its population, EPCI, département and région positions."""

    taxonomy: TaxonomyArrays
    communes: np.ndarray  # territory positions of the communes with a centroid
    population: np.ndarray  # their municipal population (at least 1)
    commune_epci: np.ndarray  # territory position of each one's EPCI, -1 without
    commune_departement: np.ndarray
    commune_region: np.ndarray
    region_of: dict[str, int]  # région code -> territory position


def national_geography() -> NationalGeography:
    """Read offers/data/france and build every région, département, EPCI and commune with the paths and area keys
    `manage.py load_territories --all` gives them, plus the reference taxonomy (offers/data/taxonomy.json)."""
    from offers.geography import geography_read

    geography = geography_read()
    with (Path(__file__).resolve().parents[1] / "offers" / "data" / "taxonomy.json").open(encoding="utf-8") as file:
        reference = json.load(file)
    paths, kinds, codes, names, lats, lons, areas = [], [], [], [], [], [], []

    def add(kind: str, code: str, name: str, path: str, position=None, area: list[str] | None = None) -> int:
        paths.append(path)
        kinds.append(kind)
        codes.append(code)
        names.append(name)
        lats.append(np.nan if position is None else position[0])
        lons.append(np.nan if position is None else position[1])
        areas.append(area_key(area or [path]))
        return len(paths) - 1

    region_of = {
        code: add("region", code, row.name, path_child(None, kind="region", code=code))
        for code, row in sorted(geography.regions.items())
    }
    departement_of = {
        code: add("departement", code, row.name, geography.departement_path(code))
        for code, row in sorted(geography.departements.items())
    }
    main = geography.epci_main_departement()
    sides = geography.epci_departements()
    epci_of = {
        code: add(
            "epci",
            code,
            row.name,
            path_child(geography.departement_path(main[code]), kind="epci", code=code),
            area=[path_child(geography.departement_path(d), kind="epci", code=code) for d in sides[code]],
        )
        for code, row in sorted(geography.epcis.items())
        if code in main
    }
    communes, population, commune_epci, commune_departement, commune_region = [], [], [], [], []
    for code, row in sorted(geography.communes.items()):
        above = geography.departement_path(row.departement)
        if row.epci:
            above = path_child(above, kind="epci", code=row.epci)
        position = (row.latitude, row.longitude) if row.latitude is not None else None
        territory = add("commune", code, row.name, path_child(above, kind="commune", code=code), position)
        if position is not None:
            communes.append(territory)
            population.append(max(row.population or 0, 1))
            commune_epci.append(epci_of.get(row.epci, -1))
            commune_departement.append(departement_of[row.departement])
            commune_region.append(region_of[row.region])
    domains = reference["domains"]
    themes = [(number, theme) for number, domain in enumerate(domains) for theme in domain["themes"]]
    audiences = reference["audiences"]
    taxonomy = TaxonomyArrays(
        theme_ids=np.arange(1, len(themes) + 1, dtype=np.int64),
        theme_domain=np.array([number for number, _theme in themes], dtype=np.int64),
        theme_labels=[theme["label"] for _number, theme in themes],
        theme_keywords=[theme["keywords"] for _number, theme in themes],
        theme_codes=[theme["code"] for _number, theme in themes],
        domain_ids=np.arange(1, len(domains) + 1, dtype=np.int64),
        domain_codes=[domain["code"] for domain in domains],
        audience_ids=np.arange(1, len(audiences) + 1, dtype=np.int64),
        audience_codes=[audience["code"] for audience in audiences],
        audience_labels=[audience["label"] for audience in audiences],
        territory_ids=np.arange(1, len(paths) + 1, dtype=np.int64),
        territory_paths=np.array(paths, dtype=object),
        territory_kinds=np.array(kinds, dtype=object),
        territory_codes=codes,
        territory_names=names,
        territory_lat=np.array(lats, dtype=np.float64),
        territory_lon=np.array(lons, dtype=np.float64),
        territory_areas=areas,
    )
    return NationalGeography(
        taxonomy=taxonomy,
        communes=np.array(communes, dtype=np.int64),
        population=np.array(population, dtype=np.float64),
        commune_epci=np.array(commune_epci, dtype=np.int64),
        commune_departement=np.array(commune_departement, dtype=np.int64),
        commune_region=np.array(commune_region, dtype=np.int64),
        region_of=region_of,
    )


def _offer_text(rng: np.random.Generator, theme_label: str, words: list[str], place: str) -> tuple[str, str]:
    """Title and description of one synthetic offer, as long as `bench_generate`'s."""
    picked = rng.choice(words, size=min(len(words), 6), replace=False)
    noun = _NOUNS[rng.integers(len(_NOUNS))].capitalize()
    title = f"{noun} {picked[0]} {picked[1 % len(picked)]} de {place}"
    description = (
        f"{theme_label} : {' '.join(picked[:4])} {_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}. "
        f"{_OPENINGS[rng.integers(len(_OPENINGS))]} à {place}. "
        f"Renseignements sur {' et '.join(picked[2:5]) or picked[0]}, "
        f"{_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}."
    )
    return title[:200], description


def national_offer_arrays(
    geography: NationalGeography,
    *,
    offers: int,
    seed: int = 0,
    epci_share: float = 0.2,
    departement_share: float = 0.03,
    region_share: float = 0.005,
    remote_share: float = 0.005,
) -> OfferArrays:
    """`offers` synthetic offers over every département, in communes drawn by population (a town of 50,000 holds
    about a hundred times the offers of a village of 500), a few hundred metres from the commune's centroid.

    Service areas: `epci_share` of the offers serve their own EPCI, `departement_share` their département,
    `region_share` their région; `remote_share` have no commune and no coordinates (delivered at a distance) and
    serve a région drawn by population. Documents as long as `bench_generate`'s.
    """
    rng = np.random.default_rng(seed)
    taxonomy = geography.taxonomy
    n_themes = taxonomy.theme_ids.size
    vocabulary = [
        _words(keywords) or [label.lower()]
        for keywords, label in zip(taxonomy.theme_keywords, taxonomy.theme_labels, strict=True)
    ]
    drawn = rng.choice(geography.communes.size, size=offers, p=geography.population / geography.population.sum())
    commune = geography.communes[drawn]
    theme = rng.integers(n_themes, size=offers)
    second = np.where(rng.random(offers) < 0.3, rng.integers(n_themes, size=offers), -1)
    kind = rng.random(offers)
    remote = kind < remote_share
    to_region = (kind >= remote_share) & (kind < remote_share + region_share)
    to_departement = (kind >= remote_share + region_share) & (kind < remote_share + region_share + departement_share)
    to_epci = (kind >= 1 - epci_share) & (geography.commune_epci[drawn] >= 0)
    service = np.full(offers, -1, dtype=np.int64)
    service[remote | to_region] = geography.commune_region[drawn[remote | to_region]]
    service[to_departement] = geography.commune_departement[drawn[to_departement]]
    service[to_epci] = geography.commune_epci[drawn[to_epci]]
    latitude = taxonomy.territory_lat[commune] + rng.normal(0, 0.01, offers)
    longitude = taxonomy.territory_lon[commune] + rng.normal(0, 0.01, offers)
    latitude[remote], longitude[remote] = np.nan, np.nan
    commune = np.where(remote, -1, commune)
    themes = np.zeros((offers, n_themes), dtype=bool)
    themes[np.arange(offers), theme] = True
    themes[np.flatnonzero(second >= 0), second[second >= 0]] = True
    audiences = np.zeros((offers, taxonomy.audience_ids.size), dtype=bool)
    targeted = np.flatnonzero(rng.random(offers) < 0.25)
    audiences[targeted, rng.integers(taxonomy.audience_ids.size, size=targeted.size)] = True
    titles, documents = [], []
    for position in range(offers):
        place = "toute la région" if remote[position] else taxonomy.territory_names[commune[position]]
        title, description = _offer_text(
            rng, taxonomy.theme_labels[theme[position]], vocabulary[theme[position]], place
        )
        titles.append(title)
        own = np.flatnonzero(themes[position])
        documents.append(
            offer_document(
                title, description, [taxonomy.theme_labels[t] for t in own], [taxonomy.theme_keywords[t] for t in own]
            )
        )
    has_area = service >= 0
    status = rng.random(offers)
    return OfferArrays(
        ids=np.arange(1, offers + 1, dtype=np.int64),
        titles=titles,
        documents=documents,
        published=status < 0.85,
        available_from=np.full(offers, np.datetime64("NaT"), dtype="datetime64[D]"),
        available_until=np.full(offers, np.datetime64("NaT"), dtype="datetime64[D]"),
        capacity=np.where(rng.random(offers) < 0.4, rng.integers(1, 60, size=offers), np.nan).astype(np.float64),
        latitude=latitude,
        longitude=longitude,
        commune=commune,
        domain=taxonomy.theme_domain[theme],
        themes=themes,
        audiences=audiences,
        service_area_indptr=np.concatenate([[0], np.cumsum(has_area)]).astype(np.int64),
        service_area=service[has_area],
    )


def offer_arrays_subset(offers: OfferArrays, positions: np.ndarray) -> OfferArrays:
    """The offers at the sorted `positions`, as their own `OfferArrays` (ids kept)."""
    positions = np.asarray(positions, dtype=np.int64)
    counts = np.diff(offers.service_area_indptr)[positions]
    starts = offers.service_area_indptr[positions]
    area = np.concatenate([offers.service_area[s : s + c] for s, c in zip(starts, counts, strict=True)] or [[]])
    return OfferArrays(
        ids=offers.ids[positions],
        titles=[offers.titles[p] for p in positions],
        documents=[offers.documents[p] for p in positions],
        published=offers.published[positions],
        available_from=offers.available_from[positions],
        available_until=offers.available_until[positions],
        capacity=offers.capacity[positions],
        latitude=offers.latitude[positions],
        longitude=offers.longitude[positions],
        commune=offers.commune[positions],
        domain=offers.domain[positions],
        themes=offers.themes[positions],
        audiences=offers.audiences[positions],
        service_area_indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        service_area=np.asarray(area, dtype=np.int64),
    )


def region_offer_positions(geography: NationalGeography, offers: OfferArrays, region_code: str) -> np.ndarray:
    """Positions of the offers that belong to one région: located in it, or without a commune and serving it
    (what a catalogue of that région alone would hold)."""
    taxonomy = geography.taxonomy
    prefix = taxonomy.territory_paths[geography.region_of[region_code]]
    in_region = np.array([str(path).startswith(prefix) for path in taxonomy.territory_paths], dtype=bool)
    located = (offers.commune >= 0) & in_region[np.maximum(offers.commune, 0)]
    area_offer = np.repeat(np.arange(offers.ids.size), np.diff(offers.service_area_indptr))
    serving = np.zeros(offers.ids.size, dtype=bool)
    serving[area_offer[in_region[offers.service_area]]] = True
    return np.flatnonzero(located | ((offers.commune < 0) & serving))


def national_need_arrays(
    geography: NationalGeography, *, region_code: str, needs: int, seed: int = 0
) -> tuple[NeedArrays, str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """`needs` synthetic needs of one région as a run scoped to it reads them: 60 % on a commune (drawn by
    population), 25 % on an EPCI, the rest without a territory. Returns the needs, the run's scope area (the
    région's path) and the commune centroids of every area (what `selectors.commune_centroids` gives)."""
    rng = np.random.default_rng(seed)
    taxonomy = geography.taxonomy
    region = geography.region_of[region_code]
    scope = str(taxonomy.territory_paths[region])
    mine = np.flatnonzero(geography.commune_region == region)
    weights = geography.population[mine] / geography.population[mine].sum()
    n_themes = taxonomy.theme_ids.size
    vocabulary = [
        _words(keywords) or [label.lower()]
        for keywords, label in zip(taxonomy.theme_keywords, taxonomy.theme_labels, strict=True)
    ]
    theme = rng.integers(n_themes, size=needs)
    statements, documents, territory_paths, territory_areas = [], [], [], []
    for position in range(needs):
        words = vocabulary[theme[position]]
        picked = rng.choice(words, size=min(len(words), 3), replace=False)
        statement = (
            f"{_NEED_OPENINGS[rng.integers(len(_NEED_OPENINGS))]} {' '.join(picked)} "
            f"{_NEED_ENDINGS[rng.integers(len(_NEED_ENDINGS))]}"
        )
        statements.append(statement)
        documents.append(
            need_document(
                statement, [taxonomy.theme_labels[theme[position]]], [taxonomy.theme_keywords[theme[position]]]
            )
        )
        place, drawn = rng.random(), mine[rng.choice(mine.size, p=weights)]
        territory = (
            geography.communes[drawn] if place < 0.6 else (geography.commune_epci[drawn] if place < 0.85 else -1)
        )
        territory_paths.append("" if territory < 0 else str(taxonomy.territory_paths[territory]))
        territory_areas.append("" if territory < 0 else taxonomy.territory_areas[territory])
    themes = np.zeros((needs, n_themes), dtype=bool)
    themes[np.arange(needs), theme] = True
    audience = rng.integers(taxonomy.audience_ids.size, size=needs)
    arrays = NeedArrays(
        ids=np.arange(1, needs + 1, dtype=np.int64),
        statements=statements,
        documents=documents,
        audience=audience,
        audience_codes=[taxonomy.audience_codes[a] for a in audience],
        domain=taxonomy.theme_domain[theme],
        domain_codes=[taxonomy.domain_codes[d] for d in taxonomy.theme_domain[theme]],
        themes=themes,
        theme_codes=[[taxonomy.theme_codes[t]] for t in theme],
        territory_paths=territory_paths,
        territory_areas=territory_areas,
        importance=rng.uniform(0.2, 1.0, needs),
        satisfaction=np.where(rng.random(needs) < 0.7, rng.uniform(0.0, 1.0, needs), np.nan),
        demand_volume=np.where(rng.random(needs) < 0.3, rng.integers(1, 200, size=needs), np.nan).astype(float),
        updated_at=[datetime(2026, 1, 1, tzinfo=UTC)] * needs,
        stages=["welcome"] * needs,
    )
    areas = {area or scope for area in territory_areas}
    return arrays, scope, area_centroids(geography, areas)


def area_centroids(geography: NationalGeography, areas: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The commune centroids of each area key, by the rule of `selectors.commune_centroids` (a commune is below a
    prefix when its path holds the prefix's last segment)."""
    taxonomy = geography.taxonomy
    by_segment: dict[str, list[int]] = defaultdict(list)
    for territory in geography.communes.tolist():
        for part in str(taxonomy.territory_paths[territory]).split(SEPARATOR):
            if part:
                by_segment[part].append(territory)
    centroids = {}
    for area in areas:
        if not area:
            continue
        inside = sorted({t for prefix in area_paths(area) for t in by_segment.get(path_last_segment(prefix), ())})
        centroids[area] = (taxonomy.territory_lat[inside], taxonomy.territory_lon[inside])
    return centroids

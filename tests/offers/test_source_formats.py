"""The readers of the national formats (offers.source_formats): each field of each format mapped, the records that
cannot be used skipped with their reason, and a whole file refused (FormatError) when it is another format's, is
truncated, is not JSON or is an error page. No database: the readers are pure."""

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.source_formats import (
    DATA_INCLUSION,
    DATATOURISME,
    FRANCE_TRAVAIL,
    OPENAGENDA,
    SOURCE_FORMATS,
    FormatError,
    RecordSkip,
    SourceRecord,
    categories_themes,
    domain_pick,
    theme_domains,
)
from offers.source_formats.samples import dates_shift, france_travail_offers, france_travail_sample
from tests.offers.sources_files import FILES, FILES_WRITTEN_ON

BASE_DIR = Path(__file__).resolve().parents[2]
DEMO = BASE_DIR / "offers" / "data" / "demo" / "sources"
TODAY = FILES_WRITTEN_ON  # the readers are given the day the files were written: their dates stay right
TAXONOMY = json.loads((BASE_DIR / "offers" / "data" / "taxonomy.json").read_text(encoding="utf-8"))


def read(source_format, name: str, *, today: date = TODAY, folder: Path = FILES):
    return list(source_format.read((folder / name).read_bytes(), today=today))


def records(results) -> dict[str, SourceRecord]:
    return {result.external_id: result for result in results if isinstance(result, SourceRecord)}


def skips(results) -> list[tuple[int, str | None, str]]:
    return [(result.position, result.external_id, result.code) for result in results if isinstance(result, RecordSkip)]


def test_the_readers_never_import_django():
    code = "import sys, offers.source_formats, offers.source_formats.samples; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR).returncode == 0


def test_registry_and_default_mappings_use_our_taxonomy():
    assert set(SOURCE_FORMATS) == {"france_travail", "datatourisme", "openagenda", "data_inclusion"}
    ours = {theme["code"] for domain in TAXONOMY["domains"] for theme in domain["themes"]}
    for code, source_format in SOURCE_FORMATS.items():
        assert source_format.code == code and source_format.label
        mapped = {theme for themes in source_format.default_theme_mapping.values() for theme in themes}
        assert mapped and mapped <= ours, code
    # data·inclusion's default mapping is the one taxonomy.json ships (thématique -> the themes listing it).
    expected = {}
    for domain in TAXONOMY["domains"]:
        for theme in domain["themes"]:
            for code in theme["data_inclusion"]:
                expected.setdefault(code, []).append(theme["code"])
    assert {key: list(value) for key, value in DATA_INCLUSION.default_theme_mapping.items()} == expected


def test_domain_pick_and_categories_themes():
    domains = theme_domains()
    assert domain_pick(["cultural-event", "heritage-site", "tourist-event"], domains) == (
        "tourism",
        ("heritage-site", "tourist-event"),
    )
    assert domain_pick(["cultural-event", "heritage-site"], domains) == ("culture", ("cultural-event",))  # a tie
    assert domain_pick(["no-such-theme"], domains) == (None, ())
    assert categories_themes(["Museum", "CulturalSite", "Museum"], DATATOURISME.default_theme_mapping) == (
        ("heritage-site",),
        ("CulturalSite",),
    )


# France Travail ------------------------------------------------------------------------------------------------------


def test_france_travail_offer_fields():
    nurse = records(read(FRANCE_TRAVAIL, "france_travail.json"))["186XKLM"]
    assert nurse.title == "Aide-soignant / Aide-soignante de nuit (H/F)"
    assert nurse.description.startswith("Le centre hospitalier de Guéret recrute")
    assert "Contrat : Contrat à durée indéterminée" in nurse.description
    assert (
        "Salaire : Mensuel de 2050.00 Euros sur 12 mois · Prime de nuit · Restauration collective" in nurse.description
    )
    assert "Employeur : CENTRE HOSPITALIER DE GUERET – Établissement public de santé" in nurse.description
    assert nurse.domain == "jobs" and nurse.themes == () and nurse.audiences == ()
    assert nurse.categories == ("J1501", "J15", "J", "contrat:CDI")
    assert categories_themes(nurse.categories, FRANCE_TRAVAIL.default_theme_mapping)[0] == ("salaried-job",)
    assert (nurse.commune_code, nurse.postal_code, nurse.commune_name) == ("23096", "23000", "GUERET")
    assert (nurse.latitude, nurse.longitude) == (46.171189, 1.871629)
    assert not nurse.remote and nurse.service_area == ()
    assert (nurse.available_from, nurse.available_until) == (date(2026, 11, 20), None)
    assert nurse.capacity == 2 and nurse.is_free is None and nurse.price_amount is None
    assert nurse.url == "https://candidat.francetravail.fr/offres/recherche/detail/186XKLM"
    assert nurse.contact.startswith("CENTRE HOSPITALIER DE GUERET - Mme Lefort · recrutement@ch-gueret.example")
    assert nurse.extra["updated_at"] == "2026-11-28T16:02:11.000Z" and nurse.extra["hard_to_fill"] is True


def test_france_travail_awkward_offers():
    results = read(FRANCE_TRAVAIL, "france_travail.json")
    found = records(results)
    apprentice = found["186XKLN"]  # no coordinates: the commune code and postal code place it
    assert (apprentice.commune_code, apprentice.latitude, apprentice.longitude) == ("23176", None, None)
    assert apprentice.audiences == ("students",) and "alternance" in apprentice.categories
    assert categories_themes(apprentice.categories, FRANCE_TRAVAIL.default_theme_mapping)[0] == (
        "salaried-job",
        "training",
    )
    home_help = found["186XKLP"]  # "23 - Creuse": the whole département, not a commune
    assert home_help.service_area == ("departement:23",) and home_help.commune_code is None
    assert home_help.commune_name is None and home_help.capacity == 5
    farm = found["186XKLQ"]  # a commune that has since merged: passed as given, the sync resolves its successor
    assert (farm.commune_code, farm.postal_code) == ("23023", "23140")
    assert "Salaire" not in farm.description and "salary" not in farm.extra  # an offer without salary
    assert found["186XKLR"].remote and found["186XKLR"].extra["telework"] == "full"
    assert found["186XKLS"].commune_name == "BOURGANEUF (23)" and found["186XKLS"].commune_code is None
    assert found["186XKLV"].service_area == ("region:75",)
    takeover = categories_themes(found["186XKLU"].categories, FRANCE_TRAVAIL.default_theme_mapping)[0]
    assert takeover == ("salaried-job", "business-takeover")
    assert skips(results) == [
        (7, None, "no_identifier"),
        (8, "186XKLT", "outside_france"),
        (11, "186XKLW", "outside_france"),
    ]
    assert len(results) == 11  # one result per record, in file order: a skip's position is its rank


def test_france_travail_bare_list_and_empty_answer():
    assert list(records(read(FRANCE_TRAVAIL, "france_travail_list.json"))) == ["186XKLM", "186XKLN"]
    assert list(FRANCE_TRAVAIL.read(b'{"resultats": []}', today=TODAY)) == []


# DATAtourisme --------------------------------------------------------------------------------------------------------


def test_datatourisme_place_fields():
    gite = records(read(DATATOURISME, "datatourisme.json"))[
        "https://data.datatourisme.fr/23/0b1f3c2e-7a4d-3b8e-9c1a-2f6e8d4a1b01"
    ]
    assert gite.title == "Gîte du Moulin de la Folie"
    assert gite.description.startswith("Ancien moulin restauré au bord de la Creuse, trois chambres, jardin clos.\n\n")
    assert "Linge fourni, chauffage inclus." in gite.description
    assert gite.categories == (
        "schema:LodgingBusiness",
        "Accommodation",
        "PlaceOfInterest",
        "PointOfInterest",
        "RentalAccommodation",
        "SelfCateringAccommodation",
    )
    assert categories_themes(gite.categories, DATATOURISME.default_theme_mapping)[0] == ("accommodation",)
    assert gite.domain is None  # the classes decide, through the mapping
    assert (gite.commune_code, gite.postal_code, gite.commune_name) == ("23070", "23160", "Crozant")
    assert (gite.latitude, gite.longitude) == (46.389012, 1.618301)  # strings in the export
    assert (gite.is_free, gite.price_amount, gite.price_details) == (
        False,
        Decimal("450.00"),
        "De 450,00 € à 690,00 €",
    )
    assert gite.url == "https://gite-moulin-folie.example"
    assert gite.contact == "gite.moulin@example.org · 05 55 89 00 00"
    assert (gite.available_from, gite.available_until) == (None, None)
    assert gite.extra["identifier"] == "HLOLIM023V50ABCD" and gite.extra["updated_at"] == "2026-10-02"
    assert gite.extra["themes"] == ["Nature"] and gite.extra["producer"] == "Creuse Tourisme"


def test_datatourisme_awkward_objects():
    results = read(DATATOURISME, "datatourisme.json")
    found = records(results)
    by_title = {record.title: record for record in found.values()}
    museum = by_title["Cité internationale de la tapisserie"]
    assert museum.price_details == "8,00 € (gratuit pour certains publics)" and museum.price_amount == Decimal("8.00")
    assert categories_themes(museum.categories, DATATOURISME.default_theme_mapping)[0] == ("heritage-site",)
    cinema = by_title["Cinéma Le Sénéchal"]
    assert categories_themes(cinema.categories, DATATOURISME.default_theme_mapping)[0] == ("cultural-venue",)
    assert cinema.is_free is None  # no price given: unknown, not free
    festival = by_title["Festival Coquelicontes"]  # three periods: one offer from the first to the last day
    assert (festival.available_from, festival.available_until) == (date(2027, 5, 12), date(2027, 5, 27))
    assert festival.is_free is True and festival.extra["periods"] == 3
    lake = by_title["Lac de Vassivière – plage d'Auphelle"]  # no coordinates: the commune's INSEE code only
    assert (lake.commune_code, lake.latitude, lake.postal_code) == ("23165", None, None)
    assert lake.description.startswith("Plage surveillée")  # rdfs:comment when there is no description block
    assert by_title["Église de Blaudeix"].commune_code == "23023"  # a merged commune, passed as given
    assert by_title["Auberge sans URI"].external_id == "SANSID01"  # dc:identifier when there is no @id
    unmapped = by_title["Site culturel sans autre précision"]  # kept: the sync reports the unmapped class
    assert categories_themes(unmapped.categories, DATATOURISME.default_theme_mapping) == (
        (),
        ("CulturalSite", "PlaceOfInterest", "PointOfInterest"),
    )
    assert skips(results) == [
        (5, "https://data.datatourisme.fr/23/4f5a6b7c-8d9e-3f0a-1b2c-3d4e5f6a7b05", "event_over"),
        (9, None, "no_identifier"),
        (10, "https://data.datatourisme.fr/23/7c8d9e0f-1a2b-3c3d-4e5f-6a7b8c9d0e08", "outside_france"),
    ]
    over = next(result for result in results if isinstance(result, RecordSkip) and result.code == "event_over")
    assert "2025-12-14" in over.message
    # The same event read before its end is kept.
    assert "Marché de Noël de Bourganeuf 2025" in {
        record.title for record in records(read(DATATOURISME, "datatourisme.json", today=date(2025, 12, 14))).values()
    }


def test_datatourisme_one_object_a_list_and_unprefixed_keys():
    single = read(DATATOURISME, "datatourisme_single.json")
    assert [record.title for record in single] == ["Cité internationale de la tapisserie"]
    assert len(records(read(DATATOURISME, "datatourisme_list.json"))) == 3
    api_style = {
        "@id": "https://data.datatourisme.fr/23/api-style",
        "@type": ["https://www.datatourisme.fr/ontology/core#Theater", "http://schema.org/PerformingArtsTheater"],
        "label": {"fr": ["Théâtre Jean Lurçat"]},
        "isLocatedAt": [{"address": [{"postalCode": "23200", "hasAddressCity": {"insee": 23008}}]}],
        "hasContact": [{"homepage": "https://theatre.example", "email": ["billetterie@theatre.example"]}],
    }
    [record] = DATATOURISME.read(json.dumps(api_style).encode(), today=TODAY)
    assert record.categories == ("Theater", "schema:PerformingArtsTheater")
    assert (record.commune_code, record.postal_code, record.url) == ("23008", "23200", "https://theatre.example")
    assert record.contact == "billetterie@theatre.example"


# OpenAgenda ----------------------------------------------------------------------------------------------------------


def test_openagenda_event_fields():
    concert = records(read(OPENAGENDA, "openagenda.json"))["48213771"]
    assert concert.title == "Concert de l'Orchestre de chambre Nouvelle-Aquitaine"
    assert concert.description.startswith("Mozart et Haydn par l'orchestre en résidence.\n\nProgramme : symphonie")
    assert concert.description.endswith("Tarif plein 15 €, réduit 8 €, gratuit pour les moins de 12 ans")
    assert concert.categories == ("concert", "musique classique")
    assert categories_themes(concert.categories, OPENAGENDA.default_theme_mapping) == (
        ("cultural-event",),
        ("musique classique",),
    )
    assert (concert.commune_code, concert.postal_code, concert.commune_name) == ("23096", "23000", "Guéret")
    assert (concert.latitude, concert.longitude) == (46.169392, 1.869712)
    assert (concert.available_from, concert.available_until) == (date(2027, 2, 6), date(2027, 2, 6))
    assert (concert.is_free, concert.price_amount) == (False, Decimal("8.00"))
    assert concert.price_details == "Tarif plein 15 €, réduit 8 €, gratuit pour les moins de 12 ans"
    assert concert.url == "https://openagenda.com/creuse/events/concert-orchestre-limousin-gueret"
    assert concert.contact == "05 55 52 00 00" and not concert.remote and concert.capacity is None
    assert concert.extra["location_name"] == "Espace André Lejeune"


def test_openagenda_awkward_events():
    results = read(OPENAGENDA, "openagenda.json")
    found = records(results)
    exhibition = found["48213772"]  # three timings: open from the first to the last
    assert (exhibition.available_from, exhibition.available_until) == (date(2027, 3, 1), date(2027, 6, 30))
    assert exhibition.is_free is True and exhibition.price_details == ""
    assert categories_themes(exhibition.categories, OPENAGENDA.default_theme_mapping) == (
        ("cultural-event", "heritage-site"),
        ("famille",),
    )
    webinar = found["48213773"]  # online, no location: remote, the whole of France
    assert webinar.remote and webinar.service_area == ("FR",) and webinar.commune_code is None
    assert webinar.url == "https://visio.example/installation-creuse"
    workshop = found["48213774"]  # mixed attendance and full
    assert workshop.remote and workshop.commune_code == "23079" and workshop.capacity == 0
    assert workshop.price_amount == Decimal("5.00")
    stars = found["48213778"]  # 22:30 UTC on 7 August is 8 August in Paris; no INSEE code nor coordinates
    assert (stars.available_from, stars.commune_code, stars.postal_code) == (date(2027, 8, 8), None, "23460")
    assert stars.commune_name == "Royère-de-Vassivière" and stars.is_free is None
    assert skips(results) == [
        (5, "48213775", "event_cancelled"),
        (6, "48213776", "event_over"),
        (7, None, "no_identifier"),
        (8, "48213777", "outside_france"),
    ]


# data·inclusion ------------------------------------------------------------------------------------------------------


def test_data_inclusion_service_fields():
    atelier = records(read(DATA_INCLUSION, "data_inclusion.json"))["dora--creuse-atelier-cv"]
    assert atelier.title == "Atelier CV et lettre de motivation"
    assert atelier.description.startswith("Atelier collectif chaque mardi matin")
    assert atelier.categories == (
        "preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation",
        "trouver-un-emploi--convaincre-un-recruteur-en-entretien",
    )
    assert categories_themes(atelier.categories, DATA_INCLUSION.default_theme_mapping)[0] == ("salaried-job",)
    assert atelier.domain is None and atelier.audiences == ("jobseekers", "young-workers")
    assert (atelier.commune_code, atelier.postal_code, atelier.commune_name) == ("23096", "23000", "Guéret")
    assert (atelier.latitude, atelier.longitude) == (46.16912, 1.87133)
    assert atelier.service_area == ("200034825",) and not atelier.remote
    assert atelier.is_free is True and atelier.price_details == ""
    assert atelier.url == "https://dora.inclusion.beta.gouv.fr/services/creuse-atelier-cv"
    assert atelier.contact == "05 55 41 00 00 · atelier@pie-gueret.example"
    assert atelier.extra["updated_at"] == "2026-10-01" and atelier.extra["producer"] == "dora"


def test_data_inclusion_remote_national_services_and_nulls():
    results = read(DATA_INCLUSION, "data_inclusion.json")
    found = records(results)
    psy = found["msp--teleconsultation-psy"]  # only at a distance, for all France: no commune, area FR
    assert psy.remote and psy.service_area == ("FR",)
    assert (psy.commune_code, psy.postal_code, psy.latitude) == (None, None, None)
    assert psy.extra["address"].endswith("75007, Paris")  # the structure's office, kept for provenance only
    assert psy.audiences == () and psy.is_free is False and psy.price_details == "Séances remboursées à 60 %"
    assert psy.url == "https://monsoutienpsy.example/rendez-vous"
    mobility = found["cd23--aide-mobilite"]  # at a distance and in person: remote, and keeps its place
    assert mobility.remote and mobility.commune_code == "23096" and mobility.service_area == ("departement:23",)
    assert mobility.is_free is None  # frais not given: unknown
    grocery = found["dora--ccas-aubusson"]  # a search result {"service": ..., "distance": ...}
    assert grocery.commune_code == "23008" and grocery.is_free is False and grocery.audiences == ("families",)
    legacy = found["agefiph--conseil"]  # older schema: split description, "|" list, zone_diffusion_*
    assert legacy.description == (
        "Conseil aux personnes handicapées en recherche d'emploi.\n\nEntretien individuel, aides financières, "
        "aménagement de poste."
    )
    assert len(legacy.categories) == 2 and legacy.service_area == ("region:75",)
    assert legacy.url == "https://agefiph.example/conseil" and legacy.audiences == ("vulnerable-people",)
    assert skips(results) == [
        (5, None, "no_identifier"),
        (6, "dora--sans-nom", "no_title"),
        (7, "dora--sans-lieu", "no_place"),
        (9, "dora--hors-france", "outside_france"),
        (10, None, "not_an_object"),
    ]
    assert all(result.message for result in results if isinstance(result, RecordSkip))


def test_data_inclusion_audience_mapping_can_be_the_analysts():
    page = json.dumps({"items": [{"id": "x-1", "nom": "Service", "publics": ["jeunes"], "code_insee": "23096"}]})
    custom = type(DATA_INCLUSION)(audience_mapping={"jeunes": ("students",)})
    assert next(iter(custom.read(page.encode(), today=TODAY))).audiences == ("students",)
    assert next(iter(DATA_INCLUSION.read(page.encode(), today=TODAY))).audiences == ("young-workers",)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=12,
    ),
    st.sampled_from(
        ["id", "uid", "@id", "nom", "intitule", "title", "lieuTravail", "location", "timings", "zone_eligibilite"]
    ),
)
def test_no_record_makes_a_reader_raise(value, key):
    """Any JSON where a record should be (nulls, numbers, nested junk) gives a record or a skip, never an error."""
    for source_format, wrapper in (
        (FRANCE_TRAVAIL, lambda items: {"resultats": items}),
        (DATATOURISME, lambda items: {"@graph": items}),
        (OPENAGENDA, lambda items: {"events": items}),
        (DATA_INCLUSION, lambda items: {"items": items}),
    ):
        items = [value, {key: value}, {"id": "a", "uid": 1, "@id": "b", key: value, "nom": value, "title": value}]
        content = json.dumps(wrapper(items)).encode()
        results = list(source_format.read(content, today=TODAY))
        assert len(results) == 3 and all(isinstance(result, SourceRecord | RecordSkip) for result in results)
        assert [result.position for result in results if isinstance(result, RecordSkip)] == [
            position for position, result in enumerate(results, start=1) if isinstance(result, RecordSkip)
        ]


# Files that cannot be read ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "other_file", "other_label"),
    [
        ("france_travail", "datatourisme.json", "DATAtourisme"),
        ("datatourisme", "openagenda.json", "OpenAgenda"),
        ("openagenda", "data_inclusion.json", "data·inclusion"),
        ("data_inclusion", "france_travail.json", "France Travail"),
        ("france_travail", "openagenda.json", "OpenAgenda"),
    ],
)
def test_another_formats_file_is_refused_naming_it(code, other_file, other_label):
    with pytest.raises(FormatError) as raised:
        read(SOURCE_FORMATS[code], other_file)
    assert SOURCE_FORMATS[code].label in raised.value.message and other_label in raised.value.message


@pytest.mark.parametrize("code", sorted(SOURCE_FORMATS))
def test_unreadable_files_are_refused_with_the_reason(code):
    source_format = SOURCE_FORMATS[code]
    truncated = (FILES / "france_travail_truncated.json").read_bytes()
    cases = {
        truncated: "truncated",
        (FILES / "error_page.html").read_bytes(): "HTML",
        (FILES / "not_json.csv").read_bytes(): "not valid JSON: Expecting value at line 1, column 1",
        b"   \n": "empty",
        '{"items": ["caf\u00e9"]}'.encode("latin-1"): "not UTF-8",
        b'{"events": [NaN]}': "not valid JSON",
        b'{"unrelated": true}': "not in the",
        b"42": "not in the",
    }
    for content, expected in cases.items():
        with pytest.raises(FormatError) as raised:
            list(source_format.read(content, today=TODAY))
        assert expected in raised.value.message, (content[:30], raised.value.message)
    with pytest.raises(FormatError) as raised:
        list(source_format.read(truncated, today=TODAY))
    lines = truncated.decode().rstrip().count("\n") + 1
    assert f"line {lines}," in raised.value.message  # where the file stops


@pytest.mark.i18n
def test_messages_are_translated():
    with translation.override("fr"):
        with pytest.raises(FormatError) as raised:
            read(OPENAGENDA, "error_page.html")
        assert "page HTML" in raised.value.message
        skipped = [result for result in read(OPENAGENDA, "openagenda.json") if isinstance(result, RecordSkip)]
        assert skipped[0].message == "L'événement est annulé."
    with translation.override("en"):
        assert read(OPENAGENDA, "openagenda.json")[4].message == "The event is cancelled."


# The demo's files and the benchmark's generator ------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(SOURCE_FORMATS))
def test_demo_files_are_all_usable_and_mapped(code):
    source_format = SOURCE_FORMATS[code]
    results = read(source_format, f"{code}.json", folder=DEMO)
    assert 5 <= len(results) == len(records(results))
    for record in results:
        themes, _unmapped = categories_themes(record.categories, source_format.default_theme_mapping)
        assert themes, record.external_id
        assert record.commune_code is None or record.commune_code.startswith("23")
        assert record.commune_code or record.service_area


def test_france_travail_sample_is_deterministic_and_realistic():
    sample = france_travail_sample(400)
    assert sample == france_travail_sample(400)
    results = list(FRANCE_TRAVAIL.read(sample, today=TODAY))
    usable = records(results)
    assert len(results) == 400 and len(usable) >= 390
    assert {record.commune_code[:2] for record in usable.values() if record.commune_code} == {"23"}
    assert any(record.service_area == ("departement:23",) for record in usable.values())
    assert any(record.commune_code and record.latitude is None for record in usable.values())
    before = {offer.get("id"): offer for offer in france_travail_offers(300)}
    after = {offer.get("id"): offer for offer in france_travail_offers(300, first_id=50, revision=1)}
    assert len(set(before) - set(after)) >= 49 and len(set(after) - set(before)) >= 49
    changed = [key for key in set(before) & set(after) if before[key] != after[key]]
    assert changed and all(int(key[2:]) % 10 == 0 for key in changed)


def test_dates_shift_moves_dates_and_date_times_and_nothing_else():
    content = b'{"d": "2026-12-02", "t": "2027-02-28T20:30:00+01:00", "id": "x2026-12-02", "n": "2026-13-45"}'
    moved = dates_shift(content, written_on=date(2026, 12, 2), today=date(2027, 1, 1))
    assert moved == b'{"d": "2027-01-01", "t": "2027-03-30T20:30:00+01:00", "id": "x2026-12-02", "n": "2026-13-45"}'
    assert dates_shift(content, written_on=date(2026, 12, 2), today=date(2026, 12, 2)) == content

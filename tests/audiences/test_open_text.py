"""audiences/open_text.py without a database: masking of personal data, splitting and classifying answers, groups,
fingerprints and the importance rule."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiences.open_text import (
    EMAIL_MARKER,
    NAME_MARKER,
    PHONE_MARKER,
    URL_MARKER,
    OpenAnswerRow,
    ThemeScore,
    answer_segments,
    answers_classify,
    answers_group,
    group_fingerprint,
    importance_from_share,
    personal_data_mask,
    question_totals,
    theme_classifier_fit,
    theme_document,
)
from tests.audiences.open_answers_labelled import LABELLED_ANSWERS

TAXONOMY = Path(__file__).resolve().parents[2] / "offers" / "data" / "taxonomy.json"


@pytest.fixture(scope="module")
def taxonomy():
    """(codes, classifier) of the real taxonomy, read from its file as the loader reads it."""
    data = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    themes = [theme for domain in data["domains"] for theme in domain["themes"]]
    codes = [theme["code"] for theme in themes]
    return codes, theme_classifier_fit([theme_document(theme["label"], theme["keywords"]) for theme in themes])


def test_module_imports_without_django():
    code = "import sys, audiences.open_text; sys.exit(1 if 'django' in sys.modules else 0)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


# Masking ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "0612345678",
        "06-12-34-56-78",
        "01-23-45-67-89",
        "05 55 52 14 00",
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "+33(0)612345678",
        "0033 6 12 34 56 78",
        "(05) 55 52 14 00",
        "07 61.23-45 67",
    ],
)
def test_french_phone_numbers_are_masked(number):
    masked = personal_data_mask(f"Rappelez-moi au {number} svp")
    assert masked == f"Rappelez-moi au {PHONE_MARKER} svp"


@pytest.mark.parametrize(
    "text",
    [
        "Arrivés en 2024, on cherche depuis 2023",
        "à Guéret (23000), ou au 23200",
        "un loyer de 1200 € ou 1 200 €, 650€ max",
        "la crèche ferme à 18h30, ouverte de 7:30 à 18:00",
        "le 12/03/2025 ou le 01.02.2023",
        "entre 0 et 3 ans, 45 min de route, 2 bus par jour",
        "SIRET 12345678901234",
        "10 000 habitants",
        "0 6 1 2",
    ],
)
def test_years_postal_codes_prices_times_and_dates_stay(text):
    assert personal_data_mask(text) == text


@pytest.mark.parametrize(
    "address",
    ["jean.dupont@gmail.com", "Marie_Durand+enquete@orange.fr", "contact@mairie-gueret.fr", "moi (at) free.fr"],
)
def test_email_addresses_are_masked(address):
    assert personal_data_mask(f"écrivez à {address}, merci") == f"écrivez à {EMAIL_MARKER}, merci"


@pytest.mark.parametrize(
    "url",
    ["https://www.gueret.fr/creche", "http://exemple.org/a?b=c", "www.leboncoin.fr/annonces"],
)
def test_obvious_links_are_masked_without_their_closing_punctuation(url):
    assert personal_data_mask(f"voir {url}.") == f"voir {URL_MARKER}."


def test_names_after_a_civility_are_masked_keeping_the_civility():
    assert personal_data_mask("Mme Durand et M. Jean Martin") == f"Mme {NAME_MARKER} et M. {NAME_MARKER}"
    # Without a capitalised name after it, nothing is a name: "madame la maire", "un docteur".
    assert personal_data_mask("madame la maire et un docteur") == "madame la maire et un docteur"


def test_everything_in_one_answer_and_the_removal_the_classifier_reads():
    text = "Crèche ! Mme Durand, 06 12 34 56 78, durand@free.fr, https://x.fr"
    assert personal_data_mask(text) == (f"Crèche ! Mme {NAME_MARKER}, {PHONE_MARKER}, {EMAIL_MARKER}, {URL_MARKER}")
    assert personal_data_mask(text, markers=False) == "Crèche ! Mme , , ,"
    assert personal_data_mask("") == ""


# Splitting and classifying -----------------------------------------------------------------------------------------


def test_answers_are_split_where_they_list_several_things():
    assert answer_segments("une crèche et un médecin") == ["une crèche", "un médecin"]
    assert answer_segments("Medecin, creche / fibre + bus") == ["Medecin", "creche", "fibre", "bus"]
    assert answer_segments("Une épicerie") == ["Une épicerie"]
    assert answer_segments("!!") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Une crèche !!", "childcare"),
        ("pas de place en creche pour mon fils", "childcare"),
        ("une nounou", "childcare"),
        ("Un médecin traitant", "health-care"),
        ("medecin generaliste !!!", "health-care"),
        ("La fibre et internet haut debit", "digital"),
        ("Des logements à louer", "rent"),
        ("logement social pour ma fille", "social-housing"),
        ("des bus !!", "mobility"),
        ("le train pour aller a Limoges", "mobility"),
    ],
)
def test_everyday_answers_land_in_their_theme(taxonomy, text, expected):
    codes, classifier = taxonomy
    (found,) = answers_classify(classifier, [text])
    assert [codes[score.theme] for score in found][:1] == [expected]


def test_an_answer_naming_two_needs_gets_both_and_never_more_than_two(taxonomy):
    codes, classifier = taxonomy
    two, many = answers_classify(classifier, ["une crèche et un médecin", "crèche, médecin, fibre, bus, piscine"])
    assert {codes[score.theme] for score in two} == {"childcare", "health-care"}
    assert len(many) == 2
    assert many[0].score >= many[1].score


def test_off_topic_answers_and_bare_personal_data_stay_unclassified(taxonomy):
    _, classifier = taxonomy
    texts = ["Rien, tout va bien", "Je ne sais pas", "nsp", "06 12 34 56 78", "jean.dupont@gmail.com", "   "]
    assert answers_classify(classifier, texts) == [[]] * len(texts)


def test_a_phone_number_does_not_change_the_theme_or_its_score(taxonomy):
    _, classifier = taxonomy
    plain, with_phone = answers_classify(classifier, ["une crèche", "une crèche 06 12 34 56 78"])
    assert plain == with_phone


def test_no_theme_and_no_answer(taxonomy):
    _, classifier = taxonomy
    assert answers_classify(classifier, []) == []
    assert answers_classify(theme_classifier_fit([]), ["une crèche"]) == [[]]


def test_share_of_the_labelled_answers_grouped_correctly(taxonomy):
    """The floor: 80% of the labelled answers get as best theme one an analyst gave them (or none when off-topic).

    Measured at 55 / 62 (0.887) when the threshold was chosen; 0.80 leaves room for a change of the taxonomy's
    keywords or of the matching's text model moving a few answers, while a broken grouping (a threshold too high
    or too low, a model not fitted on the themes) falls far below it (every answer unclassified: 6 / 62).
    """
    codes, classifier = taxonomy
    found = answers_classify(classifier, [text for text, _ in LABELLED_ANSWERS])
    best_right = exact = 0
    for (_, expected), themes in zip(LABELLED_ANSWERS, found, strict=True):
        got = [codes[score.theme] for score in themes]
        best_right += (got[0] in expected) if got else not expected
        exact += set(got) == set(expected)
    assert len(LABELLED_ANSWERS) >= 60
    assert best_right / len(LABELLED_ANSWERS) >= 0.80
    # Every theme found, and none more than the analyst gave, for 2 answers in 3 (measured 0.758).
    assert exact / len(LABELLED_ANSWERS) >= 0.66


# Groups, totals, fingerprints, importance --------------------------------------------------------------------------


def _row(id, question="manque", respondent="r", text="x", audience="families", weight=1.0):
    return OpenAnswerRow(id, question, respondent or f"r{id}", text, audience, weight)


def test_groups_count_weights_audiences_and_put_unclassified_answers_in_their_own_group():
    rows = [
        _row(1, respondent="r1", text="crèche", weight=2.0),
        _row(2, respondent="r2", text="crèche et médecin", audience="retirees"),
        _row(3, respondent="r3", text="rien"),
        _row(4, question="autre", respondent="r1", text="médecin"),
    ]
    found = [[ThemeScore(0, 0.3)], [ThemeScore(0, 0.2), ThemeScore(1, 0.18)], [], [ThemeScore(1, 0.4)]]
    groups = answers_group(rows, found, by_audience=False)
    assert set(groups) == {("manque", 0, None), ("manque", 1, None), ("manque", None, None), ("autre", 1, None)}
    childcare = groups[("manque", 0, None)]
    assert (childcare.count, childcare.weighted_count) == (2, 3.0)
    assert childcare.audiences == {"families": (1, 2.0), "retirees": (1, 1.0)}
    assert groups[("manque", None, None)].answer_ids == [3]
    by_audience = answers_group(rows, found, by_audience=True)
    assert ("manque", 0, "retirees") in by_audience and ("manque", 0, "families") in by_audience
    totals = question_totals(rows, by_audience=True)
    assert totals[("manque", None)] == 4.0 and totals[("manque", "families")] == 3.0
    assert totals[("autre", "families")] == 1.0


def test_quotes_are_masked_deduplicated_and_most_representative_first():
    rows = [
        _row(1, respondent="r1", text="une creche"),
        _row(2, respondent="r2", text="Une crèche !"),  # the same words: shown once
        _row(3, respondent="r3", text="crèche, appelez le 06 12 34 56 78"),
        _row(4, respondent="r4", text="place en creche"),
    ]
    found = [[ThemeScore(0, 0.3)], [ThemeScore(0, 0.3)], [ThemeScore(0, 0.5)], [ThemeScore(0, 0.1)]]
    quotes = answers_group(rows, found, by_audience=False)[("manque", 0, None)].quotes(limit=3)
    assert [quote.text for quote in quotes] == [f"crèche, appelez le {PHONE_MARKER}", "une creche", "place en creche"]
    assert [quote.score for quote in quotes] == [0.5, 0.3, 0.1]


def test_fingerprint_follows_the_answers_not_their_order_or_ids():
    first = [_row(1, respondent="r1", text="crèche"), _row(2, respondent="r2", text="nounou")]
    reloaded = [_row(8, respondent="r2", text="nounou"), _row(9, respondent="r1", text="crèche")]
    assert group_fingerprint(first) == group_fingerprint(reloaded)
    assert group_fingerprint(first) != group_fingerprint([*first, _row(3, respondent="r3", text="crèche")])
    assert group_fingerprint(first) != group_fingerprint([first[0], _row(2, respondent="r2", text="nounou!")])
    assert group_fingerprint(first) != group_fingerprint([first[0], _row(2, respondent="r2", weight=2.0)])


@pytest.mark.parametrize(
    ("share", "importance"),
    [(0.0, 0.4), (0.049, 0.4), (0.05, 0.6), (0.099, 0.6), (0.10, 0.75), (0.2, 0.9), (1.0, 0.9)],
)
def test_importance_steps_on_the_share_of_respondents(share, importance):
    assert importance_from_share(share) == importance


@pytest.mark.parametrize("share", [-0.1, float("nan"), float("inf")])
def test_importance_refuses_a_share_that_is_not_one(share):
    with pytest.raises(ValueError):
        importance_from_share(share)


# Masking, drawn -------------------------------------------------------------------------------------------------

_pair = st.integers(0, 99).map(lambda n: f"{n:02}")
_separator = st.sampled_from(["", " ", ".", "-"])


@given(
    prefix=st.sampled_from(["0", "+33 ", "+33", "+33 (0)", "0033 "]),
    first=st.integers(1, 9),
    pairs=st.lists(_pair, min_size=4, max_size=4),
    separator=_separator,
    before=st.sampled_from(["", "tel ", "au ", "("]),
    after=st.sampled_from(["", " merci", ", Mme", ")"]),
)
def test_any_writing_of_a_french_number_is_masked(prefix, first, pairs, separator, before, after):
    number = f"{prefix}{first}" + "".join(separator + pair for pair in pairs)
    masked = personal_data_mask(f"{before}{number}{after}")
    assert PHONE_MARKER in masked
    assert not any(character.isdigit() for character in masked)


@given(
    year=st.integers(1900, 2100),
    postal=st.integers(1000, 98999).map(lambda n: f"{n:05}"),
    price=st.integers(1, 99999),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_years_postal_codes_prices_and_times_are_never_masked(year, postal, price, hour, minute):
    text = f"depuis {year}, à {postal}, {price} €, {price:,} €, à {hour}h{minute:02} ou {hour:02}:{minute:02}"
    assert personal_data_mask(text) == text

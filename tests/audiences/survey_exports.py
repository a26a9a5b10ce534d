"""Realistic survey exports for the tests, the benchmark and the demo: one seeded synthetic population of Creuse
respondents written as the survey tools territories use write it, each file with its wide-file mapping and the same
answers in Ancrage's long format.

Standard library and openpyxl only (no Django), so `bench/` and the demo's generator import it too.

What each writer follows, and where it was read (public sources, read in December 2026):

LimeSurvey (the public sector's usual tool), export of responses, `application/helpers/admin/export/` of
github.com/LimeSurvey/LimeSurvey:
  - `Writer.php::write`: one row per response; the heading option is `code` (question code, sub-questions as
    `CODE[SQCODE]`, `getHeadingCode` with separators `[` `]`), `full` (question text, then ` [sub-question text]`)
    or `codetext` (code + `headCodeTextSeparator` + text; the export form's default separator is ". ",
    `application/views/admin/export/exportresult_panels/_headings.php`); the answer option is `short` (answer
    codes, A1, A2... as the question editor numbers them) or `long` (the answer texts, `getFullAnswer`).
  - `application/helpers/common_helper.php::createFieldMap`: the standard columns come first, in this order: `id`,
    `submitdate`, `lastpage`, `startlanguage`, `seed`, then `startdate` and `datestamp` when the survey is
    date-stamped.
  - `CsvWriter.php`: a UTF-8 byte-order mark, every value in double quotes (quotes doubled, line breaks inside a
    value normalised to "\\n"), a NULL (a question never shown) as an empty unquoted field, records ended by
    "\\r\\n", and one more "\\r\\n" when the file is closed; the separator is the export form's choice (comma,
    semicolon or tab; the writer's own default is ";", which is what is written here).
  - `ExcelWriter.php` (XLSXWriter in current versions; older ones wrote .xls): one sheet named after the survey
    title (the characters * : / \\ ? [ ] removed, cut at 31 characters), the header row first, then one row per
    response; XLSXWriter writes a numeric-looking string as a number (ids, postal codes, seeds), the rest as text.
Google Forms, "Download responses (.csv)" of the Responses tab: the first column is the timestamp ("Horodateur" on
  a French form, "Timestamp" on an English one) written `2026/03/15 10:23:45 AM UTC+1`, then one column per
  question headed by the full question text; a (multiple-choice or checkbox) grid gives one column per row headed
  `Question [Row]` (github.com/lesmana/google-sheet-format-form-grid-responses, DEMONSTRATION.md); a checkbox
  question's answers are joined with ", " in one cell; a linear scale is its number; every field is quoted (as in
  the French export quoted by a test of a public parser: `"Horodateur","Note",...` with `"2026/07/29 9:00:00 AM
  UTC+3"`), comma-separated, no byte-order mark; a question left unanswered is empty.
A market-research firm's XLSX (as survey firms deliver SPSS data saved to Excel): a data sheet first, one row per
  respondent headed by short variable names (RESPID, POIDS, Q1_1...), answers as numeric codes (9 = "Ne sait
  pas" on 1-4 scales, an empty cell for a question not asked), a POIDS column of calibration weights with many
  decimals (mean 1), and a second sheet, the codebook, giving each variable's label and each code's meaning.
  No single public source: this is the usual layout of such deliveries, described in the firm's codebook.

Not confirmed from a source, and chosen here: the French interface's names of LimeSurvey's standard columns in
`codetext` headings (LIMESURVEY_STANDARD_TEXTS, from the English strings of `createFieldMap`); Google's record
separator (CRLF written here; readers take both) and its joining of checkbox answers with ", " (what the responses
spreadsheet shows); the answer code "NSP" of LimeSurvey's "Ne sait pas" option and the firm's codes (each survey
defines its own: the mappings say them).

The answers are drawn once per population (profile, commune, weight, latent opinions) and only then written, so
every format of a population holds the same points: the equivalence tests compare each wide file with the
population's long file (`long_csv`), and the weighted figures with values computed from `Population` directly.
"""

import csv
import datetime
import io
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

# A sentinel answer: the respondent ticked "Ne sait pas" (no answer, but not a blank cell either).
DONT_KNOW = "NSP"


@dataclass(frozen=True)
class Item:
    """One question of the questionnaire as Ancrage's survey item, and how the tools word it."""

    code: str
    domain: str
    themes: tuple[str, ...]
    statement: str
    label: str  # the sub-question (grid row) text respondents read
    measures_satisfaction: bool = True

    def definition(self) -> dict:
        """The item as the survey API and survey definitions take it."""
        return {
            "code": self.code,
            "domain": self.domain,
            "themes": list(self.themes),
            "statement": self.statement,
            "measures": "both" if self.measures_satisfaction else "importance",
        }


ITEMS: tuple[Item, ...] = (
    Item(
        "creche",
        "daily-life",
        ("childcare",),
        "Trouver une place en crèche ou chez une assistante maternelle près de chez moi",
        "Trouver une place en crèche ou chez une assistante maternelle",
    ),
    Item(
        "medecin",
        "daily-life",
        ("health-care",),
        "Accéder à un médecin généraliste en moins de 30 minutes",
        "Accéder à un médecin généraliste en moins de 30 minutes",
    ),
    Item(
        "internet",
        "daily-life",
        ("digital",),
        "Disposer d'une connexion internet fiable pour télétravailler",
        "Disposer d'une connexion internet fiable",
    ),
    Item(
        "logement",
        "housing",
        ("rent",),
        "Trouver un logement à louer adapté à ma situation",
        "Trouver un logement à louer adapté",
    ),
    Item(
        "emploi",
        "jobs",
        ("salaried-job",),
        "Trouver un emploi salarié dans mon domaine",
        "Trouver un emploi dans mon domaine",
        measures_satisfaction=False,
    ),
    Item(
        "sorties",
        "culture",
        ("cultural-event",),
        "Sortir près de chez moi : concerts, cinéma, festivals",
        "Sortir : concerts, cinéma, festivals",
    ),
)


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    postal_code: str  # the commune's La Poste code (pinned one code per commune by the tests: see POSTAL_CODES)
    share: float


# Communes where respondents live or stay, across nine EPCIs of the Creuse.
COMMUNES: tuple[Commune, ...] = (
    Commune("23096", "Guéret", "23000", 18),
    Commune("23008", "Aubusson", "23200", 9),
    Commune("23176", "La Souterraine", "23300", 9),
    Commune("23030", "Bourganeuf", "23400", 6),
    Commune("23031", "Boussac", "23600", 5),
    Commune("23079", "Felletin", "23500", 5),
    Commune("23001", "Ahun", "23150", 5),
    Commune("23075", "Dun-le-Palestel", "23800", 4),
    Commune("23069", "Crocq", "23260", 3),
    Commune("23021", "Bénévent-l'Abbaye", "23210", 3),
    Commune("23013", "Auzances", "23700", 4),
    Commune("23093", "Gouzon", "23230", 4),
    Commune("23025", "Bonnat", "23220", 3),
    Commune("23247", "Saint-Vaury", "23320", 4),
)
# Real Creuse postal codes are shared by several communes (23000: Guéret and its neighbours), and a shared code
# resolves to their common territory, which a long file (INSEE codes only) cannot say: tests that read postal codes
# pin these, one commune each.
POSTAL_CODES: dict[str, str] = {commune.postal_code: commune.insee for commune in COMMUNES}


@dataclass(frozen=True)
class Profile:
    """An answer to "Vous êtes :", the audience it maps to, and how such respondents answer.

    `opinions` gives, per item, the mean importance and satisfaction on a 0-1 latent scale (`default` otherwise);
    `weight` is the calibration weight a survey firm would give (this profile is over- or under-represented).
    """

    label: str
    audience: str
    share: float
    weight: float
    lives_in_creuse: bool
    opinions: dict[str, tuple[float, float]] = field(default_factory=dict)


PROFILES: tuple[Profile, ...] = (
    Profile(
        "Habitant(e), en famille avec enfants",
        "families",
        0.22,
        1.15,
        True,
        {"creche": (0.9, 0.3), "medecin": (0.85, 0.35), "emploi": (0.7, 0.5), "default": (0.55, 0.5)},
    ),
    Profile(
        "Habitant(e), retraité(e)",
        "retirees",
        0.24,
        0.7,
        True,
        {"creche": (0.15, 0.5), "medecin": (0.95, 0.3), "emploi": (0.1, 0.5), "default": (0.5, 0.6)},
    ),
    Profile(
        "Ancien(ne) habitant(e) de la Creuse",
        "former-residents",
        0.12,
        1.3,
        False,
        {"emploi": (0.9, 0.5), "logement": (0.85, 0.35), "internet": (0.8, 0.4), "default": (0.5, 0.45)},
    ),
    Profile(
        "Touriste ou résident(e) secondaire",
        "visitors",
        0.16,
        0.9,
        True,
        {"sorties": (0.8, 0.55), "internet": (0.7, 0.45), "creche": (0.1, 0.5), "default": (0.4, 0.6)},
    ),
    Profile(
        "Actif(ve) en télétravail",
        "remote-workers",
        0.13,
        1.25,
        True,
        {"internet": (0.97, 0.25), "creche": (0.6, 0.4), "sorties": (0.65, 0.4), "default": (0.55, 0.5)},
    ),
    Profile(
        "Jeune actif(ve) (moins de 30 ans)",
        "young-workers",
        0.13,
        1.5,
        True,
        {"emploi": (0.9, 0.5), "logement": (0.85, 0.3), "sorties": (0.8, 0.3), "default": (0.5, 0.5)},
    ),
)
AUDIENCES: tuple[str, ...] = tuple(profile.audience for profile in PROFILES)

OPEN_QUESTION = "Qu'est-ce qui vous manque le plus en Creuse ?"
OPEN_ANSWERS = (
    "Un médecin traitant, je n'en ai plus depuis deux ans.",
    "Des transports en commun le soir et le week-end",
    "Une crèche avec des horaires adaptés aux trajets domicile-travail",
    "La fibre ! Impossible de télétravailler correctement.",
    "Des logements à louer en bon état",
    "Du travail pour les jeunes diplômés",
    "Des commerces ouverts le dimanche",
    "Un cinéma plus proche",
    "Des spécialistes : ophtalmo, dentiste...",
    "Rien, on est bien ici",
    "Plus de liens entre anciens et nouveaux habitants",
    "Une piscine ouverte toute l'année",
    "Des animations pour les ados",
)
# Free text carries personal data now and then: masked in quotes by audiences/open_text.py, stored as written.
OPEN_ANSWERS_PERSONAL = (
    "Un pédiatre. Vous pouvez me joindre au 06 12 34 56 78",
    "Un logement pour ma fille, contactez-moi : marie.dupont@example.org",
    "Des offres d'emploi\nJe suis joignable au +33 5 55 52 00 00 ou à j.martin@example.com",
)
HEARD_OF = ("Le site du Département", "La presse locale", "Les réseaux sociaux", "Le bouche-à-oreille", "Ma mairie")

LIMESURVEY_STANDARD_COLUMNS = ("id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp")
# The French interface's names of the standard columns, as the `codetext` and `full` headings write them.
LIMESURVEY_STANDARD_TEXTS = {
    "id": "ID de la réponse",
    "submitdate": "Date de soumission",
    "lastpage": "Dernière page",
    "startlanguage": "Langue de départ",
    "seed": "Graine",
    "startdate": "Date de début",
    "datestamp": "Date de la dernière action",
}

# Answer labels of the scales written by label (the French Likert scales audiences/likert.py recognises).
IMPORTANCE_LABELS = {
    4: ("Pas du tout important", "Peu important", "Plutôt important", "Très important"),
    5: ("Pas du tout important", "Peu important", "Moyennement important", "Important", "Très important"),
}
SATISFACTION_LABELS = {
    4: ("Très insatisfait", "Plutôt insatisfait", "Plutôt satisfait", "Très satisfait"),
    5: ("Très insatisfait", "Insatisfait", "Ni satisfait ni insatisfait", "Satisfait", "Très satisfait"),
}
DONT_KNOW_LABEL = "Ne sait pas"


@dataclass(frozen=True)
class Respondent:
    """One respondent's answers: points on the population's scales, DONT_KNOW, or None (left blank)."""

    number: int
    profile: Profile
    commune: Commune | None
    weight: float
    submitted: datetime.datetime
    importance: dict[str, int | str | None]
    satisfaction: dict[str, int | str | None]
    open_answer: str
    heard_of: tuple[str, ...]

    @property
    def audience(self) -> str:
        return self.profile.audience


@dataclass(frozen=True)
class Population:
    """Respondents drawn once, with the scales (number of points, from 1) their answers are on."""

    items: tuple[Item, ...]
    respondents: tuple[Respondent, ...]
    importance_points: int
    satisfaction_points: int
    seed: int

    def satisfaction_items(self) -> list[Item]:
        return [item for item in self.items if item.measures_satisfaction]

    def survey_definition(self, *, title: str, reference: str) -> dict:
        """A survey definition (audiences/services/surveys.survey_upsert_from_definition) for these answers."""
        return {
            "title": title,
            "reference": reference,
            "date": "2026-03-15",
            "scale_min": 1,
            "scale_max": max(self.importance_points, self.satisfaction_points),
            "segments": list(AUDIENCES),
            "items": [item.definition() for item in self.items],
        }


def generic_items(count: int) -> tuple[Item, ...]:
    """`count` items cycling over the themes of ITEMS (the benchmark's questionnaire of 30 items x 2 measures)."""
    return tuple(
        Item(
            f"q{index + 1:02d}",
            base.domain,
            base.themes,
            f"{base.statement} (question {index + 1})",
            f"{base.label} (question {index + 1})",
        )
        for index, base in ((index, ITEMS[index % len(ITEMS)]) for index in range(count))
    )


def _point(rng: random.Random, mean: float, points: int) -> int:
    latent = min(1.0, max(0.0, rng.gauss(mean, 0.22)))
    return 1 + round(latent * (points - 1))


def _answer(rng: random.Random, mean: float, points: int, *, dont_know: float, blank: float) -> int | str | None:
    draw = rng.random()
    if draw < dont_know:
        return DONT_KNOW
    if draw < dont_know + blank:
        return None
    return _point(rng, mean, points)


def population_draw(
    *,
    size: int = 2400,
    seed: int = 2026,
    importance_points: int = 4,
    satisfaction_points: int = 5,
    items: tuple[Item, ...] = ITEMS,
    open_rate: float = 0.35,
) -> Population:
    """A seeded population: profiles and communes by their shares, weights around each profile's, answers around
    each profile's opinions (about 4% "Ne sait pas" and 3% blank per question), a third answering the open question
    (a few of them with an e-mail address or a phone number)."""
    rng = random.Random(seed)
    profile_shares = [profile.share for profile in PROFILES]
    commune_shares = [commune.share for commune in COMMUNES]
    start = datetime.datetime(2026, 3, 2, 8, 0, 0)
    respondents = []
    for number in range(1, size + 1):
        profile = rng.choices(PROFILES, weights=profile_shares)[0]
        commune = rng.choices(COMMUNES, weights=commune_shares)[0] if profile.lives_in_creuse else None
        # Calibration weights: the profile's, times a log-normal spread (raking on age and sex), mean about 1.
        weight = round(profile.weight * math.exp(rng.gauss(0.0, 0.25) - 0.03125), 6)
        default = profile.opinions["default"]
        importance, satisfaction = {}, {}
        for item in items:
            base = item.code if item.code in profile.opinions else None
            mean_importance, mean_satisfaction = profile.opinions[base] if base else default
            importance[item.code] = _answer(rng, mean_importance, importance_points, dont_know=0.04, blank=0.03)
            if item.measures_satisfaction:
                satisfaction[item.code] = _answer(
                    rng, mean_satisfaction, satisfaction_points, dont_know=0.06, blank=0.03
                )
        open_answer = ""
        if rng.random() < open_rate:
            pool = OPEN_ANSWERS_PERSONAL if rng.random() < 0.05 else OPEN_ANSWERS
            open_answer = rng.choice(pool)
        heard_of = tuple(sorted(rng.sample(HEARD_OF, rng.randint(1, 2)), key=HEARD_OF.index))
        submitted = start + datetime.timedelta(seconds=number * 547 + rng.randint(0, 500))
        respondents.append(
            Respondent(
                number=number,
                profile=profile,
                commune=commune,
                weight=weight,
                submitted=submitted,
                importance=importance,
                satisfaction=satisfaction,
                open_answer=open_answer,
                heard_of=heard_of,
            )
        )
    return Population(
        items=tuple(items),
        respondents=tuple(respondents),
        importance_points=importance_points,
        satisfaction_points=satisfaction_points,
        seed=seed,
    )


@dataclass(frozen=True)
class Export:
    """A wide file as a tool writes it, and the mapping (Survey.mapping) an analyst would store for it."""

    filename: str
    content: bytes
    mapping: dict
    population: Population
    # The id each respondent gets on import, in file order (None: the file has no respondent column).
    respondent_ids: tuple[str, ...] | None
    weighted: bool = False


def _point_or_blank(value: int | str | None) -> int | None:
    return value if isinstance(value, int) else None


def long_csv(population: Population, respondent_ids: Iterable[str] | None = None) -> bytes:
    """The same answers in Ancrage's long format (audiences/services/responses.py RESPONSE_COLUMNS): one row per
    respondent and item with at least one answer; "Ne sait pas" and blanks are empty cells."""
    ids = list(respondent_ids or (str(respondent.number) for respondent in population.respondents))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["respondent_id", "audience", "commune", "item", "importance", "satisfaction"])
    for respondent_id, respondent in zip(ids, population.respondents, strict=True):
        commune = respondent.commune.insee if respondent.commune else ""
        for item in population.items:
            importance = _point_or_blank(respondent.importance[item.code])
            satisfaction = _point_or_blank(respondent.satisfaction.get(item.code))
            if importance is None and satisfaction is None:
                continue
            writer.writerow(
                [
                    respondent_id,
                    respondent.audience,
                    commune,
                    item.code,
                    "" if importance is None else importance,
                    "" if satisfaction is None else satisfaction,
                ]
            )
    return out.getvalue().encode("utf-8")


# --- LimeSurvey -------------------------------------------------------------------------------------------------

LIMESURVEY_IMPORTANCE_QUESTION = "Quelle importance accordez-vous à chacun des points suivants ?"
LIMESURVEY_SATISFACTION_QUESTION = "Êtes-vous satisfait(e) de l'offre actuelle sur votre territoire ?"
LIMESURVEY_PROFILE_QUESTION = "Vous êtes :"
LIMESURVEY_COMMUNE_QUESTIONS = {
    "postal_code": "Code postal de votre commune de résidence (ou de séjour)",
    "name": "Votre commune de résidence (ou de séjour)",
}


def _limesurvey_questions(population: Population) -> list[tuple[str, str, Item, str]]:
    """(column code, heading text, item, measure) of the two array questions, sub-questions SQ001, SQ002..."""
    questions = []
    for index, item in enumerate(population.items, start=1):
        text = f"{LIMESURVEY_IMPORTANCE_QUESTION} [{item.label}]"
        questions.append((f"IMP[SQ{index:03d}]", text, item, "importance"))
    for index, item in enumerate(population.satisfaction_items(), start=1):
        text = f"{LIMESURVEY_SATISFACTION_QUESTION} [{item.label}]"
        questions.append((f"SAT[SQ{index:03d}]", text, item, "satisfaction"))
    return questions


def _commune_answer(commune: Commune | None, kind: str) -> str:
    if commune is None:
        return ""
    return commune.postal_code if kind == "postal_code" else f"{commune.name} (23)"


def _limesurvey_table(
    population: Population, *, codetext: bool, long_answers: bool, commune: str = "postal_code"
) -> tuple[list, list, dict]:
    """Header, rows ("" = NULL) and mapping of a LimeSurvey export of the population; the commune question is a
    short text of the postal code, or a drop-down list of the communes named "Guéret (23)"."""
    if (population.importance_points, population.satisfaction_points) != (4, 5):
        raise ValueError("The LimeSurvey questionnaire asks importance on 4 points and satisfaction on 5.")
    questions = _limesurvey_questions(population)
    codes = [*LIMESURVEY_STANDARD_COLUMNS, "PROFIL", "COMMUNE", *(code for code, _, _, _ in questions), "MANQUE"]
    texts = {
        **LIMESURVEY_STANDARD_TEXTS,
        "PROFIL": LIMESURVEY_PROFILE_QUESTION,
        "COMMUNE": LIMESURVEY_COMMUNE_QUESTIONS[commune],
        **{code: text for code, text, _, _ in questions},
        "MANQUE": OPEN_QUESTION,
    }
    heading = {code: f"{code}. {texts[code]}" if codetext else code for code in codes}
    header = [heading[code] for code in codes]
    # Answer options as the question editor numbers them (A1, A2...), "Ne sait pas" under its own code.
    profile_codes = {profile.label: f"A{index}" for index, profile in enumerate(PROFILES, start=1)}
    labels = {"importance": IMPORTANCE_LABELS[4], "satisfaction": SATISFACTION_LABELS[5]}

    def answer(value, measure):
        if value is None:
            return ""
        if value == DONT_KNOW:
            return DONT_KNOW_LABEL if long_answers else DONT_KNOW
        return labels[measure][value - 1] if long_answers else f"A{value}"

    rows = []
    rng = random.Random(population.seed)
    for respondent in population.respondents:
        started = respondent.submitted - datetime.timedelta(seconds=rng.randint(180, 1500))
        row = [
            respondent.number,
            respondent.submitted.strftime("%Y-%m-%d %H:%M:%S"),
            4,
            "fr",
            rng.randint(10_000_000, 2_147_483_647),
            started.strftime("%Y-%m-%d %H:%M:%S"),
            respondent.submitted.strftime("%Y-%m-%d %H:%M:%S"),
            respondent.profile.label if long_answers else profile_codes[respondent.profile.label],
            _commune_answer(respondent.commune, commune),
        ]
        for _, _, item, measure in questions:
            value = getattr(respondent, measure)[item.code]
            row.append(answer(value, measure))
        row.append(respondent.open_answer)
        rows.append(row)

    def scale(measure):
        if long_answers:
            return "auto"
        points = len(labels[measure])
        return {"points": {f"A{point}": point for point in range(1, points + 1)}, "missing": [DONT_KNOW]}

    mapping = {
        "columns": header,
        "respondent": {"column": heading["id"]},
        "audience": {
            "column": heading["PROFIL"],
            "values": {
                (profile.label if long_answers else profile_codes[profile.label]): profile.audience
                for profile in PROFILES
            },
        },
        "commune": {"column": heading["COMMUNE"], "kind": commune},
        "questions": [
            {
                "column": heading[code],
                "item": item.code,
                "measure": measure,
                "scale": scale(measure),
            }
            for code, _, item, measure in questions
        ],
        "open_questions": [{"column": heading["MANQUE"], "code": "manque", "label": OPEN_QUESTION}],
        "ignored": [heading[code] for code in LIMESURVEY_STANDARD_COLUMNS if code != "id"],
    }
    return header, rows, mapping


def limesurvey_csv(
    population: Population, *, separator: str = ";", long_answers: bool = False, commune: str = "postal_code"
) -> Export:
    """LimeSurvey's CSV export with question codes as headings, and answer codes (A1...) as answers unless
    `long_answers` (the answer texts)."""
    header, rows, mapping = _limesurvey_table(population, codetext=False, long_answers=long_answers, commune=commune)

    def field_text(value) -> str:
        if value == "":
            return ""  # a NULL: never shown, written bare
        text = str(value).replace("\r\n", "\n").replace("\r", "\n")
        return '"' + text.replace('"', '""') + '"'

    lines = [separator.join(field_text(value) for value in header)]
    lines.extend(separator.join(field_text(value) for value in row) for row in rows)
    content = "\ufeff" + "\r\n".join(lines) + "\r\n" + "\r\n"
    ids = tuple(str(row[0]) for row in rows)
    return Export("results-survey546215.csv", content.encode("utf-8"), mapping, population, ids)


def _xlsx(sheets: list[tuple[str, list[list]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsxwriter_cell(value):
    """XLSXWriter's GENERAL cells: a numeric-looking string is written as a number, anything else as text."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and not value.startswith("0"):
        return int(value)
    return value


def limesurvey_xlsx(population: Population, *, title: str = "Enquête attractivité Creuse 2026") -> Export:
    """LimeSurvey's XLSX export with "question code & text" headings and full answer texts."""
    header, rows, mapping = _limesurvey_table(population, codetext=True, long_answers=True)
    sheet_title = "".join(" " if char in "*:/\\?[]" else char for char in title)[:31]
    content = _xlsx([(sheet_title, [header, *([_xlsxwriter_cell(value) for value in row] for row in rows)])])
    ids = tuple(str(row[0]) for row in rows)
    return Export("results-survey546215.xlsx", content, mapping, population, ids)


# --- Google Forms -----------------------------------------------------------------------------------------------

GOOGLE_TIMESTAMP = "Horodateur"
GOOGLE_PROFILE_QUESTION = "Vous êtes :"
GOOGLE_COMMUNE_QUESTION = "Dans quelle commune habitez-vous (ou séjournez-vous) ?"
GOOGLE_IMPORTANCE_GRID = "Quelle importance accordez-vous à chacun des points suivants ?"
GOOGLE_SATISFACTION_QUESTION = "Sur une échelle de 1 à 10, quelle est votre satisfaction aujourd'hui : {label} ?"
GOOGLE_HEARD_OF_QUESTION = "Comment avez-vous entendu parler de cette enquête ?"


def _google_timestamp(moment: datetime.datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment:%Y/%m/%d} {hour}:{moment:%M:%S} {suffix} UTC+1"


def google_forms_csv(population: Population) -> Export:
    """Google Forms' CSV: full question texts as headings, an importance grid on 5 labelled points (with a "Ne sait
    pas" column), satisfaction as linear scales of 1 to 10, the commune by name, a checkbox question."""
    if (population.importance_points, population.satisfaction_points) != (5, 10):
        raise ValueError("The Google Form asks importance on 5 labelled points and satisfaction from 1 to 10.")
    importance = [(f"{GOOGLE_IMPORTANCE_GRID} [{item.label}]", item) for item in population.items]
    satisfaction = [
        (GOOGLE_SATISFACTION_QUESTION.format(label=item.label[0].lower() + item.label[1:]), item)
        for item in population.satisfaction_items()
    ]
    header = [
        GOOGLE_TIMESTAMP,
        GOOGLE_PROFILE_QUESTION,
        GOOGLE_COMMUNE_QUESTION,
        *(column for column, _ in importance),
        *(column for column, _ in satisfaction),
        GOOGLE_HEARD_OF_QUESTION,
        OPEN_QUESTION,
    ]
    labels = IMPORTANCE_LABELS[5]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for respondent in population.respondents:
        row = [
            _google_timestamp(respondent.submitted),
            respondent.profile.label,
            respondent.commune.name if respondent.commune else "",
        ]
        for _, item in importance:
            value = respondent.importance[item.code]
            row.append("" if value is None else DONT_KNOW_LABEL if value == DONT_KNOW else labels[value - 1])
        for _, item in satisfaction:
            row.append(_point_or_blank(respondent.satisfaction[item.code]) or "")  # a scale has no "Ne sait pas"
        row.append(", ".join(respondent.heard_of))
        row.append(respondent.open_answer)
        writer.writerow(row)
    mapping = {
        "columns": header,
        "audience": {
            "column": GOOGLE_PROFILE_QUESTION,
            "values": {profile.label: profile.audience for profile in PROFILES},
        },
        "commune": {"column": GOOGLE_COMMUNE_QUESTION, "kind": "name"},
        "questions": [
            *(
                {"column": column, "item": item.code, "measure": "importance", "scale": "auto"}
                for column, item in importance
            ),
            *(
                {"column": column, "item": item.code, "measure": "satisfaction", "scale": "auto"}
                for column, item in satisfaction
            ),
        ],
        "open_questions": [{"column": OPEN_QUESTION, "code": "manque", "label": OPEN_QUESTION}],
        "ignored": [GOOGLE_TIMESTAMP, GOOGLE_HEARD_OF_QUESTION],
    }
    # No respondent column: the import numbers respondents by their line in the file.
    filename = "Enquête attractivité Creuse (réponses) - Réponses au formulaire 1.csv"
    return Export(filename, out.getvalue().encode("utf-8"), mapping, population, None)


# --- A survey firm's XLSX ---------------------------------------------------------------------------------------

FIRM_IMPORTANCE_CODES = {1: "Pas du tout important", 2: "Peu important", 3: "Plutôt important", 4: "Très important"}
FIRM_DONT_KNOW_CODE = 9


def firm_xlsx(population: Population) -> Export:
    """A survey firm's delivery: a data sheet of numeric codes with a POIDS weight column, and a codebook sheet.

    Importance is coded 1-4 (9 = "Ne sait pas"), satisfaction 1-10 (empty = not given), the profile 1-6, the
    commune by its INSEE code (a number, as Excel keeps it).
    """
    if (population.importance_points, population.satisfaction_points) != (4, 10):
        raise ValueError("The firm's questionnaire asks importance on 4 points and satisfaction from 1 to 10.")
    importance = [(f"Q1_{index}", item) for index, item in enumerate(population.items, start=1)]
    satisfaction = [(f"Q2_{index}", item) for index, item in enumerate(population.satisfaction_items(), start=1)]
    header = [
        "RESPID",
        "DATE_INT",
        "POIDS",
        "PROFIL",
        "COM_INSEE",
        *(code for code, _ in importance),
        *(code for code, _ in satisfaction),
        "Q3_VERBATIM",
    ]
    profile_codes = {profile.label: index for index, profile in enumerate(PROFILES, start=1)}
    rows = []
    for respondent in population.respondents:
        row = [
            100000 + respondent.number,
            respondent.submitted.date(),
            respondent.weight,
            profile_codes[respondent.profile.label],
            int(respondent.commune.insee) if respondent.commune else "",
        ]
        for _, item in importance:
            value = respondent.importance[item.code]
            row.append("" if value is None else FIRM_DONT_KNOW_CODE if value == DONT_KNOW else value)
        for _, item in satisfaction:
            row.append(_point_or_blank(respondent.satisfaction[item.code]) or "")
        row.append(respondent.open_answer)
        rows.append(row)
    codebook = [
        ["Variable", "Libellé", "Modalités"],
        ["RESPID", "Identifiant du répondant", ""],
        ["DATE_INT", "Date de l'entretien", ""],
        ["POIDS", "Poids de redressement (âge x sexe x profil, moyenne 1)", ""],
        ["PROFIL", "Vous êtes :", "; ".join(f"{code} = {label}" for label, code in profile_codes.items())],
        ["COM_INSEE", "Commune de résidence (code INSEE)", "vide = hors Creuse"],
        *(
            [
                code,
                f"Importance : {item.label}",
                "; ".join(f"{point} = {label}" for point, label in FIRM_IMPORTANCE_CODES.items())
                + f"; {FIRM_DONT_KNOW_CODE} = {DONT_KNOW_LABEL}",
            ]
            for code, item in importance
        ),
        *(
            [code, f"Satisfaction : {item.label}", "1 = Pas du tout satisfait ... 10 = Tout à fait satisfait"]
            for code, item in satisfaction
        ),
        ["Q3_VERBATIM", OPEN_QUESTION, "réponse libre"],
    ]
    content = _xlsx([("Données", [header, *rows]), ("Dictionnaire", codebook)])
    importance_scale = {
        "points": {str(point): point for point in FIRM_IMPORTANCE_CODES},
        "missing": [str(FIRM_DONT_KNOW_CODE)],
    }
    mapping = {
        "columns": header,
        "respondent": {"column": "RESPID"},
        "audience": {
            "column": "PROFIL",
            "values": {str(profile_codes[profile.label]): profile.audience for profile in PROFILES},
        },
        "commune": {"column": "COM_INSEE", "kind": "insee"},
        "weight": {"column": "POIDS"},
        "questions": [
            *(
                {"column": code, "item": item.code, "measure": "importance", "scale": importance_scale}
                for code, item in importance
            ),
            *(
                {"column": code, "item": item.code, "measure": "satisfaction", "scale": {"min": 1, "max": 10}}
                for code, item in satisfaction
            ),
        ],
        "open_questions": [{"column": "Q3_VERBATIM", "code": "manque", "label": OPEN_QUESTION}],
        "ignored": ["DATE_INT"],
    }
    ids = tuple(str(row[0]) for row in rows)
    return Export("ENQ_CREUSE_2026_base_ponderee.xlsx", content, mapping, population, ids, weighted=True)


# Each export with the scales its questionnaire asks (importance points, satisfaction points).
EXPORT_SCALES = {
    "limesurvey_csv": (4, 5),
    "limesurvey_xlsx": (4, 5),
    "google_forms_csv": (5, 10),
    "firm_xlsx": (4, 10),
}
WRITERS = {
    "limesurvey_csv": limesurvey_csv,
    "limesurvey_xlsx": limesurvey_xlsx,
    "google_forms_csv": google_forms_csv,
    "firm_xlsx": firm_xlsx,
}


def export_make(name: str, *, size: int = 2400, seed: int = 2026, items: tuple[Item, ...] = ITEMS) -> Export:
    """The named export of a population drawn on its questionnaire's scales."""
    importance_points, satisfaction_points = EXPORT_SCALES[name]
    population = population_draw(
        size=size,
        seed=seed,
        importance_points=importance_points,
        satisfaction_points=satisfaction_points,
        items=items,
    )
    return WRITERS[name](population)


# --- The demo's wide survey -------------------------------------------------------------------------------------

DEMO_TITLE = "Enquête habitants, anciens habitants et visiteurs – export LimeSurvey"
DEMO_REFERENCE = "ENQ-LS-23-2026"


def demo_write(directory, *, size: int = 400, seed: int = 23) -> None:
    """Write the demo's wide survey into `directory`: wide_survey.json (the survey definition with its stored
    mapping) and wide_responses.csv (a LimeSurvey CSV: question codes, answer texts, communes from a drop-down)."""
    import json
    from pathlib import Path

    population = population_draw(size=size, seed=seed, importance_points=4, satisfaction_points=5)
    export = limesurvey_csv(population, long_answers=True, commune="name")
    definition = {
        "_about": (
            "Demo wide survey (synthetic): a LimeSurvey CSV export (question codes as headings, answer texts, "
            "separator ';') of the respondents of tests/audiences/survey_exports.py, and the mapping an analyst "
            "stored for it. Regenerate with: python -m tests.audiences.survey_exports audiences/data/demo"
        ),
        **population.survey_definition(title=DEMO_TITLE, reference=DEMO_REFERENCE),
        "mapping": export.mapping,
    }
    directory = Path(directory)
    (directory / "wide_survey.json").write_text(
        json.dumps(definition, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (directory / "wide_responses.csv").write_bytes(export.content)


if __name__ == "__main__":
    import sys

    demo_write(sys.argv[1] if len(sys.argv) > 1 else "audiences/data/demo")

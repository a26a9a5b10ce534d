"""End to end: the exports of the survey tools (LimeSurvey CSV and XLSX, Google Forms CSV, a survey firm's weighted
XLSX), uploaded through the API with their mapping, give the needs of the same answers in the long format; the
weighted file's figures equal those computed here with NumPy from the generator's raw answers; a few bad cells in
those 2,400-row files are each named at their line, and nothing is written.

The files are made by tests/audiences/survey_exports.py (its docstring says which documented export format each
follows): 2,400 respondents, six items (one asked on importance only), a profile, a commune, an open question.
"""

import functools
import io
import math
from collections import Counter

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from scipy import stats

from audiences.models import Need, SurveyItem, SurveyOpenAnswer, SurveyResponse
from offers.models import Territory, TerritoryPostalCode
from offers.territory_paths import path_upto
from tests.audiences import survey_exports
from tests.audiences.survey_exports import AUDIENCES, DONT_KNOW, POSTAL_CODES, Export, long_csv

UNWEIGHTED = ("limesurvey_csv", "limesurvey_xlsx", "google_forms_csv")
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The needs' figures compared between a wide file and its long twin, and checked against NumPy for the weighted one.
NEED_FIGURES = (
    "importance",
    "satisfaction",
    "demand_volume",
    "response_count",
    "weighted_response_count",
    "effective_response_count",
    "importance_ci_low",
    "importance_ci_high",
    "satisfaction_response_count",
    "satisfaction_effective_response_count",
    "satisfaction_ci_low",
    "satisfaction_ci_high",
)


@functools.cache
def export_of(name: str) -> Export:
    """Each export drawn once per test session (pure Python, about half a second each)."""
    return survey_exports.export_make(name)


@pytest.fixture
def pinned_postal_codes(reference):
    """One postal code per commune of the population (real codes are shared by several Creuse communes)."""
    TerritoryPostalCode.objects.filter(code__in=POSTAL_CODES).delete()
    communes = {territory.code: territory for territory in Territory.objects.filter(code__in=POSTAL_CODES.values())}
    TerritoryPostalCode.objects.bulk_create(
        TerritoryPostalCode(code=code, territory=communes[insee]) for code, insee in POSTAL_CODES.items()
    )


def survey_create(client, export: Export, *, title: str, scale_max: int) -> int:
    items = [
        {
            "code": item.code,
            "domain": item.domain,
            "themes": list(item.themes),
            "statement": item.statement,
            "measures_importance": True,
            "measures_satisfaction": item.measures_satisfaction,
        }
        for item in export.population.items
    ]
    response = client.post(
        "/api/v1/surveys/",
        {
            "title": title,
            "reference": title,
            "date": "2026-03-15",
            "audiences": list(AUDIENCES),
            "scale_min": 1,
            "scale_max": scale_max,
            "items": items,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def file_of(name: str, content: bytes):
    extension = name.rsplit(".", 1)[-1]
    return SimpleUploadedFile(name, content, content_type=CONTENT_TYPES[extension])


def wide_upload(client, survey_id: int, export: Export):
    """PUT the export's mapping on the survey, then POST the file: the analyst's two steps."""
    response = client.put(f"/api/v1/surveys/{survey_id}/mapping/", export.mapping, format="json")
    assert response.status_code == 200, response.json()
    return client.post(
        f"/api/v1/surveys/{survey_id}/responses/wide/",
        {"file": file_of(export.filename, export.content)},
        format="multipart",
    )


def needs_of(survey_id: int) -> dict:
    """(item, audience, territory code) -> the need's figures."""
    rows = Need.objects.filter(survey_item__survey_id=survey_id).values_list(
        "survey_item__code", "audience__code", "territory__code", *NEED_FIGURES
    )
    return {tuple(row[:3]): dict(zip(NEED_FIGURES, row[3:], strict=True)) for row in rows}


def answers_of(survey_id: int, *, with_ids: bool) -> Counter:
    """The stored answers (no-answer rows left out), with or without who gave them."""
    fields = ["item__code", "audience__code", "commune__code", "importance", "satisfaction"]
    rows = (
        SurveyResponse.objects.filter(item__survey_id=survey_id)
        .exclude(importance=None, satisfaction=None)
        .values_list(*(["respondent_id"] if with_ids else []), *fields)
    )
    return Counter(rows)


def ids_or_none(export: Export) -> list:
    return (
        list(export.respondent_ids)
        if export.respondent_ids is not None
        else [None] * len(export.population.respondents)
    )


def commune_epcis() -> dict[str, str]:
    """INSEE code of each commune of the population -> the code of its EPCI (reference data, read once)."""
    epci_codes = dict(Territory.objects.filter(kind="epci").values_list("path", "code"))
    communes = Territory.objects.filter(code__in=[commune.insee for commune in survey_exports.COMMUNES])
    return {commune.code: epci_codes[path_upto(commune.path, "epci")] for commune in communes}


def expected_groups(export: Export) -> set:
    """(item, audience, territory) of every need the answers must give: the département (the communes' smallest
    common territory) and each EPCI with a respondent of that audience who rated the item's importance."""
    epcis = commune_epcis()
    groups = set()
    for respondent in export.population.respondents:
        for item in export.population.items:
            if not isinstance(respondent.importance[item.code], int):
                continue
            groups.add((item.code, respondent.audience, "23"))
            if respondent.commune is not None:
                groups.add((item.code, respondent.audience, epcis[respondent.commune.insee]))
    return groups


@pytest.mark.parametrize("name", UNWEIGHTED)
def test_tool_export_gives_the_needs_of_the_same_answers_in_the_long_format(name, analyst_client, pinned_postal_codes):
    export = export_of(name)
    population = export.population
    scale_max = max(population.importance_points, population.satisfaction_points)
    wide_id = survey_create(analyst_client, export, title=f"Export {name}", scale_max=scale_max)
    response = wide_upload(analyst_client, wide_id, export)
    assert response.status_code == 200, response.json()

    # The import recognised the scale each measure was asked on and recorded it on the items.
    scales = set(
        SurveyItem.objects.filter(survey_id=wide_id).values_list(
            "code", "importance_scale_min", "importance_scale_max", "satisfaction_scale_min", "satisfaction_scale_max"
        )
    )
    assert scales == {
        (
            item.code,
            1,
            population.importance_points,
            1 if item.measures_satisfaction else None,
            population.satisfaction_points if item.measures_satisfaction else None,
        )
        for item in population.items
    }

    # The long twin: the same answers, one row per respondent and item, on a survey asking on the same scales.
    long_id = survey_create(analyst_client, export, title=f"Long {name}", scale_max=scale_max)
    for code, importance_min, importance_max, satisfaction_min, satisfaction_max in scales:
        SurveyItem.objects.filter(survey_id=long_id, code=code).update(
            importance_scale_min=importance_min,
            importance_scale_max=importance_max,
            satisfaction_scale_min=satisfaction_min,
            satisfaction_scale_max=satisfaction_max,
        )
    response = analyst_client.post(
        f"/api/v1/surveys/{long_id}/responses/",
        {"file": file_of("long.csv", long_csv(population, export.respondent_ids))},
        format="multipart",
    )
    assert response.status_code == 200, response.json()

    # A file without respondent column numbers respondents by line: then the answers are compared as a multiset.
    with_ids = export.respondent_ids is not None
    assert answers_of(wide_id, with_ids=with_ids) == answers_of(long_id, with_ids=with_ids)
    wide_needs, long_needs = needs_of(wide_id), needs_of(long_id)
    assert set(wide_needs) == expected_groups(export)
    assert wide_needs == long_needs

    # Open answers are stored as written (masking is for the quotes shown), one per respondent who wrote one.
    keys = ["respondent_id", "text"] if with_ids else ["text"]
    written = Counter(
        (respondent_id, respondent.open_answer) if with_ids else (respondent.open_answer,)
        for respondent_id, respondent in zip(ids_or_none(export), population.respondents, strict=True)
        if respondent.open_answer
    )
    assert Counter(SurveyOpenAnswer.objects.filter(survey_id=wide_id).values_list(*keys)) == written
    assert any("@" in key[-1] for key in written)


def weighted_figures(values: np.ndarray, weights: np.ndarray) -> dict:
    """Weighted mean, Kish effective n and 95% interval of normalised values, computed here from the formulas of
    docs/surveys.md: mean = Σwx/Σw; n_eff = (Σw)²/Σw²; s² = Σw(x - mean)²/Σw × n_eff/(n_eff - 1);
    mean ± t(0.975, n_eff - 1) × s/√n_eff, clipped to [0, 1]."""
    total = weights.sum()
    mean = float((weights * values).sum() / total)
    effective = float(total**2 / (weights**2).sum())
    if len(values) == 1:  # one answer says nothing about the spread: no interval
        return {"mean": mean, "count": 1, "total": float(total), "effective": effective, "low": None, "high": None}
    variance = float((weights * (values - mean) ** 2).sum() / total * effective / (effective - 1))
    half = float(stats.t.ppf(0.975, effective - 1)) * math.sqrt(variance) / math.sqrt(effective)
    return {
        "mean": mean,
        "count": len(values),
        "total": float(total),
        "effective": effective,
        "low": max(0.0, mean - half),
        "high": min(1.0, mean + half),
    }


def close(expected):
    """A figure stored to 6 decimals against the unrounded one computed here (None stays None)."""
    return None if expected is None else pytest.approx(expected, abs=1e-6)


def test_firm_weighted_export_gives_weighted_means_intervals_and_volumes(analyst_client, reference):
    export = export_of("firm_xlsx")
    population = export.population
    survey_id = survey_create(analyst_client, export, title="Base pondérée", scale_max=10)
    response = wide_upload(analyst_client, survey_id, export)
    assert response.status_code == 200, response.json()
    weights_stored = dict(
        SurveyResponse.objects.filter(item__survey_id=survey_id).values_list("respondent_id", "weight").distinct()
    )
    assert weights_stored == {
        respondent_id: respondent.weight
        for respondent_id, respondent in zip(export.respondent_ids, population.respondents, strict=True)
    }

    # Raw answers by group, straight from the generator: (item, audience, territory) -> [(point, weight)].
    epcis = commune_epcis()
    importance, satisfaction = {}, {}
    for respondent in population.respondents:
        territories = ["23"] + ([epcis[respondent.commune.insee]] if respondent.commune else [])
        for item in population.items:
            for measure, groups in (("importance", importance), ("satisfaction", satisfaction)):
                point = getattr(respondent, measure).get(item.code)
                if point is None or point == DONT_KNOW:
                    continue
                for territory in territories:
                    groups.setdefault((item.code, respondent.audience, territory), []).append(
                        (point, respondent.weight)
                    )

    needs = needs_of(survey_id)
    assert set(needs) == set(importance)
    checked_effective = False
    for key, need in needs.items():
        points, weights = (np.array(column, dtype=float) for column in zip(*importance[key], strict=True))
        figures = weighted_figures((points - 1) / 3, weights)
        assert need["importance"] == close(figures["mean"]), key
        assert need["response_count"] == figures["count"], key
        assert need["weighted_response_count"] == close(figures["total"]), key
        assert need["effective_response_count"] == close(figures["effective"]), key
        assert need["importance_ci_low"] == close(figures["low"]), key
        assert need["importance_ci_high"] == close(figures["high"]), key
        # The top-2-box volume in weighted respondents: the weights of the answers 3 and 4 of 1-4, halves up.
        assert need["demand_volume"] == math.floor(weights[points >= 3].sum() + 0.5), key
        checked_effective |= figures["effective"] < figures["count"] - 1
        if key in satisfaction:
            points, weights = (np.array(column, dtype=float) for column in zip(*satisfaction[key], strict=True))
            figures = weighted_figures((points - 1) / 9, weights)
            assert need["satisfaction"] == close(figures["mean"]), key
            assert need["satisfaction_response_count"] == figures["count"], key
            assert need["satisfaction_effective_response_count"] == close(figures["effective"]), key
            assert need["satisfaction_ci_low"] == close(figures["low"]), key
            assert need["satisfaction_ci_high"] == close(figures["high"]), key
        else:
            assert need["satisfaction"] is None, key
    # The weights vary enough that the intervals are wider than unweighted ones would be (n_eff < n).
    assert checked_effective


def csv_corrupt(content: bytes, changes: dict[tuple[int, str], str], header: list[str]) -> tuple[bytes, dict]:
    """A LimeSurvey CSV with cells replaced: (respondent position from 1, column) -> new text. Returns the file and
    the line (as an editor shows it) of each changed record."""
    text = content.decode("utf-8")
    records = text.split("\r\n")  # LimeSurvey ends records with CRLF; a line break inside a value is a bare LF
    lines = {}
    for (position, column), value in changes.items():
        cells = records[position].split(";")
        cells[header.index(column)] = f'"{value}"'
        records[position] = ";".join(cells)
        lines[position] = "\r\n".join(records[:position]).count("\n") + 2
    return "\r\n".join(records).encode("utf-8"), lines


def test_tool_exports_with_bad_cells_are_refused_whole_with_every_problem_at_its_line(
    analyst_client, pinned_postal_codes
):
    export = export_of("limesurvey_csv")
    header = export.mapping["columns"]
    content, lines = csv_corrupt(
        export.content,
        {(3, "IMP[SQ002]"): "A7", (40, "COMMUNE"): "99999", (41, "PROFIL"): "A9"},
        header,
    )
    survey_id = survey_create(analyst_client, export, title="Fichier abîmé", scale_max=5)
    response = wide_upload(
        analyst_client, survey_id, Export(export.filename, content, export.mapping, export.population, None)
    )
    assert response.status_code == 400
    problems = {(error["field"], error["code"], error["line"]) for error in response.json()["errors"]}
    assert problems == {
        ("IMP[SQ002]", "unknown_label", lines[3]),
        ("COMMUNE", "unknown_commune", lines[40]),
        ("PROFIL", "unknown_label", lines[41]),
    }
    assert not SurveyResponse.objects.filter(item__survey_id=survey_id).exists()

    # The firm's workbook: a weight of zero, a negative one and one that is text, each named at its sheet row.
    export = export_of("firm_xlsx")
    workbook = load_workbook(io.BytesIO(export.content))
    sheet = workbook["Données"]
    weight_column = export.mapping["columns"].index("POIDS") + 1
    for row, value in ((5, 0), (600, -1.2), (2401, "1,2 ou 1,3")):
        sheet.cell(row=row, column=weight_column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    survey_id = survey_create(analyst_client, export, title="Base pondérée abîmée", scale_max=10)
    bad = Export(export.filename, out.getvalue(), export.mapping, export.population, None, weighted=True)
    response = wide_upload(analyst_client, survey_id, bad)
    assert response.status_code == 400
    problems = {(error["field"], error["code"], error["line"]) for error in response.json()["errors"]}
    assert problems == {
        ("POIDS", "invalid_weight", 5),
        ("POIDS", "invalid_weight", 600),
        ("POIDS", "invalid_weight", 2401),
    }
    assert not SurveyResponse.objects.filter(item__survey_id=survey_id).exists()

"""The demo surveys (their definitions, responses and the needs computed from them) and the demo workshop needs.

Two surveys: one uploaded in Ancrage's long format (responses.csv), and one as a survey tool exports it (a
LimeSurvey CSV, wide_responses.csv) with the mapping an analyst stored for it (in wide_survey.json), so the demo
shows a wide file, its mapping and the needs it gives.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from audiences.services.needs_io import ImportReport, needs_import
from audiences.services.responses import ResponsesReport, survey_responses_import
from audiences.services.survey_wide import WideImportReport, survey_wide_import
from audiences.services.surveys import survey_upsert_from_definition

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
WIDE_SURVEY_FILES = ("wide_survey.json", "wide_responses.csv")


@dataclass
class DemoReport:
    survey_created: bool
    responses: ResponsesReport
    workshop_needs: ImportReport
    wide_survey_created: bool = False
    wide_responses: WideImportReport | None = None

    def __str__(self) -> str:
        r, w = self.responses, self.workshop_needs
        text = (
            f"survey {'created' if self.survey_created else 'kept'}; {r.rows} responses read "
            f"({r.responses_created} created, {r.responses_updated} updated); survey needs {r.needs_created} created, "
            f"{r.needs_updated} updated, {r.needs_deleted} deleted; workshop needs {w.created} created, "
            f"{w.updated} updated, {w.unchanged} unchanged"
        )
        if self.wide_responses is not None:
            x = self.wide_responses
            text += (
                f"; wide survey {'created' if self.wide_survey_created else 'kept'}: {x.respondents} respondents "
                f"({x.responses_created} answers created, {x.responses_updated} updated, {x.open_answers} open "
                f"answers), needs {x.needs_created} created, {x.needs_updated} updated, {x.needs_deleted} deleted"
            )
        return text


def audiences_demo_load(*, directory: Path = DEMO_DIR) -> DemoReport:
    """Load the demo surveys (definitions and files, through the upload services) and the workshop needs.

    Idempotent: surveys are upserted by reference (or title), long responses by (item, respondent), a wide file's
    respondents replaced by what the file says (the same file changes nothing), workshop needs by (source,
    external_id). The wide survey is loaded when its files are in `directory`.
    """
    with transaction.atomic():
        survey, created = survey_upsert_from_definition(
            definition=json.loads((directory / "survey.json").read_text(encoding="utf-8"))
        )
        responses_path = directory / "responses.csv"
        responses = survey_responses_import(
            survey=survey, content=responses_path.read_bytes(), filename=responses_path.name
        )
        needs_path = directory / "workshop_needs.json"
        workshop = needs_import(content=needs_path.read_bytes(), filename=needs_path.name)
        report = DemoReport(survey_created=created, responses=responses, workshop_needs=workshop)
        if all((directory / name).exists() for name in WIDE_SURVEY_FILES):
            definition = json.loads((directory / "wide_survey.json").read_text(encoding="utf-8"))
            wide_survey, report.wide_survey_created = survey_upsert_from_definition(definition=definition)
            wide_path = directory / "wide_responses.csv"
            # The mapping is given with the file: validated against it, then stored with the survey.
            report.wide_responses = survey_wide_import(
                survey=wide_survey,
                content=wide_path.read_bytes(),
                filename=wide_path.name,
                mapping=definition["mapping"],
            )
    return report

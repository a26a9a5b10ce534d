"""The demo survey (its definition, responses and the needs computed from them) and the demo workshop needs."""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from audiences.services.needs_io import ImportReport, needs_import
from audiences.services.responses import ResponsesReport, survey_responses_import
from audiences.services.surveys import survey_upsert_from_definition

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


@dataclass
class DemoReport:
    survey_created: bool
    responses: ResponsesReport
    workshop_needs: ImportReport

    def __str__(self) -> str:
        r, w = self.responses, self.workshop_needs
        return (
            f"survey {'created' if self.survey_created else 'kept'}; {r.rows} responses read "
            f"({r.responses_created} created, {r.responses_updated} updated); survey needs {r.needs_created} created, "
            f"{r.needs_updated} updated, {r.needs_deleted} deleted; workshop needs {w.created} created, "
            f"{w.updated} updated, {w.unchanged} unchanged"
        )


def audiences_demo_load(*, directory: Path = DEMO_DIR) -> DemoReport:
    """Load the demo survey (definition + responses.csv, through the upload service) and the workshop needs.

    Idempotent: the survey is upserted by reference (or title), responses by (item, respondent), workshop
    needs by (source, external_id).
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
    return DemoReport(survey_created=created, responses=responses, workshop_needs=workshop)

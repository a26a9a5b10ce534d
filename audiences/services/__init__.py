"""Writes of the audiences app, one module per seam; every public name is re-exported here, so callers read
`audiences.services.need_create` whatever module holds it.

- audiences: written by offers' reference data service, the one writer of reference data; deletion counts the needs,
  surveys and responses that still use one;
- needs, needs_io: needs by hand, and their import and export;
- surveys, responses: surveys and their items, the upload of their responses and the needs computed from them;
- survey_mapping, survey_wide: wide exports of survey tools (one row per respondent): the mapping stored with the
  survey (validated, proposed from a file), and the preview and import of such files through it;
- demo: the demo survey and workshop needs.

Every write validates first and writes in one transaction; uploads are refused whole, with every bad line listed.
"""

from audiences.services.audiences import audience_delete
from audiences.services.demo import DEMO_DIR, DemoReport, audiences_demo_load
from audiences.services.needs import need_create, need_delete, need_themes_check, need_update
from audiences.services.needs_io import (
    NEED_COLUMNS,
    NEED_EXPORT_HEADER,
    NEED_EXPORT_ONLY,
    NEED_IMPORT_MAX_ROWS,
    ImportReport,
    need_export_rows,
    needs_import,
)
from audiences.services.responses import (
    COMPUTED_FIELDS,
    RESPONSE_COLUMNS,
    RESPONSES_MAX_BYTES,
    RESPONSES_MAX_ROWS,
    NeedsComputeReport,
    ResponsesReport,
    survey_needs_compute,
    survey_responses_import,
)
from audiences.services.survey_mapping import (
    SurveyMapping,
    survey_mapping_get,
    survey_mapping_set,
    survey_mapping_suggest,
    survey_mapping_validate,
)
from audiences.services.survey_wide import (
    PREVIEW_ROWS_DEFAULT,
    PREVIEW_ROWS_MAX,
    WIDE_MAX_BYTES,
    WIDE_MAX_CELLS,
    WIDE_MAX_COLUMNS,
    WIDE_MAX_ROWS,
    WideImportReport,
    survey_wide_import,
    survey_wide_preview,
    survey_wide_read,
    wide_parse,
)
from audiences.services.surveys import (
    ITEM_FIELDS,
    survey_create,
    survey_delete,
    survey_scale_check,
    survey_update,
    survey_upsert_from_definition,
)
from offers.services.reference_data import audience_create, audience_update

__all__ = [
    "COMPUTED_FIELDS",
    "DEMO_DIR",
    "ITEM_FIELDS",
    "NEED_COLUMNS",
    "NEED_EXPORT_HEADER",
    "NEED_EXPORT_ONLY",
    "NEED_IMPORT_MAX_ROWS",
    "PREVIEW_ROWS_DEFAULT",
    "PREVIEW_ROWS_MAX",
    "RESPONSES_MAX_BYTES",
    "RESPONSES_MAX_ROWS",
    "RESPONSE_COLUMNS",
    "WIDE_MAX_BYTES",
    "WIDE_MAX_CELLS",
    "WIDE_MAX_COLUMNS",
    "WIDE_MAX_ROWS",
    "DemoReport",
    "ImportReport",
    "NeedsComputeReport",
    "ResponsesReport",
    "SurveyMapping",
    "WideImportReport",
    "audience_create",
    "audience_delete",
    "audience_update",
    "audiences_demo_load",
    "need_create",
    "need_delete",
    "need_export_rows",
    "need_themes_check",
    "need_update",
    "needs_import",
    "survey_create",
    "survey_delete",
    "survey_mapping_get",
    "survey_mapping_set",
    "survey_mapping_suggest",
    "survey_mapping_validate",
    "survey_needs_compute",
    "survey_responses_import",
    "survey_scale_check",
    "survey_update",
    "survey_upsert_from_definition",
    "survey_wide_import",
    "survey_wide_preview",
    "survey_wide_read",
    "wide_parse",
]

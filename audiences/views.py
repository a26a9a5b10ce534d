"""API views of the audiences app: audiences, needs (with import/export) and surveys (with response uploads).

Strategy material: analysts and admins only, for reads as for writes.
"""

import dataclasses

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from api.exceptions import ErrorItem, InvalidInput, PayloadTooLarge
from api.exports import EXPORT_FORMATS, export_format, export_response, records_started, streamed_file
from api.jsonlimits import JSONLimitError, json_decode
from api.negotiation import FileFormatNegotiation
from api.parsers import json_limit_errors
from api.permissions import IsAnalyst
from api.schema import CONFLICT
from api.serializers import ErrorSerializer
from api.spreadsheets import XLSX_MEDIA_TYPE, SpreadsheetTable, xlsx_response
from api.tabular import DEFAULT_MAX_BYTES, Column, csv_lines, file_too_large_message
from api.throttling import ScopedRateThrottle
from audiences import export_sheets, selectors, services, wave_comparison
from audiences.filters import NeedFilterSet, SurveyFilterSet
from audiences.serializers import (
    AudienceDetailSerializer,
    CandidateNeedAcceptSerializer,
    CandidateNeedSerializer,
    CandidateNeedsQuerySerializer,
    CandidateNeedsSerializer,
    NeedExportRecordSerializer,
    NeedSerializer,
    NeedsImportReportSerializer,
    NeedsUploadSerializer,
    OpenAnswersQuerySerializer,
    SurveyCompareQuerySerializer,
    SurveyFileSerializer,
    SurveyMappingSerializer,
    SurveyMappingSuggestionSerializer,
    SurveyOpenAnswerSerializer,
    SurveyResponsesReportSerializer,
    SurveySerializer,
    SurveyWaveComparisonSerializer,
    SurveyWaveCreateSerializer,
    SurveyWidePreviewSerializer,
    SurveyWidePreviewUploadSerializer,
    SurveyWideReportSerializer,
    SurveyWideUploadSerializer,
    UploadSerializer,
)
from offers.selectors import audience_list

UPLOAD_ACTIONS = ("import_file", "responses", "responses_wide", "responses_preview", "mapping_suggest")

CANDIDATE_KEY_PARAMETER = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description="The candidate's key, `question:theme:audience` (`~` = answers without an audience), "
    "e.g. `manque:childcare:families`.",
)
CANDIDATE_DECISION_ERRORS = {
    404: OpenApiResponse(ErrorSerializer, description="Unknown survey, or no such candidate in its open answers."),
    **CONFLICT,
}


def _columns_doc(columns: list[Column]) -> str:
    """The columns of an upload as its OpenAPI description lists them."""
    return ", ".join(f"`{column.name}`" + (" (required)" if column.required else "") for column in columns)


def _upload_content(request, serializer_class, *, max_bytes: int) -> tuple[dict, bytes]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    if upload.size > max_bytes:
        raise PayloadTooLarge(file_too_large_message(upload.size, max_bytes))
    return serializer.validated_data, upload.read()


def _mapping_field(data: dict):
    """The `mapping` form field of a wide upload, decoded with the limits of every JSON body; None when omitted."""
    text = data.get("mapping")
    if text is None or not text.strip():
        return None
    try:
        return json_decode(text, max_depth=settings.JSON_MAX_DEPTH, max_digits=settings.JSON_MAX_NUMBER_DIGITS)
    except JSONLimitError as exc:
        arguments = json_limit_errors(exc)
        # Paths inside the mapping, under the form field's name.
        arguments["errors"] = [
            dataclasses.replace(error, field=f"mapping.{error.field}" if error.field else "mapping")
            for error in arguments["errors"]
        ]
        raise InvalidInput(**arguments, message=gettext("The mapping is beyond the limits of JSON bodies.")) from exc
    except ValueError as exc:
        message = gettext("The mapping is not valid JSON: %(error)s.") % {"error": exc}
        raise InvalidInput(
            [ErrorItem(field="mapping", code="invalid_json", message=message)], message=message
        ) from exc


WIDE_UPLOAD_DOC = (
    "The file is a survey tool's export, one row per respondent and one column per question (LimeSurvey, Google "
    "Forms, Framaforms, a survey firm's spreadsheet): CSV (UTF-8 or Windows-1252, `,` `;` or tab) or XLSX (first "
    f"sheet unless `sheet` names one); at most {services.WIDE_MAX_ROWS:,} rows, {services.WIDE_MAX_COLUMNS} columns, "
    f"{services.WIDE_MAX_CELLS:,} cells and {services.WIDE_MAX_BYTES:,} bytes. See docs/survey-files.md."
)


def _upload_action(*, tags: list[str], summary: str, description: str, request, response, **action_options):
    """The route and the OpenAPI operation of a file upload: a multipart POST answered by its report (200), or 413
    when the file is too large."""
    schema = extend_schema(
        tags=tags,
        summary=summary,
        description=description,
        request={"multipart/form-data": request},
        responses={200: response, 413: OpenApiResponse(ErrorSerializer, description="Too large")},
    )
    route = action(methods=["post"], parser_classes=[MultiPartParser, FormParser], **action_options)
    return lambda view: schema(route(view))


def _candidate_decision_action(decision: str, *, summary: str, description: str, request, success: int, **options):
    """The route and the OpenAPI operation of a decision on one candidate need (`accept`, `reject`): its key in the
    path, the candidate as answer, 404 for an unknown candidate and 409 for a decision already taken."""
    schema = extend_schema(
        tags=["surveys"],
        summary=summary,
        description=description,
        parameters=[CANDIDATE_KEY_PARAMETER],
        request=request,
        responses={success: CandidateNeedSerializer, **CANDIDATE_DECISION_ERRORS},
    )
    route = action(
        detail=True,
        methods=["post"],
        url_path=rf"candidate-needs/(?P<key>[^/]+)/{decision}",
        filter_backends=[],
        **options,
    )
    return lambda view: schema(route(view))


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAnalyst]
    throttle_scope = "uploads"

    def get_throttles(self):
        return [ScopedRateThrottle()] if getattr(self, "action", None) in UPLOAD_ACTIONS else []


@extend_schema_view(
    list=extend_schema(tags=["audiences"], summary="List target audiences"),
    retrieve=extend_schema(tags=["audiences"], summary="Get an audience by code"),
    create=extend_schema(tags=["audiences"], summary="Create an audience"),
    update=extend_schema(tags=["audiences"], summary="Replace an audience"),
    partial_update=extend_schema(tags=["audiences"], summary="Update an audience"),
    destroy=extend_schema(
        tags=["audiences"],
        summary="Delete an audience no need, survey, response or offer uses (409 otherwise)",
        responses={204: None, **CONFLICT},
    ),
)
class AudienceViewSet(CrudViewSet):
    serializer_class = AudienceDetailSerializer
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self):
        return audience_list()

    def perform_create(self, serializer):
        serializer.instance = services.audience_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.audience_update(audience=serializer.instance, values=serializer.validated_data)

    def perform_destroy(self, instance):
        services.audience_delete(audience=instance)


@extend_schema_view(
    list=extend_schema(tags=["needs"], summary="List needs, filtered and sorted"),
    retrieve=extend_schema(tags=["needs"], summary="Get a need"),
    create=extend_schema(tags=["needs"], summary="Create a need"),
    update=extend_schema(
        tags=["needs"],
        summary="Replace a need (needs computed from a survey: 409)",
        responses={200: NeedSerializer, **CONFLICT},
    ),
    partial_update=extend_schema(
        tags=["needs"],
        summary="Update a need (needs computed from a survey: 409)",
        responses={200: NeedSerializer, **CONFLICT},
    ),
    destroy=extend_schema(
        tags=["needs"], summary="Delete a need (needs computed from a survey: 409)", responses={204: None, **CONFLICT}
    ),
)
class NeedViewSet(CrudViewSet):
    serializer_class = NeedSerializer
    filterset_class = NeedFilterSet

    def get_queryset(self):
        # Another territory's need is a 404 to every action, the import's upserts and the export included.
        return selectors.need_list(user=self.request.user)

    @staticmethod
    def _values(serializer) -> tuple[dict, list | None]:
        values = dict(serializer.validated_data)
        themes = values.pop("themes", None)
        return values, themes

    def perform_create(self, serializer):
        values, themes = self._values(serializer)
        need = services.need_create(values=values, themes=themes or [], user=self.request.user)
        serializer.instance = selectors.need_get(need_id=need.pk, user=self.request.user)

    def perform_update(self, serializer):
        values, themes = self._values(serializer)
        need = services.need_update(need=serializer.instance, values=values, themes=themes, user=self.request.user)
        serializer.instance = selectors.need_get(need_id=need.pk, user=self.request.user)

    def perform_destroy(self, instance):
        services.need_delete(need=instance)

    @_upload_action(
        tags=["needs"],
        summary="Import needs from CSV or JSON (upsert by source + external_id, all or nothing)",
        description="Columns (French headers accepted): "
        + _columns_doc(services.NEED_COLUMNS)
        + ". `themes` are codes separated by `|`; `territory` an official code; `stage` and `source` codes or "
        "French labels; numbers accept a decimal comma. The computed columns of the export (id, response_count, "
        "CIs, updated_at) are accepted and ignored, so an export re-imports as is. Every bad line is reported "
        "(line, field); nothing is written unless the whole file is valid. An analyst of territories imports "
        "within them: a row's `territory` outside them is refused on its line (empty: their territory when they "
        "have exactly one), and so is a row whose key identifies a need of another territory.",
        request=NeedsUploadSerializer,
        response=NeedsImportReportSerializer,
        detail=False,
        url_path="import",
    )
    def import_file(self, request):
        data, content = _upload_content(request, NeedsUploadSerializer, max_bytes=DEFAULT_MAX_BYTES)
        report = services.needs_import(
            content=content,
            filename=data["file"].name,
            content_type=data["file"].content_type,
            dry_run=data["dry_run"],
            user=request.user,
        )
        return Response(NeedsImportReportSerializer(report.as_dict()).data)

    @extend_schema(
        tags=["needs"],
        summary="Export the needs (same filters as the list) as CSV, JSON or XLSX, in the import format",
        filters=True,
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=[*EXPORT_FORMATS],
                default="csv",
                description="File format (default csv); `xlsx`: typed cells and a sheet describing the columns.",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, formula-safe cells."),
            (200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook."),
            (200, "application/json"): OpenApiResponse(
                NeedExportRecordSerializer(many=True), description="A list of records."
            ),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        content_negotiation_class=FileFormatNegotiation,
        pagination_class=None,  # the whole filtered list, streamed
    )
    def export(self, request):
        file_format = export_format(request.query_params)
        queryset = self.filter_queryset(self.get_queryset())
        header = services.NEED_EXPORT_HEADER
        rows = (row for chunk in selectors.need_chunks(queryset) for row in services.need_export_rows(needs=chunk))
        return export_response(
            file_format=file_format,
            records=(dict(zip(header, row, strict=True)) for row in rows),
            columns=header,
            filename="needs",
            sheet=(export_sheets.NEED_SHEET_TITLE, export_sheets.NEED_SHEET_COLUMNS),
        )


@extend_schema_view(
    list=extend_schema(tags=["surveys"], summary="List surveys with their items"),
    retrieve=extend_schema(tags=["surveys"], summary="Get a survey with its items"),
    create=extend_schema(tags=["surveys"], summary="Create a survey and its items"),
    update=extend_schema(tags=["surveys"], summary="Replace a survey and its items (needs are recomputed)"),
    partial_update=extend_schema(tags=["surveys"], summary="Update a survey (items replaced only when given)"),
    destroy=extend_schema(tags=["surveys"], summary="Delete a survey with its responses and computed needs"),
)
class SurveyViewSet(CrudViewSet):
    serializer_class = SurveySerializer
    filterset_class = SurveyFilterSet

    def get_queryset(self):
        # Every action on a survey (responses, and what hangs off it) goes through get_object(): another
        # territory's survey is a 404.
        return selectors.survey_list(user=self.request.user)

    @staticmethod
    def _split(serializer) -> tuple[dict, list | None, list | None]:
        values = dict(serializer.validated_data)
        return values, values.pop("audiences", None), values.pop("items", None)

    def perform_create(self, serializer):
        values, audiences, items = self._split(serializer)
        survey = services.survey_create(
            values=values, audiences=audiences or [], items=items or [], created_by=self.request.user
        )
        serializer.instance = selectors.survey_get(survey_id=survey.pk, user=self.request.user)

    def perform_update(self, serializer):
        values, audiences, items = self._split(serializer)
        survey = services.survey_update(
            survey=serializer.instance, values=values, audiences=audiences, items=items, user=self.request.user
        )
        serializer.instance = selectors.survey_get(survey_id=survey.pk, user=self.request.user)

    def perform_destroy(self, instance):
        services.survey_delete(survey=instance)

    @_upload_action(
        tags=["surveys"],
        summary="Upload raw responses (CSV) and recompute the survey's needs",
        description="One row per respondent and item (survey tools' exports, one row per respondent and one "
        "column per question, go to `responses/wide/` with a mapping). Columns (French headers accepted): "
        + _columns_doc(services.RESPONSE_COLUMNS)
        + ". `audience` is an audience code (may be empty when the survey targets exactly one audience); `commune` an "
        "INSEE code, within the survey's territory when it has one; `item` the code of a survey item; "
        "`importance`/`satisfaction` whole numbers on the survey scale (empty = no answer). The whole file is "
        "validated first (every bad line listed, nothing written). Responses are upserted by (item, respondent): "
        "re-uploading the same file changes nothing, a corrected file updates. Then, for each item x audience, one "
        "need for the whole survey area and one per EPCI: importance and satisfaction = weighted mean of the "
        "normalised scores (x - min) / (max - min), each measure on its item's scale, with a 95% Student-t interval "
        "on the Kish effective sample size (null for a single answer); demand_volume = weighted respondents in the "
        "top-2 box of importance, rounded. Without weights (every weight 1) these are the plain mean, Student "
        "interval and count. Formulas: docs/surveys.md.",
        request=UploadSerializer,
        response=SurveyResponsesReportSerializer,
        detail=True,
        url_path="responses",
    )
    def responses(self, request, pk=None):
        survey = self.get_object()
        data, content = _upload_content(request, UploadSerializer, max_bytes=services.RESPONSES_MAX_BYTES)
        report = services.survey_responses_import(
            survey=survey, content=content, filename=data["file"].name, content_type=data["file"].content_type
        )
        return Response(SurveyResponsesReportSerializer(report.as_dict()).data, status=status.HTTP_200_OK)

    # Open answers and candidate needs. get_object() scopes the survey like every survey view; the filters of the
    # survey list do not apply to these actions.

    def _query(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        tags=["surveys"],
        summary="The survey's open answers, masked, with the themes each is filed under",
        description="Free-text answers as stored, with e-mail addresses, French phone numbers, links and names "
        "after a civility masked (`[téléphone masqué]`...). Each answer carries up to two themes of the taxonomy "
        "(scored with the matching's text model, see docs/open-answers.md); `theme=unclassified` lists those under "
        "none.",
        parameters=[OpenAnswersQuerySerializer],
        responses={200: SurveyOpenAnswerSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="open-answers", filter_backends=[])
    def open_answers(self, request, pk=None):
        survey = self.get_object()
        query = self._query(OpenAnswersQuerySerializer)
        answers = services.open_answer_list(survey=survey, question=query.get("question"), theme=query.get("theme"))
        page = self.paginate_queryset(answers)
        return self.get_paginated_response(SurveyOpenAnswerSerializer(page, many=True).data)

    @extend_schema(
        tags=["surveys"],
        summary="Open answers grouped into themes, and the candidate needs offered for acceptance",
        description="Per open question: one group per theme (count, weighted count, share of the question's weighted "
        "answers, audiences, up to 5 masked quotes, most representative first) and the unclassified answers, "
        "counted too. Per question x theme x audience: a candidate need (proposed statement, domain, theme, "
        "audience, the survey's territory, importance from the share of respondents) with its status: `pending` "
        "until an analyst accepts or rejects it. Nothing becomes a need without that step. A decision stays while "
        "the group's answers are unchanged; a new upload that changes them makes the candidate pending again "
        "(`previous_decision`).",
        parameters=[CandidateNeedsQuerySerializer],
        responses={
            200: CandidateNeedsSerializer,
            400: OpenApiResponse(ErrorSerializer, description="An unknown `status` (the `field` says which)."),
        },
    )
    @action(detail=True, methods=["get"], url_path="candidate-needs", filter_backends=[], pagination_class=None)
    def candidate_needs(self, request, pk=None):
        survey = self.get_object()
        query = self._query(CandidateNeedsQuerySerializer)
        report = services.candidate_needs_build(survey=survey)
        question, wanted = query.get("question"), query.get("status")
        if question is not None:
            report.questions = [summary for summary in report.questions if summary["question"] == question]
        report.candidates = [
            candidate
            for candidate in report.candidates
            if (question is None or candidate.question == question) and (wanted is None or candidate.status == wanted)
        ]
        return Response(CandidateNeedsSerializer(report).data)

    @_candidate_decision_action(
        "accept",
        summary="Accept a candidate need, with optional edits: the need is created",
        description="Every field is optional and replaces the proposal: statement, importance (0-1), audience, "
        "themes (all of one domain, which becomes the need's), territory (inside the survey's), stage. The need is "
        "validated like any need (400 with the field at fault) and created with source `survey`, the candidate's "
        "source reference and its weighted count as demand volume. 409 if the candidate is already accepted.",
        request=CandidateNeedAcceptSerializer,
        success=201,
        serializer_class=CandidateNeedAcceptSerializer,
    )
    def candidate_need_accept(self, request, pk=None, key=None):
        survey = self.get_object()
        edits = CandidateNeedAcceptSerializer(data=request.data)
        edits.is_valid(raise_exception=True)
        candidate = services.candidate_need_accept(
            survey=survey, key=key, edits=edits.validated_data, user=request.user
        )
        return Response(CandidateNeedSerializer(candidate).data, status=status.HTTP_201_CREATED)

    @_candidate_decision_action(
        "reject",
        summary="Reject a candidate need (recorded; no need is created)",
        description="409 if the candidate is already rejected, or accepted (then delete its need instead).",
        request=None,
        success=200,
    )
    def candidate_need_reject(self, request, pk=None, key=None):
        survey = self.get_object()
        candidate = services.candidate_need_reject(survey=survey, key=key, user=request.user)
        return Response(CandidateNeedSerializer(candidate).data)

    @extend_schema(
        tags=["surveys"],
        summary="Create the next wave of a survey (items, audiences, territory and file mapping copied)",
        description="The same survey run again (a year later): a new survey whose `previous_wave` is this one, with "
        "its scale, territory, wide-file mapping, audiences and items (codes, domains, themes, statements, stages "
        "and per-measure scales) copied, so the analyst only uploads the new file. Its `date` must be after this "
        "survey's (400 otherwise). Compare the waves with GET /surveys/{id}/compare/.",
        request=SurveyWaveCreateSerializer,
        responses={201: SurveySerializer},
    )
    @action(detail=True, methods=["post"], url_path="waves")
    def waves(self, request, pk=None):
        survey = self.get_object()
        serializer = SurveyWaveCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wave = services.survey_wave_create(survey=survey, created_by=request.user, **serializer.validated_data)
        return Response(
            SurveySerializer(selectors.survey_get(survey_id=wave.pk, user=request.user)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        tags=["surveys"],
        summary="Compare a survey with an earlier wave: how importance and satisfaction moved, item by item",
        description="Against the previous wave by default, or `with` any earlier wave of the same chain (400 "
        "otherwise, and when the survey has no previous wave). Items are matched by code. For each item of both "
        "waves, per audience and for every respondent together (`audience` null): the weighted mean of importance "
        "and satisfaction (normalised to 0-1 on each item's scale) in both waves with their 95% intervals, answer "
        "counts and Kish effective sample sizes, and the difference after - before with its 95% interval, Welch's "
        "two-sided p-value (standard errors and Welch-Satterthwaite degrees of freedom on the effective sample "
        "sizes) and whether it is significant (p < 0.05). Items added and dropped are listed. `format=csv`: one "
        "line per item x audience, the measures' figures prefixed `importance_` and `satisfaction_`. Formulas: "
        "docs/surveys.md.",
        parameters=[SurveyCompareQuerySerializer],
        responses={
            (200, "application/json"): SurveyWaveComparisonSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one line per item x audience."),
            (200, XLSX_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX: the CSV's lines as typed cells, and the columns described."
            ),
            400: OpenApiResponse(ErrorSerializer, description="`with` is not an earlier wave, or no previous wave."),
        },
    )
    @action(detail=True, methods=["get"], url_path="compare", content_negotiation_class=FileFormatNegotiation)
    def compare(self, request, pk=None):
        survey = self.get_object()
        query = SurveyCompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        baseline = wave_comparison.survey_wave_baseline(
            survey=survey, baseline_id=query.validated_data.get("with"), visible=self.get_queryset()
        )
        comparison = wave_comparison.survey_waves_compare(survey=survey, baseline=baseline)
        filename = f"comparaison-vagues-{survey.pk}-{baseline.pk}"
        if query.validated_data["format"] == "xlsx":
            columns = export_sheets.wave_comparison_sheet_columns(
                wave_comparison.MEASURES, wave_comparison.MEASURE_FIELDS
            )
            rows = wave_comparison.comparison_csv_rows(comparison)
            table = SpreadsheetTable(export_sheets.WAVE_COMPARISON_SHEET_TITLE, columns, rows)
            return xlsx_response(tables=[table], filename=filename)
        if query.validated_data["format"] == "csv":
            return streamed_file(
                csv_lines(
                    wave_comparison.CSV_HEADER, records_started(wave_comparison.comparison_csv_rows(comparison))
                ),
                content_type="text/csv; charset=utf-8",
                filename=f"{filename}.csv",
            )
        return Response(SurveyWaveComparisonSerializer(comparison).data)

    @_upload_action(
        tags=["surveys"],
        summary="Upload a wide survey export (one row per respondent) and recompute the survey's needs",
        description=WIDE_UPLOAD_DOC
        + " The file is read through the mapping given (then stored with the survey) or the stored one, and "
        "validated whole: a column set other than the mapping's, a label the mapping does not read, an audience "
        "answer without an audience, a commune that does not resolve or lies outside the survey's territory, a weight "
        "that is not a positive number, a duplicate respondent id: every problem is listed with its line and column, "
        "and nothing is written. Otherwise the file's respondents' responses and open answers are replaced, each "
        "item's scale is set from its columns, and the needs are recomputed as for the long upload.",
        request=SurveyWideUploadSerializer,
        response=SurveyWideReportSerializer,
        detail=True,
        url_path="responses/wide",
        url_name="responses-wide",
    )
    def responses_wide(self, request, pk=None):
        survey = self.get_object()
        data, content = _upload_content(request, SurveyWideUploadSerializer, max_bytes=services.WIDE_MAX_BYTES)
        report = services.survey_wide_import(
            survey=survey,
            content=content,
            filename=data["file"].name,
            sheet=data.get("sheet"),
            mapping=_mapping_field(data),
        )
        return Response(SurveyWideReportSerializer(report.as_dict()).data)

    @_upload_action(
        tags=["surveys"],
        summary="Preview what a wide survey export would give (first rows, every problem); nothing is written",
        description=WIDE_UPLOAD_DOC
        + " The first `rows` rows as the import would read them (respondent, audience, commune resolved, weight, "
        "each answer's point, open answers), the scale each question column is read on, and every problem of the "
        "whole file (`valid` is false when the import would be refused). An invalid mapping is a 400.",
        request=SurveyWidePreviewUploadSerializer,
        response=SurveyWidePreviewSerializer,
        detail=True,
        url_path="responses/preview",
        url_name="responses-preview",
    )
    def responses_preview(self, request, pk=None):
        survey = self.get_object()
        data, content = _upload_content(request, SurveyWidePreviewUploadSerializer, max_bytes=services.WIDE_MAX_BYTES)
        preview = services.survey_wide_preview(
            survey=survey,
            content=content,
            filename=data["file"].name,
            sheet=data.get("sheet"),
            mapping=_mapping_field(data),
            rows=data["rows"],
        )
        return Response(SurveyWidePreviewSerializer(preview).data)

    @extend_schema(
        methods=["GET"],
        tags=["surveys"],
        summary="Get the survey's wide-file mapping (404 when none is stored)",
        responses={200: SurveyMappingSerializer},
    )
    @extend_schema(
        methods=["PUT"],
        tags=["surveys"],
        summary="Store the survey's wide-file mapping (validated whole against the survey)",
        description="Which column gives the respondent, audience, commune and weight, which item and measure each "
        "question column gives and on which scale, which are open questions, which are ignored. Every column of "
        "`columns` is mapped exactly once or ignored; codes only (items, audiences), so the next wave reuses it. "
        "See docs/survey-files.md.",
        request=SurveyMappingSerializer,
        responses={200: SurveyMappingSerializer},
    )
    @action(detail=True, methods=["get", "put"], url_path="mapping")
    def mapping(self, request, pk=None):
        survey = self.get_object()
        if request.method == "PUT":
            survey = services.survey_mapping_set(survey=survey, mapping=request.data)
        elif not survey.mapping:
            raise NotFound(gettext("The survey has no mapping yet: PUT one, or ask for a suggestion from a file."))
        return Response(survey.mapping)

    @_upload_action(
        tags=["surveys"],
        summary="Propose a mapping from a wide survey export, for the analyst to edit and store",
        description=WIDE_UPLOAD_DOC
        + " Columns whose answers fit a known scale are proposed as questions (the scale's points written out; "
        "the item guessed from `CODE[item]`, `Question [item]` headers, item codes or statements), the respondent, "
        "weight, commune and audience columns guessed from their headers (audience answers matched to the "
        "audiences' codes and labels), varied free text as open questions, the rest ignored. Nulls are left to "
        "fill; each column says what to check. Nothing is stored.",
        request=SurveyFileSerializer,
        response=SurveyMappingSuggestionSerializer,
        detail=True,
        url_path="mapping/suggest",
        url_name="mapping-suggest",
    )
    def mapping_suggest(self, request, pk=None):
        survey = self.get_object()
        data, content = _upload_content(request, SurveyFileSerializer, max_bytes=services.WIDE_MAX_BYTES)
        table = services.survey_wide_read(content=content, filename=data["file"].name, sheet=data.get("sheet"))
        return Response(
            SurveyMappingSuggestionSerializer(services.survey_mapping_suggest(survey=survey, table=table)).data
        )

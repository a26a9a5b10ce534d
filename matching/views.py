"""API views of the matching app: runs and their per-need results (analysts), reports, comparisons and IPA
(analysts), and the public newcomer search."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exports import records_started, streamed_file
from api.permissions import IsAnalyst
from api.serializers import ErrorSerializer
from api.spreadsheets import XLSX_MEDIA_TYPE, xlsx_response
from api.tabular import csv_lines
from api.throttling import ScopedRateThrottle
from matching import charts, examples, report_builder, selectors, services
from matching.filters import MatchingRunFilterSet, NeedResultFilterSet
from matching.models import MatchingRun, NeedResult
from matching.search import offer_search
from matching.serializers import (
    CompareQuerySerializer,
    IpaQuerySerializer,
    MapQuerySerializer,
    MapSerializer,
    MatchingCompareSerializer,
    MatchingIpaSerializer,
    MatchingReportSerializer,
    MatchingRunCreateSerializer,
    MatchingRunSerializer,
    MatchingSearchRequestSerializer,
    MatchingSearchResponseSerializer,
    NeedResultDetailSerializer,
    NeedResultSerializer,
    ReportQuerySerializer,
)
from offers.selectors import territory_resolve


@extend_schema_view(
    list=extend_schema(tags=["matching"], summary="List matching runs, newest first"),
    retrieve=extend_schema(tags=["matching"], summary="Get a matching run with its progress, snapshot and timings"),
    create=extend_schema(
        tags=["matching"],
        summary="Launch a matching run in the background",
        request=MatchingRunCreateSerializer,
        description=(
            "Fair use: a user may have `DJANGO_MAX_ACTIVE_RUNS_PER_USER` runs queued or running at once (2 by "
            "default, admins included), and the service `DJANGO_MAX_ACTIVE_RUNS` in all (8); one more is refused "
            "with a 409 whose code is `too_many_runs`, its message giving the limit and how many are active."
        ),
        responses={
            202: OpenApiResponse(MatchingRunSerializer, description="Accepted; poll the run's `url`."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="Too many active runs (`too_many_runs`): wait for one to finish.",
                examples=examples.TOO_MANY_RUNS_EXAMPLES,
            ),
        },
    ),
)
class MatchingRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = MatchingRunSerializer
    filterset_class = MatchingRunFilterSet
    permission_classes = [IsAnalyst]

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)

    def get_serializer_class(self):
        return MatchingRunCreateSerializer if self.action == "create" else MatchingRunSerializer

    def create(self, request, *args, **kwargs):
        serializer = MatchingRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        territory = data.get("scope_territory")
        run = services.run_start(
            launched_by=request.user,
            scope_territory=territory_resolve(code=territory, field="scope_territory") if territory else None,
            scope_audiences=data["scope_audiences"],
            scope_domains=data["scope_domains"],
            parameters=data["parameters"],
            reference_date=data.get("reference_date"),
            chunk_size=data.get("chunk_size"),
        )
        run = selectors.run_get(run_id=run.id, user=request.user)
        body = MatchingRunSerializer(run, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


@extend_schema_view(
    list=extend_schema(tags=["matching"], summary="List a run's per-need results, largest gap first"),
    retrieve=extend_schema(
        tags=["matching"], summary="Get one need's result with its matched offers, score breakdowns and reasons"
    ),
)
class NeedResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NeedResultSerializer
    filterset_class = NeedResultFilterSet
    permission_classes = [IsAnalyst]

    def get_run(self) -> MatchingRun:
        if not hasattr(self, "_run"):
            try:
                self._run = selectors.run_get(run_id=self.kwargs["run_id"], user=self.request.user)
            except (MatchingRun.DoesNotExist, ValidationError, ValueError) as exc:
                raise Http404("No matching run with this id.") from exc
        return self._run

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return NeedResult.objects.none()
        run = self.get_run()
        if self.action == "retrieve":
            return selectors.need_result_list(run=run, user=self.request.user).prefetch_related("matched_offers")
        return selectors.need_result_list(run=run, user=self.request.user)

    def get_serializer_class(self):
        return NeedResultDetailSerializer if self.action == "retrieve" else NeedResultSerializer


class MatchingSearchView(APIView):
    """Rank published offers for a newcomer's request, with the scoring of matching runs."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "search"

    @extend_schema(
        tags=["matching"],
        summary="Search published offers for a newcomer's request (public, throttled)",
        request=MatchingSearchRequestSerializer,
        responses=MatchingSearchResponseSerializer,
    )
    def post(self, request):
        serializer = MatchingSearchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = offer_search(**serializer.validated_data)
        return Response({"count": len(results), "results": results})


class _FormatParameterNegotiation(DefaultContentNegotiation):
    """`format` is these views' own parameter (json, csv, png, svg, html), not DRF's renderer override: always
    JSON, and the view answers the files itself."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


RUN_ID_PARAMETER = OpenApiParameter(
    "run_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="Id of the matching run (it must have succeeded).",
    examples=[OpenApiExample("A succeeded run", value=examples.RUN_ID)],
)


def _csv_answer(answer: report_builder.RunAnswer, fmt: str) -> HttpResponse:
    return streamed_file(
        csv_lines(answer.csv_header, records_started(answer.csv_rows())),
        content_type="text/csv; charset=utf-8",
        filename=f"{answer.filename_stem}.csv",
    )


def _xlsx_answer(answer: report_builder.RunAnswer, fmt: str) -> HttpResponse:
    return xlsx_response(tables=answer.sheets(), filename=answer.filename_stem)


def _chart_answer(answer: report_builder.RunAnswer, fmt: str) -> HttpResponse:
    response = HttpResponse(answer.chart(fmt), content_type=charts.FORMATS[fmt])
    response["Content-Disposition"] = f'inline; filename="{answer.filename_stem}.{fmt}"'
    return response


# The HTML document makes no request of its own: this policy lets the browser load nothing but the page (inline
# styles and SVG), so a label that slipped through escaping still could not run a script or call out.
HTML_DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _html_answer(answer: report_builder.RunAnswer, fmt: str) -> HttpResponse:
    response = HttpResponse(answer.html(), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{answer.filename_stem}.html"'
    response["Content-Security-Policy"] = HTML_DOCUMENT_CSP
    return response


# Every `format` a report view answers besides JSON: its media type (the schema's responses) and how to answer it
# from the built answer. A new format is one line here and one choice in the view's query serializer.
FILE_FORMATS: dict[str, tuple[str, Callable[[report_builder.RunAnswer, str], HttpResponse]]] = {
    "csv": ("text/csv", _csv_answer),
    **{fmt: (media_type, _chart_answer) for fmt, media_type in charts.FORMATS.items()},
    "xlsx": (XLSX_MEDIA_TYPE, _xlsx_answer),
    "html": ("text/html", _html_answer),
}
MEDIA_TYPES = {fmt: media_type for fmt, (media_type, _answer) in FILE_FORMATS.items()}


def _report_schema(serializer, media_description: str, **kwargs):
    """The schema of a report view: the run id and the view's query as parameters; the JSON `serializer`, or a file
    of each other `format` the query offers."""

    def decorate(view):
        query = view.query_serializer_class
        file = OpenApiResponse(OpenApiTypes.BINARY, description=media_description)
        responses = {(200, "application/json"): serializer}
        for fmt in query().fields["format"].choices:
            if fmt in MEDIA_TYPES:
                responses[(200, MEDIA_TYPES[fmt])] = file
        schema = extend_schema(tags=["matching"], parameters=[RUN_ID_PARAMETER, query], responses=responses, **kwargs)
        return extend_schema_view(get=schema)(view)

    return decorate


class _ReportBaseView(APIView):
    """Validate the query, build the answer (`report_builder`), render it in the `format` asked for."""

    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FormatParameterNegotiation
    extra_error_statuses = (409,)
    query_serializer_class: type
    build: Callable[..., report_builder.RunAnswer]

    def get(self, request, run_id):
        serializer = self.query_serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = dict(serializer.validated_data)
        fmt = query.pop("format")
        answer = self.build(run_id=run_id, user=request.user, **query)
        if fmt in FILE_FORMATS:
            _media_type, respond = FILE_FORMATS[fmt]
            return respond(answer, fmt)
        return Response(answer.body)


@_report_schema(
    MatchingReportSerializer,
    "CSV file, XLSX workbook, chart image, or the printable HTML document.",
    operation_id="matching_runs_report",
    summary="Gap report of a run, grouped by one or two dimensions (JSON, CSV, PNG or SVG heatmap, HTML document)",
    description=(
        "Aggregates the run's stored per-need results by one or two of `domain`, `theme`, `audience`, "
        "`territory`, `stage` (the journey stage: attract, welcome, anchor). Per group: need count, demand "
        "weight (sum of importance, sum of demand volume where known), mean coverage, total and mean gap, mean "
        "satisfaction, count per recommendation and the `top` largest gaps. A need with several themes counts in "
        "each of its themes, so theme groups add up to more than `totals`. `format=csv` gives one line per group "
        "with French headers; `format=png|svg` a heatmap of total gap by the two dimensions (a horizontal bar "
        "chart with one dimension); `format=html` the printable report document (a self-contained page for A4, "
        "charts inline as SVG); `format=xlsx` a workbook (groups, top gaps, recommendation counts, and a sheet "
        "describing the columns). The run must have succeeded (409 otherwise)."
    ),
)
class ReportView(_ReportBaseView):
    query_serializer_class = ReportQuerySerializer
    build = staticmethod(report_builder.report_build)


@_report_schema(
    MatchingCompareSerializer,
    "CSV file (one line per need), XLSX workbook, or the printable HTML document.",
    operation_id="matching_runs_compare",
    summary="Compare a run with a baseline run: which gaps opened, closed, grew or shrank",
    description=(
        "Matches the two runs' results on need id, then needs computed from two waves of one survey (POST "
        "/surveys/{id}/waves/) on their item code x audience x territory, so a run on this year's wave compares "
        "with last year's on the same items (`baseline_need_id` then names the earlier wave's need; importance "
        "and satisfaction before/after show how answers moved). Status per need: `new` / `removed` (in one run only), "
        "`out_of_scope` (in one run only, outside the other run's scope: `scopes_differ` is then true and both "
        "scopes are described; such needs are left out of the gap totals and the groups), "
        "`opened` (no open gap in the baseline, one now), `closed` (the reverse), `grew` / `shrank` (open in "
        "both, changed by at least `gap_delta`), `unchanged`. A gap is open when it exceeds `gap_floor` and "
        "the recommendation is not `maintain`. Returns the count per status, gap totals before/after, the same "
        "per group (`group_by`), and each need with both gaps, coverages and recommendations. Both runs must "
        "have succeeded (409) and differ (400). `format=csv`: one line per need; `format=xlsx`: the needs, the "
        "counts per status with the gap totals, and the groups, one sheet each."
    ),
)
class CompareView(_ReportBaseView):
    query_serializer_class = CompareQuerySerializer
    build = staticmethod(report_builder.comparison_build)


@_report_schema(
    MatchingIpaSerializer,
    "CSV file, XLSX workbook, IPA scatter plot, or the printable HTML document.",
    operation_id="matching_runs_ipa",
    summary="Importance-Performance Analysis of a run's needs (JSON, CSV, PNG or SVG scatter, HTML document)",
    description=(
        "Each need's importance, satisfaction, quadrant and importance − satisfaction, with the crosshairs "
        "recomputed on the run's stored results by the `crosshair` rule (Martilla & James: `mean` by default). "
        "Needs without satisfaction are listed as not classified and do not move the crosshairs. "
        "`format=png|svg`: the classic IPA grid with the crosshairs and the French quadrant names; `format=xlsx`: "
        "the needs, the count per quadrant and the crosshairs, one sheet each."
    ),
)
class IpaView(_ReportBaseView):
    query_serializer_class = IpaQuerySerializer
    build = staticmethod(report_builder.ipa_build)


@extend_schema_view(
    get=extend_schema(
        tags=["matching"],
        operation_id="matching_runs_map",
        summary="Map of a run's total gap by intercommunality or commune (SVG or PNG)",
        description=(
            "Communes whose contours ship with Ancrage (the Creuse, IGN Admin Express / Etalab) are filled with "
            "the total weighted gap of their own needs (`level=commune`) or of their intercommunality's "
            "(`level=epci`, intercommunality borders drawn thicker); communes without needs are grey. Other "
            "territories of the level with needs are proportional circles at their centroid, or listed under the "
            "map as not placed when they have no centroid; needs of a wider area (a whole département) are listed "
            "under the map. Legend (colour scale, circle sizes), scale bar in km, north arrow, title and source "
            "line. The run must have succeeded (409 otherwise); an unknown `level` or `format` is a 400."
        ),
        parameters=[RUN_ID_PARAMETER, MapQuerySerializer],
        responses={
            (200, "application/json"): MapSerializer,
            **{
                (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The map.")
                for media_type in charts.FORMATS.values()
            },
        },
    )
)
class MapView(_ReportBaseView):
    query_serializer_class = MapQuerySerializer
    build = staticmethod(report_builder.map_build)

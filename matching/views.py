"""API views of the matching app: runs and their per-need results (analysts), reports, comparisons and IPA
(analysts), and the public newcomer search."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import ErrorItem, InvalidInput
from api.permissions import IsAnalyst
from api.tabular import csv_lines
from api.throttling import ScopedRateThrottle
from matching import charts, examples, reports, selectors, services
from matching.filters import MatchingRunFilterSet, NeedResultFilterSet
from matching.models import MatchingRun, NeedResult
from matching.search import offer_search
from matching.serializers import (
    CompareQuerySerializer,
    IpaQuerySerializer,
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
        responses={202: OpenApiResponse(MatchingRunSerializer, description="Accepted; poll the run's `url`.")},
    ),
)
class MatchingRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = MatchingRunSerializer
    filterset_class = MatchingRunFilterSet
    permission_classes = [IsAnalyst]

    def get_queryset(self):
        return selectors.run_list()

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
        body = MatchingRunSerializer(selectors.run_get(run_id=run.id), context={"request": request}).data
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
                self._run = MatchingRun.objects.get(id=self.kwargs["run_id"])
            except (MatchingRun.DoesNotExist, ValidationError, ValueError) as exc:
                raise Http404("No matching run with this id.") from exc
        return self._run

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return NeedResult.objects.none()
        run = self.get_run()
        if self.action == "retrieve":
            return selectors.need_result_list(run=run).prefetch_related("matched_offers")
        return selectors.need_result_list(run=run)

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
    """`format` is these views' own parameter (json, csv, png, svg), not DRF's renderer override: always JSON,
    and the view answers CSV or images itself."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CROSSHAIR_LABELS = {
    "mean": "à la moyenne",
    "median": "à la médiane",
    "midpoint": "au milieu de l'échelle",
    "given": "aux valeurs fixées",
}


RUN_ID_PARAMETER = OpenApiParameter(
    "run_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="Id of the matching run (it must have succeeded).",
    examples=[OpenApiExample("A succeeded run", value=examples.RUN_ID)],
)


def _media_responses(serializer, media_types: tuple[str, ...], description: str) -> dict:
    responses = {(200, "application/json"): serializer}
    for media_type in media_types:
        responses[(200, media_type)] = OpenApiResponse(OpenApiTypes.BINARY, description=description)
    return responses


def _csv_response(header, rows, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _image_response(content: bytes, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=charts.FORMATS[fmt])
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _run_caption(run) -> str:
    caption = f"exécution du {run.created_at:%d/%m/%Y}"
    if run.scope_territory_id:
        caption += f", {run.scope_territory.name}"
    return caption


def _dimension_title(dimension: str, territory_level: str) -> str:
    title = reports.DIMENSION_LABELS[dimension]
    if dimension == "territory":
        title += f" ({reports.TERRITORY_LEVEL_LABELS[territory_level].lower()})"
    return title


class _ReportBaseView(APIView):
    permission_classes = [IsAnalyst]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FormatParameterNegotiation
    extra_error_statuses = (409,)

    def query(self, request) -> dict:
        serializer = self.query_serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class ReportView(_ReportBaseView):
    query_serializer_class = ReportQuerySerializer

    @extend_schema(
        operation_id="matching_runs_report",
        tags=["matching"],
        summary="Gap report of a run, grouped by one or two dimensions (JSON, CSV, PNG or SVG heatmap)",
        description=(
            "Aggregates the run's stored per-need results by one or two of `domain`, `theme`, `audience`, "
            "`territory`. Per group: need count, demand weight (sum of importance, sum of demand volume where "
            "known), mean coverage, total and mean gap, mean satisfaction, count per recommendation and the `top` "
            "largest gaps. A need with several themes counts in each of its themes, so theme groups add up to more "
            "than `totals`. `format=csv` gives one line per group with French headers; `format=png|svg` a heatmap "
            "of total gap by the two dimensions (a horizontal bar chart with one dimension). The run must have "
            "succeeded (409 otherwise)."
        ),
        parameters=[RUN_ID_PARAMETER, ReportQuerySerializer],
        responses=_media_responses(
            MatchingReportSerializer, ("text/csv", "image/png", "image/svg+xml"), "CSV file or chart image."
        ),
    )
    def get(self, request, run_id):
        query = self.query(request)
        run = selectors.report_run_get(run_id=run_id)
        rows = list(selectors.report_rows(run=run))
        labels = selectors.report_labels(rows=rows)
        group_by, level = query["group_by"], query["territory_level"]
        report = reports.report_aggregate(
            rows, group_by=group_by, labels=labels, territory_level=level, top=query["top"]
        )
        fmt = query["format"]
        stem = f"ecarts-{'-'.join(group_by)}-{run.id}"
        if fmt == "csv":
            return _csv_response(reports.REPORT_CSV_HEADER, reports.report_csv_rows(report), f"{stem}.csv")
        if fmt in charts.FORMATS:
            return _image_response(self.chart(report, run, group_by, level, fmt), fmt, f"{stem}.{fmt}")
        return Response({"run": run.id, **report})

    @staticmethod
    def chart(report: dict, run, group_by: list[str], level: str, fmt: str) -> bytes:
        row_labels, col_labels, values = reports.report_matrix(report)
        titles = [_dimension_title(dimension, level) for dimension in group_by]
        title = f"Écart pondéré par {' et '.join(t.lower() for t in titles)} ({_run_caption(run)})"
        if len(group_by) == 1:
            return charts.gap_bars(
                title=title,
                row_title=titles[0],
                row_labels=row_labels,
                values=[row[0] for row in values],
                legend=reports.GAP_LEGEND,
                fmt=fmt,
            )
        return charts.gap_heatmap(
            title=title,
            row_title=titles[0],
            col_title=titles[1],
            row_labels=row_labels,
            col_labels=col_labels,
            values=values,
            legend=reports.GAP_LEGEND,
            fmt=fmt,
        )


class CompareView(_ReportBaseView):
    query_serializer_class = CompareQuerySerializer

    @extend_schema(
        operation_id="matching_runs_compare",
        tags=["matching"],
        summary="Compare a run with a baseline run: which gaps opened, closed, grew or shrank",
        description=(
            "Matches the two runs' results on need id. Status per need: `new` / `removed` (in one run only), "
            "`opened` (no open gap in the baseline, one now), `closed` (the reverse), `grew` / `shrank` (open in "
            "both, changed by at least `gap_delta`), `unchanged`. A gap is open when it exceeds `gap_floor` and "
            "the recommendation is not `maintain`. Returns the count per status, gap totals before/after, the same "
            "per group (`group_by`), and each need with both gaps, coverages and recommendations. Both runs must "
            "have succeeded (409) and differ (400). `format=csv`: one line per need."
        ),
        parameters=[RUN_ID_PARAMETER, CompareQuerySerializer],
        responses=_media_responses(MatchingCompareSerializer, ("text/csv",), "CSV file, one line per need."),
    )
    def get(self, request, run_id):
        query = self.query(request)
        run = selectors.report_run_get(run_id=run_id)
        if query["baseline"] == run.id:
            raise InvalidInput(
                [ErrorItem(field="baseline", code="same_run", message="The baseline must be another run.")]
            )
        baseline = selectors.report_run_get(run_id=query["baseline"], field="baseline")
        rows, baseline_rows = selectors.compare_rows(run=run, baseline=baseline)
        labels = selectors.report_labels(rows=rows + baseline_rows)
        comparison = reports.compare_runs(
            rows,
            baseline_rows,
            labels=labels,
            group_by=query["group_by"],
            territory_level=query["territory_level"],
            gap_floor=query["gap_floor"],
            gap_delta=query["gap_delta"],
            statuses=query.get("status"),
        )
        if query["format"] == "csv":
            return _csv_response(
                reports.COMPARE_CSV_HEADER,
                reports.compare_csv_rows(comparison, labels),
                f"comparaison-{run.id}-{baseline.id}.csv",
            )
        return Response({"run": run.id, "baseline": baseline.id, **comparison})


class IpaView(_ReportBaseView):
    query_serializer_class = IpaQuerySerializer

    @extend_schema(
        operation_id="matching_runs_ipa",
        tags=["matching"],
        summary="Importance-Performance Analysis of a run's needs (JSON, CSV, PNG or SVG scatter)",
        description=(
            "Each need's importance, satisfaction, quadrant and importance − satisfaction, with the crosshairs "
            "recomputed on the run's stored results by the `crosshair` rule (Martilla & James: `mean` by default). "
            "Needs without satisfaction are listed as not classified and do not move the crosshairs. "
            "`format=png|svg`: the classic IPA grid with the crosshairs and the French quadrant names."
        ),
        parameters=[RUN_ID_PARAMETER, IpaQuerySerializer],
        responses=_media_responses(
            MatchingIpaSerializer, ("text/csv", "image/png", "image/svg+xml"), "CSV file or IPA scatter plot."
        ),
    )
    def get(self, request, run_id):
        query = self.query(request)
        run = selectors.report_run_get(run_id=run_id)
        rows = list(selectors.report_rows(run=run))
        given = None
        if query["crosshair"] == "given":
            given = (query["importance_cross"], query["satisfaction_cross"])
        table = reports.ipa_table(rows, rule=query["crosshair"], given=given)
        fmt = query["format"]
        stem = f"ipa-{run.id}"
        if fmt == "csv":
            labels = selectors.report_labels(rows=[])
            return _csv_response(reports.IPA_CSV_HEADER, reports.ipa_csv_rows(table, labels), f"{stem}.csv")
        if fmt in charts.FORMATS:
            return _image_response(self.chart(table, run, fmt), fmt, f"{stem}.{fmt}")
        return Response({"run": run.id, **table})

    @staticmethod
    def chart(table: dict, run, fmt: str) -> bytes:
        crosshair = table["crosshair"]
        classified = [need for need in table["needs"] if need["quadrant"]]
        if crosshair["importance"] is None:
            caption = "Aucun besoin n'a de satisfaction mesurée : pas de quadrants."
        else:
            caption = (
                f"Croisement {CROSSHAIR_LABELS[crosshair['rule']]} : importance {crosshair['importance']:.2f}, "
                f"satisfaction {crosshair['satisfaction']:.2f}"
            )
        nan = float("nan")
        return charts.ipa_scatter(
            title=f"Analyse importance-performance des besoins ({_run_caption(run)})",
            importance=[need["importance"] for need in classified],
            satisfaction=[need["satisfaction"] for need in classified],
            quadrants=[need["quadrant"] for need in classified],
            importance_cross=nan if crosshair["importance"] is None else crosshair["importance"],
            satisfaction_cross=nan if crosshair["satisfaction"] is None else crosshair["satisfaction"],
            quadrant_labels=reports.IPA_QUADRANT_LABELS,
            crosshair_label=caption,
            fmt=fmt,
        )

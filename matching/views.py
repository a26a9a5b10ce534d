"""API views of the matching app: runs (analysts), their per-need results, and the public search."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from api.permissions import IsAnalyst
from matching import selectors, services
from matching.filters import MatchingRunFilterSet, NeedResultFilterSet
from matching.models import MatchingRun, NeedResult
from matching.search import offer_search
from matching.serializers import (
    MatchingRunCreateSerializer,
    MatchingRunSerializer,
    MatchingSearchRequestSerializer,
    MatchingSearchResponseSerializer,
    NeedResultDetailSerializer,
    NeedResultSerializer,
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

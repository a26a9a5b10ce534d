"""API views of the offers app."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import InvalidInput
from offers import selectors
from offers.filters import TerritoryFilterSet
from offers.serializers import TaxonomySerializer, TerritorySerializer


@extend_schema_view(
    list=extend_schema(tags=["reference"], summary="List territories (regions, départements, EPCIs, communes)"),
    retrieve=extend_schema(
        tags=["reference"],
        summary="Get a territory by official code",
        parameters=[
            OpenApiParameter(
                "code",
                str,
                OpenApiParameter.PATH,
                description="Official code (`23096`, `200034825`) or qualified `kind:code` when ambiguous.",
            )
        ],
    ),
)
class TerritoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TerritorySerializer
    filterset_class = TerritoryFilterSet
    permission_classes = [AllowAny]
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return selectors.territory_list()

    def get_object(self):
        try:
            territory = selectors.territory_resolve(code=self.kwargs["code"], field="code")
        except InvalidInput as exc:
            if exc.errors[0].code == "not_found":
                raise NotFound(exc.errors[0].message) from exc
            raise
        self.check_object_permissions(self.request, territory)
        return territory


class TaxonomyView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["reference"],
        summary="Get the taxonomy: domains with their themes, and the reference audiences",
        responses=TaxonomySerializer,
    )
    def get(self, request):
        data = {"domains": selectors.taxonomy_domains(), "audiences": selectors.audience_list()}
        return Response(TaxonomySerializer(data).data)

"""API views of the offers app."""

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from api.conditional import not_modified, with_validators
from api.exceptions import InvalidInput, PayloadTooLarge
from api.exports import EXPORT_FORMATS, export_format, export_response
from api.filters import FilterBackend
from api.negotiation import FileFormatNegotiation
from api.pagination import KnownCountPagination
from api.permissions import IsAnalyst
from api.schema import CONFLICT
from api.serializers import ErrorSerializer
from api.spreadsheets import XLSX_MEDIA_TYPE
from api.tabular import file_too_large_message
from api.throttling import PublicReadThrottle, ScopedRateThrottle, public_read_throttles
from offers import selectors, services
from offers.export_sheets import OFFER_SHEET_COLUMNS, OFFER_SHEET_TITLE
from offers.filters import OfferFilterSet, OrganisationFilterSet, TerritoryFilterSet
from offers.models import SyncTrigger, Territory, TerritoryKind
from offers.serializers import (
    AccountSerializer,
    CustomTerritoryWriteSerializer,
    OfferImportReportSerializer,
    OfferImportRequestSerializer,
    OfferSerializer,
    OfferWriteSerializer,
    OrganisationSerializer,
    SourceSerializer,
    SourceSyncSerializer,
    SourceSyncUploadSerializer,
    TaxonomySerializer,
    TerritorySerializer,
)


class CustomTerritoryWriteMixin:
    """POST, PATCH and DELETE of custom territories (analysts and admins); every other kind stays read-only
    reference data (PATCH or DELETE of one: 403). Writes go through `offers.services.custom_territory_*`."""

    write_actions = ("create", "partial_update", "destroy")

    def get_permissions(self):
        if getattr(self, "action", None) in self.write_actions:
            return [IsAnalyst()]
        return super().get_permissions()

    def get_throttles(self):
        if getattr(self, "action", None) in self.write_actions:
            return []
        return super().get_throttles()

    def paginate_queryset(self, queryset):
        # Members are read only for the custom territories of the page: no query when it has none.
        page = super().paginate_queryset(queryset)
        if page is not None:
            prefetch_related_objects([t for t in page if t.kind == TerritoryKind.CUSTOM], "members")
        return page

    def _custom_object(self) -> Territory:
        territory = self.get_object()
        services.custom_territory_check(territory=territory)
        return territory

    @extend_schema(
        tags=["reference"],
        summary="Create a custom territory (a named set of EPCIs and/or communes)",
        request=CustomTerritoryWriteSerializer,
        responses={201: TerritorySerializer},
    )
    def create(self, request, *args, **kwargs):
        body = CustomTerritoryWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        territory = services.custom_territory_create(
            code=data.get("code"), name=data.get("name"), members=data.get("members"), created_by=request.user
        )
        return Response(TerritorySerializer(territory).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["reference"],
        summary="Rename a custom territory or replace its members (its code is stable)",
        request=CustomTerritoryWriteSerializer,
        responses={200: TerritorySerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        territory = self._custom_object()
        body = CustomTerritoryWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        territory = services.custom_territory_update(territory=territory, values=dict(body.validated_data))
        return Response(TerritorySerializer(territory).data)

    @extend_schema(
        tags=["reference"],
        summary="Delete a custom territory no need, survey, run or offer uses (409 otherwise)",
        responses={204: None, **CONFLICT},
    )
    def destroy(self, request, *args, **kwargs):
        services.custom_territory_delete(territory=self._custom_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


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
                examples=[OpenApiExample("Guéret", value="23096")],
            )
        ],
    ),
)
class TerritoryViewSet(
    CustomTerritoryWriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = TerritorySerializer
    filterset_class = TerritoryFilterSet
    permission_classes = [AllowAny]
    throttle_classes = [PublicReadThrottle]
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    extra_error_statuses = (400,)  # an ambiguous code, or an unknown kind in `kind:code`

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
    throttle_classes = [PublicReadThrottle]

    @extend_schema(
        tags=["reference"],
        summary="Get the taxonomy: domains with their themes, and the reference audiences",
        responses=TaxonomySerializer,
    )
    def get(self, request):
        data = {"domains": selectors.taxonomy_domains(), "audiences": selectors.audience_list()}
        return Response(TaxonomySerializer(data).data)


# Offers -------------------------------------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "id",
    "title",
    "description",
    "domain",
    "themes",
    "organisation",
    "commune",
    "commune_name",
    "latitude",
    "longitude",
    "remote",
    "service_area",
    "audiences",
    "is_free",
    "price_amount",
    "price_details",
    "capacity",
    "capacity_unit",
    "available_from",
    "available_until",
    "status",
    "url",
    "contact",
    "accessibility",
    "source",
    "external_id",
    "updated_at",
    "distance_km",
]


UPLOAD_ACTIONS = ("import_file", "import_data_inclusion")
IMPORT_RESPONSES = {200: OfferImportReportSerializer, 413: ErrorSerializer}


@extend_schema_view(
    list=extend_schema(
        tags=["offers"],
        summary="List offers (search, filters, distance)",
        description=(
            "Published offers for everyone; editors also see their organisations' drafts and archived offers. "
            "Answers carry an ETag and Last-Modified; send If-None-Match / If-Modified-Since to get a 304."
        ),
        responses={200: OfferSerializer(many=True), 304: OpenApiResponse(description="Not modified.")},
    ),
    retrieve=extend_schema(
        tags=["offers"],
        summary="Get an offer",
        responses={200: OfferSerializer, 304: OpenApiResponse(description="Not modified.")},
    ),
    create=extend_schema(
        tags=["offers"],
        summary="Create an offer (editors of its organisation, admins)",
        request=OfferWriteSerializer,
        responses={201: OfferSerializer},
    ),
    update=extend_schema(
        tags=["offers"],
        summary="Replace an offer (editors of its organisation, admins)",
        request=OfferWriteSerializer,
        responses={200: OfferSerializer},
    ),
    partial_update=extend_schema(
        tags=["offers"],
        summary="Change some fields of an offer (editors of its organisation, admins)",
        request=OfferWriteSerializer,
        responses={200: OfferSerializer},
    ),
    destroy=extend_schema(tags=["offers"], summary="Delete an offer (editors of its organisation, admins)"),
)
class OfferViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OfferSerializer
    filterset_class = OfferFilterSet
    filter_backends = [FilterBackend]
    pagination_class = KnownCountPagination
    permission_classes = [IsAuthenticatedOrReadOnly]
    throttle_scope = "uploads"
    # Read first by `list`, for the ETag and for the territory filter's cache (filterset_extra_kwargs).
    catalogue_state: selectors.CatalogueState | None = None

    @property
    def extra_error_statuses(self):
        return (413,) if getattr(self, "action", None) in UPLOAD_ACTIONS else ()

    def get_throttles(self):
        action = getattr(self, "action", None)
        return [ScopedRateThrottle()] if action in UPLOAD_ACTIONS else public_read_throttles(action)

    def get_queryset(self):
        return selectors.offer_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return OfferWriteSerializer
        if self.action in UPLOAD_ACTIONS:
            return OfferImportRequestSerializer
        return OfferSerializer

    def _row(self, offer_id: int) -> dict:
        """The offer as a `.values()` row, if the user may see it (its codes not attached yet)."""
        row = selectors.offer_values(self.get_queryset().filter(pk=offer_id)).first()
        if row is None:
            raise NotFound(gettext("No offer has this id, or you cannot see it."))
        return row

    def _represent(self, offer_id: int, *, status_code=status.HTTP_200_OK) -> Response:
        row = selectors.offer_rows_attach([self._row(offer_id)])[0]
        return Response(OfferSerializer(row).data, status=status_code)

    def filterset_extra_kwargs(self) -> dict:
        return {"catalogue_key": self.catalogue_state.key} if self.catalogue_state is not None else {}

    def list(self, request, *args, **kwargs):
        # The catalogue state first: the territory filter resolves its code from the cache kept for this state.
        self.catalogue_state = selectors.catalogue_state_for(user=request.user)
        queryset = self.filter_queryset(self.get_queryset())
        answer = selectors.offer_list_answer(
            queryset, user=request.user, params=request.GET, state=self.catalogue_state
        )
        unchanged = not_modified(request, etag=answer.etag, last_modified=answer.last_modified)
        if unchanged is not None:
            return unchanged
        self.paginator.known_count = answer.count()
        page = self.paginate_queryset(selectors.offer_values(queryset))
        rows = selectors.offer_rows_attach(list(page))
        response = self.get_paginated_response(OfferSerializer(rows, many=True).data)
        return with_validators(response, etag=answer.etag, last_modified=answer.last_modified)

    def retrieve(self, request, *args, **kwargs):
        row = self._row(self._pk())
        etag, last_modified = selectors.offer_validators(row, user=request.user)
        unchanged = not_modified(request, etag=etag, last_modified=last_modified)
        if unchanged is not None:
            return unchanged
        data = OfferSerializer(selectors.offer_rows_attach([row])[0]).data
        return with_validators(Response(data), etag=etag, last_modified=last_modified)

    def _pk(self) -> int:
        try:
            return int(self.kwargs["pk"])
        except ValueError:
            raise NotFound(gettext("Offer ids are whole numbers.")) from None

    def create(self, request, *args, **kwargs):
        serializer = OfferWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offer = services.offer_create(user=request.user, data=serializer.validated_data)
        return self._represent(offer.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        offer = self.get_object()
        serializer = OfferWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.offer_update(user=request.user, offer=offer, data=serializer.validated_data)
        return self._represent(offer.pk)

    def destroy(self, request, *args, **kwargs):
        services.offer_delete(user=request.user, offer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _import(self, request, *, format: str) -> Response:
        upload = request.FILES.get("file")
        if upload is not None and upload.size > services.IMPORT_MAX_BYTES:
            raise PayloadTooLarge(file_too_large_message(upload.size, services.IMPORT_MAX_BYTES))
        serializer = OfferImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data.get("organisation")
        organisation = selectors.organisation_resolve(slug=slug) if slug else None
        upload = serializer.validated_data["file"]
        report = services.offers_import(
            content=upload.read(),
            user=request.user,
            filename=upload.name,
            content_type=upload.content_type,
            source=serializer.validated_data["source"],
            dry_run=serializer.validated_data["dry_run"],
            organisation=organisation,
            format=format,
            max_bytes=services.IMPORT_MAX_BYTES,
            max_rows=services.IMPORT_MAX_ROWS,
        )
        return Response(OfferImportReportSerializer(report).data)

    @extend_schema(
        tags=["offers"],
        summary="Import offers from a CSV or JSON file (all or nothing)",
        description=(
            "Columns (French headers accepted, accents and case ignored): "
            + "; ".join(
                f"`{column.name}`{' (required)' if column.required else ''}"
                f"{' = ' + ', '.join(repr(alias) for alias in column.aliases) if column.aliases else ''}: "
                f"{column.help}"
                for column in services.OFFER_IMPORT_COLUMNS
            )
            + f". Upsert by (source, identifiant). At most {services.IMPORT_MAX_ROWS:,} rows and "
            f"{services.IMPORT_MAX_BYTES // (1024 * 1024)} MB (413 beyond). Every bad row is reported with its line "
            "and field, and nothing is written. Editors import into their organisations only."
        ),
        request={"multipart/form-data": OfferImportRequestSerializer},
        responses=IMPORT_RESPONSES,
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request):
        return self._import(request, format="tabular")

    @extend_schema(
        tags=["offers"],
        summary="Import services in the data·inclusion schema (all or nothing)",
        description=(
            "A JSON list of data·inclusion services (or an object with an `items` list). thematiques map to our "
            "themes and publics to our audiences through the taxonomy's data·inclusion codes (`tous-publics` = "
            "everyone); frais → is_free; zone_eligibilite → service area; code_insee, latitude, longitude; "
            "nom, description; lien_source, telephone, courriel; id + source → identifier and source. "
            "`organisation` (slug) is required: it holds the imported services. A service none of whose "
            "thematiques maps to our taxonomy is reported, and nothing is written."
        ),
        request={"multipart/form-data": OfferImportRequestSerializer},
        responses=IMPORT_RESPONSES,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import/data-inclusion",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_data_inclusion(self, request):
        return self._import(request, format="data-inclusion")

    @extend_schema(
        tags=["offers"],
        summary="Export offers as CSV, JSON or XLSX (same filters as the list), streamed",
        description=(
            "`format=csv` (default; UTF-8 with BOM, cells starting with = + - @ are prefixed with ' so that "
            "spreadsheets never run them), `format=json` (a list) or `format=xlsx` (a workbook: typed cells, the "
            "CSV's headers, a sheet describing the columns). Lists (themes, audiences, service area) are "
            "`|`-separated in CSV and XLSX."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                str,
                OpenApiParameter.QUERY,
                enum=[*EXPORT_FORMATS],
                description="File format (default csv).",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV file."),
            (200, "application/json"): OfferSerializer(many=True),
            (200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook."),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        content_negotiation_class=FileFormatNegotiation,
        pagination_class=None,  # the whole filtered list, streamed
    )
    def export(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        file_format = export_format(request.query_params)
        return export_response(
            file_format=file_format,
            records=(OfferSerializer(row).data for row in selectors.offer_rows_iter(queryset)),
            columns=EXPORT_COLUMNS,
            filename=f"offres-{timezone.localdate().isoformat()}",
            sheet=(OFFER_SHEET_TITLE, OFFER_SHEET_COLUMNS),
        )


# Organisations ------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(tags=["offers"], summary="List organisations (providers of offers)"),
    retrieve=extend_schema(tags=["offers"], summary="Get an organisation by slug"),
    create=extend_schema(tags=["offers"], summary="Create an organisation (admins)"),
    update=extend_schema(tags=["offers"], summary="Replace an organisation (admins)"),
    partial_update=extend_schema(
        tags=["offers"],
        summary="Change an organisation (admins; its editors: email, phone and website only)",
    ),
    destroy=extend_schema(
        tags=["offers"],
        summary="Delete an organisation without offers (admins; 409 otherwise)",
        responses={204: None, **CONFLICT},
    ),
)
class OrganisationViewSet(viewsets.ModelViewSet):
    serializer_class = OrganisationSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    lookup_field = "slug"
    filterset_class = OrganisationFilterSet

    def get_throttles(self):
        return public_read_throttles(getattr(self, "action", None))

    def get_queryset(self):
        return selectors.organisation_list()

    def perform_create(self, serializer):
        serializer.instance = services.organisation_save(user=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.organisation_save(
            user=self.request.user, organisation=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.organisation_delete(user=self.request.user, organisation=instance)


class AccountView(APIView):
    """The caller's own account: roles, the organisations they edit, the territories they are an analyst of."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Describe the caller's account: roles, organisations, analyst territories",
        responses=AccountSerializer,
    )
    def get(self, request):
        return Response(AccountSerializer(selectors.account_describe(user=request.user)).data)


# Sources kept in sync -----------------------------------------------------------------------------------------------

SOURCE_SYNC_DESCRIPTION = (
    "Queue a sync of the source (202): with a `file` (multipart), that file; without, the worker fetches the "
    "source's `url` (within its `fetch_timeout_seconds` and SOURCE_SYNC_MAX_BYTES). The sync reads the file with the "
    "source's format, maps each record onto an offer with the rules of every offer write, skips and lists the "
    "records it cannot use, then in one transaction creates the new offers, updates the changed ones, archives those "
    "gone from the file and leaves the unchanged ones untouched. Above the source's `failure_share_max` of skipped "
    "records, or when the file cannot be read (another format, truncated, an HTTP error, a timeout), it fails whole "
    "and nothing is written. One sync at a time per source: 409 while another is queued or running. Follow it with "
    "GET /api/v1/source-syncs/{id}/."
)


@extend_schema_view(
    list=extend_schema(
        tags=["sources"],
        summary="List the sources kept in sync (analysts and admins: all; editors: their organisations')",
    ),
    retrieve=extend_schema(tags=["sources"], summary="Get a source"),
    create=extend_schema(tags=["sources"], summary="Create a source (editors of its organisation, admins)"),
    partial_update=extend_schema(
        tags=["sources"],
        summary="Change a source (editors of its organisation, admins; analysts: its theme_mapping only)",
    ),
    destroy=extend_schema(
        tags=["sources"],
        summary="Delete a source that has no offer left (409 otherwise)",
        responses={204: None, **CONFLICT},
    ),
)
class SourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SourceSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.source_list(user=self.request.user)

    def _represent(self, source_id: int, *, status_code=status.HTTP_200_OK) -> Response:
        source = self.get_queryset().get(pk=source_id)
        return Response(SourceSerializer(source).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = SourceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = services.source_save(user=request.user, data=dict(serializer.validated_data))
        return self._represent(source.pk, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        source = self.get_object()
        serializer = SourceSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.source_save(user=request.user, data=dict(serializer.validated_data), source=source)
        return self._represent(source.pk)

    def destroy(self, request, *args, **kwargs):
        services.source_delete(user=request.user, source=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        tags=["sources"],
        summary="List the syncs of a source, newest first",
        responses={200: SourceSyncSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        tags=["sources"],
        summary="Sync a source: an uploaded file, or its URL fetched by the worker (202)",
        description=SOURCE_SYNC_DESCRIPTION,
        request={"multipart/form-data": SourceSyncUploadSerializer},
        responses={202: SourceSyncSerializer, 413: ErrorSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def syncs(self, request, pk=None):
        source = self.get_object()
        if request.method == "GET":
            syncs = selectors.source_sync_list(user=request.user).filter(source=source).select_related("requested_by")
            page = self.paginate_queryset(syncs)
            data = SourceSyncSerializer(page if page is not None else syncs, many=True).data
            return self.get_paginated_response(data) if page is not None else Response(data)
        upload = request.FILES.get("file")
        if upload is not None and upload.size > settings.SOURCE_SYNC_MAX_BYTES:
            raise PayloadTooLarge(file_too_large_message(upload.size, settings.SOURCE_SYNC_MAX_BYTES))
        serializer = SourceSyncUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not services.source_can_edit(user=request.user, source=source):
            raise PermissionDenied(
                gettext("Only editors of the source's organisation and administrators can sync it.")
            )
        upload = serializer.validated_data.get("file")
        sync = services.source_sync_request(
            source=source,
            trigger=SyncTrigger.UPLOAD if upload is not None else SyncTrigger.URL,
            content=upload.read() if upload is not None else None,
            user=request.user,
        )
        sync = selectors.source_sync_list(user=request.user).select_related("requested_by").get(pk=sync.pk)
        return Response(SourceSyncSerializer(sync).data, status=status.HTTP_202_ACCEPTED)

    @property
    def extra_error_statuses(self):
        return (413,) if getattr(self, "action", None) == "syncs" else ()


@extend_schema_view(
    retrieve=extend_schema(
        tags=["sources"],
        summary="Get a sync: its progress while it runs, then its counts and skipped records, or why it failed",
    ),
)
class SourceSyncViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SourceSyncSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return selectors.source_sync_list(user=self.request.user).select_related("requested_by")

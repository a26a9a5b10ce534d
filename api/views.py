"""Cross-cutting endpoints: API root, health check, token authentication, and JSON error pages."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.urls import NoReverseMatch
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api.exceptions import error_body
from api.parsers import JSONParser
from api.serializers import (
    ApiRootSerializer,
    HealthSerializer,
    TokenCredentialsSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from api.throttling import AnonRateThrottle

API_VERSION = "1.0.0"

ROOT_LINKS = {
    "offers": "offers:offer-list",
    "organisations": "offers:organisation-list",
    "territories": "offers:territory-list",
    "taxonomy": "offers:taxonomy",
    "audiences": "audiences:audience-list",
    "needs": "audiences:need-list",
    "surveys": "audiences:survey-list",
    "matching_runs": "matching:run-list",
    "matching_search": "matching:search",
    "health": "health",
    "token": "auth-token",
    "account": "offers:account",
    "schema": "schema",
    "docs": "swagger-ui",
}


class ApiRootView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["root"],
        summary="List the API's entry points",
        responses=ApiRootSerializer,
    )
    def get(self, request):
        links = {}
        for key, name in ROOT_LINKS.items():
            try:
                links[key] = reverse(name, request=request)
            except NoReverseMatch:  # an app that does not expose this endpoint (yet)
                continue
        return Response({"name": "Ancrage API", "version": API_VERSION, "links": links})


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["health"],
        summary="Check that the service and its database answer",
        responses={200: HealthSerializer, 503: HealthSerializer},
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            database = "ok"
        except DatabaseError:
            database = "unavailable"
        healthy = database == "ok"
        return Response(
            {"status": "ok" if healthy else "unavailable", "database": database, "version": API_VERSION},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the API token to send as `Authorization: Token <key>`."""

    throttle_classes = [AnonRateThrottle]
    serializer_class = TokenCredentialsSerializer
    # ObtainAuthToken names DRF's JSON parser, which knows none of the limits of ours.
    parser_classes = [parsers.FormParser, parsers.MultiPartParser, JSONParser]
    # Credentials are the body: a stale token header must not turn a login into a 401, and the schema then says
    # the operation needs no security (generated clients call it with their unauthenticated client).
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        summary="Obtain an API token",
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


def _json_error(request, status_code: int, code: str, message: str):
    return JsonResponse(error_body(status_code=status_code, code=code, message=message), status=status_code)


def not_found(request, exception=None):
    return _json_error(request, 404, "not_found", gettext("No resource at %(path)s.") % {"path": request.path})


def server_error(request):
    return _json_error(request, 500, "server_error", gettext("An unexpected error occurred; it has been logged."))


def bad_request(request, exception=None):
    return _json_error(request, 400, "bad_request", gettext("The request could not be understood."))


def permission_denied(request, exception=None):
    return _json_error(
        request, 403, "permission_denied", gettext("You do not have permission to perform this action.")
    )

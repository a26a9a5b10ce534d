"""OpenAPI generation: every operation documents the error responses it can return, with the shared Error body."""

from http import HTTPStatus

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny, IsAuthenticatedOrReadOnly

from api.serializers import ErrorSerializer

# The 409 of a delete or change refused because the resource is in use (or computed), shared by every app.
CONFLICT = {409: OpenApiResponse(ErrorSerializer, description="Conflict: the resource is in use or computed.")}

PUBLIC_READ_PERMISSIONS = (AllowAny, IsAuthenticatedOrReadOnly)


# Path parameters whose model field has no help text to describe them.
PATH_PARAMETER_DESCRIPTIONS = {
    "code": "Stable code, e.g. `families`.",
    "slug": "Slug of the organisation, e.g. `ca-grand-gueret`.",
    "run_id": "Id of the matching run.",
}


class AutoSchema(openapi.AutoSchema):
    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if not parameter.get("description") and parameter["name"] in PATH_PARAMETER_DESCRIPTIONS:
                parameter["description"] = PATH_PARAMETER_DESCRIPTIONS[parameter["name"]]
        return parameters

    def _error_status_codes(self) -> set[int]:
        view = self.view
        method = self.method.upper()
        codes: set[int] = set(getattr(view, "extra_error_statuses", ()))
        is_write = method not in ("GET", "HEAD", "OPTIONS")
        permissions = [permission for permission in view.get_permissions()]
        public_read = all(
            isinstance(permission, PUBLIC_READ_PERMISSIONS) or getattr(permission, "public_read", False)
            for permission in permissions
        )
        if is_write or not public_read:
            codes |= {401, 403}
        elif view.get_authenticators():
            codes.add(401)  # public, but a wrong or revoked token is refused rather than ignored
        if is_write or self._is_list_view() or self.get_filter_backends() or self._has_query_serializer():
            codes.add(400)
        if method in ("POST", "PUT", "PATCH"):
            codes.add(415)  # a body in a media type the operation does not read
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.add(404)  # an unknown id, or a page beyond the last
        if view.get_throttles():
            codes.add(429)
        return codes

    def _get_parameters(self):
        # Filters, pagination and the query serializers all read an empty optional value (`?status=`, as a portal's
        # search form sends it) as "not given".
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters

    def map_parsers(self):
        # One media type per request body: the form encodings of a JSON body only repeat its schema, and generated
        # clients mishandle same-schema alternatives (openapi-python-client 0.29 emits unimportable code and sends
        # the last one). Uploads keep multipart/form-data.
        media_types = super().map_parsers()
        for preferred in ("application/json", "multipart/form-data"):
            if preferred in media_types:
                return [preferred]
        return media_types

    def _has_query_serializer(self) -> bool:
        return bool(getattr(self.view, "query_serializer_class", None))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in sorted(self._error_status_codes()):
            if str(code) in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, str(code), direction=direction)
            response["description"] = HTTPStatus(code).phrase
            responses[str(code)] = response
        return responses

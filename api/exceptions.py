"""One error body for every 4xx and 5xx answer of the API, and the exceptions services raise to produce it."""

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("api")


@dataclass(frozen=True)
class ErrorItem:
    """One precise problem: which field (dotted path) and, for files, which line."""

    message: str
    code: str = "invalid"
    field: str | None = None
    line: int | None = None


class InvalidInput(exceptions.APIException):
    """Raised by services with every problem found, so the client can fix them all at once."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = _("The request is invalid; see errors.")

    def __init__(self, errors: list[ErrorItem], message: str | None = None, code: str | None = None):
        super().__init__(message or self.default_detail, code or self.default_code)
        self.errors = errors


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = _("The request body is too large.")


def grouped_number(value: int) -> str:
    """An integer with the active language's thousands separator, for messages (1,234 in English, 1 234 in
    French)."""
    return number_format(value, force_grouping=True)


def flatten_validation_detail(detail, prefix: str | None = None) -> list[ErrorItem]:
    """Turn DRF's nested ValidationError detail into a flat list of (field path, message, code)."""
    if isinstance(detail, dict):
        items: list[ErrorItem] = []
        for key, value in detail.items():
            field = None if key in ("non_field_errors", "__all__") else str(key)
            path = ".".join(part for part in (prefix, field) if part) or None
            items.extend(flatten_validation_detail(value, path))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                items.extend(flatten_validation_detail(value, f"{prefix}.{index}" if prefix else str(index)))
            else:
                items.extend(flatten_validation_detail(value, prefix))
        return items
    return [ErrorItem(message=str(detail), code=getattr(detail, "code", None) or "invalid", field=prefix)]


def errors_capped(errors: list[ErrorItem]) -> list[ErrorItem]:
    """At most `ERROR_LIST_MAX` errors, then one `too_many_errors` item saying how many more there were: a file of
    10,001 bad records would otherwise answer megabytes of errors."""
    limit = settings.ERROR_LIST_MAX
    if len(errors) <= limit:
        return errors
    more = len(errors) - limit
    summary = ErrorItem(
        code="too_many_errors",
        message=ngettext(
            "%(more)s more error not listed: the list stops at %(limit)s (DJANGO_ERROR_LIST_MAX).",
            "%(more)s more errors not listed: the list stops at %(limit)s (DJANGO_ERROR_LIST_MAX).",
            more,
        )
        % {"more": grouped_number(more), "limit": grouped_number(limit)},
    )
    return [*errors[:limit], summary]


def error_body(*, status_code: int, code: str, message: str, errors: list[ErrorItem] | None = None) -> dict:
    return {
        "status": status_code,
        "code": code,
        "message": message,
        "errors": [asdict(item) for item in errors_capped(errors or [])],
    }


def _as_drf_exception(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return exceptions.ValidationError(detail=detail)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    # Django raises these (SuspiciousOperation) while DRF reads the body; unmapped they would be a 500.
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(
            gettext(
                "The request body is larger than %(limit)s bytes, the limit for non-file data "
                "(DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE); files go in a multipart upload."
            )
            % {"limit": grouped_number(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return exceptions.ParseError(
            gettext("The request has too many form fields or files: %(reason)s") % {"reason": exc}
        )
    return exc


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _as_drf_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "an API view", exc_info=exc)
        return Response(
            error_body(
                status_code=500,
                code="server_error",
                message=gettext("An unexpected error occurred; it has been logged."),
            ),
            status=500,
        )

    if isinstance(exc, InvalidInput):
        errors, message, code = exc.errors, str(exc.detail), exc.get_codes()
    elif isinstance(exc, exceptions.ValidationError):
        errors = flatten_validation_detail(exc.detail)
        message, code = gettext("The request is invalid; see errors."), "invalid"
    else:
        errors = []
        message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
    response.data = error_body(status_code=response.status_code, code=code, message=message, errors=errors)
    return response


class Conflict(exceptions.APIException):
    """The request is valid but the resource is not in a state that allows it (a run still running…)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = _("The resource is not in a state that allows this request.")

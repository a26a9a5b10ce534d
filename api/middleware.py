"""Request guards that apply before any view, and the answers' headers that apply to every view."""

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

from api.views import not_found

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)  # without a deployment's script prefix


class ApiNotFoundMiddleware:
    """Every 404 under /api/ in the JSON error format the schema documents, DEBUG or not: with DEBUG, Django answers
    an unknown path (or a run id that is not a UUID) with its HTML technical page before any handler404 runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and _is_api(request) and not _is_json(response):
            return not_found(request)
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class NulInPathMiddleware:
    """A path holding a NUL (%00) names no resource: 404 at once, since PostgreSQL refuses to compare text with it
    (a lookup by slug or code would otherwise be a 500). Query strings and JSON bodies are checked by the filters'
    form fields and `api.parsers.JSONParser`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return not_found(request)
        return self.get_response(request)


class PrivateAnswersMiddleware:
    """What an API answer may be stored as, decided here once for every view. Every answer varies with the
    credentials (editors see drafts, analysts see runs); an answer to a caller who sent credentials, or to a write
    (the token response holds the key), is stored by no cache. Anonymous reads keep the view's validators
    (ETag, Last-Modified) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not _is_api(request):
            return response
        patch_vary_headers(response, ("Authorization",))
        # DRF sets the authenticated user on the Django request too (token or session).
        user = getattr(request, "user", None)
        identified = "HTTP_AUTHORIZATION" in request.META or (user is not None and user.is_authenticated)
        if identified or request.method not in ("GET", "HEAD"):
            response["Cache-Control"] = "private, no-store"
        return response

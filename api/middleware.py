"""Request guards that apply before any view."""

from django.http import Http404


class NulInPathMiddleware:
    """A path holding a NUL (%00) names no resource: 404 at once, since PostgreSQL refuses to compare text with it
    (a lookup by slug or code would otherwise be a 500). Query strings and JSON bodies are checked by the filters'
    form fields and `api.parsers.JSONParser`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise Http404("The path contains a NUL character.")
        return self.get_response(request)

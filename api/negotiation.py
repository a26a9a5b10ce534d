"""Content negotiation of the file exports."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer


class FileFormatNegotiation(DefaultContentNegotiation):
    """On exports `?format=` chooses the file format (csv/json), not DRF's renderer (which answers an unknown one
    with a bare 404); the view streams the file itself, and errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = JSONRenderer()
        return renderer, renderer.media_type

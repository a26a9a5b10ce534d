"""Upload handler that refuses an oversized multipart body from its Content-Length, before reading any of it.

Django spools file parts past FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file whatever their size, and the import
views only compare the file with their cap afterwards: without this, a huge upload costs its full size in disk and
bandwidth before the 413. Each import still checks its own, smaller cap on the file itself.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext

from api.exceptions import PayloadTooLarge, grouped_number


class RequestSizeLimitHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = settings.UPLOAD_MAX_REQUEST_BYTES
        if content_length and content_length > limit:
            raise PayloadTooLarge(
                gettext(
                    "The upload is %(size)s bytes; the limit is %(limit)s bytes per request "
                    "(DJANGO_UPLOAD_MAX_REQUEST_BYTES)."
                )
                % {"size": grouped_number(content_length), "limit": grouped_number(limit)}
            )

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None

"""Page-number pagination with a capped, validated page size."""

from rest_framework import pagination

from api.exceptions import ErrorItem, InvalidInput

MAX_PAGE_SIZE = 100


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=self.page_size_query_param,
                        code="out_of_range",
                        message=f"page_size must be a whole number from 1 to {self.max_page_size}.",
                    )
                ]
            )
        return size

    def get_page_size_schema_description(self):
        return f"Number of results per page (1 to {self.max_page_size}, default {self.page_size})."

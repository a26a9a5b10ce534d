"""Page-number pagination with a capped, validated page size."""

import functools

from django.core.paginator import Paginator as DjangoPaginator
from django.utils.translation import gettext
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
                        message=gettext("page_size must be a whole number from 1 to %(limit)s.")
                        % {"limit": self.max_page_size},
                    )
                ]
            )
        return size

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param) or 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise InvalidInput(
                [ErrorItem(field=self.page_query_param, message=gettext("page must be a whole number from 1."))]
            )
        return number

    def get_schema_operation_parameters(self, view):
        # The bounds are part of the contract: clients (and schemathesis) must know what is refused.
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters

    def get_page_size_schema_description(self):
        return f"Number of results per page (1 to {self.max_page_size}, default {self.page_size})."


class _CountedPaginator(DjangoPaginator):
    """Django's paginator, with the count already known."""

    def __init__(self, *args, known_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__["count"] = known_count


class KnownCountPagination(PageNumberPagination):
    """For views that know the count before paginating (the offer list: from the query that also yields its ETag,
    or from the cache), so the paginator does not count again."""

    known_count: int | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if self.known_count is not None:
            self.django_paginator_class = functools.partial(_CountedPaginator, known_count=self.known_count)
        return super().paginate_queryset(queryset, request, view)

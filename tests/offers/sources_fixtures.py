"""Fixtures of the source-sync tests: the JSON-lines test format registered, and sources of two organisations."""

import pytest

from offers.models import Source
from tests.offers.sources_jsonl import JSON_LINES_PATH

__all__ = ["jsonl_format", "source_a", "source_b"]


@pytest.fixture
def jsonl_format(settings):
    settings.SOURCE_SYNC_EXTRA_FORMATS = [JSON_LINES_PATH]


def make_source(*, organisation, code: str = "jobs-feed", **overrides) -> Source:
    values = {"name": f"Flux {code}", "format": "test_jsonl", **overrides}
    return Source.objects.create(organisation=organisation, code=code, **values)


@pytest.fixture
def source_a(jsonl_format, organisation_a):
    return make_source(organisation=organisation_a, code="jobs-a")


@pytest.fixture
def source_b(jsonl_format, organisation_b):
    return make_source(organisation=organisation_b, code="jobs-b")

"""Audiences are reference data, written by offers' reference data service (one writer, one catalogue version); the
audiences app adds what it alone can count before one is deleted: the needs, surveys and responses filed under it."""

from django.db import transaction

from audiences import selectors
from offers.models import Audience
from offers.services import reference_data


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    """Delete an audience nothing refers to (needs, survey responses, surveys, offers); otherwise 409."""
    reference_data.audience_delete(audience=audience, usage=selectors.audience_usage(audience=audience))

"""Throttles of the API: DRF's, reading their rates from the settings at each request, plus the anonymous public reads.

DRF's throttles copy `DEFAULT_THROTTLE_RATES` into a class attribute at import time; reading the settings live
lets a deployment's rates and the tests' `override_settings` apply without a restart or a monkeypatch.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

# The read actions of the public catalogue: counted per client IP when anonymous.
PUBLIC_READ_ACTIONS = ("list", "retrieve", "export")


class _LiveRate:
    def get_rate(self):
        scope = getattr(self, "scope", None)
        if not scope:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a scope.")
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate for scope {scope!r} in DEFAULT_THROTTLE_RATES.") from exc


class ScopedRateThrottle(_LiveRate, throttling.ScopedRateThrottle):
    """Per user (or per IP when anonymous), with the view's `throttle_scope`: `search`, `uploads`."""


class AnonRateThrottle(_LiveRate, throttling.AnonRateThrottle):
    """Anonymous clients per IP (`anon` scope): token requests."""


class PublicReadThrottle(_LiveRate, throttling.AnonRateThrottle):
    """Anonymous reads of the public catalogue per IP (`public` scope); authenticated clients are not counted."""

    scope = "public"


def public_read_throttles(action: str | None) -> list:
    return [PublicReadThrottle()] if action in PUBLIC_READ_ACTIONS else []

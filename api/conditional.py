"""Conditional GET: an ETag and Last-Modified on an answer, and the 304 when the client's copy is still current."""

import datetime
import hashlib

from django.utils import translation
from django.utils.http import http_date, parse_http_date_safe
from rest_framework import status
from rest_framework.response import Response


def etag_of(*parts) -> str:
    """A weak ETag for the parts an answer depends on, hashed (the parts may name a user or a query string). Weak
    (`W/`), since the parts are versions and timestamps, not the bytes sent (RFC 9110 §8.8.1). The active language
    is always one of the parts: answers hold translated labels and messages, and a client that changes its
    Accept-Language must not be told its copy in the other language is current."""
    key = "|".join(str(part) for part in (translation.get_language(), *parts))
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def not_modified(request, *, etag: str, last_modified: datetime.datetime | None) -> Response | None:
    """A 304 when the client's copy is current: If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        # If-None-Match compares weakly (RFC 9110 §13.1.2): W/"x" and "x" name the same version.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        matched = "*" in tags or etag.removeprefix("W/") in tags
    else:
        since = parse_http_date_safe(request.headers.get("If-Modified-Since") or "")
        matched = since is not None and last_modified is not None and int(last_modified.timestamp()) <= since
    if not matched:
        return None
    response = Response(status=status.HTTP_304_NOT_MODIFIED)
    return with_validators(response, etag=etag, last_modified=last_modified)


def with_validators(response, *, etag: str, last_modified: datetime.datetime | None):
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # Answers depend on who asks (editors see drafts) and in which language: caches must key on both too.
    response["Vary"] = "Accept, Accept-Language, Authorization, Cookie"
    response["Cache-Control"] = "no-cache"
    return response

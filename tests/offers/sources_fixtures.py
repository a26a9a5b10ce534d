"""Fixtures of the source-sync tests: the JSON-lines test format registered, and sources of two organisations."""

import contextlib
import http.server
import threading
import time

import pytest

from offers.models import Source
from tests.offers.sources_jsonl import JSON_LINES_PATH

__all__ = ["feed_server", "jsonl_format", "source_a", "source_b"]


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


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    """Paths: /ok (the server's `files["ok"]`), /error (500), /slow (answers after 3 s), /truncated (announces more
    bytes than it sends), /big (more than the test's size cap)."""

    def do_GET(self):  # noqa: N802 (the http.server API)
        files = self.server.files
        name = self.path.strip("/").split("?")[0]
        if name == "error":
            self.send_error(500, "Internal Server Error")
            return
        if name == "slow":
            time.sleep(3)
        body = files.get(name, files.get("ok", b""))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(body) + (100 if name == "truncated" else 0)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def feed_server():
    """A real HTTP server on 127.0.0.1 serving source files; `server.files[name] = bytes`, `server.url(name)`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    server.daemon_threads = True
    server.files = {}
    server.url = lambda name: f"http://127.0.0.1:{server.server_address[1]}/{name}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)

"""Settings for the test suite: production settings with a throwaway secret and a fast password hasher."""

import hashlib
import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-4f8b2c1e9d7a6b5c3e2f1a0d9c8b7a6e")
# Every anonymous request of the suite comes from one IP within a few minutes; throttle tests set their own rates.
os.environ.setdefault("DJANGO_THROTTLE_PUBLIC", "100000/minute")
# Stored offer index builds of the tests (and of the worker processes they start, which inherit the variable): a
# directory per checkout and database, so suites on other databases never share one (a build is only loaded with
# its OfferIndexBuild row anyway).
_INDEX_KEY = hashlib.sha256(f"{__file__}|{os.environ.get('DATABASE_URL', '')}".encode()).hexdigest()[:12]
os.environ.setdefault("MATCHING_INDEX_DIR", os.path.join(tempfile.gettempdir(), f"ancrage-index-{_INDEX_KEY}"))

from api.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False

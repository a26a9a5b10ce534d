"""Settings for the test suite: production settings with a throwaway secret and a fast password hasher."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-4f8b2c1e9d7a6b5c3e2f1a0d9c8b7a6e")

from api.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False

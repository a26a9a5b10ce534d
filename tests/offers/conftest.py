import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Upload throttles count in the cache; each test starts with a clean slate."""
    cache.clear()
    yield
    cache.clear()

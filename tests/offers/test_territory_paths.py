"""The one module that builds and reads materialised territory paths."""

import subprocess
import sys

from offers.territory_paths import (
    common_path,
    path_ancestors,
    path_child,
    path_code,
    path_contains,
    path_segments,
    path_upto,
)

COMMUNE = "r75/d23/e200034825/c23096/"


def test_path_child_builds_from_the_parent():
    assert path_child(None, kind="region", code="75") == "r75/"
    assert path_child("r75/d23/e200034825/", kind="commune", code="23096") == COMMUNE


def test_path_segments():
    assert path_segments(COMMUNE) == [
        ("region", "75"),
        ("departement", "23"),
        ("epci", "200034825"),
        ("commune", "23096"),
    ]
    assert path_segments("") == []
    assert path_segments(None) == []


def test_path_ancestors_widest_first():
    assert path_ancestors(COMMUNE) == ["r75/", "r75/d23/", "r75/d23/e200034825/", COMMUNE]
    assert path_ancestors("") == []


def test_path_code_and_upto():
    assert path_code(COMMUNE, "epci") == "200034825"
    assert path_code("r75/d23/", "commune") == ""
    assert path_upto(COMMUNE, "epci") == "r75/d23/e200034825/"
    assert path_upto("r75/d23/", "epci") is None


def test_path_contains():
    assert path_contains("r75/d23/", COMMUNE)
    assert path_contains(COMMUNE, COMMUNE)
    assert not path_contains(COMMUNE, "r75/d23/")


def test_common_path():
    assert common_path(["r75/d23/e1/c1/", "r75/d23/e2/c2/"]) == "r75/d23/"
    assert common_path(["r75/d23/e1/c1/"]) == "r75/d23/e1/c1/"
    assert common_path(["r75/", "r84/"]) is None
    assert common_path([]) is None


def test_imports_without_django():
    code = "import sys, offers.territory_paths, api.geo; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

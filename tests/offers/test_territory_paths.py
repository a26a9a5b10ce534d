"""The one module that builds and reads materialised territory paths."""

import subprocess
import sys

from offers.territory_paths import (
    area_contains,
    area_key,
    area_overlaps,
    area_paths,
    common_path,
    custom_path,
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


# An EPCI straddling two départements: its communes sit under both.
STRADDLING = "r75/d23/e200000001/"
OTHER_SIDE_COMMUNE = "r75/d87/e200000001/c87001/"


def test_path_contains_compares_segments_across_departements():
    assert path_contains(STRADDLING, OTHER_SIDE_COMMUNE)
    assert path_contains("r75/d87/", OTHER_SIDE_COMMUNE)
    assert not path_contains("r75/d23/", OTHER_SIDE_COMMUNE)
    # A segment code that is only the start of another one is not it.
    assert not path_contains("r75/d23/e2000000/", OTHER_SIDE_COMMUNE)


def test_custom_path_is_outside_the_tree():
    assert custom_path("cornouaille") == "xcornouaille/"
    assert path_segments("xcornouaille/") == [("custom", "cornouaille")]
    assert not path_contains("xcornouaille/", COMMUNE)


def test_area_key_sorts_deduplicates_and_drops_covered_prefixes():
    assert area_key([COMMUNE]) == COMMUNE
    assert area_key(["r75/d87/e2/", "r75/d23/e200034825/", COMMUNE, "r75/d87/e2/", ""]) == (
        "r75/d23/e200034825/|r75/d87/e2/"
    )
    assert area_paths("r75/d23/e200034825/|r75/d87/e2/") == ["r75/d23/e200034825/", "r75/d87/e2/"]
    # Both sides of a straddling EPCI stay: SQL filters on prefixes.
    assert area_paths(area_key([STRADDLING, "r75/d87/e200000001/"])) == [STRADDLING, "r75/d87/e200000001/"]
    assert area_paths("") == [] and area_paths(None) == []


def test_area_contains_and_overlaps():
    area = area_key(["r75/d23/e200034825/", "r32/d62/e200069037/"])
    assert area_contains(area, COMMUNE)
    assert area_contains(area, "r32/d62/e200069037/c62765/")
    assert not area_contains(area, "r32/d62/e200000002/c62001/")
    assert not area_contains(area, "r75/d23/")
    assert area_overlaps(area, "r75/d23/")  # the département holds one of its EPCIs
    assert area_overlaps(area, "r32/")
    assert not area_overlaps(area, "r75/d87/")
    assert area_contains(["r75/d23/"], COMMUNE)


def test_common_path():
    assert common_path(["r75/d23/e1/c1/", "r75/d23/e2/c2/"]) == "r75/d23/"
    assert common_path(["r75/d23/e1/c1/"]) == "r75/d23/e1/c1/"
    assert common_path(["r75/", "r84/"]) is None
    assert common_path([]) is None


def test_imports_without_django():
    code = "import sys, offers.territory_paths, api.geo; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

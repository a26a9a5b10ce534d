"""French Likert scales recognised from the labels a column uses (audiences/likert.py, pure: no database)."""

import subprocess
import sys

import pytest

from audiences.likert import (
    ExplicitScale,
    ScaleError,
    explicit_values,
    label_key,
    numeric_bounds_guess,
    scale_recognise,
)


def points(values) -> tuple[str, dict]:
    recognised = scale_recognise(values)
    return recognised.name, recognised.values


@pytest.mark.parametrize(
    ("labels", "name"),
    [
        (["Pas du tout important", "Peu important", "Assez important", "Très important"], "importance-4"),
        (["Pas important du tout", "Pas très important", "Plutôt important", "Tout à fait important"], "importance-4"),
        (
            ["Pas du tout important", "Peu important", "Moyennement important", "Important", "Très important"],
            "importance-5",
        ),
        (
            [
                "Pas du tout important",
                "Pas important",
                "Plutôt pas important",
                "Ni important ni pas important",
                "Plutôt important",
                "Important",
                "Très important",
            ],
            "importance-7",
        ),
        (["Très insatisfait", "Plutôt insatisfait", "Plutôt satisfait", "Très satisfait"], "satisfaction-4"),
        (["Pas du tout satisfait", "Peu satisfait", "Assez satisfait", "Tout à fait satisfait"], "satisfaction-4"),
        (
            ["Très insatisfait", "Insatisfait", "Ni satisfait ni insatisfait", "Satisfait", "Très satisfait"],
            "satisfaction-5",
        ),
        (
            [
                "Très insatisfait",
                "Insatisfait",
                "Plutôt insatisfait",
                "Ni satisfait ni insatisfait",
                "Plutôt satisfait",
                "Satisfait",
                "Très satisfait",
            ],
            "satisfaction-7",
        ),
        (["Pas du tout d'accord", "Plutôt pas d'accord", "Plutôt d'accord", "Tout à fait d'accord"], "agreement-4"),
        (
            [
                "Pas du tout d'accord",
                "Plutôt pas d'accord",
                "Ni d'accord ni pas d'accord",
                "Plutôt d'accord",
                "Tout à fait d'accord",
            ],
            "agreement-5",
        ),
        (
            [
                "Totalement en désaccord",
                "Pas d'accord",
                "Plutôt pas d'accord",
                "Neutre",
                "Plutôt d'accord",
                "D'accord",
                "Tout à fait d'accord",
            ],
            "agreement-7",
        ),
    ],
)
def test_complete_scales_are_recognised_in_order(labels, name):
    recognised_name, values = points(labels)
    assert recognised_name == name
    assert [values[label] for label in labels] == list(range(1, len(labels) + 1))


@pytest.mark.parametrize(
    "variant",
    [
        "très satisfait",
        "TRES SATISFAIT",
        "  Très   satisfait ",
        "Tres satisfait",
        "Très satisfait(e)",
        "Très satisfait.",
        "Très\u00a0satisfait",
        "Très\nsatisfait",
    ],
)
def test_case_accents_whitespace_and_inclusive_writing_do_not_matter(variant):
    name, values = points(["Très insatisfait", "Plutôt insatisfait", "Plutôt satisfait", variant])
    assert name == "satisfaction-4"
    assert values[variant] == 4


def test_typographic_apostrophes_read_like_straight_ones():
    name, values = points(["Pas du tout d’accord", "Plutôt pas d’accord", "Plutôt d’accord", "Tout à fait d'accord"])
    assert name == "agreement-4"
    assert values["Plutôt d’accord"] == 3


@pytest.mark.parametrize(
    "missing", ["Ne sait pas", "NSP", "nsp", "Non concerné", "Non concernée", "Sans opinion", "Je ne sais pas", "N/A"]
)
def test_no_answer_labels_are_missing(missing):
    name, values = points(["Pas du tout important", "Peu important", "Assez important", "Très important", missing])
    assert name == "importance-4"
    assert values[missing] is None


def test_blank_cells_are_left_out():
    name, values = points(["Très important", "", "  ", None, "Pas du tout important", "Peu important"])
    assert name == "importance-4"
    assert set(values) == {"Très important", "Pas du tout important", "Peu important"}


def test_a_column_using_part_of_a_scale_reads_on_the_most_complete_one():
    # Four labels that fit the 4-point scale (all of its points) and the 5-point one (4 of its 5): 4 points.
    name, values = points(["Pas important", "Peu important", "Assez important", "Très important"])
    assert name == "importance-4"
    assert values["Très important"] == 4
    # Satisfied and dissatisfied labels of the 7-point scale: two of them would share a point on the 5-point one.
    name, _ = points(["Insatisfait", "Plutôt insatisfait", "Satisfait"])
    assert name == "satisfaction-7"


def test_scales_of_the_same_size_reading_a_label_alike_agree():
    # « Neutre » is the middle of the 5-point satisfaction and agreement scales: 3 either way.
    recognised = scale_recognise(["Neutre", "Ne sait pas"])
    assert (recognised.scale_max, recognised.values["Neutre"]) == (5, 3)


def test_whole_scale_is_given_back_with_unused_points():
    recognised = scale_recognise(["Très satisfait", "Plutôt satisfait", "Plutôt insatisfait", "Très insatisfait"])
    # The canonical labels, and the column's own way of writing point 1.
    assert recognised.points == {
        "Pas du tout satisfait": 1,
        "Très insatisfait": 1,
        "Plutôt insatisfait": 2,
        "Plutôt satisfait": 3,
        "Très satisfait": 4,
    }
    assert (recognised.scale_min, recognised.scale_max) == (1, 4)


@pytest.mark.parametrize(
    ("values", "bounds"),
    [
        (["0", "3", "10"], (0, 10)),
        ([1, 5, 9], (1, 10)),
        ([0.0, 7.0], (0, 10)),
        (["1 - Pas du tout satisfait", "2", "6", "10 - Tout à fait satisfait"], (1, 10)),
        (["8", "9", "Ne sait pas"], (1, 10)),
    ],
)
def test_numeric_scales(values, bounds):
    recognised = scale_recognise(values)
    assert (recognised.scale_min, recognised.scale_max) == bounds
    assert all(point is None or bounds[0] <= point <= bounds[1] for point in recognised.values.values())


def test_numbered_labels_of_a_known_scale_read_as_their_label():
    name, values = points(["1 - Très insatisfait", "2 - Insatisfait", "4 - Satisfait", "5 - Très satisfait"])
    assert name == "satisfaction-5"
    assert values["5 - Très satisfait"] == 5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["1", "2", "3"], "several scales"),
        (["A1", "A2", "A3"], "not a label of a known French scale"),
        (["Bof", "Très important"], "'Bof'"),
        (["12", "3"], "up to 12"),
        (["Ne sait pas", ""], "no answer"),
    ],
)
def test_what_is_not_recognised_says_why(values, message):
    with pytest.raises(ScaleError, match=message):
        scale_recognise(values)


def test_limesurvey_codes_read_with_explicit_points():
    scale = ExplicitScale(scale_min=1, scale_max=5, points={"A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5})
    values, unknown = explicit_values(scale, ["A1", "a5", "A9", "NSP", ""])
    assert values == {"A1": 1, "a5": 5, "NSP": None}
    assert unknown == ["A9"]


def test_explicit_numbers_within_bounds():
    values, unknown = explicit_values(ExplicitScale(scale_min=1, scale_max=7), ["1", 7, "8", "x"])
    assert values == {"1": 1, 7: 7}
    assert sorted(map(str, unknown)) == ["8", "x"]


def test_label_key():
    assert label_key("  Tout à fait d’accord ") == "tout a fait d accord"


def test_likert_is_pure():
    code = "import sys, audiences.likert; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("values", "bounds"),
    [(["1", "2", "5", "NSP"], (1, 5)), ([0, 3], (0, 3)), (["A1", "A2"], None), (["3"], None), (["1", "12"], None)],
)
def test_numeric_bounds_guess(values, bounds):
    assert numeric_bounds_guess(values) == bounds

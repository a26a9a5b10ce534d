"""Recognising the answer scale of a survey column from the labels it uses (pure Python, never imports Django).

Survey tools export answers as their labels ("Plutôt satisfait", "Très important"): this module knows the French
Likert scales of 4, 5, 7 and 10 points territories use for importance, satisfaction and agreement, the labels that
mean "no answer" ("Ne sait pas", "Non concerné"...), and numeric scales (1-10, 0-10). Labels are compared folded
(case, accents, punctuation and whitespace never matter), and a column is read through one label -> point map
built once from its distinct values, so a file of any length costs one dictionary look-up per cell.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.text import fold_text

# Labels that mean the respondent gave no answer: counted as missing, never as a point.
MISSING_LABELS = frozenset(
    fold_text(label)
    for label in (
        "Ne sait pas",
        "Je ne sais pas",
        "NSP",
        "NSPP",
        "Ne se prononce pas",
        "Non concerné",
        "Non concernée",
        "Pas concerné",
        "Je ne suis pas concerné",
        "Sans opinion",
        "Sans avis",
        "Sans réponse",
        "Non réponse",
        "Non applicable",
        "N/A",
        "NA",
        "Sans objet",
        "Refus",
        "Ne veut pas répondre",
    )
)

# "1 - Pas du tout satisfait", "10 = Tout à fait satisfait", "(3) Plutôt important": a point given with its label.
_NUMBERED_LABEL = re.compile(r"^\s*\(?(?P<number>\d{1,2})\)?\s*(?:[-=:.)–—]\s*|\s+)(?P<text>\D.*)$")
# "(e)" / "·e" of inclusive writing ("Satisfait(e)") would fold to a word of its own.
_INCLUSIVE_ENDING = re.compile(r"(?:\(e\)|[·.]e\b)", re.IGNORECASE)


def label_key(label) -> str:
    """How labels are compared: 'Très  Satisfait(e) ' -> 'tres satisfait'."""
    return fold_text(_INCLUSIVE_ENDING.sub("", str(label)))


@dataclass(frozen=True)
class Scale:
    """A known scale: its name and, for each point from 1 up, the label variants that mean it."""

    name: str
    points: tuple[tuple[str, ...], ...]

    @property
    def size(self) -> int:
        return len(self.points)

    def label_points(self) -> dict[str, int]:
        """Folded label -> point (1 = the lowest)."""
        return {label_key(label): point for point, labels in enumerate(self.points, start=1) for label in labels}

    def labels(self) -> list[str]:
        """The first (canonical) label of each point, lowest first."""
        return [labels[0] for labels in self.points]


# Each scale lists its points lowest first; a point's first label is the one shown back to the analyst.
SCALES: tuple[Scale, ...] = (
    Scale(
        "importance-4",
        (
            ("Pas du tout important", "Pas important du tout", "Pas important"),
            ("Peu important", "Plutôt pas important", "Pas très important"),
            ("Plutôt important", "Assez important", "Important"),
            ("Très important", "Tout à fait important", "Essentiel", "Primordial"),
        ),
    ),
    Scale(
        "importance-5",
        (
            ("Pas du tout important", "Pas important du tout"),
            ("Peu important", "Pas important", "Plutôt pas important", "Pas très important"),
            ("Moyennement important", "Ni important ni pas important", "Assez important"),
            ("Important", "Plutôt important"),
            ("Très important", "Tout à fait important", "Essentiel", "Primordial"),
        ),
    ),
    Scale(
        "importance-7",
        (
            ("Pas du tout important", "Pas important du tout"),
            ("Pas important",),
            ("Plutôt pas important", "Peu important"),
            ("Ni important ni pas important", "Moyennement important", "Neutre"),
            ("Plutôt important", "Assez important"),
            ("Important",),
            ("Très important", "Tout à fait important", "Extrêmement important"),
        ),
    ),
    Scale(
        "satisfaction-4",
        (
            ("Pas du tout satisfait", "Très insatisfait", "Très mécontent", "Pas satisfait du tout"),
            ("Plutôt insatisfait", "Peu satisfait", "Plutôt pas satisfait", "Plutôt mécontent", "Pas satisfait"),
            ("Plutôt satisfait", "Assez satisfait", "Plutôt content"),
            ("Très satisfait", "Tout à fait satisfait", "Très content"),
        ),
    ),
    Scale(
        "satisfaction-5",
        (
            ("Très insatisfait", "Pas du tout satisfait", "Très mécontent", "Pas satisfait du tout"),
            ("Insatisfait", "Plutôt insatisfait", "Peu satisfait", "Pas satisfait", "Plutôt pas satisfait"),
            ("Ni satisfait ni insatisfait", "Moyennement satisfait", "Neutre", "Ni satisfait ni mécontent"),
            ("Satisfait", "Plutôt satisfait", "Assez satisfait"),
            ("Très satisfait", "Tout à fait satisfait", "Pleinement satisfait"),
        ),
    ),
    Scale(
        "satisfaction-7",
        (
            ("Très insatisfait", "Pas du tout satisfait", "Extrêmement insatisfait"),
            ("Insatisfait", "Pas satisfait"),
            ("Plutôt insatisfait", "Peu satisfait", "Plutôt pas satisfait"),
            ("Ni satisfait ni insatisfait", "Moyennement satisfait", "Neutre"),
            ("Plutôt satisfait", "Assez satisfait"),
            ("Satisfait",),
            ("Très satisfait", "Tout à fait satisfait", "Extrêmement satisfait"),
        ),
    ),
    Scale(
        "agreement-4",
        (
            ("Pas du tout d'accord", "Pas d'accord du tout", "Totalement en désaccord"),
            ("Plutôt pas d'accord", "Pas d'accord", "Plutôt en désaccord"),
            ("Plutôt d'accord",),
            ("Tout à fait d'accord", "Totalement d'accord", "Entièrement d'accord"),
        ),
    ),
    Scale(
        "agreement-5",
        (
            ("Pas du tout d'accord", "Pas d'accord du tout", "Totalement en désaccord", "Fortement en désaccord"),
            ("Plutôt pas d'accord", "Pas d'accord", "Plutôt en désaccord", "En désaccord"),
            ("Ni d'accord ni pas d'accord", "Ni d'accord ni en désaccord", "Neutre"),
            ("Plutôt d'accord", "D'accord"),
            ("Tout à fait d'accord", "Totalement d'accord", "Entièrement d'accord", "Fortement d'accord"),
        ),
    ),
    Scale(
        "agreement-7",
        (
            ("Pas du tout d'accord", "Totalement en désaccord", "Fortement en désaccord"),
            ("Pas d'accord", "En désaccord"),
            ("Plutôt pas d'accord", "Plutôt en désaccord"),
            ("Ni d'accord ni pas d'accord", "Ni d'accord ni en désaccord", "Neutre"),
            ("Plutôt d'accord",),
            ("D'accord",),
            ("Tout à fait d'accord", "Totalement d'accord", "Entièrement d'accord", "Fortement d'accord"),
        ),
    ),
)
_SCALE_POINTS = tuple((scale, scale.label_points()) for scale in SCALES)


@dataclass(frozen=True)
class Recognised:
    """A column's scale: each distinct value it holds -> a point (None = no answer), and the scale's bounds."""

    name: str
    scale_min: int
    scale_max: int
    values: dict = field(default_factory=dict)
    # The scale's labels -> points (labelled scales only), to show the analyst the whole scale, unused points too,
    # and the column's own spelling of them.
    points: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


class ScaleError(ValueError):
    """The values of a column fit no known scale (or several); the message says which values and why.

    `code` and `params` (the values shown, bounds, scale names) let the Django layer say it in the reader's
    language (`audiences.services.survey_mapping.scale_error_message`); str() is the English message."""

    MESSAGES = {
        "no_answer": "The column has no answer to recognise a scale from.",
        "unreadable": "%(values)s is not a label of a known French scale (importance, satisfaction or agreement, 4, 5 "
        "or 7 points) nor a number: give the scale's `points`.",
        "unreadable_many": "%(values)s are not a label of a known French scale (importance, satisfaction or "
        "agreement, 4, 5 or 7 points) nor a number: give the scale's `points`.",
        "above_ten": "Answers go up to %(high)s: numeric scales are recognised up to 10; give `min` and `max`.",
        "ambiguous_numbers": "Numbers from %(low)s to %(high)s fit several scales (1-5, 1-7, 1-10...): give the "
        "scale's `min` and `max`.",
        "ambiguous_labels": "The labels %(values)s fit several scales (%(names)s) that give them different points: "
        "give the scale's `points`.",
    }

    def __init__(self, code: str, **params) -> None:
        self.code = code
        self.params = params
        super().__init__(self.MESSAGES[code] % params)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value) -> int | None:
    """A whole-number answer: 7, 7.0, "7", " 7 ", "7,0"; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip().replace(",", ".")
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 0 <= number < 1000 else None


def _split_numbered(value) -> tuple[int | None, str]:
    """'1 - Pas du tout satisfait' -> (1, 'pas du tout satisfait'); 'Plutôt satisfait' -> (None, 'plutot ...')."""
    text = str(value)
    match = _NUMBERED_LABEL.match(text)
    if match:
        return int(match["number"]), label_key(match["text"])
    return None, label_key(text)


def _shown(values: Iterable) -> dict:
    """The values a message shows (at most 8, quoted) and how many more there are (`more`, 0 when none)."""
    listed = sorted({str(value) for value in values})
    shown = ", ".join(repr(value) for value in listed[:8])
    more = max(len(listed) - 8, 0)
    return {"values": shown + (f" and {more} more" if more else ""), "shown": shown, "more": more}


def scale_candidates(values: Iterable) -> list[tuple[Scale, set[int], int]]:
    """The known labelled scales holding every (non-missing) value, each with the points the values use and how
    many values share a point with another (a column using both « Insatisfait » and « Plutôt insatisfait » is
    not on the 5-point scale that reads both as 2)."""
    keys = set()
    for value in values:
        if is_blank(value):
            continue
        _, key = _split_numbered(value)
        if key and key not in MISSING_LABELS:
            keys.add(key)
    if not keys:
        return []
    candidates = []
    for scale, points in _SCALE_POINTS:
        if keys <= points.keys():
            used = {points[key] for key in keys}
            candidates.append((scale, used, len(keys) - len(used)))
    return candidates


def scale_recognise(values: Iterable) -> Recognised:
    """The scale of a column from its distinct values (blank cells and "no answer" labels included or not).

    A labelled French Likert scale (the one known scale holding every label; when several do, the one whose
    points the labels use most completely, and an error when that still leaves a tie), or a numeric scale: 0-10
    when a 0 is seen, 1-10 when an 8, 9 or 10 is (other numbers are ambiguous: give `min`/`max`). Numbered labels
    ("1 - Pas du tout satisfait") read as their number when their text fits no scale.
    """
    distinct = {value for value in values if not is_blank(value)}
    missing = {value for value in distinct if _split_numbered(value)[1] in MISSING_LABELS}
    answers = distinct - missing
    if not answers:
        raise ScaleError("no_answer")
    candidates = scale_candidates(answers)
    if candidates:
        scale = _best_candidate(candidates, answers)
        points = scale.label_points()
        mapped: dict = {value: points[_split_numbered(value)[1]] for value in answers}
        mapped.update(dict.fromkeys(missing))
        return Recognised(
            name=scale.name,
            scale_min=1,
            scale_max=scale.size,
            values=mapped,
            points=_points_shown(scale, answers, mapped),
            missing=tuple(sorted(str(value) for value in missing)),
        )
    numbers = {value: _number(value) if _number(value) is not None else _split_numbered(value)[0] for value in answers}
    unreadable = [value for value, number in numbers.items() if number is None]
    if unreadable:
        raise ScaleError("unreadable" if len(unreadable) == 1 else "unreadable_many", **_shown(unreadable))
    low, high = min(numbers.values()), max(numbers.values())
    if high > 10:
        raise ScaleError("above_ten", high=high)
    if low == 0:
        scale_min = 0
    elif high >= 8:
        scale_min = 1
    else:
        raise ScaleError("ambiguous_numbers", low=low, high=high)
    mapped = {value: number for value, number in numbers.items()}
    mapped.update(dict.fromkeys(missing))
    return Recognised(
        name=f"numeric-{scale_min}-10",
        scale_min=scale_min,
        scale_max=10,
        values=mapped,
        missing=tuple(sorted(str(value) for value in missing)),
    )


def _points_shown(scale: Scale, answers: set, mapped: dict) -> dict[str, int]:
    """The scale's canonical labels, then each label of the column written another way (« Très insatisfait » for
    « Pas du tout satisfait »), so that explicit points made from them read every answer of the column."""
    shown = {label: point for point, label in enumerate(scale.labels(), start=1)}
    keys = {label_key(label) for label in shown}
    for value in sorted(answers, key=lambda value: (mapped[value], str(value))):
        if label_key(value) not in keys:
            keys.add(label_key(value))
            shown[str(value)] = mapped[value]
    return dict(sorted(shown.items(), key=lambda entry: entry[1]))


def numeric_bounds_guess(values: Iterable) -> tuple[int, int] | None:
    """For a column of whole numbers from 0 to 10 that `scale_recognise` cannot place (1 to 5: a 1-5, 1-7 or 1-10
    scale?): the bounds its answers reach, lowest 0 or 1, for the analyst to confirm. None for anything else."""
    numbers = set()
    for value in values:
        if is_blank(value) or _split_numbered(value)[1] in MISSING_LABELS:
            continue
        number = _number(value)
        if number is None or not 0 <= number <= 10:
            return None
        numbers.add(number)
    if len(numbers) < 2:
        return None
    return (0 if 0 in numbers else 1), max(numbers)


def _best_candidate(candidates: list[tuple[Scale, set[int], int]], answers: set) -> Scale:
    # First the scales that give each label a point of its own, then the one whose points the answers use most
    # completely: a column using four labels that fit both the 4-point and the 5-point scale is a 4-point one (with
    # thousands of answers, a whole unused point would be a surprise). Scales reading the same points agree.
    def rank(candidate):
        scale, used, collisions = candidate
        return collisions, scale.size - len(used)

    best = min(rank(candidate) for candidate in candidates)
    kept = [candidate for candidate in candidates if rank(candidate) == best]
    readings = {(*sorted(used), scale.size) for scale, used, _ in kept}
    if len(readings) > 1:
        names = ", ".join(scale.name for scale, _, _ in kept)
        raise ScaleError("ambiguous_labels", names=names, **_shown(answers))
    return kept[0][0]


@dataclass(frozen=True)
class ExplicitScale:
    """A scale given by the analyst: labels -> points (`missing` labels = no answer), or bare numbers in min-max."""

    scale_min: int
    scale_max: int
    points: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def reader(self) -> dict[str, int | None]:
        """Folded label -> point or None (missing)."""
        reader: dict[str, int | None] = {label_key(label): None for label in self.missing}
        reader.update({label_key(label): point for label, point in self.points.items()})
        return reader


def explicit_values(scale: ExplicitScale, values: Iterable) -> tuple[dict, list]:
    """Each distinct value of a column -> its point (None = no answer) on an explicit scale, and the values it
    does not read. With `points`, a value is a label (a bare number in the scale reads as itself only when no label
    is given); without, a whole number from min to max. Missing labels of the survey tools are always no answer."""
    reader = scale.reader()
    mapped, unknown = {}, []
    for value in values:
        if is_blank(value):
            continue
        key = label_key(value)
        if key in reader:
            mapped[value] = reader[key]
            continue
        if key in MISSING_LABELS:
            mapped[value] = None
            continue
        number = None if scale.points else _number(value)
        if number is not None and scale.scale_min <= number <= scale.scale_max:
            mapped[value] = number
        else:
            unknown.append(value)
    return mapped, unknown

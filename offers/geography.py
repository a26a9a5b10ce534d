"""Reading the French administrative geography files (offers/data/france/) and choosing a selection in them.

Reads and validates only; `offers.services.territories_load_france` writes. Every problem of the files, of a merges
file or of a selection is collected (file, line, column) so one error lists them all, before anything is written.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from api.exceptions import ErrorItem, InvalidInput
from offers.territory_paths import path_child

FRANCE_DIR = Path(__file__).resolve().parent / "data" / "france"

INSEE_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
# Metropolitan départements (01..95, 2A, 2B), overseas ones (971..976) and overseas collectivities (975, 977..989),
# which the files give as both their own région and département.
DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|9[78]\d)$")
REGION = re.compile(r"^(\d{2}|9[78]\d)$")
SIREN = re.compile(r"^\d{9}$")
POSTAL_CODE = re.compile(r"^\d{5}$")

COLUMNS = {
    "regions": ("code", "name"),
    "departements": ("code", "name", "region"),
    "epci": ("code", "name", "type", "population"),
    "communes": (
        "code",
        "name",
        "departement",
        "region",
        "epci",
        "population",
        "postal_codes",
        "latitude",
        "longitude",
    ),
}
# Column names of a merges file: ours, and those of INSEE's tables (communes nouvelles; COG mouvements).
MERGE_OLD_COLUMNS = ("old_code", "depcoma", "com_av")
MERGE_NEW_COLUMNS = ("new_code", "depcomn", "com_ap")


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class Departement:
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class Epci:
    code: str
    name: str
    type: str
    population: int | None


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    departement: str
    region: str
    epci: str  # "" for the few communes without an EPCI (islands, overseas collectivities)
    population: int | None
    postal_codes: tuple[str, ...]
    latitude: float | None
    longitude: float | None


@dataclass
class Geography:
    """The whole geography as read from the files, keyed by code, with what every loader derives from it."""

    regions: dict[str, Region]
    departements: dict[str, Departement]
    epcis: dict[str, Epci]
    communes: dict[str, Commune]
    _departement_paths: dict[str, str] = field(default_factory=dict, repr=False)

    def departement_path(self, code: str) -> str:
        if code not in self._departement_paths:
            region = path_child(None, kind="region", code=self.departements[code].region)
            self._departement_paths[code] = path_child(region, kind="departement", code=code)
        return self._departement_paths[code]

    def epci_main_departement(self) -> dict[str, str]:
        """The département of most of each EPCI's population (most communes when no population is known; then the
        smallest code, so the choice never depends on file order)."""
        weights: dict[str, Counter] = defaultdict(Counter)
        for commune in self.communes.values():
            if commune.epci:
                weights[commune.epci][commune.departement] += (commune.population or 0) * 1_000_000 + 1
        return {
            epci: min(counter, key=lambda departement: (-counter[departement], departement))
            for epci, counter in weights.items()
        }

    def epci_departements(self) -> dict[str, list[str]]:
        result: dict[str, set[str]] = defaultdict(set)
        for commune in self.communes.values():
            if commune.epci:
                result[commune.epci].add(commune.departement)
        return {epci: sorted(codes) for epci, codes in result.items()}


@dataclass
class Selection:
    """What a load asks for, as canonical codes, with the notes on how input was read ('1' read as '01')."""

    everything: bool = False
    regions: set[str] = field(default_factory=set)
    departements: set[str] = field(default_factory=set)
    epcis: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def communes(self, geography: Geography) -> set[str]:
        if self.everything:
            return set(geography.communes)
        return {
            code
            for code, commune in geography.communes.items()
            if commune.region in self.regions or commune.departement in self.departements or commune.epci in self.epcis
        }

    def covers_path(self, segments: dict[str, str]) -> bool:
        """True when a territory whose path has these {kind: code} segments lies in the selection."""
        return (
            self.everything
            or segments.get("region") in self.regions
            or segments.get("departement") in self.departements
            or segments.get("epci") in self.epcis
        )


# Reading ------------------------------------------------------------------------------------------------------------


def _open_text(directory: Path, name: str) -> tuple[str, io.TextIOBase]:
    plain = directory / f"{name}.csv"
    packed = directory / f"{name}.csv.gz"
    if plain.exists():
        return plain.name, plain.open(encoding="utf-8", newline="")
    if packed.exists():
        return packed.name, io.TextIOWrapper(gzip.open(packed), encoding="utf-8", newline="")
    raise InvalidInput(
        [ErrorItem(field=name, code="missing_file", message=f"{plain} (or {packed.name}) does not exist.")],
        message="The geography files are incomplete; nothing was loaded.",
    )


def _rows(directory: Path, name: str, errors: list[ErrorItem]) -> list[tuple[int, dict[str, str]]]:
    """The data rows of one file with their line numbers; a missing column is an error of the file."""
    filename, handle = _open_text(directory, name)
    try:
        with handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS[name] if column not in (reader.fieldnames or [])]
            if missing:
                errors.append(ErrorItem(field=filename, line=1, message=f"missing column(s): {', '.join(missing)}."))
                return []
            return [
                (number, {key: (value or "").strip() for key, value in row.items() if key})
                for number, row in enumerate(reader, start=2)
            ]
    except (UnicodeDecodeError, OSError, EOFError, csv.Error) as exc:
        errors.append(ErrorItem(field=filename, code="unreadable", message=f"cannot read {filename}: {exc}."))
        return []


def _population(value: str) -> int | None:
    if value == "":
        return None
    number = int(value)  # ValueError: reported by the caller
    if number < 0:
        raise ValueError(value)
    return number


def _coordinate(value: str, limit: float) -> float | None:
    if value == "":
        return None
    number = float(value)
    if not -limit <= number <= limit:
        raise ValueError(value)
    return number


def geography_read(directory: Path | str = FRANCE_DIR) -> Geography:
    """Read and validate the four files of `directory` (communes may be gzipped); InvalidInput lists every problem."""
    directory = Path(directory)
    errors: list[ErrorItem] = []

    def problem(filename: str, line: int, column: str, message: str) -> None:
        errors.append(ErrorItem(field=f"{filename}.{column}", line=line, message=message))

    def unique(filename: str, line: int, row: dict[str, str], seen: dict, pattern: re.Pattern, what: str) -> bool:
        """The row's code is well formed and new, and it has a name."""
        code = row["code"]
        if not pattern.match(code):
            problem(filename, line, "code", f"{code!r} is not {what}.")
            return False
        if code in seen:
            problem(filename, line, "code", f"{code} appears twice.")
            return False
        if not row["name"]:
            problem(filename, line, "name", "missing name.")
            return False
        return True

    regions: dict[str, Region] = {}
    for line, row in _rows(directory, "regions", errors):
        if unique("regions.csv", line, row, regions, REGION, "a région code"):
            regions[row["code"]] = Region(row["code"], row["name"])

    departements: dict[str, Departement] = {}
    for line, row in _rows(directory, "departements", errors):
        if not unique("departements.csv", line, row, departements, DEPARTEMENT, "a département code"):
            continue
        if row["region"] not in regions:
            problem("departements.csv", line, "region", f"région {row['region']!r} is not in regions.csv.")
            continue
        departements[row["code"]] = Departement(row["code"], row["name"], row["region"])

    epcis: dict[str, Epci] = {}
    for line, row in _rows(directory, "epci", errors):
        if not unique("epci.csv", line, row, epcis, SIREN, "an EPCI SIREN (9 digits)"):
            continue
        try:
            population = _population(row["population"])
        except ValueError:
            problem("epci.csv", line, "population", f"{row['population']!r} is not a population.")
            continue
        epcis[row["code"]] = Epci(row["code"], row["name"], row["type"], population)

    communes: dict[str, Commune] = {}
    for line, row in _rows(directory, "communes", errors):
        if not unique("communes.csv", line, row, communes, INSEE_COMMUNE, "an INSEE commune code"):
            continue
        before = len(errors)
        departement = departements.get(row["departement"])
        if departement is None:
            problem(
                "communes.csv", line, "departement", f"département {row['departement']!r} is not in departements.csv."
            )
        elif departement.region != row["region"]:
            problem(
                "communes.csv",
                line,
                "region",
                f"région {row['region']!r} is not that of département {departement.code} ({departement.region}).",
            )
        if row["epci"] and row["epci"] not in epcis:
            problem("communes.csv", line, "epci", f"EPCI {row['epci']!r} is not in epci.csv.")
        try:
            population = _population(row["population"])
        except ValueError:
            problem("communes.csv", line, "population", f"{row['population']!r} is not a population.")
        postal_codes = tuple(sorted(set(row["postal_codes"].split())))
        bad_postal = [code for code in postal_codes if not POSTAL_CODE.match(code)]
        if bad_postal:
            problem("communes.csv", line, "postal_codes", f"{', '.join(bad_postal)}: not 5-digit postal codes.")
        try:
            latitude = _coordinate(row["latitude"], 90)
            longitude = _coordinate(row["longitude"], 180)
            if (latitude is None) != (longitude is None):
                raise ValueError
        except ValueError:
            problem("communes.csv", line, "latitude", f"{row['latitude']!r}, {row['longitude']!r} is not a position.")
        if len(errors) > before:
            continue
        communes[row["code"]] = Commune(
            code=row["code"],
            name=row["name"],
            departement=row["departement"],
            region=row["region"],
            epci=row["epci"],
            population=population,
            postal_codes=postal_codes,
            latitude=latitude,
            longitude=longitude,
        )
    if not errors and not communes:
        errors.append(ErrorItem(field="communes.csv", message="no commune."))
    if errors:
        raise InvalidInput(errors, message=f"The geography files have {len(errors)} problem(s); nothing was loaded.")
    return Geography(regions=regions, departements=departements, epcis=epcis, communes=communes)


def merges_read(path: Path | str) -> dict[str, str]:
    """An old_code,new_code CSV (or INSEE's DepComA/DepComN, COM_AV/COM_AP columns; comma or semicolon) as
    {old INSEE code: new INSEE code}; InvalidInput lists every bad line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [ErrorItem(field="merges", code="unreadable", message=f"cannot read {path}: {exc}.")],
            message="The merges file cannot be read; nothing was loaded.",
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader, [])]
    old_column = next((header.index(name) for name in MERGE_OLD_COLUMNS if name in header), None)
    new_column = next((header.index(name) for name in MERGE_NEW_COLUMNS if name in header), None)
    if old_column is None or new_column is None:
        raise InvalidInput(
            [
                ErrorItem(
                    field="merges",
                    line=1,
                    message=f"expected the columns old_code,new_code (found {', '.join(header) or 'nothing'}).",
                )
            ],
            message="The merges file is invalid; nothing was loaded.",
        )
    merges: dict[str, str] = {}
    errors: list[ErrorItem] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip().upper() for cell in row] + ["", ""]
        old, new = cells[old_column], cells[new_column]
        bad = [value for value in (old, new) if not INSEE_COMMUNE.match(value)]
        if bad:
            errors.append(ErrorItem(field="merges", line=line, message=f"{bad[0]!r} is not an INSEE commune code."))
        elif old != new:
            if merges.get(old, new) != new:
                errors.append(
                    ErrorItem(field="merges", line=line, message=f"{old} is merged into both {merges[old]} and {new}.")
                )
            merges[old] = new
    if errors:
        raise InvalidInput(errors, message=f"The merges file has {len(errors)} problem(s); nothing was loaded.")
    return merges


def merge_successor(code: str, merges: dict[str, str], current: Iterable[str] | set[str]) -> str | None:
    """The current commune `code` ended up in, following chains of merges (A -> B -> C); None when none is known."""
    seen = {code}
    while code in merges:
        code = merges[code]
        if code in current:
            return code
        if code in seen:  # a cycle in the file: no successor rather than a guess
            return None
        seen.add(code)
    return None


# Selection ----------------------------------------------------------------------------------------------------------

OVERSEAS_HINT = (
    "overseas départements have three digits: 971 Guadeloupe, 972 Martinique, 973 Guyane, 974 La Réunion, 976 Mayotte"
)


def _what_else(value: str, geography: Geography, *, but: str) -> str | None:
    """What `value` is when it is not a code of kind `but`, phrased as a hint naming the right option."""
    if but != "epci" and value in geography.epcis:
        return f"it is the SIREN of the EPCI {geography.epcis[value].name}: use --epci {value}"
    if value in geography.communes:
        commune = geography.communes[value]
        where = f"--epci {commune.epci}" if commune.epci else f"--departement {commune.departement}"
        return f"it is the INSEE code of the commune {commune.name}: load its territory ({where})"
    if but != "departement" and value in geography.departements:
        return f"it is the département {geography.departements[value].name}: use --departement {value}"
    if but != "region" and value in geography.regions and value not in geography.departements:
        return f"it is the région {geography.regions[value].name}: use --region {value}"
    return None


def _read_region(value: str, geography: Geography, selection: Selection) -> str | None:
    if value in geography.regions:
        return None
    padded = value.zfill(2)
    if value.isdigit() and len(value) == 1 and padded in geography.regions:
        selection.notes.append(f"région '{value}' read as {padded} ({geography.regions[padded].name}).")
        selection.regions.add(padded)
        return ""
    hint = _what_else(value, geography, but="region")
    return f"{value!r} is not a région code; {hint}." if hint else f"there is no région {value!r} in the data."


def _read_departement(value: str, geography: Geography, selection: Selection) -> str | None:
    if value in geography.departements:
        return None
    if value == "20":
        return "'20' is not a département since 1976: Corsica is 2A (Corse-du-Sud) and 2B (Haute-Corse)."
    padded = value.zfill(2)
    if value.isdigit() and len(value) == 1 and padded in geography.departements:
        selection.notes.append(f"département '{value}' read as {padded} ({geography.departements[padded].name}).")
        selection.departements.add(padded)
        return ""
    if value in ("97", "98"):
        return f"'{value}' is not a département: {OVERSEAS_HINT}."
    hint = _what_else(value, geography, but="departement")
    if hint:
        return f"{value!r} is not a département code; {hint}."
    return f"there is no département {value!r} in the data (2 digits, 2A/2B for Corsica; {OVERSEAS_HINT})."


def _read_epci(value: str, geography: Geography, selection: Selection) -> str | None:
    if value in geography.epcis:
        return None
    hint = _what_else(value, geography, but="epci")
    if hint:
        return f"{value!r} is not an EPCI SIREN; {hint}."
    if SIREN.match(value):
        return f"there is no EPCI with SIREN {value} in the data."
    return f"{value!r} is not an EPCI SIREN (9 digits)."


def selection_read(
    geography: Geography,
    *,
    regions: Iterable[str] = (),
    departements: Iterable[str] = (),
    epcis: Iterable[str] = (),
    everything: bool = False,
) -> Selection:
    """Canonical codes of what is asked; InvalidInput names every value that is unknown or of another kind."""
    selection = Selection(everything=everything)
    errors: list[ErrorItem] = []
    for option, values, read, target in (
        ("region", regions, _read_region, selection.regions),
        ("departement", departements, _read_departement, selection.departements),
        ("epci", epcis, _read_epci, selection.epcis),
    ):
        for raw in values:
            value = str(raw).strip().upper()
            if not value:
                continue
            problem = read(value, geography, selection)
            if problem is None:
                target.add(value)
            elif problem:
                errors.append(ErrorItem(field=option, code="unknown_code", message=problem))
    placed = geography.epci_departements()
    errors += [
        ErrorItem(field="epci", code="empty", message=f"the EPCI {code} has no commune in the data.")
        for code in sorted(selection.epcis - set(placed))
    ]
    if errors:
        raise InvalidInput(errors, message=f"{len(errors)} territory code(s) refused; nothing was loaded.")
    if not (everything or selection.regions or selection.departements or selection.epcis):
        raise InvalidInput(
            [ErrorItem(field="selection", code="required", message="Name régions, départements or EPCIs, or all.")],
            message="Nothing to load.",
        )
    return selection

"""The national formats' test files (tests/offers/data/sources) as the database tests read them: dated from today.

The files hold the dates of the day they were written (FILES_WRITTEN_ON: a festival in May 2027, an event over in
2025). The sync compares them with today, so the tests read them moved by the days since (the demo loader's
`dates_shift`): the events to come stay to come, and those over stay over, whatever the day the tests run.
"""

from datetime import date
from pathlib import Path

from django.utils import timezone

from offers.source_formats.samples import dates_shift

FILES = Path(__file__).resolve().parent / "data" / "sources"
FILES_WRITTEN_ON = date(2026, 12, 2)


def source_file(name: str, *, today: date | None = None) -> bytes:
    """The test file `name` with its dates moved to `today` (default: today)."""
    today = today or timezone.localdate()
    return dates_shift((FILES / name).read_bytes(), written_on=FILES_WRITTEN_ON, today=today)


def file_day(day: date, *, today: date | None = None) -> date:
    """A date written in a test file, where `source_file` moves it."""
    return day + ((today or timezone.localdate()) - FILES_WRITTEN_ON)

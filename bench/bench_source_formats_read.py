"""Benchmark of the source-format readers alone (offers.source_formats, pure Python, no database): how long reading
a national file takes before the sync writes anything, against the floor of decoding the same JSON with json.loads.

France Travail: `offers.source_formats.samples.france_travail_sample(--records)`, the file the 50,000-record sync
benchmark uses. DATAtourisme, OpenAgenda and data·inclusion: the records of the demo files
(`offers/data/demo/sources/`) repeated with distinct identifiers up to --records. Medians of --repeats runs; the
load average is printed before and after (the machine may be shared). Prints a Markdown table.

    python bench/bench_source_formats_read.py --records 50000 --repeats 5
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offers.source_formats import SOURCE_FORMATS, SourceRecord  # noqa: E402
from offers.source_formats.samples import france_travail_sample  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "offers" / "data" / "demo" / "sources"
TODAY = date(2026, 12, 2)


def scaled(code: str, count: int) -> bytes:
    """A file of `count` records of format `code`."""
    if code == "france_travail":
        return france_travail_sample(count)
    document = json.loads((DEMO / f"{code}.json").read_text(encoding="utf-8"))
    key, id_key = {
        "datatourisme": ("@graph", "@id"),
        "openagenda": ("events", "uid"),
        "data_inclusion": ("items", "id"),
    }[code]
    models = document[key]
    items = []
    for number in range(count):
        item = copy.deepcopy(models[number % len(models)])
        item[id_key] = (
            f"{item[id_key]}-{number}" if isinstance(item[id_key], str) else item[id_key] * 1_000_000 + number
        )
        items.append(item)
    document[key] = items
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = []
    for code, source_format in SOURCE_FORMATS.items():
        content = scaled(code, arguments.records)
        results = list(source_format.read(content, today=TODAY))
        usable = sum(isinstance(result, SourceRecord) for result in results)
        floor = statistics.median(timed(lambda content=content: json.loads(content)) for _ in range(arguments.repeats))
        reading = statistics.median(
            timed(lambda f=source_format, c=content: list(f.read(c, today=TODAY))) for _ in range(arguments.repeats)
        )
        rows.append((code, len(results), usable, len(content) / 1e6, floor, reading))
    print(f"load average after: {os.getloadavg()}\n")
    print("| format | records | usable | MB | json.loads (s) | read (s) | ratio | records/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for code, count, usable, size, floor, reading in rows:
        print(
            f"| {code} | {count:,} | {usable:,} | {size:.1f} | {floor:.2f} | {reading:.2f} | {reading / floor:.1f} "
            f"| {count / reading:,.0f} |"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the synthetic answers of the Ancrage demo survey.

Reads ``survey.json`` (next to this script) and writes ``responses.csv`` with one
row per respondent and survey item::

    respondent_id,audience,commune,item,importance,satisfaction

How the answers are drawn (standard library only, fully deterministic):

* a single ``random.Random(2026)`` drives every draw, so re-running the script
  reproduces the same file byte for byte;
* segments are processed in the order of ``survey.json``; respondents are
  numbered ``R0001``, ``R0002``... across all segments;
* each respondent gets a commune drawn from the segment's weighted ``communes``
  list (INSEE codes);
* for each item, the segment ``profile`` gives ``[mean_importance,
  mean_satisfaction]`` (``default`` when the item is not listed); each value is
  drawn from a normal distribution around that mean (standard deviation 0.9),
  rounded to the nearest integer and clipped to ``scale_min``..``scale_max``;
* satisfaction is left empty for items measured on importance only;
* about 5 % of the cells are left empty to simulate "no answer" (each cell
  independently).

Usage: ``python3 generate_responses.py [survey.json] [responses.csv]``
"""

import csv
import json
import random
import sys
from pathlib import Path

SD = 0.9
NO_ANSWER_RATE = 0.05
SEED = 2026


def draw(rng, mean, lo, hi):
    """A discretised, clipped normal value around ``mean``."""
    value = int(round(rng.gauss(mean, SD)))
    return max(lo, min(hi, value))


def generate(survey, rng):
    lo, hi = survey["scale_min"], survey["scale_max"]
    rows = []
    number = 0
    for segment in survey["segments"]:
        profile = segment["profile"]
        default = profile["default"]
        codes = [c["code"] for c in segment["communes"]]
        weights = [c["weight"] for c in segment["communes"]]
        for _ in range(segment["respondents"]):
            number += 1
            respondent = f"R{number:04d}"
            commune = rng.choices(codes, weights=weights)[0]
            for item in survey["items"]:
                mean_imp, mean_sat = profile.get(item["code"], default)
                importance = draw(rng, mean_imp, lo, hi)
                satisfaction = draw(rng, mean_sat, lo, hi)
                if rng.random() < NO_ANSWER_RATE:
                    importance = ""
                if item["measures"] != "both" or rng.random() < NO_ANSWER_RATE:
                    satisfaction = ""
                rows.append([respondent, segment["audience"], commune, item["code"], importance, satisfaction])
    return rows


def main(argv):
    here = Path(__file__).resolve().parent
    survey_path = Path(argv[1]) if len(argv) > 1 else here / "survey.json"
    out_path = Path(argv[2]) if len(argv) > 2 else here / "responses.csv"
    survey = json.loads(survey_path.read_text(encoding="utf-8"))
    rows = generate(survey, random.Random(SEED))
    with out_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["respondent_id", "audience", "commune", "item", "importance", "satisfaction"])
        writer.writerows(rows)
    respondents = sum(s["respondents"] for s in survey["segments"])
    print(f"{out_path.name}: {respondents} respondents x {len(survey['items'])} items = {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv)

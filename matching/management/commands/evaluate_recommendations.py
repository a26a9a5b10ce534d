"""Measure the engine's recommendations on the labelled set: a threshold sweep, then the confusion matrix, per-class
precision/recall/F1 and macro-F1 of the current parameters, on the tuning part and on the held-out part.

Reads only the taxonomy and the territories from the database (`manage.py load_reference` or the tests' reference
data); each situation is scored through `matching.engine.needs_score` on arrays built from the file, so nothing is
written.
"""

import dataclasses
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from matching import evaluation, selectors
from matching.scoring import PARAMETER_INT_MAX, MatchingParameters

DEFAULT_SET = Path(settings.BASE_DIR) / "tests" / "matching" / "data" / "recommendations.yaml"
_SHOWN_COMBINATIONS = 10


def _percent(value: float) -> str:
    return f"{value:.3f}"


def _matrix(report: dict, title: str) -> list[str]:
    classes = report["classes"]
    width = max(len(label) for label in classes) + 2
    lines = [
        f"{title} (rows: expected, columns: predicted)",
        "",
        "| expected \\ predicted | " + " | ".join(classes) + " |",
    ]
    lines.append("|---|" + "---:|" * len(classes))
    for label, row in zip(classes, report["confusion"], strict=True):
        lines.append(f"| {label:<{width}} | " + " | ".join(str(value) for value in row) + " |")
    lines += ["", "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label in classes:
        scores = report["per_class"][label]
        lines.append(
            f"| {label} | {_percent(scores['precision'])} | {_percent(scores['recall'])} | {_percent(scores['f1'])} "
            f"| {scores['support']} |"
        )
    lines += ["", f"macro-F1 {_percent(report['macro_f1'])}, accuracy {_percent(report['accuracy'])}", ""]
    return lines


class Command(BaseCommand):
    help = (
        "Score the labelled recommendation set through the engine and print a threshold sweep (tuning and "
        "held-out macro-F1), then the confusion matrices and per-class scores of the current parameters."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_SET, help="The labelled set (YAML).")
        parser.add_argument("--no-sweep", action="store_true", help="Only evaluate the current parameters.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")

    def handle(self, *args, **options):
        try:
            labelled = evaluation.load_recommendation_set(options["file"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        taxonomy = selectors.taxonomy_arrays()
        if not taxonomy.theme_codes or not taxonomy.territory_codes:
            raise CommandError("No taxonomy or territories in the database: load the reference data first.")
        try:
            areas = evaluation.recommendation_areas(labelled, taxonomy)
        except ValueError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        centroids = selectors.commune_centroids(paths=areas)
        params = MatchingParameters()
        # Every candidate kept with its factors, so the sweep can re-decide from them.
        keep_all = dataclasses.replace(params, top_offers_per_need=PARAMETER_INT_MAX["top_offers_per_need"])
        try:
            results = evaluation.recommendations_score(
                labelled, taxonomy=taxonomy, centroids=centroids, params=keep_all
            )
        except ValueError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        sweep = [] if options["no_sweep"] else evaluation.recommendations_sweep(labelled, results, base=params)
        reports = evaluation.recommendations_evaluate(labelled, results)
        if options["json"]:
            self.stdout.write(json.dumps({"sweep": sweep[:_SHOWN_COMBINATIONS], "reports": reports}, default=float))
            return
        held_out = labelled.held_out()
        lines = [
            f"Labelled set: {len(labelled.cases)} needs ({int((~held_out).sum())} tuning, {int(held_out.sum())} "
            f"held out: every {evaluation.HOLD_OUT_EVERY}th of each class), reference date {labelled.reference_date}.",
            "",
        ]
        if sweep:
            lines += [
                f"Sweep: {len(sweep)} combinations; the {_SHOWN_COMBINATIONS} best on the tuning part "
                "(ties: closest to the current parameters)",
                "",
                "| " + " | ".join(sweep[0]["params"]) + " | tuning macro-F1 | held-out macro-F1 |",
                "|" + "---:|" * (len(sweep[0]["params"]) + 2),
            ]
            for row in sweep[:_SHOWN_COMBINATIONS]:
                values = " | ".join(f"{value:g}" for value in row["params"].values())
                lines.append(
                    f"| {values} | {_percent(row['tuning_macro_f1'])} | {_percent(row['held_out_macro_f1'])} |"
                )
            current = next(
                (row for row in sweep if all(abs(v - getattr(params, k)) < 1e-9 for k, v in row["params"].items())),
                None,
            )
            if current is not None:
                lines += [
                    "",
                    f"Current parameters: rank {sweep.index(current) + 1} of {len(sweep)}, tuning macro-F1 "
                    f"{_percent(current['tuning_macro_f1'])}, held-out {_percent(current['held_out_macro_f1'])}.",
                ]
                lines += [
                    "",
                    "One threshold at a time around the current parameters (tuning / held-out macro-F1):",
                    "",
                ]
                for name in sweep[0]["params"]:
                    others = [key for key in sweep[0]["params"] if key != name]
                    cells = [
                        f"{row['params'][name]:g}: {_percent(row['tuning_macro_f1'])} / "
                        f"{_percent(row['held_out_macro_f1'])}"
                        for row in sorted(sweep, key=lambda row: row["params"][name])
                        if all(abs(row["params"][key] - getattr(params, key)) < 1e-9 for key in others)
                    ]
                    lines.append(f"- {name}: " + "; ".join(cells))
                plateau = sum(1 for row in sweep if row["tuning_macro_f1"] >= sweep[0]["tuning_macro_f1"] - 0.01)
                lines.append(f"- {plateau} of {len(sweep)} combinations are within 0.01 of the best tuning macro-F1.")
            lines.append("")
        lines += _matrix(reports["all"], "All needs, four recommendations")
        lines += _matrix(reports["tuning"], "Tuning part")
        lines += _matrix(reports["held_out"], "Held-out part")
        lines += _matrix(reports["all_detailed"], "All needs, adjust split by constraint")
        misses = [case for case in labelled.cases if reports["predicted"][case.id] != case.expected]
        lines.append(f"Cases where the engine disagrees with the label ({len(misses)}):")
        for case in misses:
            lines.append(
                f"- {case.id}: expected {case.expected}, got {reports['predicted'][case.id]}. {case.rationale}"
            )
        self.stdout.write("\n".join(lines))

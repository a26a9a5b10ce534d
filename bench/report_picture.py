"""The README's picture of the HTML report: the demo data loaded in a throwaway test database, one matching run over
all of it, its report document (`format=html`, by domain and journey stage) rendered and its first screen taken
with headless Chromium (Debian's `chromium` package).

    DJANGO_SETTINGS_MODULE=api.settings_test .venv/bin/python bench/report_picture.py [--output docs/img/report.png]

`make report-picture` runs it. The page is A4-shaped (1000 × 1414 CSS pixels) so the picture shows what the first
printed page holds.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import translation  # noqa: E402

A4_WINDOW = "1000,1414"


def demo_run():
    """A succeeded run over the whole demo, its chunks scored in this process (what `db_worker` does)."""
    from django.contrib.auth import get_user_model

    from matching.models import ChunkStatus, MatchingChunk, RunStatus
    from matching.services import chunk_score, run_start

    user = get_user_model().objects.get(username="analyste")
    run = run_start(launched_by=user)
    for chunk_id in MatchingChunk.objects.filter(run=run, status=ChunkStatus.QUEUED).values_list("id", flat=True):
        chunk_score(chunk_id=chunk_id)
    run.refresh_from_db()
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"The demo run did not succeed: {run.status} {run.error}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--html", type=Path, help="Also keep the HTML document here.")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Needs Debian's chromium package (apt-get install chromium).")

    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("load_demo", allow_production=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
        from matching.report_builder import report_build

        run = demo_run()
        with translation.override("fr"):
            html = report_build(run_id=run.id, group_by=["domain", "stage"], territory_level="epci", top=3).html()
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)

    with tempfile.TemporaryDirectory() as directory:
        page = Path(directory) / "report.html"
        page.write_text(html, encoding="utf-8")
        if args.html:
            args.html.write_text(html, encoding="utf-8")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--force-device-scale-factor=1", f"--window-size={A4_WINDOW}",
             f"--screenshot={args.output.resolve()}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(f"{args.output} written from run {run.id} ({run.needs_total} needs)")


if __name__ == "__main__":
    main()

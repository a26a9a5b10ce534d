"""Regenerate the README's map (docs/img/demo-map-epci.png): the demo data loaded in a throwaway database, one
matching run over every need scored in this process, and its gap map by intercommunality.

    .venv/bin/python bench/demo_map.py [--level epci|commune] [--output docs/img/demo-map-epci.png]
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")
# The chunks are scored in this process, as the test suite does.
os.environ.setdefault("DJANGO_TASKS_BACKEND", "immediate")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=("epci", "commune"), default="epci")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    output = args.output or ROOT / "docs" / "img" / f"demo-map-{args.level}.png"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.contrib.auth.models import User
        from django.utils import translation

        from api.services import demo_users_ensure
        from audiences.services import audiences_demo_load
        from matching import report_builder, services
        from matching.models import MatchingRun
        from offers.services import offers_demo_load, taxonomy_load, territories_load_geojson

        territories_load_geojson()
        taxonomy_load()
        demo_users_ensure()
        offers_demo_load(editor_username="editeur")
        audiences_demo_load()
        analyst = User.objects.get(username="analyste")
        run = services.run_start(launched_by=analyst)
        run = MatchingRun.objects.get(pk=run.pk)
        if run.status != "succeeded":
            raise SystemExit(f"The demo run did not succeed: {run.status}")
        with translation.override("fr"):
            image = report_builder.map_build(run_id=run.id, level=args.level, user=analyst).chart("png")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(image)
        print(f"{output.relative_to(ROOT)}: {len(image) / 1024:.0f} KiB, run {run.id}")
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()

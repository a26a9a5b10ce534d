"""Compiles the apps' gettext catalogues (`<app>/locale/<lang>/LC_MESSAGES/*.po`) into the `.mo` files Django reads,
in pure Python (polib), so that building and testing need no GNU gettext. `.mo` files are build products: they are
not committed, and `make run`, `make test` and deployments run this (`python -m api.translations`, or
`manage.py compile_translations`)."""

import sys
from pathlib import Path

import polib

BASE_DIR = Path(__file__).resolve().parent.parent
# The project's apps, each with its own catalogue (one .po per app, so that no two changes edit the same file).
APPS = ("api", "offers", "audiences", "matching")


def catalogues(base_dir: Path = BASE_DIR) -> list[Path]:
    """Every `.po` file of the project's apps, in a stable order."""
    return sorted(path for app in APPS for path in (base_dir / app / "locale").glob("*/LC_MESSAGES/*.po"))


def compile_catalogues(paths: list[Path], *, force: bool = False) -> list[Path]:
    """Writes `<name>.mo` beside each `<name>.po` that is newer than its `.mo` (or every one with `force`); returns
    the `.mo` files written. Fuzzy and untranslated entries are left out, as msgfmt does, so Django falls back to
    the English msgid for them. Each file is written under a temporary name then renamed, so that a process
    reading the catalogues never sees half a file."""
    written = []
    for po_path in paths:
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        partial = mo_path.with_suffix(".mo.partial")
        polib.pofile(str(po_path)).save_as_mofile(str(partial))
        partial.replace(mo_path)
        written.append(mo_path)
    return written


def main(argv: list[str]) -> int:
    force = "--force" in argv
    written = compile_catalogues(catalogues(), force=force)
    for path in written:
        print(f"compiled {path.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

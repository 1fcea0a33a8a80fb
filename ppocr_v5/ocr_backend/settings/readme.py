"""The README's Configuration table, derived from the declarations, and the command that rewrites it
(`python -m ocr_backend.settings --readme README.md`; tests/settings/test_readme.py checks it is current).
"""

import argparse
import sys
from typing import Optional, Sequence

from ocr_backend.settings.assembly import SETTINGS
from ocr_backend.settings.gunicorn import GUNICORN_SETTINGS

_TABLE_HEADING = "## Configuration"
# What a failing README check tells you to run (from the repository root).
README_FIX = ".venv/bin/python -m ocr_backend.settings --readme README.md"


def settings_table() -> str:
    """The README's "## Configuration" table: one row per declaration, then gunicorn's variables."""
    rows = [("Variable", "Default", "Meaning"), ("---", "---", "---")]
    rows += [(f"`{s.env}`", s.default_cell(), s.meaning()) for s in SETTINGS + GUNICORN_SETTINGS]
    return "".join("| " + " | ".join(cells).replace("|  |", "| |") + " |\n" for cells in rows)


def replace_settings_table(readme: str) -> str:
    """`readme` with the first table under "## Configuration" replaced by `settings_table()`."""
    lines = readme.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == _TABLE_HEADING)
    except StopIteration:
        raise ValueError(f"no {_TABLE_HEADING!r} heading") from None
    first = start + 1
    while first < len(lines) and not lines[first].startswith("|"):
        if lines[first].startswith("## "):
            raise ValueError(f"no table under {_TABLE_HEADING!r}")
        first += 1
    end = first
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[:first]) + settings_table() + "".join(lines[end:])


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ocr_backend.settings", description="Render the settings table from the declarations."
    )
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the README's Configuration table")
    group.add_argument("--readme", metavar="PATH", help="rewrite the table inside PATH's Configuration section")
    args = ap.parse_args(argv)
    if args.markdown:
        sys.stdout.write(settings_table())
        return 0
    with open(args.readme, encoding="utf-8") as f:
        text = f.read()
    with open(args.readme, "w", encoding="utf-8") as f:
        f.write(replace_settings_table(text))
    return 0

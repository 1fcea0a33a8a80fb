"""The README's Configuration table (ocr_backend/settings/readme.py) and the command that rewrites it."""

import difflib
import os

import pytest

from ocr_backend.settings import GUNICORN_SETTINGS, README_FIX, SETTINGS, replace_settings_table, settings_table
from ocr_backend.settings import main as settings_main

from tests.support.corpus import REPO


def test_readme_configuration_table_is_the_generated_one():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    fixed = replace_settings_table(readme)
    if fixed != readme:
        diff = "".join(
            difflib.unified_diff(readme.splitlines(True), fixed.splitlines(True), "README.md", "generated", n=0)
        )
        pytest.fail(
            f"README.md's Configuration table differs from the declarations in ocr_backend/settings/; "
            f"fix it with `{README_FIX}` (from the repository root):\n{diff}",
            pytrace=False,
        )


def test_table_has_one_row_per_setting_and_gunicorn_variable():
    rows = settings_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [s.env for s in SETTINGS + GUNICORN_SETTINGS]
    assert "| `MAX_IMAGE_BYTES` | `52428800` | download size cap |" in rows
    assert "| `LABEL_STUDIO_URL` | | Label Studio base URL" in settings_table()
    assert "{allowed}" not in settings_table()


def test_only_the_configuration_table_is_rewritten(tmp_path):
    readme = tmp_path / "README.md"
    before = (
        "# Title\n\n| a | b |\n| - | - |\n\n## Configuration\n\nIntro.\n\n| Variable | old |\n| x | y |\n\nAfter.\n"
    )
    readme.write_text(before, encoding="utf-8")
    assert settings_main(["--readme", str(readme)]) == 0
    after = readme.read_text(encoding="utf-8")
    assert after == (
        "# Title\n\n| a | b |\n| - | - |\n\n## Configuration\n\nIntro.\n\n" + settings_table() + "\nAfter.\n"
    )
    assert replace_settings_table(after) == after
    with pytest.raises(ValueError, match="Configuration"):
        replace_settings_table("# no such section\n")

import dataclasses
import difflib
import os

import pytest

from ocr_backend.errors import ConfigError
from ocr_backend.settings import (
    README_FIX,
    SERVER_VARIABLES,
    SETTINGS,
    Settings,
    env_text,
    replace_settings_table,
    settings_table,
)
from ocr_backend.settings import main as settings_main

from corpus import REPO


def test_defaults_match_the_documented_ones():
    s = Settings.from_env({})
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("mobile", "ch", "cpu", "polygon")
    assert (s.score_threshold, s.det_score_threshold) == (0.5, 0.6)
    assert s.include_transcription is True
    assert not (s.use_doc_orientation or s.use_doc_unwarping or s.use_textline_orientation)
    assert s.engine == "onnxruntime"


def test_values_are_parsed_and_normalised():
    s = Settings.from_env(
        {
            "MODEL_VARIANT": "Server",
            "OCR_LANG": "korean",
            "DEVICE": "GPU:1",
            "SCORE_THRESHOLD": "0.3",
            "DET_SCORE_THRESHOLD": "0.45",
            "OUTPUT_TYPE": "rectangle",
            "INCLUDE_TRANSCRIPTION": "false",
            "USE_DOC_ORIENTATION": "1",
            "USE_TEXTLINE_ORIENTATION": "yes",
            "LABEL_STUDIO_URL": "http://ls:8080/",
            "LABEL_STUDIO_API_KEY": " abc ",
        }
    )
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("server", "korean", "gpu:1", "rectangle")
    assert (s.score_threshold, s.det_score_threshold) == (0.3, 0.45)
    assert s.include_transcription is False and s.use_doc_orientation and s.use_textline_orientation
    assert s.label_studio_url == "http://ls:8080" and s.label_studio_api_key == "abc"
    assert s.engine == "paddle"  # auto on GPU


@pytest.mark.parametrize(
    "name,value,needle",
    [
        ("MODEL_VARIANT", "large", "mobile, server"),
        ("OCR_LANG", "klingon", "ch, en, arabic"),
        ("DEVICE", "tpu", "cpu or gpu:N"),
        ("SCORE_THRESHOLD", "1.5", "between 0.0 and 1.0"),
        ("DET_SCORE_THRESHOLD", "high", "not a number"),
        ("OUTPUT_TYPE", "circle", "polygon, rectangle"),
        ("INCLUDE_TRANSCRIPTION", "maybe", "true or false"),
        ("LABEL_STUDIO_URL", "localhost:8080", "http(s) URL"),
        ("INFERENCE_ENGINE", "tensorrt", "paddle, onnxruntime"),
        ("REC_BATCH_SIZE", "0", ">= 1"),
    ],
)
def test_invalid_values_name_the_variable_the_value_and_the_fix(name, value, needle):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value})
    message = str(err.value)
    assert name in message and repr(value) in message and needle in message


def test_basic_auth_needs_both_halves():
    with pytest.raises(ConfigError, match="together"):
        Settings.from_env({"BASIC_AUTH_USER": "u"})


def test_secrets_are_masked_in_the_loggable_summary():
    s = Settings.from_env(
        {
            "LABEL_STUDIO_URL": "http://ls:8080",
            "LABEL_STUDIO_API_KEY": "secret-token",
            "BASIC_AUTH_USER": "u",
            "BASIC_AUTH_PASS": "pw",
        }
    )
    summary = str(s.public_summary())
    assert "secret-token" not in summary and "'pw'" not in summary


def test_threads_follow_the_environment_or_the_cores():
    assert Settings.from_env({"CPU_THREADS": "3"}).threads() == 3
    assert Settings.from_env({}).threads() >= 1


# --- the declarations ---------------------------------------------------------------------------


def test_every_field_is_declared_once_under_its_own_variable():
    assert [s.name for s in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    for s in SETTINGS:
        assert s.env == s.name.upper() and getattr(Settings(), s.name) == s.default


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_each_documented_default_reads_back_as_the_default(setting):
    """The spelling the README and the Docker files show is one the parser turns into the default."""
    assert getattr(Settings.from_env({setting.env: env_text(setting.default)}), setting.name) == setting.default


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("SCORE_THRESHOLD", " ", 0.5),  # compose passes VAR= for an unset host variable: the default
        ("OUTPUT_TYPE", "", "polygon"),
        ("CPU_THREADS", "", 0),
        ("INCLUDE_TRANSCRIPTION", "", False),  # an empty flag has always read as false
        ("DEFAULT_LABEL", "  Text ", "Text"),
    ],
)
def test_blank_and_padded_values(name, value, expected):
    setting = next(s for s in SETTINGS if s.env == name)
    assert getattr(Settings.from_env({name: value}), setting.name) == expected


def test_v6_blank_variant_is_v6s_default():
    assert Settings.from_env({"PPOCR_VERSION": "v6", "MODEL_VARIANT": ""}).model_variant == "small"


def test_settings_stay_a_frozen_hashable_value():
    a, b = Settings.from_env({"CPU_THREADS": "2"}), Settings.from_env({"CPU_THREADS": "2"})
    assert a == b and hash(a) == hash(b) and len({a: 1, b: 2}) == 1  # engine.py keys a cache by it
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.cpu_threads = 3  # type: ignore[misc]


def test_every_secret_declaration_is_masked():
    secrets = [s for s in SETTINGS if s.secret]
    assert {s.env for s in secrets} == {"LABEL_STUDIO_API_KEY", "BASIC_AUTH_PASS"}
    env = {"LABEL_STUDIO_URL": "http://ls:8080", "BASIC_AUTH_USER": "u", **{s.env: f"hidden-{s.env}" for s in secrets}}
    summary = Settings.from_env(env).public_summary()
    assert all(summary[s.name] == "***" for s in secrets)
    assert summary["basic_auth_user"] == "u" and "hidden" not in str(summary)
    assert Settings.from_env({}).public_summary()["basic_auth_pass"] == ""  # nothing to hide


# --- the README table -----------------------------------------------------------------------------


def test_readme_configuration_table_is_the_generated_one():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    fixed = replace_settings_table(readme)
    if fixed != readme:
        diff = "".join(
            difflib.unified_diff(readme.splitlines(True), fixed.splitlines(True), "README.md", "generated", n=0)
        )
        pytest.fail(
            f"README.md's Configuration table differs from the declarations in settings.py; "
            f"fix it with `{README_FIX}` (from the repository root):\n{diff}",
            pytrace=False,
        )


def test_table_has_one_row_per_setting_and_server_variable():
    rows = settings_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [s.env for s in SETTINGS] + [v.env for v in SERVER_VARIABLES]
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

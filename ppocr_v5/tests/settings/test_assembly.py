"""Settings (ocr_backend/settings/): reading the environment, the cross-field rules, the declarations."""

import dataclasses

import pytest

from ocr_backend.errors import ConfigError
from ocr_backend.settings import SETTINGS, Settings, env_text


def test_defaults_match_the_documented_ones():
    s = Settings.from_env({})
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("mobile", "ch", "cpu", "polygon")
    # DET_SCORE_THRESHOLD is the seed's (PaddleX `thresh`, 0.3); the box cut is DET_BOX_THRESHOLD
    assert (s.score_threshold, s.det_score_threshold, s.det_box_threshold) == (0.5, 0.3, 0.6)
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
            "DET_BOX_THRESHOLD": "0.7",
            "OUTPUT_TYPE": "RECTANGLE",
            "REC_SECOND_MODEL": "pp-ocrv6_tiny_rec",
            "INCLUDE_TRANSCRIPTION": "false",
            "USE_DOC_ORIENTATION": "1",
            "USE_TEXTLINE_ORIENTATION": "yes",
            "LABEL_STUDIO_URL": "http://ls:8080/",
            "LABEL_STUDIO_API_KEY": " abc ",
        }
    )
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("server", "korean", "gpu:1", "rectangle")
    assert s.rec_second_model == "PP-OCRv6_tiny_rec"  # any case, the value as declared (PaddleX's spelling)
    assert (s.score_threshold, s.det_score_threshold, s.det_box_threshold) == (0.3, 0.45, 0.7)
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
        ("DET_BOX_THRESHOLD", "1.1", "between 0.0 and 1.0"),
        ("OUTPUT_TYPE", "circle", "polygon, rectangle"),
        ("INCLUDE_TRANSCRIPTION", "maybe", "true or false"),
        ("LABEL_STUDIO_URL", "localhost:8080", "http(s) URL"),
        ("INFERENCE_ENGINE", "tensorrt", "paddle, onnxruntime"),
        ("REC_BATCH_SIZE", "0", ">= 1"),
        ("REC_SECOND_MODEL", "PP-OCRv4_rec", "PP-OCRv6_small_rec, PP-OCRv6_tiny_rec, none"),
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
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    assert all(s.env == s.name.upper() for s in SETTINGS)


def test_a_settings_built_with_no_arguments_is_what_an_empty_environment_reads():
    assert Settings() == Settings.from_env({})


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


# --- the cross-field rules: checked however a Settings is made -----------------------------------


@pytest.mark.parametrize(
    "fields,needle",
    [
        ({"label_studio_api_key": "k"}, "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not"),
        ({"basic_auth_user": "u"}, "BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together"),
        ({"basic_auth_pass": "p"}, "BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together"),
        ({"ppocr_version": "v6"}, "MODEL_VARIANT='mobile' is not a PP-OCRv6 variant"),
        ({"model_variant": "tiny"}, "MODEL_VARIANT='tiny' is not a PP-OCRv5 variant"),
        ({"ppocr_version": "v6", "model_variant": "tiny", "ocr_lang": "korean"}, "has no PP-OCRv6 recogniser"),
    ],
)
def test_a_directly_built_settings_obeys_the_cross_field_rules(fields, needle):
    with pytest.raises(ConfigError, match=needle):
        Settings(**fields)
    with pytest.raises(ConfigError, match=needle):
        dataclasses.replace(Settings(), **fields)


def test_a_directly_built_settings_that_obeys_the_rules_is_accepted():
    s = Settings(ppocr_version="v6", model_variant="tiny", ocr_lang="en", label_studio_url="http://ls:8080")
    assert dataclasses.replace(s, label_studio_api_key="k").label_studio_api_key == "k"
    assert Settings(basic_auth_user="u", basic_auth_pass="p").basic_auth_pass == "p"


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"PPOCR_VERSION": "v6", "MODEL_VARIANT": "Server"}, "MODEL_VARIANT='Server' is not a PP-OCRv6 variant"),
        ({"PPOCR_VERSION": "v6", "OCR_LANG": "th"}, "OCR_LANG='th' has no PP-OCRv6 recogniser"),
        ({"LABEL_STUDIO_API_KEY": "k"}, "set LABEL_STUDIO_URL to the Label Studio the key belongs to"),
    ],
)
def test_the_environment_meets_the_same_rules(env, needle):
    with pytest.raises(ConfigError, match=needle):
        Settings.from_env(env)

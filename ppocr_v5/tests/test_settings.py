import pytest

from ocr_backend.errors import ConfigError
from ocr_backend.settings import Settings


def test_defaults_match_the_documented_ones():
    s = Settings.from_env({})
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("mobile", "ch", "cpu", "polygon")
    assert (s.score_threshold, s.det_score_threshold) == (0.5, 0.6)
    assert s.include_transcription is True
    assert not (s.use_doc_orientation or s.use_doc_unwarping or s.use_textline_orientation)
    assert s.engine == "onnxruntime"


def test_values_are_parsed_and_normalised():
    s = Settings.from_env({
        "MODEL_VARIANT": "Server", "OCR_LANG": "korean", "DEVICE": "GPU:1", "SCORE_THRESHOLD": "0.3",
        "DET_SCORE_THRESHOLD": "0.45", "OUTPUT_TYPE": "rectangle", "INCLUDE_TRANSCRIPTION": "false",
        "USE_DOC_ORIENTATION": "1", "USE_TEXTLINE_ORIENTATION": "yes",
        "LABEL_STUDIO_URL": "http://ls:8080/", "LABEL_STUDIO_API_KEY": " abc ",
    })
    assert (s.model_variant, s.ocr_lang, s.device, s.output_type) == ("server", "korean", "gpu:1", "rectangle")
    assert (s.score_threshold, s.det_score_threshold) == (0.3, 0.45)
    assert s.include_transcription is False and s.use_doc_orientation and s.use_textline_orientation
    assert s.label_studio_url == "http://ls:8080" and s.label_studio_api_key == "abc"
    assert s.engine == "paddle"  # auto on GPU


@pytest.mark.parametrize("name,value,needle", [
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
])
def test_invalid_values_name_the_variable_the_value_and_the_fix(name, value, needle):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value})
    message = str(err.value)
    assert name in message and repr(value) in message and needle in message


def test_basic_auth_needs_both_halves():
    with pytest.raises(ConfigError, match="together"):
        Settings.from_env({"BASIC_AUTH_USER": "u"})


def test_secrets_are_masked_in_the_loggable_summary():
    s = Settings.from_env({"LABEL_STUDIO_URL": "http://ls:8080",
                           "LABEL_STUDIO_API_KEY": "secret-token", "BASIC_AUTH_USER": "u",
                           "BASIC_AUTH_PASS": "pw"})
    summary = str(s.public_summary())
    assert "secret-token" not in summary and "'pw'" not in summary


def test_threads_follow_the_environment_or_the_cores():
    assert Settings.from_env({"CPU_THREADS": "3"}).threads() == 3
    assert Settings.from_env({}).threads() >= 1

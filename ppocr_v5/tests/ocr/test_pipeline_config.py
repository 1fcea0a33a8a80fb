"""The PaddleX pipeline config and engine arguments, built from settings (no inference here)."""

import os

import pytest

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.errors import ConfigError
from ocr_backend.labelstudio.versioning import model_version
from ocr_backend.ocr.device import check_device
from ocr_backend.ocr.pipeline_config import (
    build_pipeline_config,
    engine_arguments,
    official_config,
    pipeline_overrides,
    uses_doc_preprocessing,
)
from ocr_backend.settings import Settings


def build(env):
    s = Settings.from_env(env)
    return build_pipeline_config(s, resolve_model_names(s.model_variant, s.ocr_lang), "/m/det", None, official_config())


def test_official_config_with_our_models_and_thresholds():
    cfg = build({"SCORE_THRESHOLD": "0.4", "DET_SCORE_THRESHOLD": "0.25", "DET_BOX_THRESHOLD": "0.55"})
    det, rec = cfg["SubModules"]["TextDetection"], cfg["SubModules"]["TextRecognition"]
    assert cfg["pipeline_name"] == "OCR" and cfg["text_type"] == "general"
    assert (det["model_name"], det["model_dir"]) == ("PP-OCRv5_mobile_det", "/m/det")
    assert (rec["model_name"], rec["model_dir"]) == ("PP-OCRv5_mobile_rec", None)
    # DET_SCORE_THRESHOLD binarises the probability map (PaddleX thresh), DET_BOX_THRESHOLD cuts boxes
    assert det["thresh"] == 0.25 and det["box_thresh"] == 0.55
    default = build({})["SubModules"]["TextDetection"]
    assert (default["thresh"], default["box_thresh"]) == (0.3, 0.6)  # PaddleX's own defaults, as before
    assert rec["score_thresh"] == 0.4


def test_preprocessing_modules_exist_only_when_enabled():
    plain = build({})
    assert plain["use_doc_preprocessor"] is False and "SubPipelines" not in plain
    assert "TextLineOrientation" not in plain["SubModules"]
    full = build({"USE_DOC_ORIENTATION": "true", "USE_TEXTLINE_ORIENTATION": "true"})
    doc = full["SubPipelines"]["DocPreprocessor"]
    assert full["use_doc_preprocessor"] and doc["use_doc_orientation_classify"] and not doc["use_doc_unwarping"]
    assert "TextLineOrientation" in full["SubModules"]


def test_doc_preprocessing_is_on_with_either_page_module():
    assert not uses_doc_preprocessing(Settings.from_env({"USE_TEXTLINE_ORIENTATION": "true"}))
    assert uses_doc_preprocessing(Settings.from_env({"USE_DOC_ORIENTATION": "true"}))
    assert uses_doc_preprocessing(Settings.from_env({"USE_DOC_UNWARPING": "true"}))


def test_every_override_lands_in_the_config():
    s = Settings.from_env({"USE_DOC_UNWARPING": "true", "REC_BATCH_SIZE": "3"})
    names = resolve_model_names(s.model_variant, s.ocr_lang)
    table = pipeline_overrides(s, names, "/m/det", "/m/rec", {"UVDoc": "/m/uvdoc"})
    assert table[("SubModules", "TextRecognition", "batch_size")] == 3
    assert table[("SubPipelines", "DocPreprocessor", "SubModules", "DocUnwarping", "model_dir")] == "/m/uvdoc"
    cfg = build_pipeline_config(s, names, "/m/det", "/m/rec", official_config(), {"UVDoc": "/m/uvdoc"})
    for path, value in table.items():
        node = cfg
        for key in path:
            node = node[key]
        assert node == value, path


def test_engine_arguments_match_the_cores():
    args = engine_arguments(Settings.from_env({"CPU_THREADS": "2"}))
    assert args == {
        "device": "cpu",
        "engine": "onnxruntime",
        "engine_config": {"intra_op_num_threads": 2, "inter_op_num_threads": 1, "enable_mem_pattern": False},
    }
    assert engine_arguments(Settings.from_env({"INFERENCE_ENGINE": "paddle"})) == {"device": "cpu", "engine": "paddle"}


@pytest.mark.slow
def test_the_built_detector_session_plans_no_memory_pattern():
    # What PaddleX made of engine_config: the real session options (the ~350 MB of docs/speed.md, Memory).
    from ocr_backend.ocr.engine import OcrEngine

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "CPU_THREADS": "2"}))
    engine.warm_up()
    options = engine.pipeline.text_det_model.runner.session.get_session_options()
    assert options.enable_mem_pattern is False and options.intra_op_num_threads == 2


def test_gpu_without_a_cuda_build_is_a_clear_error():
    with pytest.raises(ConfigError, match="DEVICE=gpu:0 needs a CUDA build of PaddlePaddle"):
        check_device(Settings.from_env({"DEVICE": "gpu:0"}))
    with pytest.raises(ConfigError, match="INFERENCE_ENGINE=paddle"):
        check_device(Settings.from_env({"DEVICE": "gpu:0", "INFERENCE_ENGINE": "onnxruntime"}))


def test_model_version_is_stable_and_tracks_prediction_settings():
    def version(env):
        s = Settings.from_env(env)
        return model_version(s, resolve_model_names(s.model_variant, s.ocr_lang))

    base = version({})
    assert base == version(
        {"LABEL_STUDIO_URL": "http://ls:8080", "LABEL_STUDIO_API_KEY": "x", "CPU_THREADS": "1"}
    )  # no effect on output
    assert "PP-OCRv5_mobile_det+PP-OCRv5_mobile_rec" in base
    for env in (
        {"SCORE_THRESHOLD": "0.4"},
        {"OUTPUT_TYPE": "rectangle"},
        {"MODEL_VARIANT": "server"},
        {"INCLUDE_TRANSCRIPTION": "false"},
        {"DET_LIMIT_SIDE_LEN": "960"},
        {"WORD_BOXES": "true"},
        {"PPOCR_VERSION": "v6"},
    ):
        assert version(env) != base, env

"""INFERENCE_ENGINE=openvino on real weights: the same lines as onnxruntime, and a compiled-model cache."""

import os
import time

import cv2
import pytest

from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.openvino_runtime import CACHE_FOLDER, OpenVinoRunner
from ocr_backend.settings import Settings

from tests.support.corpus import PUBLIC

MODELS = os.environ["MODEL_DIR"]


def _env(engine, model_root):
    return {
        "MODEL_DIR": model_root,
        "DET_MODEL_DIR": os.path.join(MODELS, "PP-OCRv5_mobile_det"),
        "REC_MODEL_DIR": os.path.join(MODELS, "PP-OCRv5_mobile_rec"),
        "INFERENCE_ENGINE": engine,
        "CPU_THREADS": "2",
    }


@pytest.mark.slow
def test_openvino_reads_what_onnxruntime_reads_and_caches_its_compilation(tmp_path):
    image = cv2.imread(os.path.join(PUBLIC, "images", "en_caption_p040.png"))[:700]
    reference = OcrEngine(Settings.from_env(_env("onnxruntime", str(tmp_path / "ort")))).run(image).lines

    started = time.perf_counter()
    engine = OcrEngine(Settings.from_env(_env("openvino", str(tmp_path))))
    engine.warm_up()
    cold = time.perf_counter() - started
    assert isinstance(engine.pipeline.text_det_model.runner, OpenVinoRunner)
    assert isinstance(engine.recognizer, ParallelRecognizer)  # lines stay on onnxruntime (docs/speed.md)
    lines = engine.run(image).lines
    assert [line.text for line in lines] == [line.text for line in reference]
    for ours, theirs in zip(lines, reference):
        assert abs(ours.score - theirs.score) < 1e-3
        assert max(abs(a - b) for p, q in zip(ours.points, theirs.points) for a, b in zip(p, q)) <= 1.0

    cache = tmp_path / CACHE_FOLDER
    assert cache.is_dir() and any(cache.iterdir())
    started = time.perf_counter()
    OcrEngine(Settings.from_env(_env("openvino", str(tmp_path)))).warm_up()
    warm = time.perf_counter() - started
    print(f"openvino engine build: {cold:.2f} s cold, {warm:.2f} s with the compiled-model cache")
    assert warm < 60  # only catches a hang; figures are in docs/speed.md


def test_openvino_is_a_cpu_engine_with_onnx_weights():
    from ocr_backend.errors import ConfigError
    from ocr_backend.ocr.device import check_device
    from ocr_backend.ocr.pipeline_config import engine_arguments

    settings = Settings.from_env({"INFERENCE_ENGINE": "openvino", "CPU_THREADS": "2"})
    assert engine_arguments(settings)["engine"] == "onnxruntime"  # PaddleX builds it; the engine moves it
    with pytest.raises(ConfigError, match="INFERENCE_ENGINE=openvino is not supported"):
        check_device(Settings.from_env({"INFERENCE_ENGINE": "openvino", "DEVICE": "gpu:0"}))

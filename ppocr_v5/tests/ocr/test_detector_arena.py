"""The onnxruntime detector gives its arena back after each run (ocr/detector_arena.py; issue 13,
issue 14 D6): the same detections as PaddleX's own runner, and over HTTP a large image no longer
leaves the worker holding the memory it took.
"""

import io
import os

import numpy as np
import pytest
import requests
from PIL import Image

from tests.support.corpus import POLYGON_CONFIG, page_bytes
from tests.support.hosts import Recorder, png
from tests.support.launcher import Backend
from tests.support.rss import tree_rss

pytestmark = pytest.mark.slow

PAGE = "en_caption_p001"
LARGE_SIDE = 2000  # px: a 4 MP detector input, twice a 150 dpi page's
# RSS the worker may keep above its level after small images once a large one is done and a small
# one is read again (docs/speed.md, Memory: the arena kept what the large input grew, several hundred
# MB; released, what is left is glibc's heaps, which the arena does not own).
ALLOWED_GROWTH_MB = 300


def _worker_rss_mb(server: Backend) -> float:
    (pid,) = server.worker_pids()
    return tree_rss(pid) / 2**20


def test_same_detections_as_paddlex_runner():
    import cv2

    from ocr_backend.ocr.detector_arena import ArenaReleasingRunner
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "INFERENCE_ENGINE": "onnxruntime"}))
    engine.warm_up()
    det = engine.pipeline.text_det_model
    assert isinstance(det.runner, ArenaReleasingRunner)
    page = cv2.imdecode(np.frombuffer(page_bytes(PAGE), np.uint8), cv2.IMREAD_COLOR)
    released = next(iter(det.predict([page])))["dt_polys"]
    kept_runner = det.runner
    try:
        det.runner = ArenaReleasingRunner(kept_runner.session, 1 << 62)  # never shrinks
        kept = next(iter(det.predict([page])))["dt_polys"]
    finally:
        det.runner = kept_runner
    assert len(released) > 10
    assert np.array_equal(np.asarray(released), np.asarray(kept))


def test_large_image_leaves_worker_near_its_ordinary_level(tmp_path):
    page = Image.open(io.BytesIO(page_bytes(PAGE))).convert("RGB")
    canvas = Image.new("RGB", (LARGE_SIDE, LARGE_SIDE), "white")
    canvas.paste(page, (0, 0))
    # Ordinary requests: a few lines of the same page (cheap to read; the arena holds little for them).
    files = {"/lines.png": png(page.crop((100, 400, 900, 700))), "/large.png": png(canvas)}
    host = Recorder(lambda path, headers: (200, {"Content-Type": "image/png"}, files[path]))
    server = Backend(str(tmp_path / "server.log"), WORKERS=1, THREADS=4, RESULT_CACHE="false").wait_ready()

    def predict(name):
        response = requests.post(
            server.url + "/predict",
            timeout=120,
            json={
                "tasks": [{"id": 1, "data": {"image": host.url + name}}],
                "project": "1.1",
                "label_config": POLYGON_CONFIG,
            },
        )
        response.raise_for_status()
        (result,) = response.json()["results"]
        return len(result["result"])

    try:
        assert predict("/lines.png") > 0
        ordinary = _worker_rss_mb(server)
        assert predict("/large.png") > 0
        assert predict("/lines.png") > 0
        after = _worker_rss_mb(server)
        print(f"worker RSS: {ordinary:.0f} MB after a small image, {after:.0f} MB after the large one and another")
    finally:
        server.stop()
        host.close()
    assert after - ordinary < ALLOWED_GROWTH_MB, (
        f"worker RSS {ordinary:.0f} MB after a small image, {after:.0f} MB after a {LARGE_SIDE} px square "
        f"image and another small one: the detector's arena kept what the large image took"
    )

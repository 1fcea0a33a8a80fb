"""fast_rec.ParallelRecognizer against PaddleX's own recogniser on real line crops."""
import os

import cv2
import numpy as np
import pytest
from corpus import PUBLIC, load_gt

from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.settings import Settings

PAGE = "en_caption_p040"
REC_DIR = os.path.join(os.environ["MODEL_DIR"], "PP-OCRv5_mobile_rec")


@pytest.fixture(scope="module")
def crops():
    image = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))
    lines = [line for line in load_gt(PAGE)["lines"] if not line.get("ignore")][:12]
    out = []
    for line in lines:
        x0, y0, x1, y1 = (int(round(v)) for v in line["bbox"])
        out.append((np.ascontiguousarray(image[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2]), line["text"]))
    return out


@pytest.mark.slow
def test_unsqueezed_output_matches_paddlex_recogniser(crops):
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))
    with engine.lock:   # PaddleX's own recogniser, which fast_rec replaces on CPU
        items = list(engine.pipeline().text_rec_model.predict([c for c, _ in crops]))
    reference = [(str(i["rec_text"]), float(i["rec_score"])) for i in items]
    ours = ParallelRecognizer(REC_DIR, threads=2, squeeze=1.0).recognize([c for c, _ in crops])
    same = sum(a[0] == b[0] for a, b in zip(ours, reference))
    assert same >= len(crops) - 1, list(zip(ours, reference))
    assert all(abs(a[1] - b[1]) < 0.05 for a, b in zip(ours, reference) if a[0] == b[0])


@pytest.mark.slow
def test_parallel_answers_keep_the_input_order(crops):
    one = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.75).recognize([c for c, _ in crops])
    many = ParallelRecognizer(REC_DIR, threads=3, squeeze=0.75).recognize([c for c, _ in crops])
    assert one == many
    # and the squeezed reading is still the ground truth, nearly character for character
    import difflib
    ratios = [difflib.SequenceMatcher(None, text, gt).ratio() for (text, _), (_, gt) in zip(many, crops)]
    assert sum(ratios) / len(ratios) >= 0.95


@pytest.mark.slow
def test_the_engine_uses_it_for_pages_and_drawn_regions(crops):
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))
    assert engine.uses_fast_recognition
    read = engine.recognize([c for c, _ in crops])
    assert isinstance(engine._recognizer, ParallelRecognizer)
    assert read == engine._recognizer.recognize([c for c, _ in crops])
    paddle = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "INFERENCE_ENGINE": "paddle"}))
    assert not paddle.uses_fast_recognition


def test_recognising_nothing_is_nothing():
    assert ParallelRecognizer(REC_DIR, threads=2, squeeze=0.75).recognize([]) == []

"""fast_rec.ParallelRecognizer against PaddleX's own recogniser on real line crops."""

import difflib
import os
import threading

import cv2
import numpy as np
import pytest

from ocr_backend.ocr.engine import OcrEngine, get_engine
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.recognizers import PaddleXRecognizer, choose_recognizer
from ocr_backend.settings import Settings

from corpus import PUBLIC, load_gt

PAGE = "en_caption_p040"
REC_DIR = os.path.join(os.environ["MODEL_DIR"], "PP-OCRv5_mobile_rec")


@pytest.fixture(scope="module")
def crops():
    image = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))
    lines = [line for line in load_gt(PAGE)["lines"] if not line.get("ignore")][:12]
    out = []
    for line in lines:
        x0, y0, x1, y1 = (int(round(v)) for v in line["bbox"])
        out.append((np.ascontiguousarray(image[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2]), line["text"]))
    return out


@pytest.mark.slow
def test_unsqueezed_output_matches_paddlex_recogniser(crops):
    # PaddleX's own recogniser, which fast_rec replaces on CPU: an engine whose settings (word boxes)
    # keep it, on the same ONNX weights.
    engine = get_engine(Settings(model_dir=os.environ["MODEL_DIR"], word_boxes=True))
    assert isinstance(engine.recognizer, PaddleXRecognizer)
    reference = engine.recognize([c for c, _ in crops])
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
    ratios = [difflib.SequenceMatcher(None, text, gt).ratio() for (text, _), (_, gt) in zip(many, crops)]
    assert sum(ratios) / len(ratios) >= 0.95


@pytest.mark.slow
def test_the_engine_uses_it_for_pages_and_drawn_regions(crops, monkeypatch):
    read = []  # the number of lines of each call fast_rec answered
    recognize = ParallelRecognizer.recognize
    monkeypatch.setattr(
        ParallelRecognizer, "recognize", lambda self, lines: read.append(len(lines)) or recognize(self, lines)
    )
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))
    assert engine.uses_fast_recognition
    page = engine.run(cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))[:400]).lines
    assert page and sum(read) >= len(page)  # the page's lines were read by fast_rec
    read.clear()
    drawn = engine.recognize([c for c, _ in crops])  # what interactive requests call for drawn regions
    assert read == [len(crops)]
    ratios = [difflib.SequenceMatcher(None, text, gt).ratio() for (text, _), (_, gt) in zip(drawn, crops)]
    assert sum(ratios) / len(ratios) >= 0.95  # and they read as the ground truth
    paddle = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "INFERENCE_ENGINE": "paddle"}))
    assert not paddle.uses_fast_recognition


def test_recognising_nothing_is_nothing():
    assert ParallelRecognizer(REC_DIR, threads=2, squeeze=0.75).recognize([]) == []


def held_by_another_thread(lock) -> bool:
    """Whether some other thread than a fresh one holds `lock` (a fresh thread cannot take it)."""
    took = []

    def attempt():
        took.append(lock.acquire(blocking=False))
        if took[0]:
            lock.release()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return not took[0]


class FakeRecModel:
    """Stands in for PaddleX's text_rec_model: records whether the lock was held while it ran."""

    def __init__(self, lock, model_dir="/nowhere"):
        self.lock, self.model_dir, self.locked = lock, model_dir, []

    def predict(self, crops):
        self.locked.append(held_by_another_thread(self.lock))
        return [{"rec_text": np.str_(f"w{c.shape[1]}"), "rec_score": np.float32(0.5)} for c in crops]


class FakePipeline:
    def __init__(self, model):
        self.text_rec_model = model


def test_paddlex_recogniser_holds_the_engine_lock_itself():
    lock = threading.RLock()
    model = FakeRecModel(lock)
    got = PaddleXRecognizer(model, lock).recognize([np.zeros((4, 7, 3)), np.zeros((4, 9, 3))])
    assert got == [("w7", 0.5), ("w9", 0.5)] and all(type(v) in (str, float) for pair in got for v in pair)
    assert model.locked == [True] and not held_by_another_thread(lock)


def test_the_recogniser_is_chosen_from_the_settings_and_the_folder(caplog):
    lock = threading.RLock()
    fast = Settings(model_dir=os.environ["MODEL_DIR"])
    assert isinstance(choose_recognizer(fast, FakePipeline(FakeRecModel(lock, REC_DIR)), lock), ParallelRecognizer)
    # no ONNX file in the recogniser's folder: PaddleX's own, and the log says why
    assert isinstance(choose_recognizer(fast, FakePipeline(FakeRecModel(lock)), lock), PaddleXRecognizer)
    assert "no inference.onnx in /nowhere" in caplog.text
    # orientation keeps fast_rec where its models are local (test_orientation.py); unwarping does not
    oriented = Settings(model_dir=os.environ["MODEL_DIR"], use_doc_orientation=True, use_textline_orientation=True)
    assert isinstance(choose_recognizer(oriented, FakePipeline(FakeRecModel(lock, REC_DIR)), lock), ParallelRecognizer)
    for settings in (
        Settings(model_dir=os.environ["MODEL_DIR"], word_boxes=True),
        Settings(model_dir=os.environ["MODEL_DIR"], use_doc_unwarping=True),
        Settings(model_dir=os.environ["MODEL_DIR"], inference_engine="paddle"),
    ):
        assert isinstance(
            choose_recognizer(settings, FakePipeline(FakeRecModel(lock, REC_DIR)), lock), PaddleXRecognizer
        ), settings


@pytest.mark.slow
def test_a_fast_rec_engine_holds_one_recogniser_session():
    # PaddleX's text_rec_model keeps serving raw_result(), on fast_rec's session instead of its own.
    from ocr_backend.ocr.recognizers import SharedSessionRunner

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))
    engine.warm_up()
    runner = engine.pipeline.text_rec_model.runner
    assert isinstance(runner, SharedSessionRunner)
    image = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))[:400]
    raw = engine.raw_result(image)
    ours = [line.text for line in engine.run(image).lines]
    assert raw["rec_texts"] and ours
    # PaddleX reads at full width with batches, ours at the default squeeze: the same lines, nearly the same text
    import difflib

    joined = difflib.SequenceMatcher(None, " ".join(raw["rec_texts"]), " ".join(ours)).ratio()
    assert joined >= 0.95, (raw["rec_texts"], ours)

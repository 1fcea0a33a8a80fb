"""fast_rec.ParallelRecognizer against PaddleX's own recogniser on real line crops."""

import difflib
import json
import os
import threading

import cv2
import numpy as np
import pytest
import yaml

from ocr_backend.ocr.engine import OcrEngine, get_engine
from ocr_backend.ocr.fast_rec import ParallelRecognizer, ctc_alphabet, sharpness
from ocr_backend.ocr.recognizers import PaddleXRecognizer, choose_recognizer, second_reader, settle_second_model
from ocr_backend.settings import Settings

from tests.support import model_hub
from tests.support.corpus import CORPUS, PUBLIC, load_gt, scorer

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


@pytest.mark.parametrize("model", ["PP-OCRv5_mobile_rec", "PP-OCRv6_small_rec"])
def test_the_alphabet_is_paddlex_ctc_decoders(model):
    from paddlex.inference.models.text_recognition.processors import CTCLabelDecode

    folder = os.path.join(os.environ["MODEL_DIR"], model)
    if not os.path.isdir(folder):
        pytest.skip(f"{model} is not provisioned (make models-v6)")
    with open(os.path.join(folder, "inference.yml"), encoding="utf-8") as f:
        dictionary = yaml.safe_load(f)["PostProcess"]["character_dict"]
    assert ctc_alphabet(dictionary) == CTCLabelDecode(character_list=dictionary).character


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
    # orientation keeps fast_rec where its models are local (ocr/test_orientation.py); unwarping does not
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


def test_a_second_reader_is_built_where_it_reads_the_language(caplog, monkeypatch, tmp_path):
    models = os.environ["MODEL_DIR"]
    second = second_reader(Settings(model_dir=models))
    assert second is not None and second.characters[1:-1] != ParallelRecognizer(REC_DIR, 1, 0.9).characters[1:-1]
    assert not second.blurred(_line_image(blur=2.0))  # it reads what it is given, with the plain decoding
    lock = threading.RLock()
    fast = choose_recognizer(Settings(model_dir=models), FakePipeline(FakeRecModel(lock, REC_DIR)), lock)
    assert isinstance(fast, ParallelRecognizer) and isinstance(fast._second, ParallelRecognizer)
    for settings in (
        Settings(model_dir=models, rec_second_model="none"),
        Settings(model_dir=models, ocr_lang="korean"),  # a script PP-OCRv6 does not read
        Settings(model_dir=models, ppocr_version="v6", model_variant="small"),  # it reads every line already
    ):
        assert second_reader(settings) is None, settings
    assert second_reader(Settings(model_dir=models, ppocr_version="v6", model_variant="tiny")) is not None
    # not under MODEL_DIR: PaddleX's download of the ONNX package by name; where that fails too, a warning
    import paddlex.inference.utils.official_models as hub

    asked = []

    def download(name, model_formats=None):
        asked.append((name, tuple(model_formats)))
        return os.path.join(models, name)

    monkeypatch.setattr(hub.official_models, "get_model_path", download)
    assert second_reader(Settings(model_dir=str(tmp_path))) is not None
    assert asked == [("PP-OCRv6_small_rec", ("onnx",))]

    model_hub.offline(monkeypatch)
    assert second_reader(Settings(model_dir=str(tmp_path))) is None
    assert "REC_SECOND_MODEL=PP-OCRv6_small_rec" in caplog.text and "no route to host" in caplog.text


def test_settled_settings_say_where_the_second_recogniser_cannot_be_had(caplog, monkeypatch, tmp_path):
    # What model_version digests must say what the lines are read with (gunicorn.conf.py settles it).
    model_hub.offline(monkeypatch)
    provisioned = Settings(model_dir=os.environ["MODEL_DIR"])
    assert settle_second_model(provisioned) is provisioned
    for other in (Settings(model_dir=str(tmp_path), ocr_lang="korean"), Settings(rec_second_model="none")):
        assert settle_second_model(other) is other  # no second reader to settle
    settled = settle_second_model(Settings(model_dir=str(tmp_path)))
    assert settled == Settings(model_dir=str(tmp_path), rec_second_model="none")
    assert "REC_SECOND_MODEL=PP-OCRv6_small_rec" in caplog.text and "no route to host" in caplog.text
    # the hoster's error goes to the log without the credentials of a proxy it quotes
    model_hub.offline(monkeypatch, "Unable to connect to proxy http://ops:hunter2@proxy.internal:3128")
    settle_second_model(Settings(model_dir=str(tmp_path)))
    assert "proxy.internal:3128" in caplog.text and "hunter2" not in caplog.text


@pytest.mark.slow
def test_an_engine_without_the_second_recogniser_s_weights_reads_with_the_main_one(caplog, monkeypatch, tmp_path):
    # A MODEL_DIR provisioned before REC_SECOND_MODEL existed, and no hub (offline): the engine
    # builds, says why in the log, and reads pages with v5 alone, as it did.
    model_hub.offline(monkeypatch, "No available model hosting platforms detected.")
    for name in ("PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec"):
        os.symlink(os.path.join(os.environ["MODEL_DIR"], name), tmp_path / name)
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": str(tmp_path)}))
    image = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))[:400]
    lines = engine.run(image).lines
    assert isinstance(engine.recognizer, ParallelRecognizer) and engine.recognizer._second is None
    assert "REC_SECOND_MODEL=PP-OCRv6_small_rec" in caplog.text and "read by PP-OCRv5_mobile_rec alone" in caplog.text
    alone = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "REC_SECOND_MODEL": "none"}))
    assert [line.text for line in lines] == [line.text for line in alone.run(image).lines] != []


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


def _line_image(height: int = 32, blur: float = 0.0) -> np.ndarray:
    """A synthetic printed line, black on white, optionally blurred like a scan."""
    image = np.full((height, height * 8, 3), 255, dtype=np.uint8)
    cv2.putText(image, "Line 42 abc", (2, int(height * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, height / 40, (0, 0, 0), 2)
    return cv2.GaussianBlur(image, (0, 0), blur) if blur else image


def test_sharpness_falls_with_blur_not_with_contrast_or_size():
    sharp = sharpness(_line_image())
    assert sharpness(_line_image(blur=1.5)) < 0.75 * sharp
    faint = (_line_image().astype(np.float32) * 0.4 + 150).astype(np.uint8)  # grey ink on grey paper
    assert abs(sharpness(faint) - sharp) < 0.1 * sharp
    bigger = cv2.resize(_line_image(), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    assert abs(sharpness(bigger) - sharp) < 0.15 * sharp
    assert sharpness(np.full((20, 100, 3), 200, dtype=np.uint8)) == 0.0  # a blank crop is not "sharp"


def _recognizer(threshold: float, probs: np.ndarray) -> ParallelRecognizer:
    return ParallelRecognizer(
        REC_DIR, threads=1, squeeze=0.9, infer=lambda batch: probs[None], sharpness_threshold=threshold
    )


def _frames(recognizer: ParallelRecognizer, frames) -> np.ndarray:
    """CTC probabilities: one row per frame, each a {character: probability} (the rest to the blank)."""
    probs = np.zeros((len(frames), len(recognizer.characters)), dtype=np.float32)
    for row, frame in enumerate(frames):
        for char, p in frame.items():
            probs[row, recognizer.characters.index(char)] = p
        probs[row, 0] = 1.0 - sum(frame.values())
    return probs


def test_a_blurred_crop_keeps_the_characters_the_blank_would_take():
    probe = _recognizer(0.0, np.zeros((1, 2), dtype=np.float32))
    # "a" sure, "b" under the blank (0.35 against 0.65), then a space under the blank, then "c" sure
    probs = _frames(probe, [{"a": 0.9}, {"b": 0.35}, {" ": 0.3}, {"c": 0.95}])
    blurred, sharp = _line_image(blur=2.0), _line_image()
    on = _recognizer(2.9, probs)
    assert on.blurred(blurred) and not on.blurred(sharp)
    text, score = on.recognize([blurred])[0]
    assert text == "abc"  # "b" kept; the space, scaled with the blank, is not read for a gap
    assert score == pytest.approx((0.9 + 0.95) / 2)  # the plain reading's score: the threshold keeps the same lines
    assert on.recognize([sharp])[0][0] == "ac"  # a sharp crop decodes as PaddleX does
    off = _recognizer(0.0, probs)
    assert not off.blurred(blurred) and off.recognize([blurred])[0][0] == "ac"


class Counting:
    """A stand-in network that answers fixed CTC probabilities and counts its calls."""

    def __init__(self, probs):
        self.probs, self.calls = probs, 0

    def __call__(self, batch):
        self.calls += 1
        return self.probs[None]


def test_the_second_reader_answers_where_sure_and_the_main_one_is_asked_where_not():
    probe = _recognizer(0.0, np.zeros((1, 2), dtype=np.float32))
    cases = [  # second reader's frame -> (answer, main network asked)
        ({"x": 0.99}, ("x", 0.99), False),  # sure (>= SURE): taken as it is
        ({"x": 0.9}, ("x", 0.7), True),  # surer than the main reading: its text, the main reading's score
        ({"x": 0.6}, ("ab", 0.7), True),  # less sure: the main reading
        ({"ア": 0.95}, ("ア", 0.95), False),  # kana (Japanese) at KANA_SURE or more: taken as it is
        ({"ア": 0.6}, ("ab", 0.7), True),  # kana under KANA_SURE: as any other line
        ({"ー": 0.95}, ("ー", 0.7), True),  # the prolonged sound mark alone does not make a line Japanese
        ({" ": 0.9}, ("ab", 0.7), True),  # surer, but blanks where the main one read letters: the main reading
    ]
    for frame, expected, asked in cases:
        main = Counting(_frames(probe, [{"a": 0.7}, {"b": 0.7}]))  # "ab", score 0.7
        second = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.9, infer=Counting(_frames(probe, [frame])))
        reader = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.9, infer=main, second_reader=second)
        text, score = reader.recognize([_line_image()[:, :128]])[0]  # 4:1, room for a character or two
        assert (text, score) == (expected[0], pytest.approx(expected[1])) and main.calls == int(asked), frame
    # sure, but one character on an 8:1 line (under SPARSE per height): the main model is asked, and
    # its three letters win over the one (DROPPED)
    main = Counting(_frames(probe, [{"a": 0.7}, {"b": 0.7}, {"c": 0.7}]))
    second = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.9, infer=Counting(_frames(probe, [{"x": 0.99}])))
    reader = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.9, infer=main, second_reader=second)
    assert reader.recognize([_line_image()])[0] == ("abc", pytest.approx(0.7)) and main.calls == 1
    # the same reading on the 4:1 crop is taken as it is
    assert reader.recognize([_line_image()[:, :128]])[0] == ("x", pytest.approx(0.99)) and main.calls == 1
    # the main reading of a blurred crop keeps its blurred-line decoding ("b" under the blank)
    main = Counting(_frames(probe, [{"a": 0.9}, {"b": 0.35}, {"c": 0.95}]))
    second = ParallelRecognizer(REC_DIR, threads=1, squeeze=0.9, infer=Counting(_frames(probe, [{"x": 0.5}])))
    reader = ParallelRecognizer(
        REC_DIR, threads=1, squeeze=0.9, infer=main, sharpness_threshold=2.9, second_reader=second
    )
    assert reader.recognize([_line_image(blur=2.0)])[0] == ("abc", pytest.approx((0.9 + 0.95) / 2))


def _detected_crops(engine, corpus, page_id):
    from ocr_backend.ocr.page_reading import detect_and_crop

    with open(os.path.join(CORPUS, corpus, "index.json"), encoding="utf-8") as f:
        entry = next(p for p in json.load(f)["pages"] if p["id"] == page_id)
    polys, crops = detect_and_crop(engine.detect, cv2.imread(os.path.join(CORPUS, corpus, entry["image"])))
    return polys, crops


def _matched_cer(corpus, page_id, polys, reads):
    """score.py's CER on the page's matched lines, and its true positives."""
    score = scorer()
    preds = [
        {"box": score.to_box({"points": [list(map(float, q)) for q in p]}), "text": text}
        for p, (text, conf) in zip(polys, reads)
        if conf >= Settings().score_threshold
    ]
    with open(os.path.join(CORPUS, corpus, "gt", f"{page_id}.json"), encoding="utf-8") as f:
        row = score.score_page(json.load(f), preds)
    return 100.0 * row["edits"] / row["chars"], row["tp"]


@pytest.mark.slow
def test_blurred_japanese_keeps_its_characters_and_clean_lines_read_as_before():
    # One Japanese page scanned (public-degraded: scaled, blurred, JPEG) and clean: the detector's own
    # lines read without and with the blurred-line decoding (docs/speed.md, "Recognition on scans").
    page = "ja_jlshort_p059"
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))
    threshold = Settings.from_env({}).rec_sharpness_threshold or 2.9
    plain = ParallelRecognizer(engine.rec_dir, threads=2, squeeze=0.9)
    rescue = ParallelRecognizer(engine.rec_dir, threads=2, squeeze=0.9, sharpness_threshold=threshold)
    polys, crops = _detected_crops(engine, "public-degraded", page)
    assert sum(rescue.blurred(c) for c in crops) >= 0.8 * len(crops)  # a scan: nearly every line blurred
    before, tp_before = _matched_cer("public-degraded", page, polys, plain.recognize(crops))
    after, tp_after = _matched_cer("public-degraded", page, polys, rescue.recognize(crops))
    assert after <= before - 3.0 and tp_after >= tp_before - 1, (before, after, tp_before, tp_after)
    polys, crops = _detected_crops(engine, "public", page)
    assert sum(rescue.blurred(c) for c in crops) <= 0.1 * len(crops)  # clean: nearly none
    clean = _matched_cer("public", page, polys, plain.recognize(crops))
    assert _matched_cer("public", page, polys, rescue.recognize(crops))[0] <= clean[0] + 0.2


@pytest.mark.slow
@pytest.mark.parametrize("page", ["ja_jlshort_p059", "en_caption_p040"])
def test_a_second_reader_reads_scanned_lines_better_and_clean_ones_no_worse(page):
    # The default recogniser (blurred-line decoding on) without and with REC_SECOND_MODEL's default,
    # on the detector's lines of one scanned page and its clean twin (docs/speed.md, "Two recognisers").
    settings = Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]})
    engine = OcrEngine(settings)
    one = ParallelRecognizer(engine.rec_dir, 2, 0.9, sharpness_threshold=settings.rec_sharpness_threshold)
    two = ParallelRecognizer(
        engine.rec_dir,
        2,
        0.9,
        sharpness_threshold=settings.rec_sharpness_threshold,
        second_reader=second_reader(settings),
    )
    polys, crops = _detected_crops(engine, "public-degraded", page)
    before, tp_before = _matched_cer("public-degraded", page, polys, one.recognize(crops))
    after, tp_after = _matched_cer("public-degraded", page, polys, two.recognize(crops))
    assert after <= before - 1.0 and tp_after >= tp_before - 1, (before, after, tp_before, tp_after)
    polys, crops = _detected_crops(engine, "public", page)
    clean, tp_clean = _matched_cer("public", page, polys, one.recognize(crops))
    cer, tp = _matched_cer("public", page, polys, two.recognize(crops))
    assert cer <= clean + 0.2 and tp >= tp_clean, (clean, cer, tp_clean, tp)

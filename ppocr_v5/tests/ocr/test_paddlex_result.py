"""Document preprocessing and word boxes: regions found on a page PaddleX turned are mapped back
onto the page as uploaded; unwarping returns nothing rather than misplaced boxes; a missing
preprocessing model is a clear, quick error offline; WORD_BOXES gives one region per word.

The `slow` test here checks PaddleX's own path (its pipeline with word boxes): it turns a real corpus
page with numpy exactly as PaddleX's orientation step would, runs the real detector and recogniser
on it, maps back, and compares with the run on the upright page. The orientation models themselves
(provisioned by make models) run for real in ocr/test_orientation.py."""

import os
import time

import cv2
import numpy as np
import pytest
import requests
from paddlex.inference.pipelines.components.common.warp_image import rotate_image

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.errors import ModelUnavailableError
from ocr_backend.ocr.engine import OcrEngine, get_engine
from ocr_backend.ocr.paddlex_result import on_uploaded_image, page_lines, words
from ocr_backend.ocr.pipeline_config import build_pipeline_config, preprocessing_model_dirs
from ocr_backend.settings import Settings

from tests.support import corpus

MODEL_DIR = os.environ["MODEL_DIR"]  # set by corpus.py


def settings(**kw):
    return Settings(model_dir=MODEL_DIR, **kw)


def fake_result(angle, polys, texts):
    return {
        "doc_preprocessor_res": {"angle": angle},
        "rec_polys": [np.array(p) for p in polys],
        "rec_texts": texts,
        "rec_scores": [0.9] * len(texts),
    }


def convert(result, width, height, doc_orientation=False, doc_unwarping=False, word_boxes=False):
    """What OcrEngine.run makes of PaddleX's `result` for a width x height upload, with these settings."""
    page = page_lines(
        result, doc_preprocessing=doc_orientation or doc_unwarping, unwarping=doc_unwarping, word_boxes=word_boxes
    )
    return on_uploaded_image(page, width, height, rtl=False)


def test_unwarping_returns_no_regions_and_logs_why(caplog):
    out = convert(
        fake_result(90, [[(0, 0), (10, 0), (10, 5), (0, 5)]], ["x"]), 100, 50, doc_orientation=True, doc_unwarping=True
    )
    assert out.lines == () and out.doc_angle == 0
    assert "USE_DOC_UNWARPING" in caplog.text


def test_orientation_angle_is_undone_and_unknown_angles_are_ignored():
    # A page 300 wide, 100 high, turned 90 degrees counter-clockwise: (x, y) -> (y, 300 - x).
    out = convert(
        fake_result(90, [[(10, 250), (30, 250), (30, 290), (10, 290)]], ["a"]), 300, 100, doc_orientation=True
    )
    assert out.doc_angle == 90
    corners = sorted((round(x, 6), round(y, 6)) for x, y in out.lines[0].points)
    assert corners == [(10, 10), (10, 30), (50, 10), (50, 30)]
    out = convert(fake_result(-1, [[(1, 2), (3, 2), (3, 4), (1, 4)]], ["a"]), 300, 100, doc_orientation=True)
    assert out.doc_angle == 0 and out.lines[0].points[0] == (1, 2)


def test_the_angle_is_read_only_when_doc_preprocessing_ran():
    page = page_lines(
        fake_result(90, [[(1, 2), (3, 2), (3, 4), (1, 4)]], ["a"]),
        doc_preprocessing=False,
        unwarping=False,
        word_boxes=False,
    )
    assert page.angle == 0 and page.lines[0].points == ((1, 2), (3, 2), (3, 4), (1, 4))


def test_lines_are_ordered_on_the_page_paddlex_turned_then_mapped_back():
    # Two lines on a 300 x 100 upload PaddleX turned by 90: upright (100 x 300), "first" is above "second".
    result = fake_result(
        90,
        [[(10, 200), (90, 200), (90, 220), (10, 220)], [(10, 20), (90, 20), (90, 40), (10, 40)]],
        ["second", "first"],
    )
    assert [line.text for line in convert(result, 300, 100, doc_orientation=True).lines] == ["first", "second"]


@pytest.mark.parametrize(
    "flag, model_name",
    [
        ("use_doc_orientation", "PP-LCNet_x1_0_doc_ori"),
        ("use_doc_unwarping", "UVDoc"),
        ("use_textline_orientation", "PP-LCNet_x1_0_textline_ori"),
        ("textline_orientation_model", "PP-LCNet_x0_25_textline_ori"),  # PaddleX's other variant, by name
    ],
)
def test_missing_preprocessing_model_is_a_clear_quick_error_offline(flag, model_name, monkeypatch, tmp_path):
    """A MODEL_DIR without the preprocessing folders (make models installs the orientation ones)."""
    from paddlex.inference.utils import official_models as hub

    for name in ("PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec"):
        os.symlink(os.path.join(MODEL_DIR, name), tmp_path / name)

    def offline(*args, **kwargs):
        raise requests.ConnectionError("no route to host")

    monkeypatch.setattr(hub.requests, "head", offline)  # every hub's health check fails
    monkeypatch.setattr(hub.official_models, "_hosters", None)  # forget hubs found by earlier builds
    switches = (
        {"use_textline_orientation": True, flag: "x0_25"} if flag == "textline_orientation_model" else {flag: True}
    )
    engine = OcrEngine(Settings(model_dir=str(tmp_path), **switches))
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        engine.warm_up()
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert model_name in message and os.path.join(str(tmp_path), model_name) in message
    assert ("USE_TEXTLINE_ORIENTATION" if "model" in flag else flag.upper()) in message and "inference.onnx" in message


def test_preprocessing_models_come_from_model_dir_when_present(tmp_path):
    folder = tmp_path / "PP-LCNet_x1_0_doc_ori"
    folder.mkdir()
    (folder / "inference.yml").write_text("Global:\n  model_name: PP-LCNet_x1_0_doc_ori\n")
    (folder / "inference.onnx").write_bytes(b"onnx")
    s = Settings(model_dir=str(tmp_path), use_doc_orientation=True, use_textline_orientation=True)
    dirs = preprocessing_model_dirs(s)
    assert dirs == {"PP-LCNet_x1_0_doc_ori": str(folder), "PP-LCNet_x1_0_textline_ori": None}
    official = {
        "SubPipelines": {
            "DocPreprocessor": {
                "SubModules": {"DocOrientationClassify": {"model_name": "x", "model_dir": None}, "DocUnwarping": {}}
            }
        },
        "SubModules": {"TextDetection": {}, "TextRecognition": {}, "TextLineOrientation": {"model_dir": None}},
    }
    cfg = build_pipeline_config(s, resolve_model_names("mobile", "ch"), "det", "rec", official, dirs)
    doc = cfg["SubPipelines"]["DocPreprocessor"]
    assert doc["SubModules"]["DocOrientationClassify"]["model_dir"] == str(folder)
    assert doc["use_doc_orientation_classify"] and not doc["use_doc_unwarping"]
    assert cfg["SubModules"]["TextLineOrientation"]["model_dir"] is None  # PaddleX downloads it


def test_word_tokens_become_whitespace_separated_words():
    tokens = ["The", " ", "set", "space", " ", "package", "[", "17", "] ", "offers", ", "]
    boxes = [[(10 * i, 0), (10 * i + 8, 0), (10 * i + 8, 20), (10 * i, 20)] for i in range(len(tokens))]
    got = words(tokens, boxes)
    assert [text for _, text in got] == ["The", "setspace", "package[17]", "offers,"]
    assert got[1][0] == ((20, 0), (38, 0), (38, 20), (20, 20))


# --- real page, real models ---------------------------------------------------------------------

PAGE = "en_caption_p040"
BAND = (250, 620)  # rows of the page with a heading and a paragraph: small enough to be quick


def iou(a, b):
    ax0, ay0 = np.min(a, axis=0)
    ax1, ay1 = np.max(a, axis=0)
    bx0, by0 = np.min(b, axis=0)
    bx1, by1 = np.max(b, axis=0)
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union else 0.0


@pytest.fixture(scope="module")
def upright():
    """The page band, PaddleX's raw result on it (with word boxes), and the pipeline."""
    image = cv2.imread(os.path.join(corpus.PUBLIC, "images", f"{PAGE}.png"))[BAND[0] : BAND[1]]
    engine = get_engine(settings(word_boxes=True))  # PaddleX's pipeline, returning word boxes too
    return image, engine.raw_result(image), engine


def turn_clockwise(points, width, height, turns):
    """Where points of a width x height page land when numpy turns it clockwise `turns` times
    (closed form, independent of the code under test): (x, y) -> (height - y, x) per turn."""
    for _ in range(turns):
        points = [(height - y, x) for x, y in points]
        width, height = height, width
    return points


@pytest.mark.slow
@pytest.mark.parametrize("angle", [90, 180, 270])
def test_regions_found_on_the_turned_page_land_on_the_uploaded_page(upright, angle):
    """The uploaded page is the corpus band turned clockwise; PaddleX's orientation step would
    classify it as `angle` and turn it back counter-clockwise with rotate_image before detection."""
    image, raw, engine = upright
    height, width = image.shape[:2]
    straight = convert(raw, width, height).lines
    assert len(straight) >= 8
    uploaded = np.ascontiguousarray(np.rot90(image, -(angle // 90)))
    up_h, up_w = uploaded.shape[:2]
    fed_to_detector = rotate_image(uploaded, angle)
    result = engine.raw_result(fed_to_detector)
    result["doc_preprocessor_res"] = {"angle": angle}
    mapped = convert(result, up_w, up_h, doc_orientation=True)
    assert mapped.doc_angle == angle and len(mapped.lines) == len(straight)
    edits = 0
    for a, b in zip(straight, mapped.lines):  # same reading order, same place, same text
        expected = turn_clockwise(a.points, width, height, angle // 90)
        # The detector sees a page shifted by a pixel and jitters by a few; a wrong map misses entirely.
        assert iou(expected, b.points) >= 0.7, (a, b)
        assert np.abs(np.sort(np.array(expected), axis=0) - np.sort(np.array(b.points), axis=0)).max() <= 6
        score = corpus.scorer()
        edits += score.levenshtein(score.norm(a.text, nows=True), score.norm(b.text, nows=True))
    # PaddleX's turn shifts the page by a pixel, which may move a space or a letter in the text.
    assert edits <= 0.02 * sum(len(a.text) for a in straight)


@pytest.mark.slow
def test_lines_come_in_reading_order_and_word_boxes_split_them(upright):
    image, raw, _ = upright
    height, width = image.shape[:2]
    lines = convert(raw, width, height).lines
    gt = [line for line in corpus.load_gt(PAGE)["lines"] if not line["ignore"]]
    gt_boxes = [[(x0, y0 - BAND[0]), (x1, y1 - BAND[0])] for x0, y0, x1, y1 in (g["bbox"] for g in gt)]
    matched = [max(range(len(gt)), key=lambda i: iou(line.points, gt_boxes[i])) for line in lines]
    assert matched == sorted(matched)  # GT lists this single-column band in reading order

    words_out = convert(raw, width, height, word_boxes=True).lines
    gt_words = [w for i in set(matched) for w in gt[i]["text"].split()]
    assert len(words_out) >= 0.9 * len(gt_words)
    found = {w.text for w in words_out}
    assert sum(w in found for w in gt_words) >= 0.8 * len(gt_words)
    for word in words_out:  # every word box lies inside one of the lines
        assert any(
            iou(word.points, line.points) > 0 and np.min(word.points, axis=0)[0] >= np.min(line.points, axis=0)[0] - 2
            for line in lines
        )

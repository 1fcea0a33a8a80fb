"""Interactive mode: the regions an annotator draws are cut out (rotation-aware), read without
detection and answered under their own ids; a block of several lines is split into line regions.

Fast tests use a fake engine; the `slow` ones read real corpus pages (upright, turned 90 degrees,
skewed 7 degrees) with the real models and hold the re-recognised text to CER <= 0.05."""

import io
import random

import cv2
import numpy as np
import pytest
from PIL import Image

from ocr_backend.core import geometry
from ocr_backend.labelstudio import decode
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.ocr.engine import get_engine
from ocr_backend.service import interactive
from ocr_backend.service.predict import predict_tasks
from ocr_backend.service.task_step import TaskStep
from ocr_backend.settings import Settings

import model
from tests.support import corpus
from tests.support.drawn import text_block
from tests.support.fake_engine import FakeEngine

RECT_LABELS_CONFIG = """<View><Image name="image" value="$image"/>
  <RectangleLabels name="bbox" toName="image" smart="true"><Label value="Text"/><Label value="Title"/></RectangleLabels>
  <PolygonLabels name="poly" toName="image" smart="true"><Label value="Text"/><Label value="Title"/></PolygonLabels>
  <TextArea name="transcription" toName="image" perRegion="true"/></View>"""
TAGS = parse_label_config(RECT_LABELS_CONFIG)
SPLIT_TAGS = parse_label_config(corpus.RECTANGLE_CONFIG)  # Rectangle + separate Labels + TextArea


def rect_item(rid, x, y, w, h, W, H, rotation=0.0, label=None, kind="rectanglelabels"):
    """A Label Studio rectangle result item (from_name "bbox") from pixel geometry."""
    value = {"x": 100 * x / W, "y": 100 * y / H, "width": 100 * w / W, "height": 100 * h / H, "rotation": rotation}
    if kind == "rectanglelabels":
        value["rectanglelabels"] = [label] if label else []
    return {
        "id": rid,
        "from_name": "bbox",
        "to_name": "image",
        "type": kind,
        "value": value,
        "original_width": W,
        "original_height": H,
        "image_rotation": 0,
    }


def poly_item(rid, points, W, H, label=None):
    value = {
        "points": [[100 * x / W, 100 * y / H] for x, y in points],
        "closed": True,
        "polygonlabels": [label] if label else [],
    }
    return {
        "id": rid,
        "from_name": "poly",
        "to_name": "image",
        "type": "polygonlabels",
        "value": value,
        "original_width": W,
        "original_height": H,
    }


def png(image):
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).save(buf, "PNG")
    return buf.getvalue()


def serving(data):
    """A fetch function answering every URL with `data`."""
    return lambda url, task_id=None: data


def regions_by_id(items):
    out = {}
    for it in items:
        out.setdefault(it["id"], {})[it["type"]] = it
    return out


# --- parsing the drawn regions ----------------------------------------------------------------


def test_drawn_regions_are_parsed_in_pixels_with_their_labels():
    W, H = 1000, 500
    context = {
        "result": [
            rect_item("a", 100, 50, 200, 40, W, H, rotation=90, label="Title"),
            poly_item("b", [(10, 10), (60, 10), (60, 30)], W, H),
            {
                "id": "c",
                "from_name": "bbox",
                "to_name": "other_image",
                "type": "rectanglelabels",
                "value": {"x": 1, "y": 1, "width": 1, "height": 1},
            },  # another image
            {
                "id": "d",
                "from_name": "keypoint",
                "to_name": "image",
                "type": "keypointlabels",
                "value": {"x": 1, "y": 1},
            },
            {
                "id": "e",
                "from_name": "bbox",
                "to_name": "image",
                "type": "rectanglelabels",
                "value": {"x": 1},
            },  # broken
        ]
    }
    regions = decode.regions(context["result"], W, H, TAGS)
    assert [r.id for r in regions] == ["a", "b"]
    a, b = regions
    assert a.label == "Title" and a.rectangle and "rectanglelabels" not in a.value
    # 90 degrees clockwise about the top-left corner: the width runs down the page.
    assert [tuple(round(c, 6) for c in p) for p in a.points] == [(100, 50), (100, 250), (60, 250), (60, 50)]
    assert b.label is None and not b.rectangle and b.points == ((10, 10), (60, 10), (60, 30))


def test_a_label_from_a_separate_labels_tag_is_kept():
    W, H = 100, 100
    context = {
        "result": [
            rect_item("r", 10, 10, 50, 10, W, H, kind="rectangle"),
            {
                "id": "r",
                "from_name": "label",
                "to_name": "image",
                "type": "labels",
                "value": {"x": 10, "y": 10, "width": 50, "height": 10, "labels": ["Handwriting"]},
            },
        ]
    }
    (region,) = decode.regions(context["result"], W, H, SPLIT_TAGS)
    assert region.label == "Handwriting"


# --- predicting with a fake engine ------------------------------------------------------------


def test_each_drawn_region_is_answered_under_its_own_id_without_detection():
    W, H = 300, 200
    page = np.full((H, W, 3), 255, np.uint8)
    cv2.putText(page, "text", (45, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    context = {
        "result": [
            rect_item("r1", 40, 30, 100, 40, W, H, label="Title"),
            poly_item("p1", [(40, 30), (140, 30), (140, 70), (40, 70)], W, H),
        ]
    }
    engine = FakeEngine()
    settings = Settings(default_label="Title")
    regions = decode.regions(context["result"], W, H, TAGS)
    items, scores = interactive.predict_regions(page, regions, TAGS, engine, settings)
    got = regions_by_id(items)
    assert set(got) == {"r1", "p1"} and engine.detected == 0
    assert got["r1"]["rectanglelabels"]["value"]["rectanglelabels"] == ["Title"]
    assert got["r1"]["rectanglelabels"]["value"]["x"] == context["result"][0]["value"]["x"]  # geometry echoed
    assert got["r1"]["textarea"]["value"]["text"] == ["100x40"]
    assert got["p1"]["polygonlabels"]["value"]["polygonlabels"] == ["Title"]  # DEFAULT_LABEL for unlabelled
    assert got["p1"]["textarea"]["value"]["text"] == ["100x40"]
    assert scores == [0.9, 0.9]


def test_transcription_off_returns_geometry_and_label_only():
    W, H = 300, 200
    page = np.full((H, W, 3), 255, np.uint8)
    context = {"result": [rect_item("r1", 40, 30, 100, 40, W, H)]}
    engine = FakeEngine()
    items, _ = interactive.predict_regions(
        page, decode.regions(context["result"], W, H, TAGS), TAGS, engine, Settings(include_transcription=False)
    )
    assert [it["type"] for it in items] == ["rectanglelabels"] and not engine.recognized


def test_a_tall_crop_is_read_both_ways():
    W, H = 300, 300
    page = np.full((H, W, 3), 255, np.uint8)
    context = {"result": [rect_item("v", 100, 20, 30, 200, W, H)]}
    engine = FakeEngine()
    interactive.predict_regions(page, decode.regions(context["result"], W, H, TAGS), TAGS, engine, Settings())
    assert sorted(im.shape[:2] for im in engine.recognized) == [(30, 200), (200, 30)]


def test_a_block_of_lines_is_split_into_new_regions_in_page_coordinates():
    W, H = 500, 300
    page = np.full((H, W, 3), 255, np.uint8)
    block = text_block(["first line of text", "second line", "third line here"])
    page[100 : 100 + block.shape[0], 50 : 50 + block.shape[1]] = block
    bh = block.shape[0]
    margin = interactive.DETECT_MARGIN
    # Lines as the detector would see them in the padded crop (block drawn from (50, 100)).
    boxes = [
        [
            (10 + margin, y + margin),
            (400 + margin, y + margin),
            (400 + margin, y + 30 + margin),
            (10 + margin, y + 30 + margin),
        ]
        for y in (50, 10, 90)
    ]  # out of order on purpose
    engine = FakeEngine(boxes=boxes)
    context = {
        "result": [
            {
                "id": "blk",
                "from_name": "bbox",
                "to_name": "image",
                "type": "rectangle",
                "value": {"x": 10.0, "y": 100 / 3, "width": 84.0, "height": 100 * bh / H, "rotation": 0},
            }
        ]
    }
    regions = decode.regions(context["result"], W, H, SPLIT_TAGS)
    items, _ = interactive.predict_regions(page, regions, SPLIT_TAGS, engine, Settings())
    got = regions_by_id(items)
    assert engine.detected == 1 and len(got) == 4
    assert got["blk"]["textarea"]["value"]["text"] == ["390x30\n390x30\n390x30"]
    new = [r for rid, r in got.items() if rid != "blk"]
    tops = [r["rectangle"]["value"]["y"] * H / 100 for r in new]
    assert tops == [pytest.approx(100 + y) for y in (10, 50, 90)]  # reading order, page pixels
    assert all(r["rectangle"]["value"]["x"] * W / 100 == pytest.approx(60) for r in new)
    assert all(r["labels"]["value"]["labels"] == ["Text"] for r in new)


def test_backend_dispatches_requests_with_drawn_regions_to_interactive_mode(monkeypatch):
    W, H = 300, 200
    page = np.full((H, W, 3), 255, np.uint8)
    engine = FakeEngine()
    monkeypatch.setattr(model, "get_engine", lambda settings: engine)
    monkeypatch.setattr(model, "_fetcher", lambda *a: type("F", (), {"fetch": lambda self, url, tid=None: png(page)})())
    backend = model.PPOCRv5Backend(label_config=RECT_LABELS_CONFIG)
    out = backend.predict(
        [{"id": 1, "data": {"image": "http://x/1.png"}}], context={"result": [rect_item("r9", 40, 30, 100, 40, W, H)]}
    )
    assert len(out) == 1 and {it["id"] for it in out[0]["result"]} == {"r9"}
    assert regions_by_id(out[0]["result"])["r9"]["textarea"]["value"]["text"] == ["100x40"]


# --- real pages, real models --------------------------------------------------------------------

PAGES = ("en_caption_p040", "zh_lshort-zh_p077")
LINES_PER_PAGE = 6


@pytest.fixture(scope="module")
def engine():
    return get_engine(Settings.from_env())


def page_and_lines(page_id):
    gt = corpus.load_gt(page_id)
    image = cv2.imread(f"{corpus.PUBLIC}/images/{page_id}.png")
    care = [line for line in gt["lines"] if not line["ignore"] and len(line["text"]) >= 4]
    return image, care[3 : 3 + LINES_PER_PAGE]


def cer(pairs):
    score = corpus.scorer()
    edits = chars = 0
    for truth, text in pairs:
        a, b = score.norm(truth, nows=True), score.norm(text, nows=True)
        edits += score.levenshtein(a, b)
        chars += len(a)
    return edits / chars


def variants(image, lines):
    """(name, page, context) for the GT lines drawn as regions on the page upright, turned 90
    degrees, and skewed 7 degrees: rectangles (rotated where the page is) and 4-point polygons."""
    H, W = image.shape[:2]
    rng = random.Random(1)
    out = []
    upright = []
    for i, line in enumerate(lines):
        x0, y0, x1, y1 = line["bbox"]
        if i % 2:
            corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            rng.shuffle(corners)
            upright.append(poly_item(f"u{i}", corners, W, H))
        else:
            upright.append(rect_item(f"u{i}", x0, y0, x1 - x0, y1 - y0, W, H))
    out.append(("upright", image, upright))

    turned = np.ascontiguousarray(np.rot90(image))  # counter-clockwise: (x, y) -> (y, W - x)
    out.append(
        (
            "turned 90",
            turned,
            [
                rect_item(
                    f"t{i}",
                    line["bbox"][1],
                    W - line["bbox"][0],
                    line["bbox"][2] - line["bbox"][0],
                    line["bbox"][3] - line["bbox"][1],
                    H,
                    W,
                    rotation=270,
                )
                for i, line in enumerate(lines)
            ],
        )
    )

    mat = cv2.getRotationMatrix2D((W / 2, H / 2), -7, 1.0)  # 7 degrees clockwise on screen
    skewed = cv2.warpAffine(image, mat, (W, H), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255))
    skew_items = []
    for i, line in enumerate(lines):
        x0, y0, x1, y1 = line["bbox"]
        corners = [tuple(mat @ np.array([x, y, 1.0])) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        if i % 2:
            rng.shuffle(corners)
            skew_items.append(poly_item(f"s{i}", corners, W, H))
        else:
            skew_items.append(rect_item(f"s{i}", *corners[0], x1 - x0, y1 - y0, W, H, rotation=7))
    out.append(("skewed 7", skewed, skew_items))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("page_id", PAGES)
def test_drawn_lines_are_reread_from_real_pages_upright_turned_and_skewed(engine, page_id, monkeypatch):
    image, lines = page_and_lines(page_id)
    detect = engine.detect
    calls = []
    monkeypatch.setattr(engine, "detect", lambda img: calls.append(img.shape) or detect(img))
    report = {}
    for name, page, context_items in variants(image, lines):
        tasks = [{"id": 1, "data": {"image": "page.png"}}]
        step = TaskStep(TAGS, engine, Settings(), "v", {"result": context_items})
        (pred,) = predict_tasks(tasks, step, serving(png(page)))
        got = regions_by_id(pred["result"])
        assert set(got) == {it["id"] for it in context_items}, name  # same ids, nothing added
        texts = [got[it["id"]]["textarea"]["value"]["text"][0] for it in context_items]
        report[name] = cer([(line["text"], text) for line, text in zip(lines, texts)])
    print(page_id, report)
    assert not calls, "single lines must be read without detection"
    assert all(value <= 0.05 for value in report.values()), report


@pytest.mark.slow
def test_a_drawn_block_comes_back_as_its_lines(engine):
    image, _ = page_and_lines("en_caption_p040")
    H, W = image.shape[:2]
    gt = [line for line in corpus.load_gt("en_caption_p040")["lines"] if not line["ignore"]]
    block = gt[2:6]  # four consecutive body lines
    x0 = min(line["bbox"][0] for line in block) - 6
    y0 = min(line["bbox"][1] for line in block) - 6
    x1 = max(line["bbox"][2] for line in block) + 6
    y1 = max(line["bbox"][3] for line in block) + 6
    context = {"result": [rect_item("blk", x0, y0, x1 - x0, y1 - y0, W, H)]}
    regions = decode.regions(context["result"], W, H, TAGS)
    items, _ = interactive.predict_regions(image, regions, TAGS, engine, Settings())
    got = regions_by_id(items)
    new = [r for rid, r in got.items() if rid != "blk"]
    assert len(new) == len(block)
    score = corpus.scorer()
    for line, region in zip(block, new):  # reading order: GT order of this block
        corners = [(x, y) for x, y in geometry.ls_rect_to_pixels(region["rectanglelabels"]["value"], W, H)]
        assert score.iou(score.to_box({"points": corners}), line["bbox"]) >= 0.5
    texts = [r["textarea"]["value"]["text"][0] for r in new]
    assert cer([(line["text"], text) for line, text in zip(block, texts)]) <= 0.05
    assert got["blk"]["textarea"]["value"]["text"] == ["\n".join(texts)]

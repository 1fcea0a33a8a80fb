"""Multi-page tasks (`<Image valueList="$pages">`, issue 12) and drawn-region robustness (issue 14,
D7 and D10), below HTTP: the label config, the encoder's item_index, the per-task step's pages,
the batch's prefetch window over pages, interactive mode on page k, `annotate` and `export`.

The whole HTTP answers are pinned by golden cases (golden/multipage_*, interactive_on_page,
interactive_degenerate_regions, view_only_config_fallback); real pages through gunicorn are in
contracts/test_multipage_http.py."""

import base64
import json
import logging

import cv2
import numpy as np
import pytest

from ocr_backend.cli.export_paddleocr import guess_image_key
from ocr_backend.cli.paddleocr_dataset import export_tasks
from ocr_backend.errors import LabelConfigError, TaskError
from ocr_backend.images import crops
from ocr_backend.labelstudio import decode
from ocr_backend.labelstudio.encode import encode_lines
from ocr_backend.labelstudio.label_config import fallback_tags, parse_label_config
from ocr_backend.service import predict
from ocr_backend.service.task_step import TaskStep
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

from tests.support.fake_engine import FakeEngine
from tests.support.fetchers import FakeFetcher

MULTI_CONFIG = """<View>
  <Image valueList="$pages" name="pdf"/>
  <Header value="Annotate the document:"/>
  <RectangleLabels name="labels" toName="pdf"><Label value="Text"/><Label value="Title"/></RectangleLabels>
  <TextArea name="transcription" toName="pdf" perRegion="true" editable="true"/>
</View>"""
MULTI_POLYGON_CONFIG = """<View>
  <Image name="pdf" valueList="$pages"/>
  <Labels name="label" toName="pdf"><Label value="Text"/></Labels>
  <Polygon name="poly" toName="pdf"/>
  <TextArea name="transcription" toName="pdf" perRegion="true"/>
</View>"""
LINE = TextLine(points=((10, 10), (110, 10), (110, 30), (10, 30)), text="hello", score=0.8)


def png(width, height, value=255):
    ok, data = cv2.imencode(".png", np.full((height, width, 3), value, np.uint8))
    assert ok
    return data.tobytes()


def data_uri(width, height):
    return "data:image/png;base64," + base64.b64encode(png(width, height)).decode()


def step_for(config=MULTI_CONFIG, engine=None, context=None, **env):
    settings = Settings.from_env(env)
    return TaskStep(parse_label_config(config), engine or FakeEngine(lines=[LINE]), settings, "v1", context)


# --- label config ------------------------------------------------------------------------------


def test_the_multi_page_template_is_recognised():
    tags = parse_label_config(MULTI_CONFIG)
    assert (tags.image_name, tags.image_value, tags.value_list) == ("pdf", "pages", True)
    assert [g.tag for g in tags.geometries] == ["rectanglelabels"] and tags.textarea_name == "transcription"
    single = parse_label_config('<View><Image name="i" value="$image"/><Polygon name="p" toName="i"/></View>')
    assert (single.image_value, single.value_list) == ("image", False)


@pytest.mark.parametrize(
    "images",
    [
        '<Image name="a" value="$image"/><Image name="b" valueList="$pages"/>',
        '<Image name="a" value="$image" valueList="$pages"/>',
    ],
)
def test_a_config_mixing_value_and_value_list_is_refused(images, app_client):
    config = f'<View>{images}<Polygon name="p" toName="a"/><Polygon name="q" toName="b"/></View>'
    with pytest.raises(LabelConfigError, match="valueList"):
        parse_label_config(config)
    body = {"tasks": [{"id": 1, "data": {"image": data_uri(40, 20)}}], "label_config": config}
    response = app_client.post("/predict", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and "valueList" in response.get_json()["error"]


def test_a_near_empty_config_falls_back_to_the_settings_tag_names():
    settings = Settings.from_env({"FALLBACK_GEOMETRY": "box", "OUTPUT_TYPE": "rectangle", "FALLBACK_LABELS": ""})
    fallback = fallback_tags(settings)
    for config in ("<View/>", "<View></View>", '<View><Header value="Interfaces"/><View/></View>'):
        tags = parse_label_config(config, fallback)
        assert tags.fallback and tags.image_value == "image" and tags.labels_name is None
        assert [(g.name, g.tag) for g in tags.geometries] == [("box", "rectangle")]
    with pytest.raises(LabelConfigError, match="no <Image"):
        parse_label_config("<View/>")  # without a fallback: the clear 422 as before
    with pytest.raises(LabelConfigError, match="no <Image"):  # a config with real tags is never replaced
        parse_label_config('<View><Text name="t" value="$text"/></View>', fallback)
    assert fallback_tags(Settings.from_env({"FALLBACK_IMAGE": ""})) is None


# --- encoding ------------------------------------------------------------------------------------


def test_items_carry_their_page_and_its_own_size():
    tags = parse_label_config(MULTI_POLYGON_CONFIG)
    first = encode_lines([LINE], tags, 200, 100, "polygon", item_index=0)
    third = encode_lines([LINE], tags, 400, 800, "polygon", item_index=2)
    assert {(i["item_index"], i["original_width"], i["original_height"]) for i in first} == {(0, 200, 100)}
    assert {(i["item_index"], i["original_width"], i["original_height"]) for i in third} == {(2, 400, 800)}
    assert [i["type"] for i in third] == ["polygon", "labels", "textarea"]
    # The same line in percent of each page's own size.
    assert first[0]["value"]["points"][1] == [55.0, 10.0] and third[0]["value"]["points"][1] == [27.5, 1.25]
    assert all("item_index" not in i for i in encode_lines([LINE], tags, 200, 100, "polygon"))


def test_decoded_regions_keep_their_page_and_can_be_read_per_page():
    value = {"x": 10, "y": 10, "width": 50, "height": 20, "rotation": 0, "rectanglelabels": ["Text"]}
    result = [
        {"id": "a", "type": "rectanglelabels", "from_name": "labels", "to_name": "pdf", "value": value},
        {
            "id": "b",
            "type": "rectanglelabels",
            "from_name": "labels",
            "to_name": "pdf",
            "value": value,
            "item_index": 2,
        },
        {"id": "b", "type": "textarea", "from_name": "transcription", "to_name": "pdf", "value": {"text": ["B"]}},
    ]
    tags = parse_label_config(MULTI_CONFIG)
    assert [(r.id, r.item_index) for r in decode.regions(result, 100, 100, tags)] == [("a", 0), ("b", 2)]
    (on_two,) = decode.regions(result, 300, 200, tags, page=2)
    assert on_two.id == "b" and on_two.points[0] == (30.0, 20.0)
    assert [r.id for r in decode.regions(result, 100, 100, tags, page=1)] == []


# --- the per-task step and the batch ----------------------------------------------------------------


def test_each_page_is_ocred_and_a_broken_page_costs_only_itself(caplog):
    caplog.set_level(logging.WARNING)
    host = FakeFetcher({"p0": png(200, 100), "p2": png(400, 800), "bad": b"not an image"})
    engine = FakeEngine(lines=[LINE])
    task = {"id": 5, "data": {"pages": ["p0", "missing", "p2", "bad"]}}
    (got,) = predict.predict_tasks([task], step_for(engine=engine), host.fetch)
    pages = [(i["item_index"], i["original_width"], i["original_height"]) for i in got["result"]]
    assert pages == [(0, 200, 100), (0, 200, 100), (2, 400, 800), (2, 400, 800)]
    assert engine.runs == 2 and got["score"] == 0.8
    assert "task 5: page 1: skipped: HTTP 404 for missing" in caplog.text
    assert "task 5: page 3: skipped: not an image" in caplog.text


@pytest.mark.parametrize(
    "pages, reason",
    [
        ("p0", "is not a list of page URLs"),
        (["p0", None], "not all strings"),
        ({"0": "p0"}, "got dict"),
        (["p0"] * 4, "the task has 4 pages, more than MAX_PAGES_PER_TASK=3"),
    ],
)
def test_a_task_whose_pages_cannot_be_used_gets_an_empty_prediction(pages, reason, caplog):
    caplog.set_level(logging.WARNING)
    host = FakeFetcher({"p0": png(50, 50)})
    tasks = [{"id": 1, "data": {"pages": pages}}, {"id": 2, "data": {"pages": ["p0"]}}]
    bad, good = predict.predict_tasks(tasks, step_for(MAX_PAGES_PER_TASK="3"), host.fetch)
    assert bad["result"] == [] and len(good["result"]) == 2
    assert "task 1: no prediction: " in caplog.text and reason in caplog.text
    assert host.fetched == ["p0"]  # nothing of the refused task was fetched
    with pytest.raises(TaskError, match=reason):
        step_for(MAX_PAGES_PER_TASK="3").plan(tasks[0])


def test_pages_are_fetched_ahead_within_the_bounded_window():
    names = [f"p{i}" for i in range(12)]
    host = FakeFetcher({n: png(60, 30) for n in names}, delay=0.02)
    tasks = [{"id": 1, "data": {"pages": names[:7]}}, {"id": 2, "data": {"pages": names[7:]}}]
    engine = FakeEngine(lines=[LINE], delay=0.05)
    first, second = predict.predict_tasks(tasks, step_for(engine=engine), host.fetch)
    assert [i["item_index"] for i in first["result"][::2]] == list(range(7))
    assert [i["item_index"] for i in second["result"][::2]] == list(range(5))
    assert host.fetched == names  # in page order, each once
    # Fetches overlapped (pages ahead of the one being OCRed), never more than the window.
    assert 2 <= host.most_in_flight <= predict.PREFETCH


@pytest.mark.parametrize("split", [[4], [1, 2, 1]], ids=["one-task", "three-tasks"])
def test_a_page_never_waits_for_pixel_budget_held_by_the_pages_fetched_after_it(split, caplog):
    # Issue 18, D4: four 1.2 MP pages, a 3 MP budget, the first page arriving last. Pages 1 and 2,
    # fetched ahead (of the same task or the next ones), must not take the budget page 0 needs
    # while the batch waits for page 0: that lost the whole document after TASK_TIME_BUDGET.
    caplog.set_level(logging.WARNING)
    names = iter(f"p{i}" for i in range(4))
    tasks = [{"id": n, "data": {"pages": [next(names) for _ in range(size)]}} for n, size in enumerate(split)]
    host = FakeFetcher({f"p{i}": png(1200, 1000) for i in range(4)}, delays={"p0": 0.5})
    step = step_for(IMAGE_PIXELS_IN_FLIGHT="3000000", TASK_TIME_BUDGET="8")
    got = predict.predict_tasks(tasks, step, host.fetch)
    assert [[i["item_index"] for i in one["result"][::2]] for one in got] == [list(range(size)) for size in split]
    assert "skipped" not in caplog.text and "no prediction" not in caplog.text


def test_a_single_image_config_still_fails_the_task_on_its_image(caplog):
    caplog.set_level(logging.WARNING)
    config = '<View><Image name="i" value="$image"/><Polygon name="p" toName="i"/></View>'
    host = FakeFetcher({"ok": png(100, 50)})
    tasks = [{"id": 1, "data": {"image": "missing"}}, {"id": 2, "data": {"image": "ok"}}]
    bad, good = predict.predict_tasks(tasks, step_for(config), host.fetch)
    assert bad["result"] == [] and "task 1: no prediction: HTTP 404 for missing" in caplog.text
    assert len(good["result"]) == 1 and "item_index" not in good["result"][0]


def test_interactive_on_page_k_crops_page_k_and_fetches_only_it(caplog):
    caplog.set_level(logging.WARNING)
    host = FakeFetcher({"p0": png(200, 100), "p1": png(300, 600)})
    drawn = {
        "id": "r",
        "type": "rectanglelabels",
        "from_name": "labels",
        "to_name": "pdf",
        "item_index": 1,
        "value": {"x": 10, "y": 10, "width": 50, "height": 5, "rotation": 0, "rectanglelabels": ["Title"]},
    }
    engine = FakeEngine()
    step = step_for(engine=engine, context={"result": [drawn, dict(drawn, id="beyond", item_index=7)]})
    (got,) = predict.predict_tasks([{"id": 3, "data": {"pages": ["p0", "p1", "p2"]}}], step, host.fetch)
    assert host.fetched == ["p1"]  # not the pages without a region, nor page 7 (the task has 3)
    assert [(i["id"], i["item_index"], i["original_width"]) for i in got["result"]] == [("r", 1, 300), ("r", 1, 300)]
    assert got["result"][1]["value"]["text"] == ["150x30"]  # 50 % x 5 % of page 1 (300 x 600), not of page 0
    assert "task 3: regions drawn on pages 7, which the task does not have; skipped" in caplog.text


@pytest.mark.parametrize("index", [-1, "1", 1.0, True, [1]], ids=repr)
def test_a_region_whose_item_index_is_not_a_page_number_costs_only_itself(index, caplog):
    # Issue 18, D11: such a region was read from page 0 and answered as page 0.
    caplog.set_level(logging.WARNING)
    host = FakeFetcher({"p0": png(200, 100), "p1": png(300, 600)})
    value = {"x": 10, "y": 10, "width": 50, "height": 5, "rotation": 0, "rectanglelabels": ["Text"]}
    drawn = {"type": "rectanglelabels", "from_name": "labels", "to_name": "pdf", "value": value}
    context = {"result": [dict(drawn, id="bad", item_index=index), dict(drawn, id="good", item_index=1)]}
    (got,) = predict.predict_tasks(
        [{"id": 3, "data": {"pages": ["p0", "p1"]}}], step_for(engine=FakeEngine(), context=context), host.fetch
    )
    assert host.fetched == ["p1"]
    assert [(i["id"], i["item_index"]) for i in got["result"]] == [("good", 1), ("good", 1)]
    assert f"task 3: region bad: item_index {index!r} is not a page number; skipped" in caplog.text
    # Read page by page (interactive, export), or as a single image: never on a page.
    result = context["result"]
    assert [r.id for r in decode.regions(result, 100, 100, page=0)] == []
    assert [r.id for r in decode.regions(result, 100, 100, page=1)] == ["good"]
    caplog.clear()
    assert [r.id for r in decode.regions(result, 100, 100)] == ["good"]
    assert f"region bad: item_index {index!r} is not a page number; skipped" in caplog.text


# --- annotate and export ------------------------------------------------------------------------------


def test_annotate_writes_one_prediction_per_multi_page_task(monkeypatch):
    from ocr_backend.cli import annotate

    from tests.support.fake_label_studio import FakeClient

    pages = [data_uri(200, 100), "data:image/png;base64,AAAA"]
    client = FakeClient([{"id": 1, "data": {"pages": pages}}], config=MULTI_POLYGON_CONFIG)
    settings = Settings.from_env({"CPU_THREADS": "1"})
    engine = FakeEngine(lines=[LINE])
    summary = annotate.annotate_project(client, 7, settings, progress=False, engine_factory=lambda s: engine)
    assert (summary.done, summary.failed) == (1, [])
    ((task, _, result),) = client.written
    assert task == 1 and {(i["item_index"], i["original_width"]) for i in result} == {(0, 200)}
    assert engine.runs == 1  # the broken page was skipped, not OCRed


def test_export_writes_one_image_and_its_crops_per_page(tmp_path, caplog):
    pages = {"a.png": np.full((100, 200, 3), 255, np.uint8), "b.png": np.full((300, 100, 3), 255, np.uint8)}
    for image in pages.values():
        cv2.rectangle(image, (10, 10), (60, 30), (0, 0, 0), -1)

    def region(rid, page, text, x, y):
        geo = {"x": x, "y": y, "width": 40, "height": 10, "rotation": 0}
        common = {"id": rid, "to_name": "pdf", "item_index": page}
        return [
            dict(common, type="rectangle", from_name="bbox", value=geo),
            dict(common, type="textarea", from_name="t", value=dict(geo, text=[text])),
        ]

    result = region("r0", 0, "on a", 5, 10) + region("r1", 1, "on b", 10, 5) + region("r2", 1, "also b", 10, 50)
    result += region("r3", "1", "on no page", 10, 70)  # D11: not on page 0, nor on page 1
    task = {"id": 4, "data": {"pages": ["/data/upload/1/a.png", "/data/upload/1/b.png", "/data/upload/1/gone.png"]}}
    task["annotations"] = [{"id": 1, "result": result}]

    def load(one_page_task):
        name = one_page_task["data"]["pages"].rsplit("/", 1)[1]
        if name not in pages:
            raise FileNotFoundError(name)
        return pages[name]

    summary = export_tasks([task], str(tmp_path), load, "pages", val_fraction=0.0)
    assert (summary.images, summary.det_regions, summary.rec_crops) == (2, 3, 3)
    assert summary.failed == [(4, "page 2: FileNotFoundError: gone.png")]
    assert "task 4: region r3: item_index '1' is not a page number; not exported" in caplog.text
    det = dict(line.split("\t") for line in (tmp_path / "det_gt_train.txt").read_text().splitlines())
    assert sorted(det) == ["images/4-a-p0.png", "images/4-b-p1.png"]
    assert [r["transcription"] for r in json.loads(det["images/4-b-p1.png"])] == ["on b", "also b"]
    # Page b's first region in b's own pixels: 10 % of 100 wide, 5 % of 300 high.
    assert json.loads(det["images/4-b-p1.png"])[0]["points"][0] == [10, 15]
    assert cv2.imread(str(tmp_path / "images/4-b-p1.png")).shape == (300, 100, 3)
    rec = (tmp_path / "rec_gt_train.txt").read_text().splitlines()
    assert [line.split("\t")[1] for line in rec] == ["on a", "on b", "also b"]
    assert cv2.imread(str(tmp_path / rec[1].split("\t")[0])).shape[:2] == (30, 40)  # 40 % x 10 % of 100 x 300


def test_export_finds_the_page_list_key_of_a_json_export():
    tasks = [
        {"id": 1, "data": {"pages": ["/data/upload/1/a.png", "/data/upload/1/b.png"], "name": "doc.pdf"}},
        {"id": 2, "data": {"pages": ["/data/upload/1/c.png"], "name": "other.pdf"}},
    ]
    assert guess_image_key(tasks) == "pages"
    assert guess_image_key([{"data": {"image": "/data/upload/1/a.png"}}]) == "image"


# --- drawn regions: D7 and D10 ------------------------------------------------------------------------


def test_each_drawn_region_stands_alone(caplog):
    caplog.set_level(logging.WARNING)
    config = (
        '<View><Image name="image" value="$image"/><RectangleLabels name="bbox" toName="image">'
        '<Label value="Text"/></RectangleLabels><TextArea name="t" toName="image" perRegion="true"/></View>'
    )

    def rect(rid, **value):
        value = {"x": 10, "y": 10, "width": 50, "height": 20, "rotation": 0, **value}
        return {"id": rid, "type": "rectanglelabels", "from_name": "bbox", "to_name": "image", "value": value}

    result = [
        rect("nan", x=float("nan")),
        rect("inf", height=float("inf")),
        rect("zero", width=0),
        rect("huge", x=1e12),
        rect("text", x="ten"),
        rect("int-labels", rectanglelabels=5),
        {"id": "int-labels", "type": "textarea", "from_name": "t", "to_name": "image", "value": {"text": 3}},
        {"id": "bad-labels", "type": "labels", "from_name": "x", "to_name": "image", "value": {"labels": 1}},
        rect("rot", rotation=float("nan")),
        rect("ok"),
    ]
    step = step_for(config, engine=FakeEngine(), context={"result": result})
    host = FakeFetcher({"page": png(200, 100, value=200)})
    (got,) = predict.predict_tasks([{"id": 1, "data": {"image": "page"}}], step, host.fetch)
    answered = [i["id"] for i in got["result"] if i["type"] == "textarea"]
    assert answered == ["int-labels", "ok"]
    assert "Traceback" not in caplog.text and "no interactive prediction" not in caplog.text
    for rid in ("nan", "inf", "text", "rot"):
        assert f"region {rid}: unreadable rectanglelabels value; skipped" in caplog.text
    assert "region zero: the rectanglelabels has no area; skipped" in caplog.text
    assert "region huge: nothing of it lies on the image; skipped" in caplog.text


def test_a_polygon_with_its_corners_in_any_order_is_not_taken_for_a_degenerate_one():
    bow_tie = [[10, 10], [60, 30], [60, 10], [10, 30]]  # shoelace area 0, yet a real 50 x 20 % box
    item = {"id": "p", "type": "polygon", "from_name": "poly", "to_name": "image", "value": {"points": bow_tie}}
    (region,) = decode.regions([item], 200, 100)
    crop = crops.crop_region(np.full((100, 200, 3), 255, np.uint8), region.points, rectified=False)
    assert crop.image.shape[:2] == (20, 100)

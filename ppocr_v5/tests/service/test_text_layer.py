"""service/text_layer.py: pages with a stored text layer are answered from it (no download, no OCR),
through the same encoder as OCR lines; the other pages of the same task are OCRed; every path that
predicts (the /predict batch, `ppocr-v5 annotate`) gives the same single prediction."""

import logging

from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.service import predict
from ocr_backend.service.text_layer import TEXT_KEY, TextLayerStep
from ocr_backend.settings import Settings

from tests.service.test_task_step import LINE, MULTI_POLYGON_CONFIG, data_uri, png
from tests.support.fake_engine import FakeEngine
from tests.support.fetchers import FakeFetcher as PageHost  # the one fake fetcher

STORED = {"width": 400, "height": 200, "lines": [[[10, 20, 60, 40, "Exact"], [70, 20, 130, 40, "words"]]]}


def step(engine, config=MULTI_POLYGON_CONFIG, **env):
    return TextLayerStep(parse_label_config(config), engine, Settings.from_env(env), "v1")


def regions(result):
    out = {}
    for item in result:
        out.setdefault(item["id"], {})[item["type"]] = item
    return list(out.values())


def test_a_stored_page_is_answered_from_its_text_and_the_other_page_is_ocred():
    host = PageHost({"p0": png(400, 200), "p1": png(300, 150)})
    engine = FakeEngine(lines=[LINE])
    task = {"id": 1, "data": {"pages": ["p0", "p1"], TEXT_KEY: [STORED, None]}}
    (got,) = predict.predict_tasks([task], step(engine), host.fetch)
    assert host.fetched == ["p1"] and engine.runs == 1  # page 0 neither downloaded nor OCRed
    page0, page1 = regions(got["result"])
    assert page0["textarea"]["value"]["text"] == ["Exact words"] and page0["polygon"]["item_index"] == 0
    assert (page0["polygon"]["original_width"], page0["polygon"]["original_height"]) == (400, 200)
    assert page0["polygon"]["value"]["points"] == [[2.5, 10.0], [32.5, 10.0], [32.5, 20.0], [2.5, 20.0]]
    assert page0["labels"]["value"]["labels"] == ["Text"] and page0["polygon"]["score"] == 1.0
    assert page1["textarea"]["value"]["text"] == ["hello"] and page1["polygon"]["item_index"] == 1
    assert got["model_version"] == "v1" and got["score"] == round((1.0 + 0.8) / 2, 4)


def test_word_boxes_make_one_region_per_word():
    task = {"id": 1, "data": {"pages": ["p0"], TEXT_KEY: [STORED]}}
    (got,) = predict.predict_tasks([task], step(FakeEngine(), WORD_BOXES="true"), PageHost({}).fetch)
    assert [r["textarea"]["value"]["text"] for r in regions(got["result"])] == [["Exact"], ["words"]]


def test_a_malformed_or_mismatched_store_falls_back_to_ocr(caplog):
    caplog.set_level(logging.WARNING)
    host = PageHost({"p0": png(400, 200), "p1": png(300, 150)})
    engine = FakeEngine(lines=[LINE])
    bad_page = {"id": 2, "data": {"pages": ["p0", "p1"], TEXT_KEY: [dict(STORED, width=-1), STORED]}}
    wrong_length = {"id": 3, "data": {"pages": ["p0", "p1"], TEXT_KEY: [STORED]}}
    got = predict.predict_tasks([bad_page, wrong_length], step(engine), host.fetch)
    assert host.fetched == ["p0", "p0", "p1"] and engine.runs == 3
    assert [len(regions(g["result"])) for g in got] == [2, 2]
    assert "task 2: page 0: stored text layer ignored (width and height" in caplog.text
    assert "task 3: pdf_text is not a list of 2 pages" in caplog.text


def test_annotate_gives_the_same_prediction_from_the_stored_text(monkeypatch):
    from ocr_backend.cli import annotate

    from tests.support.fake_label_studio import FakeClient

    client = FakeClient(
        [{"id": 1, "data": {"pages": [data_uri(400, 200), data_uri(300, 150)], TEXT_KEY: [STORED, None]}}],
        config=MULTI_POLYGON_CONFIG,
    )
    engine = FakeEngine(lines=[LINE])
    summary = annotate.annotate_project(
        client, 7, Settings.from_env({"CPU_THREADS": "1"}), progress=False, engine_factory=lambda s: engine
    )
    assert (summary.done, summary.failed) == (1, [])
    ((_task, _version, result),) = client.written
    assert [r["textarea"]["value"]["text"] for r in regions(result)] == [["Exact words"], ["hello"]]
    assert engine.runs == 1


def test_interactive_requests_still_read_the_pixels():
    context = {
        "result": [
            {
                "id": "r1",
                "type": "rectangle",
                "from_name": "poly",
                "to_name": "pdf",
                "item_index": 0,
                "original_width": 400,
                "original_height": 200,
                "value": {"x": 10, "y": 10, "width": 30, "height": 20, "rotation": 0},
            }
        ]
    }
    host = PageHost({"p0": png(400, 200)})
    engine = FakeEngine(lines=[LINE])
    s = TextLayerStep(parse_label_config(MULTI_POLYGON_CONFIG), engine, Settings.from_env({}), "v1", context)
    task = {"id": 1, "data": {"pages": ["p0"], TEXT_KEY: [STORED]}}
    predict.predict_tasks([task], s, host.fetch)
    assert host.fetched == ["p0"]

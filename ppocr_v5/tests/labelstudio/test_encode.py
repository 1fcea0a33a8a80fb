import re

from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.encode import encode_lines, new_region_ids, prediction
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.ocr.engine import TextLine

from tests.support.corpus import POLYGON_CONFIG, RECTANGLE_CONFIG

W, H = 200, 100
LINES = [
    TextLine(points=((10, 10), (110, 10), (110, 30), (10, 30)), text="first line", score=0.9),
    TextLine(points=((-5, 50), (250, 50), (250, 70), (-5, 70)), text="spills over", score=0.7),
]


def regions(items):
    by_id = {}
    for item in items:
        by_id.setdefault(item["id"], []).append(item)
    return by_id


def test_each_line_is_one_linked_region_of_geometry_label_and_text():
    items = encode_lines(LINES, parse_label_config(POLYGON_CONFIG), W, H, "polygon")
    by_id = regions(items)
    assert len(by_id) == 2
    for group in by_id.values():
        assert sorted((i["type"], i["from_name"]) for i in group) == [
            ("labels", "label"),
            ("polygon", "poly"),
            ("textarea", "transcription"),
        ]
        for item in group:
            assert item["to_name"] == "image"
            assert (item["original_width"], item["original_height"]) == (W, H)
            # every item carries the geometry, so Label Studio can show it whichever tag it reads
            assert item["value"]["points"] == group[0]["value"]["points"]
    texts = sorted(i["value"]["text"][0] for i in items if i["type"] == "textarea")
    assert texts == ["first line", "spills over"]
    assert all(i["value"]["labels"] == ["Text"] for i in items if i["type"] == "labels")


def test_polygon_points_are_percent_and_clipped_to_the_image():
    items = encode_lines(LINES, parse_label_config(POLYGON_CONFIG), W, H, "polygon")
    polys = [i["value"]["points"] for i in items if i["type"] == "polygon"]
    first = next(p for p in polys if p[0][1] == 10.0)
    assert first == [[5.0, 10.0], [55.0, 10.0], [55.0, 30.0], [5.0, 30.0]]
    for poly in polys:
        assert all(0.0 <= x <= 100.0 and 0.0 <= y <= 100.0 for x, y in poly)


def test_rectangle_config_gets_rectangles():
    items = encode_lines(LINES[:1], parse_label_config(RECTANGLE_CONFIG), W, H, "rectangle")
    rect = next(i for i in items if i["type"] == "rectangle")
    assert rect["from_name"] == "bbox"
    value = rect["value"]
    assert (value["x"], value["y"], value["width"], value["height"]) == (5.0, 10.0, 50.0, 20.0)
    assert value.get("rotation", 0) == 0


def test_transcription_can_be_left_out():
    items = encode_lines(LINES, parse_label_config(POLYGON_CONFIG), W, H, "polygon", include_text=False)
    assert {i["type"] for i in items} == {"polygon", "labels"}


def test_configured_label_is_used_when_the_config_has_it():
    tags = parse_label_config(POLYGON_CONFIG)
    items = encode_lines(LINES, tags, W, H, "polygon", label="Handwriting")
    assert {tuple(i["value"]["labels"]) for i in items if i["type"] == "labels"} == {("Handwriting",)}


def test_region_ids_never_collide(monkeypatch):
    assert all(re.fullmatch("[0-9a-f]{10}", i) for i in new_region_ids(50))
    draws = iter(["a1b2c3d4e5", "a1b2c3d4e5", "ffffffffff", "a1b2c3d4e5", "0123456789"])
    monkeypatch.setattr(encode.secrets, "token_hex", lambda nbytes: next(draws))
    assert new_region_ids(3) == ["a1b2c3d4e5", "ffffffffff", "0123456789"]  # a repeated draw is redrawn


def test_prediction_carries_mean_score_and_version():
    p = prediction([{"id": "a"}], [0.5, 1.0], "v1")
    assert p == {"result": [{"id": "a"}], "score": 0.75, "model_version": "v1"}
    assert prediction([], [], "v1")["score"] == 0.0

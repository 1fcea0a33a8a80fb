"""labelstudio/decode.py, the one reader of Label Studio results: the same items decoded for an
interactive request (this config's tags on its image only) and for the export (every region, with
its transcription)."""

import logging

import pytest

from ocr_backend.labelstudio.decode import regions
from ocr_backend.labelstudio.label_config import parse_label_config

from tests.support.corpus import RECTANGLE_CONFIG

W, H = 200, 100
TAGS = parse_label_config(RECTANGLE_CONFIG)  # Rectangle "bbox" + Labels "label" + TextArea "transcription"
RECT = {"x": 10.0, "y": 20.0, "width": 50.0, "height": 10.0, "rotation": 0}


def item(rid, kind, value, from_name, to_name="image", **extra):
    return dict({"id": rid, "type": kind, "from_name": from_name, "to_name": to_name, "value": value}, **extra)


def region_of(rid="r"):
    """One region as Label Studio stores it: geometry, label and text items sharing an id."""
    return [
        item(rid, "rectangle", RECT, "bbox"),
        item(rid, "labels", dict(RECT, labels=["Handwriting"]), "label"),
        item(rid, "textarea", dict(RECT, text=[" first ", "", "second"]), "transcription"),
    ]


def test_geometry_label_and_text_are_joined_by_id_in_pixels():
    for tags in (None, TAGS):
        (region,) = regions(region_of(), W, H, tags)
        assert region.id == "r" and region.from_name == "bbox" and region.kind == "rectangle" and region.rectangle
        assert region.points == ((20.0, 20.0), (120.0, 20.0), (120.0, 30.0), (20.0, 30.0))
        assert region.value == RECT  # echoed as drawn, without label or text keys
        assert region.label == "Handwriting" and region.text == "first second"


def test_a_region_without_text_or_label_has_none():
    (region,) = regions([item("p", "polygon", {"points": [[0, 0], [50, 0], [50, 50]]}, "poly")], W, H)
    assert region.text is None and region.label is None and not region.rectangle
    assert region.points == ((0.0, 0.0), (100.0, 0.0), (100.0, 50.0))


def test_own_label_of_a_labels_geometry_wins_over_a_labels_item():
    result = [
        item("r", "rectanglelabels", dict(RECT, rectanglelabels=["Title"]), "bbox"),
        item("r", "labels", dict(RECT, labels=["Text"]), "label"),
    ]
    (region,) = regions(result, W, H)
    assert region.label == "Title" and "rectanglelabels" not in region.value


def test_with_tags_only_this_configs_geometries_on_its_image_count():
    result = [
        *region_of("mine"),
        item("other-image", "rectangle", RECT, "bbox", to_name="page2"),
        item("other-tag", "polygon", {"points": [[0, 0], [5, 0], [5, 5]]}, "poly"),
        item("keypoint", "keypointlabels", {"x": 1, "y": 1}, "kp"),
    ]
    assert [r.id for r in regions(result, W, H, TAGS)] == ["mine"]
    # The export reads whatever the project holds: every geometry item by its type.
    assert [r.id for r in regions(result, W, H)] == ["mine", "other-image", "other-tag"]


def test_unreadable_values_are_skipped_with_a_warning_and_degenerate_ones_silently(caplog):
    caplog.set_level(logging.WARNING, logger="ocr_backend.labelstudio.decode")
    result = [
        item("no-x", "rectangle", {"width": 5, "height": 5}, "bbox"),
        item("text-x", "rectangle", dict(RECT, x="left"), "bbox"),
        item("no-points", "polygon", {"closed": True}, "poly"),
        item("not-a-dict", "polygon", ["points"], "poly"),
        item("two-points", "polygon", {"points": [[0, 0], [5, 5]]}, "poly"),
        {"type": "rectangle", "value": RECT, "from_name": "bbox"},  # no id: cannot be joined
        "not an item",
        *region_of("ok"),
    ]
    assert [r.id for r in regions(result, W, H)] == ["ok"]
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [
        f"region {rid}: unreadable {kind} value; skipped"
        for rid, kind in (
            ("no-x", "rectangle"),
            ("text-x", "rectangle"),
            ("no-points", "polygon"),
            ("not-a-dict", "polygon"),
        )
    ]


def test_one_region_per_id_in_the_order_geometry_first_appears():
    result = [
        item("b", "textarea", {"text": ["B"]}, "transcription"),
        item("a", "rectangle", RECT, "bbox"),
        item("b", "rectangle", dict(RECT, x=50.0), "bbox"),
        item("a", "rectangle", dict(RECT, y=0.0), "bbox"),
    ]  # a second geometry for "a": the last wins
    a, b = regions(result, W, H)
    assert (a.id, b.id) == ("a", "b") and a.points[0] == (20.0, 0.0) and b.text == "B"


def test_a_region_drawn_on_an_editor_rotated_image_is_kept_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="ocr_backend.labelstudio.decode")
    (region,) = regions([item("r", "rectangle", RECT, "bbox", image_rotation=90)], W, H, TAGS)
    assert region.points[0] == pytest.approx((20.0, 20.0))
    assert "rotated in the editor (90 deg)" in caplog.text

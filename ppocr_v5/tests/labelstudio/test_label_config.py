import concurrent.futures

import pytest

from ocr_backend.errors import LabelConfigError
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

import model
from tests.support.corpus import POLYGON_CONFIG, RECTANGLE_CONFIG
from tests.support.fake_engine import FakeEngine
from tests.support.fetchers import FakeFetcher, white_png


def test_seed_polygon_config():
    tags = parse_label_config(POLYGON_CONFIG)
    assert (tags.image_name, tags.image_value) == ("image", "image")
    assert [(g.name, g.shape) for g in tags.geometries] == [("poly", "polygon")]
    assert (tags.labels_name, tags.labels, tags.textarea_name) == ("label", ("Text", "Handwriting"), "transcription")


def test_seed_rectangle_config():
    tags = parse_label_config(RECTANGLE_CONFIG)
    assert [(g.name, g.tag) for g in tags.geometries] == [("bbox", "rectangle")]


def test_output_type_picks_between_two_geometry_tags():
    config = POLYGON_CONFIG.replace("<Labels", '<Rectangle name="box" toName="image"/><Labels')
    tags = parse_label_config(config)
    assert tags.geometry("rectangle").name == "box" and tags.geometry("polygon").name == "poly"


def test_tags_pointing_at_another_object_are_ignored():
    config = (
        '<View><Image name="scan" value="$ocr"/><Image name="other" value="$x"/>'
        '<RectangleLabels name="rl" toName="scan"><Label value="Line"/></RectangleLabels>'
        '<TextArea name="t2" toName="other" perRegion="true"/></View>'
    )
    tags = parse_label_config(config)
    assert (tags.image_name, tags.image_value) == ("scan", "ocr")
    assert tags.geometries[0].labels == ("Line",) and tags.textarea_name is None


@pytest.mark.parametrize(
    "config,needle",
    [
        ("", "no label config"),
        ("<View><Image", "not valid XML"),
        ('<View><Text name="t" value="$text"/></View>', "no <Image"),
        ('<View><Image name="image" value="$image"/><TextArea name="t" toName="image"/></View>', "<Polygon>"),
    ],
)
def test_configs_without_the_needed_tags_get_a_clear_error(config, needle):
    with pytest.raises(LabelConfigError, match=needle):
        parse_label_config(config)


# The label config decides the output: which geometry tag, which label, whether text comes along;
W, H = 400, 200
STRAIGHT = TextLine(points=((40, 20), (240, 20), (240, 40), (40, 40)), text="hello", score=0.9)
# 200 px long, 20 px thick, turned 10 degrees clockwise on screen.
SKEWED = TextLine(points=((100.0, 100.0), (296.96, 134.73), (293.49, 154.42), (96.53, 119.70)), text="skew", score=0.8)


def config(geometry_tags, textarea=True):
    text = '<TextArea name="text" toName="image" perRegion="true"/>' if textarea else ""
    return f'<View><Image name="image" value="$image"/>{geometry_tags}{text}</View>'


LABELS = '<Label value="Text"/><Label value="Title"/><Label value="Stamp"/>'


def by_type(items):
    return {it["type"]: it for it in items}


@pytest.mark.parametrize(
    "tag, shape",
    [
        ("Polygon", "polygon"),
        ("Rectangle", "rectangle"),
        ("PolygonLabels", "polygon"),
        ("RectangleLabels", "rectangle"),
    ],
)
def test_every_geometry_tag_kind_is_understood(tag, shape):
    body = LABELS if tag.endswith("Labels") else ""
    tags = parse_label_config(config(f'<{tag} name="g" toName="image">{body}</{tag}>'))
    items = encode.encode_lines([STRAIGHT], tags, W, H, "polygon")
    geo = by_type(items)[tag.lower()]
    assert ("points" in geo["value"]) == (shape == "polygon")
    if tag.endswith("Labels"):
        assert geo["value"][tag.lower()] == ["Text"]
    assert by_type(items)["textarea"]["value"]["text"] == ["hello"]
    assert len({it["id"] for it in items}) == 1


def test_output_type_picks_the_geometry_tag_lines_are_written_to():
    tags = parse_label_config(config('<Polygon name="p" toName="image"/><Rectangle name="r" toName="image"/>'))
    assert by_type(encode.encode_lines([STRAIGHT], tags, W, H, "rectangle"))["rectangle"]["from_name"] == "r"
    assert by_type(encode.encode_lines([STRAIGHT], tags, W, H, "polygon"))["polygon"]["from_name"] == "p"


def test_skewed_line_gets_a_rotated_rectangle_and_straight_line_an_axis_aligned_one():
    tags = parse_label_config(config('<Rectangle name="r" toName="image"/>'))
    skew = by_type(encode.encode_lines([SKEWED], tags, W, H, "rectangle"))["rectangle"]["value"]
    assert skew["rotation"] == pytest.approx(10, abs=0.2)
    assert skew["width"] * W / 100 == pytest.approx(200, abs=1) and skew["height"] * H / 100 == pytest.approx(20, abs=1)
    assert (skew["x"] * W / 100, skew["y"] * H / 100) == (pytest.approx(100, abs=0.5), pytest.approx(100, abs=0.5))
    straight = by_type(encode.encode_lines([STRAIGHT], tags, W, H, "rectangle"))["rectangle"]["value"]
    assert straight == {"x": 10.0, "y": 10.0, "width": 50.0, "height": 10.0, "rotation": 0.0}


@pytest.mark.parametrize(
    "attr, default, expected",
    [
        ("", "", "Text"),  # first label
        ("", "Title", "Title"),  # DEFAULT_LABEL names another
        ("", "Missing", "Text"),  # DEFAULT_LABEL not in this config
        ('predicted_values="Stamp"', "Title", "Stamp"),  # the project's attribute wins
        ('predicted_values="Nope, Title,Stamp"', "", "Title"),  # first listed that exists
    ],
)
def test_label_choice(attr, default, expected):
    for geometry in (
        f'<RectangleLabels name="g" toName="image" {attr}>{LABELS}</RectangleLabels>',
        f'<Labels name="l" toName="image" {attr}>{LABELS}</Labels><Polygon name="g" toName="image"/>',
    ):
        tags = parse_label_config(config(geometry))
        items = encode.encode_lines([STRAIGHT], tags, W, H, "polygon", label=default)
        labelled = [it for it in items if it["type"] in ("labels", "rectanglelabels")]
        assert len(labelled) == 1
        assert labelled[0]["value"][labelled[0]["type"]] == [expected]


def test_no_textarea_or_no_transcription_means_regions_without_text():
    no_text_area = parse_label_config(config('<Polygon name="p" toName="image"/>', textarea=False))
    assert [it["type"] for it in encode.encode_lines([STRAIGHT], no_text_area, W, H, "polygon")] == ["polygon"]
    with_area = parse_label_config(config('<Polygon name="p" toName="image"/>'))
    items = encode.encode_lines([STRAIGHT], with_area, W, H, "polygon", include_text=False)
    assert [it["type"] for it in items] == ["polygon"]


# --- one backend instance, configs alternating (also from threads) ----------------------------


POLY_CONFIG = config('<PolygonLabels name="poly" toName="image"><Label value="Line"/></PolygonLabels>')
RECT_CONFIG = (
    '<View><Image name="img" value="$picture"/><Rectangle name="box" toName="img"/>'
    '<Labels name="kind" toName="img"><Label value="Word"/></Labels></View>'
)


@pytest.mark.parametrize("cache", [True, False], ids=["result-cache", "no-cache"])
def test_each_predict_uses_the_config_it_was_sent_with_even_concurrently(monkeypatch, cache):
    engine = FakeEngine(lines=[STRAIGHT], delay=0.01)  # slow enough that concurrent requests overlap
    monkeypatch.setattr(model, "get_engine", lambda settings: engine)
    monkeypatch.setattr(model, "load_settings", lambda: Settings(result_cache=cache))
    fetcher = FakeFetcher(data=white_png(W, H))
    monkeypatch.setattr(model, "_fetcher", lambda *args: fetcher)
    backend = model.PPOCRv5Backend(label_config=POLY_CONFIG)

    def ask(i):
        if i % 2:
            out = backend.predict([{"id": i, "data": {"picture": "x.png"}}], label_config=RECT_CONFIG)
            return i, {(it["from_name"], it["to_name"], it["type"]) for it in out[0]["result"]}
        out = backend.predict([{"id": i, "data": {"image": "x.png"}}], label_config=POLY_CONFIG)
        return i, {(it["from_name"], it["to_name"], it["type"]) for it in out[0]["result"]}

    expect_rect = {("box", "img", "rectangle"), ("kind", "img", "labels")}
    expect_poly = {("poly", "image", "polygonlabels"), ("text", "image", "textarea")}
    assert ask(0)[1] == expect_poly and ask(1)[1] == expect_rect
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for i, kinds in pool.map(ask, range(40)):
            assert kinds == (expect_rect if i % 2 else expect_poly), i
    # The same image every time: with the result cache OCR ran once and every answer was still
    # encoded for the config of its own request; without it, once per request.
    assert engine.runs == (1 if cache else 42)

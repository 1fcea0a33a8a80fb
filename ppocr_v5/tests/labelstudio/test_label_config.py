import pytest

from ocr_backend.errors import LabelConfigError
from ocr_backend.labelstudio.label_config import parse_label_config

from tests.support.corpus import POLYGON_CONFIG, RECTANGLE_CONFIG


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

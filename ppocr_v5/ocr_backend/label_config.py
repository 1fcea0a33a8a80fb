"""Which tags of a project's label config receive the OCR results.

Parsed per request (two projects with different configs may share one backend process) and
memoised by the config text, so this costs nothing after the first call.
"""
import dataclasses
import functools
from typing import Optional, Tuple
from xml.etree import ElementTree

from .errors import LabelConfigError

GEOMETRY_TAGS = {"polygon": "polygon", "rectangle": "rectangle",
                 "polygonlabels": "polygon", "rectanglelabels": "rectangle"}


@dataclasses.dataclass(frozen=True)
class GeometryTag:
    name: str
    tag: str        # Label Studio tag, lower case: polygon, rectangle, polygonlabels, rectanglelabels
    shape: str      # polygon or rectangle
    labels: Tuple[str, ...] = ()   # only for *Labels tags


@dataclasses.dataclass(frozen=True)
class OcrTags:
    image_name: str
    image_value: str                  # task data key, e.g. "image" for value="$image"
    geometries: Tuple[GeometryTag, ...]
    labels_name: Optional[str] = None
    labels: Tuple[str, ...] = ()
    textarea_name: Optional[str] = None

    def geometry(self, output_type: str) -> GeometryTag:
        """The geometry tag to write: the one matching OUTPUT_TYPE when the config has both."""
        for geometry in self.geometries:
            if geometry.shape == output_type:
                return geometry
        return self.geometries[0]


def _to_names(element) -> Tuple[str, ...]:
    return tuple(n.strip() for n in (element.get("toName") or "").split(",") if n.strip())


@functools.lru_cache(maxsize=64)
def parse_label_config(config: str) -> OcrTags:
    """Find the Image and the geometry / Labels / TextArea tags pointing at it."""
    if not config or not config.strip():
        raise LabelConfigError("the project has no label config")
    try:
        root = ElementTree.fromstring(config)
    except ElementTree.ParseError as exc:
        raise LabelConfigError(f"the label config is not valid XML: {exc}") from None
    images = [el for el in root.iter() if el.tag.lower() == "image" and el.get("name")]
    if not images:
        raise LabelConfigError("the label config has no <Image name=... value=\"$...\"> tag")
    for image in images:
        name = image.get("name")
        controls = [el for el in root.iter() if name in _to_names(el) and el.get("name")]
        geometries = tuple(
            GeometryTag(el.get("name"), el.tag.lower(), GEOMETRY_TAGS[el.tag.lower()],
                        tuple(lab.get("value") for lab in el if lab.tag.lower() == "label" and lab.get("value")))
            for el in controls if el.tag.lower() in GEOMETRY_TAGS)
        if not geometries:
            continue
        labels_tag = next((el for el in controls if el.tag.lower() == "labels"), None)
        textarea = next((el for el in controls if el.tag.lower() == "textarea"), None)
        return OcrTags(
            image_name=name,
            image_value=(image.get("value") or "").lstrip("$"),
            geometries=geometries,
            labels_name=labels_tag.get("name") if labels_tag is not None else None,
            labels=tuple(lab.get("value") for lab in labels_tag if lab.tag.lower() == "label" and lab.get("value"))
            if labels_tag is not None else (),
            textarea_name=textarea.get("name") if textarea is not None else None,
        )
    raise LabelConfigError(
        "the label config needs a <Polygon>, <Rectangle>, <PolygonLabels> or <RectangleLabels> tag with "
        f"toName pointing at the Image ({', '.join(i.get('name') for i in images)}); "
        "add e.g. <Polygon name=\"poly\" toName=\"image\"/> and a per-region <TextArea>")

"""Which tags of a project's label config receive the OCR results.

Parsed per request (two projects with different configs may share one backend process) and
memoised by the config text, so this costs nothing after the first call.
"""

import dataclasses
import functools
from typing import Optional, Tuple
from xml.etree import ElementTree

from ocr_backend.errors import LabelConfigError

GEOMETRY_TAGS = {
    "polygon": "polygon",
    "rectangle": "rectangle",
    "polygonlabels": "polygon",
    "rectanglelabels": "rectangle",
}


@dataclasses.dataclass(frozen=True)
class GeometryTag:
    name: str
    tag: str  # Label Studio tag, lower case: polygon, rectangle, polygonlabels, rectanglelabels
    shape: str  # polygon or rectangle
    labels: Tuple[str, ...] = ()  # only for *Labels tags
    predicted_values: Tuple[str, ...] = ()  # the tag's predicted_values="A,B" attribute


@dataclasses.dataclass(frozen=True)
class OcrTags:
    image_name: str
    image_value: str  # task data key, e.g. "image" for value="$image"
    geometries: Tuple[GeometryTag, ...]
    labels_name: Optional[str] = None
    labels: Tuple[str, ...] = ()
    textarea_name: Optional[str] = None
    predicted_values: Tuple[str, ...] = ()  # of the Labels tag

    def geometry_named(self, name: str) -> Optional[GeometryTag]:
        return next((g for g in self.geometries if g.name == name), None)

    def label_for(self, geometry: GeometryTag, default_label: str = "") -> Optional[str]:
        """The label every predicted region gets: the first of the tag's predicted_values that is
        one of its labels, else DEFAULT_LABEL when it is one, else the first label (None: no
        labels). The per-project attribute wins over the backend-wide DEFAULT_LABEL."""
        if geometry.labels:
            choices, wanted = geometry.labels, geometry.predicted_values
        else:
            choices, wanted = self.labels, self.predicted_values
        if not choices:
            return None
        for candidate in (*wanted, default_label):
            if candidate and candidate in choices:
                return candidate
        return choices[0]

    def geometry(self, output_type: str) -> GeometryTag:
        """The geometry tag to write: the one matching OUTPUT_TYPE when the config has both."""
        for geometry in self.geometries:
            if geometry.shape == output_type:
                return geometry
        return self.geometries[0]


def _to_names(element) -> Tuple[str, ...]:
    return tuple(n.strip() for n in (element.get("toName") or "").split(",") if n.strip())


def _predicted_values(element) -> Tuple[str, ...]:
    if element is None:
        return ()
    raw = element.get("predicted_values") or element.get("predictedValues") or ""
    return tuple(v.strip() for v in raw.split(",") if v.strip())


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
        raise LabelConfigError('the label config has no <Image name=... value="$..."> tag')
    for image in images:
        name = image.get("name", "")
        controls = [el for el in root.iter() if name in _to_names(el) and el.get("name")]
        geometries = tuple(
            GeometryTag(
                el.get("name", ""),
                el.tag.lower(),
                GEOMETRY_TAGS[el.tag.lower()],
                tuple(lab.get("value", "") for lab in el if lab.tag.lower() == "label" and lab.get("value")),
                _predicted_values(el),
            )
            for el in controls
            if el.tag.lower() in GEOMETRY_TAGS
        )
        if not geometries:
            continue
        labels_tag = next((el for el in controls if el.tag.lower() == "labels"), None)
        textarea = next((el for el in controls if el.tag.lower() == "textarea"), None)
        return OcrTags(
            image_name=name,
            image_value=(image.get("value") or "").lstrip("$"),
            geometries=geometries,
            labels_name=labels_tag.get("name") if labels_tag is not None else None,
            labels=tuple(lab.get("value", "") for lab in labels_tag if lab.tag.lower() == "label" and lab.get("value"))
            if labels_tag is not None
            else (),
            textarea_name=textarea.get("name") if textarea is not None else None,
            predicted_values=_predicted_values(labels_tag),
        )
    raise LabelConfigError(
        "the label config needs a <Polygon>, <Rectangle>, <PolygonLabels> or <RectangleLabels> tag with "
        f"toName pointing at the Image ({', '.join(i.get('name', '') for i in images)}); "
        'add e.g. <Polygon name="poly" toName="image"/> and a per-region <TextArea>'
    )

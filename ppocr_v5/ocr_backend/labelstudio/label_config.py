"""Which tags of a project's label config receive the OCR results.

Parsed per request (two projects with different configs may share one backend process) and
memoised by the config text, so this costs nothing after the first call.

An Image reads one picture (`value="$image"`) or a list of pages (`valueList="$pages"`, Label
Studio 1.23's "Multi-page document annotation" template; its regions carry `item_index`). A
near-empty config (`<View/>`, what Label Studio's "Interfaces" custom UIs send) has no tags to
read, so the caller's fallback tags (from settings: `fallback_tags`) stand in for it.
"""

import dataclasses
import functools
from typing import Optional, Tuple
from xml.etree import ElementTree

from ocr_backend.errors import LabelConfigError
from ocr_backend.settings import Settings

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
    # The Image reads a list of pages (valueList): every region carries item_index (its page).
    value_list: bool = False
    fallback: bool = False  # these tags come from settings, not from the config (a near-empty one)

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


# Tags that hold no data to annotate: a config of only these is "near-empty" (Interfaces custom UIs).
_LAYOUT_TAGS = {"view", "style", "header"}


def fallback_tags(settings: Settings) -> Optional[OcrTags]:
    """The tags a near-empty config stands for, from FALLBACK_* settings (None: FALLBACK_IMAGE is empty)."""
    if not settings.fallback_image or not settings.fallback_geometry:
        return None
    shape = settings.output_type
    labels = (settings.default_label or "Text",) if settings.fallback_labels else ()
    return OcrTags(
        image_name=settings.fallback_image,
        image_value=settings.fallback_image,
        geometries=(GeometryTag(settings.fallback_geometry, shape, shape),),
        labels_name=settings.fallback_labels or None,
        labels=labels,
        textarea_name=settings.fallback_textarea or None,
        fallback=True,
    )


def _image_source(image) -> Tuple[str, bool]:
    """(task data key, whether it is a page list) of an Image tag."""
    value, value_list = image.get("value"), image.get("valueList")
    if value and value_list:
        raise LabelConfigError(
            f"the Image {image.get('name')!r} has both value and valueList; keep value for one picture "
            "or valueList for a list of pages"
        )
    return (value_list or value or "").lstrip("$"), bool(value_list)


def parse_xml(config: str) -> ElementTree.Element:
    """The config's XML tree; a DTD is refused before any parser sees the text.

    Label Studio configs never need one, and a DTD is the only way to declare entities: refusing it
    closes external entities (XXE) and entity expansion ("billion laughs") for this parser and for
    label-studio-ml's own lxml parse of the same config (the web layer calls this first). XML
    spells it `<!DOCTYPE` exactly; any case is refused here to stay on the safe side.
    """
    if "<!doctype" in config.lower() or "<!entity" in config.lower():
        raise LabelConfigError("the label config must not contain a <!DOCTYPE> or <!ENTITY> declaration")
    try:
        return ElementTree.fromstring(config)
    except ElementTree.ParseError as exc:
        raise LabelConfigError(f"the label config is not valid XML: {exc}") from None


@functools.lru_cache(maxsize=64)
def parse_label_config(config: str, fallback: Optional[OcrTags] = None) -> OcrTags:
    """Find the Image and the geometry / Labels / TextArea tags pointing at it; `fallback` answers
    for a near-empty config (no tags but View / Style / Header), when given."""
    if not config or not config.strip():
        raise LabelConfigError("the project has no label config")
    root = parse_xml(config)
    if fallback is not None and all(el.tag.lower() in _LAYOUT_TAGS for el in root.iter()):
        return fallback
    images = [el for el in root.iter() if el.tag.lower() == "image" and el.get("name")]
    if not images:
        raise LabelConfigError('the label config has no <Image name=... value="$..."> tag')
    sources = {image.get("name"): _image_source(image) for image in images}
    if len({value_list for _, value_list in sources.values()}) > 1:
        # Each region names its image, but one project's tasks cannot be both kinds: refuse clearly.
        raise LabelConfigError(
            "the label config mixes Image tags with value (one picture) and valueList (a list of pages); use one kind"
        )
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
            image_value=sources[name][0],
            value_list=sources[name][1],
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

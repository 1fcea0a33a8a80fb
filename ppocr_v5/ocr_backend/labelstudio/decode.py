"""Label Studio result items -> regions in image pixels: the one decoder of results we are sent.

A region is the items sharing one id: a geometry item (Polygon, Rectangle, PolygonLabels or
RectangleLabels), optionally a `labels` item (a separate Labels tag) and a `textarea` item with its
transcription. Two callers read results: the interactive request (the regions an annotator just
drew, in `params.context.result`) and the export (annotations or predictions of whole tasks).
On a multi-page task each item carries `item_index`, its page; `regions(..., page=k)` reads one page's.
A region whose item_index is not a page number (-1, "1", 1.0, true, [1]) is on no page: it is
skipped, never read from page 0 (issue 18, D11); `without_page` lists them for the caller's warning.
Coordinates are percent of the image, so they convert with the decoded image's own size whatever
original_width says; rectangles follow Label Studio's convention (x, y = top-left corner before
rotation, rotation clockwise in degrees about it).
"""

import dataclasses
import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple

from ocr_backend.core.geometry import Point, bounding_box, ls_rect_to_pixels, percent_to_pixels
from ocr_backend.labelstudio.label_config import GEOMETRY_TAGS, OcrTags

logger = logging.getLogger(__name__)

# Keys of a value that belong to the label or the text, not to the geometry an answer echoes.
_LABEL_KEYS = ("labels", "rectanglelabels", "polygonlabels", "text")


@dataclasses.dataclass(frozen=True)
class Region:
    id: str
    from_name: str  # the geometry tag's name
    kind: str  # its tag, lower case: polygon, rectangle, polygonlabels, rectanglelabels
    value: dict  # the geometry as drawn (percent), without label or text keys
    points: Tuple[Point, ...]  # pixels (a rotated rectangle's corners may poke out of the image)
    rectangle: bool  # the 4 points are a rectangle's corners in reading order
    label: Optional[str]  # the geometry item's own label, else the Labels item's; None: unlabelled
    text: Optional[str]  # the TextArea's lines joined by spaces; None: no transcription
    item_index: int = 0  # the page of a multi-page task it was drawn on


def _kind(item: dict, tags: Optional[OcrTags]) -> Optional[str]:
    """The geometry tag an item was drawn with, or None when it is not one we read.

    With `tags` (an interactive request) only this config's geometry tags on its image count, and
    the tag decides the shape; without (an export of whatever the project holds) the item's type."""
    if tags is None:
        kind = item.get("type")
        return kind if kind in GEOMETRY_TAGS else None
    geometry = tags.geometry_named(item.get("from_name") or "")
    if geometry is None or item.get("to_name", tags.image_name) != tags.image_name:
        return None
    return geometry.tag


def _value(item: dict) -> dict:
    value = item.get("value")
    return value if isinstance(value, dict) else {}


def _texts(items: Sequence[dict]) -> Dict[str, str]:
    texts = {}
    for item in items:
        if item.get("type") == "textarea":
            lines = _value(item).get("text") or ()
            if isinstance(lines, str):
                lines = [lines]
            if not isinstance(lines, (list, tuple)):
                continue  # not a transcription we can read; the region goes on without one
            texts[str(item["id"])] = " ".join(t.strip() for t in lines if isinstance(t, str) and t.strip())
    return texts


def _first_label(chosen) -> Optional[str]:
    """The first label of a label list as sent (anything else, e.g. an int, reads as no label)."""
    if isinstance(chosen, (list, tuple)) and chosen and isinstance(chosen[0], str):
        return chosen[0]
    return None


def _labels(items: Sequence[dict]) -> Dict[str, str]:
    labels = {}
    for item in items:
        chosen = _first_label(_value(item).get("labels")) if item.get("type") == "labels" else None
        if chosen:
            labels[str(item["id"])] = chosen
    return labels


def item_index(item: dict) -> Optional[int]:
    """The page a result item is on: 0 for a single image or an item without the key (or null),
    None when the key holds no page number (a negative, a string, a float, a bool, a list...)."""
    index = item.get("item_index")
    if index is None:
        return 0
    return index if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else None


def without_page(result: Sequence[dict]) -> Dict[str, object]:
    """Region id -> its item_index as sent, for the regions of `result` whose item_index is not a
    page number: `regions` skips them, and the caller warns once per task."""
    return {
        str(item["id"]): item["item_index"]
        for item in result or ()
        if isinstance(item, dict) and item.get("id") and item_index(item) is None
    }


def _finite(points: Sequence[Point]) -> List[Point]:
    out = [(float(x), float(y)) for x, y in points]
    if not all(math.isfinite(v) for p in out for v in p):
        raise ValueError("a coordinate is not a finite number")
    return out


def regions(
    result: Sequence[dict],
    width: int,
    height: int,
    tags: Optional[OcrTags] = None,
    page: Optional[int] = None,
) -> List[Region]:
    """The regions of one result list on a width x height image, one per id, in the order their
    geometry items appear; with `page`, only those on that page (item_index) of a multi-page task.
    Each region stands alone: a value that cannot be read (missing, non-numeric, NaN or infinite
    coordinates, no area) skips its region with a warning and the others go on; so does one of
    fewer than 3 points, silently. A region whose item_index is not a page number is skipped too,
    with a warning only without `page` (callers reading page by page warn once: `without_page`)."""
    items = [item for item in result or () if isinstance(item, dict) and item.get("id")]
    if page is None:
        for rid, index in without_page(items).items():
            logger.warning("region %s: item_index %r is not a page number; skipped", rid, index)
        items = [item for item in items if item_index(item) is not None]
    else:
        items = [item for item in items if item_index(item) == page]
    texts, labels = _texts(items), _labels(items)
    found: Dict[str, Region] = {}
    for item in items:
        kind = _kind(item, tags)
        if kind is None:
            continue
        rid, value = str(item["id"]), _value(item)
        rectangle = GEOMETRY_TAGS[kind] == "rectangle"
        try:
            points = _finite(
                ls_rect_to_pixels(value, width, height)
                if rectangle
                else percent_to_pixels(value["points"], width, height)
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            logger.warning("region %s: unreadable %s value; skipped", rid, kind)
            continue
        if len(points) < 3:
            continue
        x0, y0, x1, y1 = bounding_box(points)  # not the shoelace area: corners may come in any order
        if x1 <= x0 or y1 <= y0:
            logger.warning("region %s: the %s has no area; skipped", rid, kind)
            continue
        if item.get("image_rotation"):
            logger.warning(
                "region %s: drawn on an image rotated in the editor (%s deg); coordinates "
                "are taken as on the stored image",
                rid,
                item["image_rotation"],
            )
        own_label = _first_label(value.get(kind)) if kind.endswith("labels") else None
        found[rid] = Region(
            id=rid,
            from_name=str(item.get("from_name") or ""),
            kind=kind,
            value={k: v for k, v in value.items() if k not in _LABEL_KEYS},
            points=tuple(points),
            rectangle=rectangle,
            label=own_label or labels.get(rid),
            text=texts.get(rid),
            item_index=item_index(item) or 0,
        )
    return list(found.values())


def _latest(items: Sequence[dict]) -> Optional[dict]:
    if not items:
        return None
    return max(items, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))


def pick_result(task: dict, source: str, model_version: str = "") -> Optional[List[dict]]:
    """The result list to export for a task: its latest submitted (not skipped) annotation, or with
    source="predictions" its latest prediction (of `model_version` when given); None if there is none."""
    if source == "annotations":
        chosen = _latest([a for a in task.get("annotations") or () if not a.get("was_cancelled") and a.get("result")])
    else:
        chosen = _latest(
            [p for p in task.get("predictions") or () if not model_version or p.get("model_version") == model_version]
        )
    return None if chosen is None else list(chosen.get("result") or [])

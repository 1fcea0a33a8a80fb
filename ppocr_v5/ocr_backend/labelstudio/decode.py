"""Label Studio results -> text regions in image pixels (pure).

Regions are the items sharing one id: a geometry item (polygon or rectangle, with or without
labels) and the TextArea holding its transcription. Coordinates are percent of the image, so they
convert with the image's own size whatever original_width says; rectangles follow Label Studio's
convention (x, y = top-left corner before rotation, rotation clockwise in degrees about it).
"""
import dataclasses
from typing import List, Optional, Sequence, Tuple

from ocr_backend.core.geometry import Point, ls_rect_to_pixels, percent_to_pixels

POLYGON_TYPES = ("polygon", "polygonlabels")
RECTANGLE_TYPES = ("rectangle", "rectanglelabels")


@dataclasses.dataclass(frozen=True)
class Region:
    points: Tuple[Point, ...]   # pixels (a rotated rectangle's corners may poke out of the image)
    text: Optional[str]         # None: the region has no transcription
    rectangle: bool             # the 4 points are a rectangle's corners in reading order


def regions(result: Sequence[dict], width: int, height: int) -> List[Region]:
    """The text regions of one result list, in the order their geometry items appear."""
    geometry, texts, order = {}, {}, []
    for item in result or ():
        kind, value, rid = item.get("type"), item.get("value") or {}, item.get("id")
        if kind in POLYGON_TYPES and value.get("points"):
            geometry[rid] = (percent_to_pixels(value["points"], width, height), False)
        elif kind in RECTANGLE_TYPES and "width" in value:
            geometry[rid] = (ls_rect_to_pixels(value, width, height), True)
        elif kind == "textarea":
            texts[rid] = " ".join(t.strip() for t in value.get("text") or () if t and t.strip())
            continue
        else:
            continue
        if rid not in order:
            order.append(rid)
    return [Region(tuple(geometry[rid][0]), texts.get(rid), geometry[rid][1])
            for rid in order]


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
        chosen = _latest([p for p in task.get("predictions") or ()
                          if not model_version or p.get("model_version") == model_version])
    return None if chosen is None else list(chosen.get("result") or [])

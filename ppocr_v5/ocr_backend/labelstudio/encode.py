"""Encode OCR lines as Label Studio prediction results (pure functions).

Each line becomes one region: a geometry item (polygon or rectangle) plus a `labels` item and a
`textarea` item when the config has those tags, all sharing one id so Label Studio links them.
On a multi-page task (an Image with valueList) every item also carries `item_index`, its 0-based
page, and that page's own original_width / original_height.
"""

import secrets
from typing import Iterable, List, Optional, Sequence

from ocr_backend.core import geometry
from ocr_backend.labelstudio.label_config import GeometryTag, OcrTags
from ocr_backend.types import TextLine


def new_region_ids(count: int) -> List[str]:
    """`count` distinct random ids (10 hex chars; duplicates are redrawn, so never shared)."""
    ids: List[str] = []
    seen = set()
    while len(ids) < count:
        candidate = secrets.token_hex(5)
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def geometry_value(points: Sequence[geometry.Point], shape: str, width: int, height: int) -> dict:
    """A region's geometry value: the detector's polygon, or the rectangle that hugs it (rotated
    for a skewed line, Label Studio's convention)."""
    if shape == "polygon":
        return {"points": geometry.to_percent(points, width, height), "closed": True}
    return geometry.ls_rect(points, width, height)


def encode_region(
    region_id: str,
    geo: GeometryTag,
    value: dict,
    tags: OcrTags,
    width: int,
    height: int,
    text: Optional[str],
    label: Optional[str],
    score: Optional[float],
    item_index: Optional[int] = None,
) -> List[dict]:
    """The result items of one region: geometry (with its label for *Labels tags), a `labels` item
    when the config has a separate Labels tag, and a `textarea` item unless `text` is None.
    `item_index`: the page of a multi-page task (None: a single image, no key at all)."""
    common = {
        "id": region_id,
        "to_name": tags.image_name,
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
    }
    if item_index is not None:
        common["item_index"] = int(item_index)
    if score is not None:
        common["score"] = round(float(score), 4)
    is_labels_tag = geo.tag.endswith("labels")
    geo_value = dict(value, **{geo.tag: [label] if label else []}) if is_labels_tag else value
    items = [dict(common, from_name=geo.name, type=geo.tag, value=geo_value)]
    if tags.labels_name and not is_labels_tag and label:
        items.append(dict(common, from_name=tags.labels_name, type="labels", value=dict(value, labels=[label])))
    if text is not None and tags.textarea_name:
        items.append(dict(common, from_name=tags.textarea_name, type="textarea", value=dict(value, text=[text])))
    return items


def encode_lines(
    lines: Iterable[TextLine],
    tags: OcrTags,
    width: int,
    height: int,
    output_type: str,
    include_text: bool = True,
    label: str = "",
    item_index: Optional[int] = None,
) -> List[dict]:
    """Label Studio `result` items for `lines` on an image (page `item_index`) of width x height pixels."""
    lines = list(lines)
    geo = tags.geometry(output_type)
    chosen = tags.label_for(geo, label)
    items: List[dict] = []
    for line, region_id in zip(lines, new_region_ids(len(lines))):
        value = geometry_value(line.points, geo.shape, width, height)
        items.extend(
            encode_region(
                region_id,
                geo,
                value,
                tags,
                width,
                height,
                line.text if include_text else None,
                chosen,
                line.score,
                item_index,
            )
        )
    return items


def prediction(items: List[dict], scores: Sequence[float], model_version: str) -> dict:
    """One task's prediction; its score is the mean line score (0 for an empty page), over all its pages."""
    score = sum(scores) / len(scores) if scores else 0.0
    return {"result": items, "score": round(float(score), 4), "model_version": model_version}

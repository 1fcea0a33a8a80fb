"""Encode OCR lines as Label Studio prediction results (pure functions).

Each line becomes one region: a geometry item (polygon or rectangle) plus a `labels` item and a
`textarea` item when the config has those tags, all sharing one id so Label Studio links them.
"""
import secrets
from typing import Iterable, List, Optional, Sequence

from . import geometry
from .label_config import OcrTags
from .ocr_engine import TextLine


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


def pick_label(tags: OcrTags, geometry_labels: Sequence[str], configured: str = "") -> Optional[str]:
    """The label for every region: DEFAULT_LABEL when the config has it, else the first label."""
    choices = tuple(geometry_labels) or tags.labels
    if not choices:
        return None
    if configured and configured in choices:
        return configured
    return choices[0]


def encode_lines(lines: Iterable[TextLine], tags: OcrTags, width: int, height: int, output_type: str,
                 include_text: bool = True, label: str = "") -> List[dict]:
    """Label Studio `result` items for `lines` on an image of width x height pixels."""
    lines = list(lines)
    geo = tags.geometry(output_type)
    chosen = pick_label(tags, geo.labels, label)
    items: List[dict] = []
    for line, region_id in zip(lines, new_region_ids(len(lines))):
        if geo.shape == "polygon":
            value = {"points": geometry.to_percent(line.points, width, height), "closed": True}
        else:
            value = geometry.percent_rect(line.points, width, height)
        common = {"id": region_id, "to_name": tags.image_name, "original_width": width,
                  "original_height": height, "image_rotation": 0, "score": round(line.score, 4)}
        if geo.tag.endswith("labels"):
            geo_value = dict(value, **{geo.tag: [chosen] if chosen else []})
        else:
            geo_value = value
        items.append(dict(common, from_name=geo.name, type=geo.tag, value=geo_value))
        if tags.labels_name and not geo.tag.endswith("labels") and chosen:
            items.append(dict(common, from_name=tags.labels_name, type="labels",
                              value=dict(value, labels=[chosen])))
        if include_text and tags.textarea_name:
            items.append(dict(common, from_name=tags.textarea_name, type="textarea",
                              value=dict(value, text=[line.text])))
    return items


def prediction(items: List[dict], scores: Sequence[float], model_version: str) -> dict:
    """One task's prediction; its score is the mean line score (0 for an empty page)."""
    score = sum(scores) / len(scores) if scores else 0.0
    return {"result": items, "score": round(float(score), 4), "model_version": model_version}

"""Interactive pre-annotation: read the text of the regions an annotator drew.

Label Studio sends the drawn regions in `params.context.result` (Rectangle, optionally rotated
about its top-left corner, or Polygon, in percent of the image; with or without a label). Each one
is cut out of the page (crops.py) and recognised without detection; the answer reuses the drawn
region's id, so Label Studio fills in that region's TextArea (and label) instead of adding a new
one, and echoes its geometry so the region stays complete. A region that holds several stacked
lines gets the detector run inside it: its lines come back as new regions on the page, and the
drawn region gets their text joined by newlines.
"""
import dataclasses
import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ocr_backend.core import geometry
from ocr_backend.core.reading_order import reading_order
from ocr_backend.errors import TaskError
from ocr_backend.images import crops
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.label_config import GeometryTag, OcrTags
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.model_names import is_rtl
from ocr_backend.service.predict import load_image
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)

# Crops at least this much taller than wide may be vertical text: read both ways, keep the surer.
VERTICAL_RATIO = 1.5
DETECT_MARGIN = 8  # pixels of padding around a multi-line crop before detection
_LABEL_KEYS = ("labels", "rectanglelabels", "polygonlabels", "text")


@dataclasses.dataclass
class DrawnRegion:
    id: str
    geometry: GeometryTag
    value: dict                       # as drawn, without label/text keys
    label: Optional[str]              # the annotator's label, if any
    polygon: List[geometry.Point]     # pixels on the decoded image
    rectified: bool                   # polygon's 4 points already in reading order (rectangle)


@dataclasses.dataclass
class Line:
    points: List[geometry.Point]      # page pixels
    crop: np.ndarray
    text: str = ""
    score: float = 0.0


def drawn_regions(context: dict, tags: OcrTags, width: int, height: int) -> List[DrawnRegion]:
    """The regions of `context.result` drawn with this config's geometry tags on its image."""
    items = [it for it in (context.get("result") or []) if isinstance(it, dict) and it.get("id")]
    labels: Dict[str, str] = {}
    for it in items:
        value = it.get("value") or {}
        if it.get("type") == "labels" and value.get("labels"):
            labels[it["id"]] = value["labels"][0]
    regions: List[DrawnRegion] = []
    for it in items:
        geo = tags.geometry_named(it.get("from_name") or "")
        if geo is None or it.get("to_name", tags.image_name) != tags.image_name:
            continue
        value = it.get("value") or {}
        try:
            if geo.shape == "rectangle":
                polygon, rectified = geometry.ls_rect_to_pixels(value, width, height), True
            else:
                polygon, rectified = geometry.percent_to_pixels(value["points"], width, height), False
        except (KeyError, TypeError, ValueError):
            logger.warning("region %s: unreadable %s value; skipped", it["id"], geo.tag)
            continue
        if len(polygon) < 3:
            continue
        if it.get("image_rotation"):
            logger.warning("region %s: drawn on an image rotated in the editor (%s deg); coordinates "
                           "are taken as on the stored image", it["id"], it["image_rotation"])
        drawn_label = (value.get(geo.tag) or [None])[0] if geo.tag.endswith("labels") else None
        regions.append(DrawnRegion(
            id=str(it["id"]), geometry=geo, value={k: v for k, v in value.items() if k not in _LABEL_KEYS},
            label=drawn_label or labels.get(it["id"]), polygon=polygon, rectified=rectified))
    return regions


def _orientations(crop: np.ndarray) -> List[np.ndarray]:
    h, w = crop.shape[:2]
    # np.rot90 turns counter-clockwise: a top-to-bottom column becomes a left-to-right line.
    return [crop, np.ascontiguousarray(np.rot90(crop))] if h >= VERTICAL_RATIO * w else [crop]


def read_lines(engine: OcrEngine, lines: Sequence[Line]) -> None:
    """Recognise every line crop in one batch (both ways for tall crops, keeping the surer)."""
    batch: List[np.ndarray] = []
    owners: List[int] = []
    for i, line in enumerate(lines):
        for image in _orientations(line.crop):
            batch.append(image)
            owners.append(i)
    for i, (text, score) in zip(owners, engine.recognize(batch)):
        if score > lines[i].score or not lines[i].text:
            lines[i].text, lines[i].score = text, score


def split_lines(engine: OcrEngine, crop: crops.Crop, min_lines: int = 2) -> List[Line]:
    """Detected lines inside `crop` (page coordinates), or [] when fewer than `min_lines`."""
    padded = crops.pad(crop, DETECT_MARGIN)
    polys = [p for p in engine.detect(padded.image) if geometry.polygon_area(p) > 0]
    if len(polys) < min_lines:
        return []
    lines = []
    for poly in polys:
        corner, w, h, rotation = geometry.min_area_rect(poly)
        quad = geometry.rect_corners(corner, w, h, rotation)
        lines.append(Line(points=padded.page_points(poly), crop=crops.crop_quad(padded.image, quad).image))
    return lines


def predict_regions(image: np.ndarray, regions: Sequence[DrawnRegion], tags: OcrTags, engine: OcrEngine,
                    settings: Settings) -> Tuple[List[dict], List[float]]:
    """Result items (and scores) for the drawn regions on one decoded image."""
    height, width = image.shape[:2]
    with_text = settings.include_transcription and bool(tags.textarea_name)
    own: List[Optional[Line]] = []         # per region: its single line, or None when split
    splits: List[List[Line]] = []          # per region: the lines found inside it
    for region in regions:
        crop = crops.crop_region(image, region.polygon, region.rectified)
        parts = split_lines(engine, crop) if crops.usable(crop) and crops.looks_multiline(crop) else []
        splits.append(parts)
        own.append(None if parts or not crops.usable(crop) else Line(points=region.polygon, crop=crop.image))
    if with_text:
        read_lines(engine, [line for line in own if line] + [line for parts in splits for line in parts])

    items: List[dict] = []
    scores: List[float] = []
    rtl = is_rtl(settings.ocr_lang)
    for region, line, parts in zip(regions, own, splits):
        label = region.label or tags.label_for(region.geometry, settings.default_label)
        if parts and with_text:
            parts = [p for p in parts if p.score >= settings.score_threshold]
        parts = [parts[i] for i in reading_order([p.points for p in parts], rtl)]
        if parts:
            text = "\n".join(p.text for p in parts)
            score = float(np.mean([p.score for p in parts])) if with_text else None
        else:
            text, score = (line.text, line.score) if line else ("", 0.0)
            score = score if with_text else None
        items.extend(encode.encode_region(region.id, region.geometry, region.value, tags, width, height,
                                           text if with_text else None, label, score))
        for part, part_id in zip(parts, encode.new_region_ids(len(parts))):
            value = encode.geometry_value(part.points, region.geometry.shape, width, height)
            items.extend(encode.encode_region(part_id, region.geometry, value, tags, width, height,
                                               part.text if with_text else None, label,
                                               part.score if with_text else None))
        if score is not None:
            scores.append(score)
    return items, scores


def predict_interactive(tasks: Sequence[dict], context: dict, tags: OcrTags, engine: OcrEngine, fetch: Callable,
                        settings: Settings, version: str) -> List[dict]:
    """One prediction per task for the regions in `context` (interactive requests carry one task)."""
    out: List[dict] = []
    for task in tasks:
        task_id = task.get("id") if isinstance(task, dict) else None
        try:
            image = load_image(task, tags, fetch, settings)
            height, width = image.shape[:2]
            regions = drawn_regions(context, tags, width, height)
            if not regions:
                logger.info("task %s: interactive request without a region drawn with %s",
                            task_id, ", ".join(g.name for g in tags.geometries))
            items, scores = predict_regions(image, regions, tags, engine, settings)
            out.append(encode.prediction(items, scores, version))
        except TaskError as exc:
            logger.warning("task %s: no interactive prediction: %s", task_id, exc)
            out.append(encode.prediction([], [], version))
        except Exception:  # one bad request must not take the worker down
            logger.exception("task %s: no interactive prediction: unexpected error", task_id)
            out.append(encode.prediction([], [], version))
    return out

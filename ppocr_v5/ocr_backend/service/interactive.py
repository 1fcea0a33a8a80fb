"""Interactive pre-annotation: read the text of the regions an annotator drew.

Label Studio sends the drawn regions in `params.context.result` (Rectangle, optionally rotated
about its top-left corner, or Polygon, in percent of the image; with or without a label), which
labelstudio/decode.py turns into pixel regions. Each one is cut out of the page (crops.py) and
recognised without detection; the answer reuses the drawn region's id, so Label Studio fills in
that region's TextArea (and label) instead of adding a new one, and echoes its geometry so the
region stays complete. A region that holds several stacked lines gets the detector run inside it:
its lines come back as new regions on the page, and the drawn region gets their text joined by
newlines.

Each drawn region stands alone (issue 14, D10): one that cannot be cut out (no area left on the
page once clipped to it, or a crop that fails) is skipped with a warning and the others are
answered. On a multi-page task the regions of page k are cut from page k and answered with its
`item_index`.
"""

import dataclasses
import logging
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ocr_backend.core import geometry
from ocr_backend.core.catalogue import is_rtl
from ocr_backend.core.reading_order import reading_order
from ocr_backend.images import crops
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.decode import Region
from ocr_backend.labelstudio.label_config import GeometryTag, OcrTags
from ocr_backend.ocr.protocol import Engine
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)

# Crops at least this much taller than wide may be vertical text: read both ways, keep the surer.
VERTICAL_RATIO = 1.5
DETECT_MARGIN = 8  # pixels of padding around a multi-line crop before detection


def requested(context: Optional[dict]) -> bool:
    """Whether a /predict context asks for the text of regions already drawn (Label Studio sends
    them in context.result), the request an annotator waits for (web/limits.py gives it priority)."""
    return isinstance(context, dict) and bool(context.get("result"))


@dataclasses.dataclass
class Line:
    points: List[geometry.Point]  # page pixels
    crop: np.ndarray
    text: str = ""
    score: float = 0.0


def _orientations(crop: np.ndarray) -> List[np.ndarray]:
    h, w = crop.shape[:2]
    # np.rot90 turns counter-clockwise: a top-to-bottom column becomes a left-to-right line.
    return [crop, np.ascontiguousarray(np.rot90(crop))] if h >= VERTICAL_RATIO * w else [crop]


def read_lines(engine: Engine, lines: Sequence[Line]) -> None:
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


def split_lines(engine: Engine, crop: crops.Crop, min_lines: int = 2) -> List[Line]:
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


def _cut(engine: Engine, image: np.ndarray, region: Region) -> Optional[Tuple[Optional[Line], List[Line]]]:
    """(its single line or None when split, the lines found inside it) for one drawn region, or None
    when it cannot be read at all (logged; the region is left out of the answer)."""
    try:
        crop = crops.crop_region(image, region.points, region.rectangle)
        if crop.image.size == 0:
            logger.warning("region %s: nothing of it lies on the image; skipped", region.id)
            return None
        parts = split_lines(engine, crop) if crops.usable(crop) and crops.looks_multiline(crop) else []
    except (ValueError, ArithmeticError, cv2.error, np.linalg.LinAlgError) as exc:
        logger.warning("region %s: cannot be cut out of the image (%s); skipped", region.id, exc)
        return None
    return (None if parts or not crops.usable(crop) else Line(points=list(region.points), crop=crop.image)), parts


def predict_regions(
    image: np.ndarray,
    regions: Sequence[Region],
    tags: OcrTags,
    engine: Engine,
    settings: Settings,
    item_index: Optional[int] = None,
) -> Tuple[List[dict], List[float]]:
    """Result items (and scores) for the drawn regions on one decoded image (page `item_index` of a
    multi-page task, None: a single image); `regions` come from decode.regions(..., tags), so each
    names one of these tags' geometries (others are ignored)."""
    height, width = image.shape[:2]
    with_text = settings.include_transcription and bool(tags.textarea_name)
    drawn: List[Tuple[Region, GeometryTag]] = []
    own: List[Optional[Line]] = []  # per region: its single line, or None when split
    splits: List[List[Line]] = []  # per region: the lines found inside it
    for region in regions:
        geo = tags.geometry_named(region.from_name)
        cut = _cut(engine, image, region) if geo is not None else None
        if geo is None or cut is None:
            continue
        drawn.append((region, geo))
        own.append(cut[0])
        splits.append(cut[1])
    if with_text:
        read_lines(engine, [line for line in own if line] + [line for parts in splits for line in parts])

    items: List[dict] = []
    scores: List[float] = []
    rtl = is_rtl(settings.ocr_lang)
    for (region, geo), line, parts in zip(drawn, own, splits):
        label = region.label or tags.label_for(geo, settings.default_label)
        if parts and with_text:
            parts = [p for p in parts if p.score >= settings.score_threshold]
        parts = [parts[i] for i in reading_order([p.points for p in parts], rtl)]
        if parts:
            text = "\n".join(p.text for p in parts)
            score = float(np.mean([p.score for p in parts])) if with_text else None
        else:
            text, score = (line.text, line.score) if line else ("", 0.0)
            score = score if with_text else None
        items.extend(
            encode.encode_region(
                region.id,
                geo,
                region.value,
                tags,
                width,
                height,
                text if with_text else None,
                label,
                score,
                item_index,
            )
        )
        for part, part_id in zip(parts, encode.new_region_ids(len(parts))):
            value = encode.geometry_value(part.points, geo.shape, width, height)
            items.extend(
                encode.encode_region(
                    part_id,
                    geo,
                    value,
                    tags,
                    width,
                    height,
                    part.text if with_text else None,
                    label,
                    part.score if with_text else None,
                    item_index,
                )
            )
        if score is not None:
            scores.append(score)
    return items, scores

"""PaddleX's OCR output -> this backend's lines (pure: no model, no settings object).

Two steps, because reading order belongs between them: `page_lines` takes the lines off PaddleX's
result on the page as PaddleX read it (turned upright when doc preprocessing ran), and
`on_uploaded_image` puts them in reading order there and maps them back onto the image as uploaded.
"""

import dataclasses
import logging
from typing import Any, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from ocr_backend.core.geometry import rotate_back
from ocr_backend.core.reading_order import sort_regions
from ocr_backend.types import OcrOutput, Point, TextLine

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PageLines:
    """Lines on the page as PaddleX read it: turned `angle` degrees counter-clockwise (0, 90, 180,
    270) from the image as uploaded when doc preprocessing ran, else the image itself."""

    lines: Tuple[TextLine, ...]
    angle: int = 0


def to_points(poly) -> Tuple[Point, ...]:
    """A PaddleX polygon or box (array-like of x, y pairs) -> points as plain floats."""
    arr = np.asarray(poly, dtype=float).reshape(-1, 2)
    return tuple((float(x), float(y)) for x, y in arr)


def page_lines(result: Mapping, *, doc_preprocessing: bool, unwarping: bool, word_boxes: bool) -> PageLines:
    """The lines of one PaddleX OCR result, in PaddleX's order: one per word with `word_boxes` (when
    PaddleX returned word boxes), else one per detected line; none when the page was unwarped."""
    angle = 0
    doc = result.get("doc_preprocessor_res") if doc_preprocessing else None
    if doc is not None:
        if unwarping:
            # Unwarping moves pixels non-rigidly; there is no exact inverse map, so boxes on the
            # unwarped page would be misplaced on the uploaded image. Refuse rather than mislead.
            logger.warning(
                "USE_DOC_UNWARPING=true: regions cannot be mapped back onto the "
                "uploaded image exactly; returning no regions for this image."
            )
            return PageLines(lines=())
        angle = int(doc.get("angle", 0) or 0) % 360  # -1 (not classified) -> 359 -> below
        if angle not in (0, 90, 180, 270):
            angle = 0
    entries: Iterable[Tuple[Any, Any, Any]]  # (polygon, text, score)
    if word_boxes and result.get("text_word") is not None:
        entries = [
            (points, text, score)
            for tokens, boxes, score in zip(result["text_word"], result["text_word_region"], result["rec_scores"])
            for points, text in words(tokens, boxes)
        ]
    else:
        entries = zip(result["rec_polys"], result["rec_texts"], result["rec_scores"])
    lines = tuple(TextLine(points=to_points(poly), text=str(text), score=float(score)) for poly, text, score in entries)
    return PageLines(lines=lines, angle=angle)


def on_uploaded_image(page: PageLines, width: int, height: int, *, rtl: bool) -> OcrOutput:
    """The page's lines in reading order, on the width x height image as uploaded.

    Ordered on the page as PaddleX turned it (upright), then mapped back: on the page as uploaded a
    turned page's text does not run top to bottom."""
    lines = sort_regions(page.lines, lambda line: line.points, rtl=rtl)
    if page.angle:
        lines = [
            dataclasses.replace(line, points=tuple(rotate_back(line.points, page.angle, width, height)))
            for line in lines
        ]
    return OcrOutput(lines=tuple(lines), doc_angle=page.angle)


def words(tokens: Sequence[str], boxes: Sequence) -> List[Tuple[Tuple[Point, ...], str]]:
    """PaddleX word-box tokens (words, spaces and punctuation, one box each) -> (box, word) per
    whitespace-separated word; a word's box is the hull of its tokens' boxes."""
    out: List[Tuple[Tuple[Point, ...], str]] = []
    text = ""
    pts: List[Point] = []

    def flush():
        nonlocal text, pts
        if text.strip():
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            out.append((((min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))), text.strip()))
        text, pts = "", []

    for token, box in zip(tokens, boxes):
        token = str(token)
        if token[:1].isspace():
            flush()
        if token.strip():
            text += token
            pts.extend(to_points(box))
        if token[-1:].isspace():
            flush()
    flush()
    return out

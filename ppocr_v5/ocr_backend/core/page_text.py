"""A page's text layer as words grouped in lines, in the rendered page's pixels (pure).

`ppocr-v5 import-pdf` reads it from a born-digital PDF (images/pdf_text.py) and stores it in the
task data, one entry per page (`to_data`); the backend's /predict turns a stored page back into
the same lines an OCR run would give (`from_data` -> `text_lines`), so both go through one encoder
(docs/beyond.md, "Text layer"). `from_data` reads what a client sent: anything malformed or out of
bounds is refused with ValueError, never half-used.
"""

import dataclasses
import math
from typing import FrozenSet, List, Optional, Sequence, Tuple

from ocr_backend.types import TextLine

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, x right, y down
MAX_SIDE = 100_000  # pixels; far above any page the backend would accept (MAX_IMAGE_PIXELS)
MAX_WORDS = 50_000  # per page: a dense A4 page of 8-point text holds about 1,500
MAX_WORD_CHARS = 2_000


@dataclasses.dataclass(frozen=True)
class Word:
    box: Box
    text: str


@dataclasses.dataclass(frozen=True)
class PageText:
    """The visible words of one page, as lines in reading order; `width` x `height` is the
    rendered page the boxes are measured on. The counts say what was left out, and why."""

    width: int
    height: int
    lines: Tuple[Tuple[Word, ...], ...] = ()
    chars: int = 0  # visible glyphs kept
    unmapped: int = 0  # kept glyphs without a usable Unicode mapping (U+FFFD, private use, map errors)
    invisible: int = 0  # render mode 3 (hidden text, typically OCR under a scan): never a region
    outside: int = 0  # drawn outside the page's visible area
    # The font names of each line (as read from the PDF; not stored in the task): the import
    # checks each font against OCR on a line that uses it (cli/page_source.py).
    line_fonts: Tuple[FrozenSet[str], ...] = ()

    @property
    def unmapped_share(self) -> float:
        return self.unmapped / self.chars if self.chars else 0.0

    @property
    def fonts(self) -> FrozenSet[str]:
        return frozenset().union(*self.line_fonts)

    def line_texts(self) -> List[str]:
        return [" ".join(word.text for word in line) for line in self.lines]


def union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _rect(box: Box):
    x0, y0, x1, y1 = box
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def text_lines(page: PageText, word_boxes: bool) -> Tuple[TextLine, ...]:
    """The page as OCR output: one TextLine per line (per word with `word_boxes`, WORD_BOXES),
    score 1.0 (the PDF states its text; nothing was guessed)."""
    if word_boxes:
        return tuple(TextLine(_rect(w.box), w.text, 1.0) for line in page.lines for w in line)
    return tuple(
        TextLine(_rect(union([w.box for w in line])), " ".join(w.text for w in line), 1.0) for line in page.lines
    )


def to_data(page: Optional[PageText]) -> Optional[dict]:
    """The JSON stored in the task data for one page (None: a page for OCR)."""
    if page is None:
        return None
    return {
        "width": page.width,
        "height": page.height,
        "lines": [[[round(v, 1) for v in w.box] + [w.text] for w in line] for line in page.lines],
    }


def from_data(value) -> Optional[PageText]:
    """One stored page back (None stays None: that page is OCRed). ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"a page entry is {type(value).__name__}, not an object or null")
    width, height, lines = value.get("width"), value.get("height"), value.get("lines")
    if not (isinstance(width, int) and isinstance(height, int)) or isinstance(width, bool) or isinstance(height, bool):
        raise ValueError("width and height must be whole numbers of pixels between 1 and 100000")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError("width and height must be whole numbers of pixels between 1 and 100000")
    if not isinstance(lines, list):
        raise ValueError("'lines' must be a list")
    out, count = [], 0
    for line in lines:
        if not isinstance(line, list) or not line:
            raise ValueError("each line must be a non-empty list of words")
        count += len(line)
        if count > MAX_WORDS:
            raise ValueError(f"more than {MAX_WORDS} words on one page")
        out.append(tuple(_word(w) for w in line))
    return PageText(width, height, tuple(out))


def _word(value) -> Word:
    if not (isinstance(value, list) and len(value) == 5 and isinstance(value[4], str)):
        raise ValueError("each word must be [x0, y0, x1, y1, text]")
    box = value[:4]
    if not all(type(v) in (int, float) and math.isfinite(v) and -MAX_SIDE <= v <= MAX_SIDE for v in box):
        raise ValueError("word coordinates must be finite numbers of pixels")
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 < x0 or y1 < y0:
        raise ValueError("a word box must have x0 <= x1 and y0 <= y1")
    if not value[4] or len(value[4]) > MAX_WORD_CHARS:
        raise ValueError(f"a word's text must have 1 to {MAX_WORD_CHARS} characters")
    return Word((x0, y0, x1, y1), value[4])

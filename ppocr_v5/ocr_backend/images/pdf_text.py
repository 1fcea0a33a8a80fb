"""A PDF page's text layer -> words and lines in the rendered page's pixels (pypdfium2 / PDFium).

PDFium's text page gives every character with its Unicode value and box in PDF user space; the
affine map from user space to the bitmap pypdfium2 renders (page /Rotate, crop box and scale
included) is taken from PDFium itself (FPDF_PageToDevice), so boxes land on the pixels the
annotator sees. What real files contain (docs/beyond.md, "Text layer"):
- line ends: PDFium's generated CR/LF, and a jump away from the line (new row or column);
- a soft hyphen (U+00AD, or PDFium's end-of-line hyphen marker U+0002) shows as "-" at the end of a
  line, where it is drawn, and nowhere else; zero-width and other format characters are dropped;
- ligatures (U+FB00-FB06) are spelled out ("ﬁ" -> "fi"), as OCR reads them;
- invisible text (render mode 3, typically someone's OCR under a scan) is not in the picture, so it
  never becomes a region; it is counted, and a page that has only such text reads as textless;
- characters drawn outside the visible page are dropped and counted;
- glyphs without a usable Unicode mapping (U+FFFD, private use, PDFium's map error) are kept as
  U+FFFD and counted: the caller decides whether the page is usable.
"""

import ctypes
import math
import unicodedata
from typing import List, Optional, Tuple

from ocr_backend.core.page_text import Box, PageText, Word, union
from ocr_backend.core.reading_order import sort_regions

INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE
HYPHEN_MARKS = {0x00AD, 0x0002}
FAR = 1.5  # a gap wider than this many character heights starts a new line (next column, table cell)
SPACE = 0.1  # a gap between glyphs wider than this share of their height is a word break (no space drawn)
PRECISION = 1024  # FPDF_PageToDevice answers whole pixels: map onto a 1024x finer grid


def _is_unmapped(code: int) -> bool:
    return code in (0, 0xFFFD) or 0xE000 <= code <= 0xF8FF or 0xF0000 <= code <= 0x10FFFF


def _device_map(page, width: int, height: int):
    """(x, y) in user space -> (x, y) in pixels of the width x height rendering pypdfium2 makes."""
    import pypdfium2.raw as c

    dx, dy = ctypes.c_int(), ctypes.c_int()

    def to_device(x: float, y: float) -> Tuple[float, float]:
        c.FPDF_PageToDevice(page, 0, 0, width * PRECISION, height * PRECISION, 0, x, y, dx, dy)
        return dx.value / PRECISION, dy.value / PRECISION

    ox, oy = to_device(0.0, 0.0)
    ax, ay = to_device(1000.0, 0.0)
    bx, by = to_device(0.0, 1000.0)
    a, b, cc, d = (ax - ox) / 1000, (ay - oy) / 1000, (bx - ox) / 1000, (by - oy) / 1000
    return lambda x, y: (ox + a * x + cc * y, oy + b * x + d * y), (a, b, cc, d)


Char = Tuple[Box, str]


class _Builder:
    """Characters in text-page order -> words -> lines, with the hyphen and break rules above."""

    def __init__(self):
        self.lines: List[List[List[Char]]] = []
        self.line: List[List[Char]] = []
        self.word: List[Char] = []
        self.last: Optional[Box] = None
        self.horizontal = True

    def add(self, box: Box, text: str, horizontal: bool) -> None:
        if self.last is not None and self._breaks(self.last, box, horizontal and self.horizontal):
            self.end_line()
        elif self.last is not None and horizontal and self._spaced(self.last, box):
            self.end_word()  # justified text often has no space character, only a gap
        self.horizontal = horizontal
        self.word.append((box, text))
        self.last = box

    @staticmethod
    def _breaks(a: Box, b: Box, horizontal: bool) -> bool:
        size = max(1.0, min(a[3] - a[1], b[3] - b[1]) if horizontal else min(a[2] - a[0], b[2] - b[0]))
        gap_x = max(0.0, b[0] - a[2], a[0] - b[2])
        gap_y = max(0.0, b[1] - a[3], a[1] - b[3])
        if max(gap_x, gap_y) > FAR * size:
            return True
        # Off the previous glyph's row: a new line (either writing direction).
        return horizontal and abs((a[1] + a[3]) - (b[1] + b[3])) / 2 > 0.5 * size

    @staticmethod
    def _spaced(a: Box, b: Box) -> bool:
        gap = max(b[0] - a[2], a[0] - b[2])
        return gap > SPACE * min(a[3] - a[1], b[3] - b[1])

    def end_word(self) -> None:
        if self.word:
            self.line.append(self.word)
            self.word = []

    def end_line(self) -> None:
        self.end_word()
        if self.line:
            self.lines.append(self.line)
        self.line, self.last = [], None

    def result(self) -> List[Tuple[Word, ...]]:
        self.end_line()
        out = []
        for line in self.lines:
            words = []
            for n, word in enumerate(line):
                chars = [(box, "-" if t == "\u00ad" and n == len(line) - 1 and k == len(word) - 1 else t)
                         for k, (box, t) in enumerate(word)]  # fmt: skip
                chars = [(box, t) for box, t in chars if t != "\u00ad"]
                if chars:
                    words.append(Word(union([b for b, _ in chars]), "".join(t for _, t in chars)))
            if words:
                out.append(tuple(words))
        return out


def read_page(page, width: int, height: int) -> PageText:
    """The text layer of one pypdfium2 PdfPage, measured on its width x height pixel rendering."""
    import pypdfium2.raw as c

    to_px, (ma, mb, mc, md) = _device_map(page, width, height)
    textpage = page.get_textpage()
    try:
        n = c.FPDFText_CountChars(textpage)
        builder, rect = _Builder(), c.FS_RECTF()
        kept = unmapped = invisible = outside = rtl = 0
        for i in range(max(0, n)):
            code = c.FPDFText_GetUnicode(textpage, i)
            if code in (0x0D, 0x0A):
                builder.end_line()
                continue
            if code == 0x20 or (chr(code).isspace() and code not in HYPHEN_MARKS):
                builder.end_word()
                continue
            if c.FPDFText_IsGenerated(textpage, i) == 1:
                continue
            category = unicodedata.category(chr(code))
            if code not in HYPHEN_MARKS and (category in ("Cc", "Cf") and code != 0):
                continue  # zero-width spaces, joiners, BOMs, controls: nothing drawn
            obj = c.FPDFText_GetTextObject(textpage, i)
            if obj and c.FPDFTextObj_GetTextRenderMode(obj) == INVISIBLE:
                invisible += 1
                continue
            if not c.FPDFText_GetLooseCharBox(textpage, i, rect):
                continue
            corners = [to_px(x, y) for x in (rect.left, rect.right) for y in (rect.bottom, rect.top)]
            box = union([(x, y, x, y) for x, y in corners])
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if not (0 <= cx <= width and 0 <= cy <= height):
                outside += 1
                continue
            if code in HYPHEN_MARKS:
                text = "\u00ad"
            elif _is_unmapped(code) or c.FPDFText_HasUnicodeMapError(textpage, i) == 1:
                text, unmapped = "\ufffd", unmapped + 1
            elif 0xFB00 <= code <= 0xFB06:
                text = unicodedata.normalize("NFKC", chr(code))
            else:
                text = chr(code)
            rtl += unicodedata.bidirectional(text[0]) in ("R", "AL")
            angle = c.FPDFText_GetCharAngle(textpage, i)
            dx, dy = (math.cos(angle), math.sin(angle)) if angle >= 0 else (1.0, 0.0)
            across, down = ma * dx + mc * dy, mb * dx + md * dy  # the baseline's direction in pixels
            builder.add(box, text, abs(down) <= 0.2 * abs(across))
            kept += 1
    finally:
        textpage.close()
    lines = sort_regions(builder.result(), lambda line: _corners(union([w.box for w in line])), rtl=rtl * 2 > kept)
    return PageText(width, height, tuple(lines), kept, unmapped, invisible, outside)


def picture_share(page) -> float:
    """The largest share of the page that one image object covers (a scan covers all of it)."""
    import pypdfium2.raw as c

    width, height = page.get_width(), page.get_height()
    best = 0.0
    for obj in page.get_objects(filter=[c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        best = max(best, (right - left) * (top - bottom) / max(width * height, 1e-9))
    return min(best, 1.0)


def _corners(box: Box):
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

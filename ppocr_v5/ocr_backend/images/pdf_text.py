"""A PDF page's text layer -> words and lines in the rendered page's pixels (pypdfium2 / PDFium).

PDFium's text page gives every character with its Unicode value and box in PDF user space; the
affine map from user space to the bitmap pypdfium2 renders (page /Rotate, crop box and scale
included) is taken from PDFium itself (FPDF_PageToDevice), so boxes land on the pixels the
annotator sees. What real files contain (docs/beyond.md, "Text layer"):
- line ends: PDFium's generated CR/LF, and a jump away from the line (new row or column); a raised
  or lowered glyph (a superscript) stays on its line; a list bullet drawn at another size than its
  item, a gap away, is a region of its own (poppler cuts it there too);
- a soft hyphen (U+00AD, or PDFium's end-of-line hyphen marker U+0002) shows as "-" at the end of a
  line, where it is drawn, and nowhere else; zero-width and other format characters are dropped;
- ligatures (U+FB00-FB06) are spelled out ("ﬁ" -> "fi"), as OCR reads them;
- invisible text (render mode 3, typically someone's OCR under a scan) is not in the picture, so it
  never becomes a region; it is counted, and a page that has only such text reads as textless;
- characters drawn wholly outside the visible page are dropped and counted (one partly on it is
  kept, its box cut at the page's edge);
- glyphs without a usable Unicode mapping (U+FFFD, private use, a control code) are kept as U+FFFD
  and counted; where PDFium's only value is the glyph's code in the font (its map error) and that
  is a printable character, the character is kept, as poppler keeps it ("$"), and counted too:
  the caller decides whether the page is usable;
- each line's font names are kept beside it (the import checks every font against OCR once).
"""

import ctypes
import math
import re
import unicodedata
from typing import Dict, FrozenSet, List, Optional, Tuple

from ocr_backend.core.page_text import Box, PageText, Word, union
from ocr_backend.core.reading_order import sort_regions

INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE
HYPHEN_MARKS = {0x00AD, 0x0002}
# In glyph heights; close to poppler's own thresholds in font sizes (its TextOutputDev.cc:
# maxWordSpacing, minWordBreakSpace, maxIntraLineDelta, minColSpacing1, maxBlockFontSizeDelta3).
FAR = 1.5  # a gap wider than this starts a new line (next column, table cell)
SPACE = 0.1  # a gap between glyphs wider than this is a word break (justified text draws no space)
SHIFT = 0.5  # a glyph whose middle is off the line's (of the taller glyph) by more than this: a new row
BULLET = re.compile("[^\\w\\s\ufffd]{1,2}")  # a line's first word that is a list bullet: •, –, *, ▪ (not unmapped)
BULLET_GAP, BULLET_RESIZE = 0.3, 0.15  # ... followed by a wider gap and a size change: its own region
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


Char = Tuple[Box, str, str]  # box, text, font name


class _Builder:
    """Characters in text-page order -> words -> lines, with the hyphen and break rules above."""

    def __init__(self):
        self.lines: List[List[List[Char]]] = []
        self.line: List[List[Char]] = []
        self.word: List[Char] = []
        self.last: Optional[Box] = None
        self.size = 1.0  # the last glyph's height across the line, in pixels
        self.soft_end = False  # PDFium put a line end after the last glyph
        self.horizontal = True

    def line_end(self) -> None:
        """PDFium's line end: it also puts one where a superscript's baseline ends, so the next
        glyph starts a new line only where it is not further along the same row."""
        self.end_word()
        self.soft_end = True

    def add(self, box: Box, text: str, horizontal: bool, size: float, font: str = "") -> None:
        ended, self.soft_end = self.soft_end, False
        if self.last is not None and (
            self._breaks(self.last, box, horizontal and self.horizontal, self.size, size)
            or self._bullet(box, size)
            or (ended and not (horizontal and box[0] >= self.last[2] - 0.5 * size))
        ):
            self.end_line()
        elif self.last is not None and horizontal and self._spaced(self.last, box, min(self.size, size)):
            self.end_word()  # justified text often has no space character, only a gap
        self.horizontal, self.size = horizontal, size
        self.word.append((box, text, font))
        self.last = box

    @staticmethod
    def _breaks(a: Box, b: Box, horizontal: bool, size_a: float, size_b: float) -> bool:
        small, big = min(size_a, size_b), max(size_a, size_b)
        if max(0.0, b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) > FAR * small:
            return True
        # Off the previous glyph's row (a superscript is not): a new line (either writing direction).
        return horizontal and abs((a[1] + a[3]) - (b[1] + b[3])) / 2 > SHIFT * big

    def _bullet(self, box: Box, size: float) -> bool:
        """The line so far is one bullet, of another size than what follows it a gap away."""
        if len(self.line) != 1 or self.word or self.last is None:
            return False
        a, small, big = self.last, min(self.size, size), max(self.size, size)
        gap = max(box[0] - a[2], a[0] - box[2], box[1] - a[3], a[1] - box[3])
        bullet = BULLET.fullmatch("".join(t for _b, t, _f in self.line[0])) is not None
        return bullet and gap > BULLET_GAP * big and big - small > BULLET_RESIZE * big

    @staticmethod
    def _spaced(a: Box, b: Box, size: float) -> bool:
        return max(b[0] - a[2], a[0] - b[2]) > SPACE * size

    def end_word(self) -> None:
        if self.word:
            self.line.append(self.word)
            self.word = []

    def end_line(self) -> None:
        self.end_word()
        if self.line:
            self.lines.append(self.line)
        self.line, self.last = [], None

    def result(self) -> List[Tuple[Tuple[Word, ...], FrozenSet[str]]]:
        """(words, font names) per line."""
        self.end_line()
        out = []
        for line in self.lines:
            words = []
            for n, word in enumerate(line):
                chars = [(box, "-" if t == "\u00ad" and n == len(line) - 1 and k == len(word) - 1 else t)
                         for k, (box, t, _f) in enumerate(word)]  # fmt: skip
                chars = [(box, t) for box, t in chars if t != "\u00ad"]
                if chars:
                    words.append(Word(union([b for b, _ in chars]), "".join(t for _, t in chars)))
            if words:
                out.append((tuple(words), frozenset(f for word in line for _b, _t, f in word)))
        return out


def read_page(page, width: int, height: int) -> PageText:
    """The text layer of one pypdfium2 PdfPage, measured on its width x height pixel rendering."""
    import pypdfium2.raw as c

    to_px, (ma, mb, mc, md) = _device_map(page, width, height)
    textpage = page.get_textpage()
    fonts: Dict[Optional[int], str] = {}
    try:
        n = c.FPDFText_CountChars(textpage)
        builder, rect = _Builder(), c.FS_RECTF()
        kept = unmapped = invisible = outside = rtl = 0
        for i in range(max(0, n)):
            code = c.FPDFText_GetUnicode(textpage, i)
            if code in (0x0D, 0x0A):
                builder.line_end()
                continue
            if code == 0x20 or (chr(code).isspace() and code not in HYPHEN_MARKS):
                builder.end_word()
                continue
            if c.FPDFText_IsGenerated(textpage, i) == 1:
                continue
            category = unicodedata.category(chr(code))
            guessed = c.FPDFText_HasUnicodeMapError(textpage, i) == 1  # no mapping: the value is the code
            if code not in HYPHEN_MARKS and (category in ("Cc", "Cf") and code != 0) and not guessed:
                continue  # zero-width spaces, joiners, BOMs, controls: nothing drawn
            obj = c.FPDFText_GetTextObject(textpage, i)
            if obj and c.FPDFTextObj_GetTextRenderMode(obj) == INVISIBLE:
                invisible += 1
                continue
            if not c.FPDFText_GetLooseCharBox(textpage, i, rect):
                continue
            corners = [to_px(x, y) for x in (rect.left, rect.right) for y in (rect.bottom, rect.top)]
            box = union([(x, y, x, y) for x, y in corners])
            if box[2] < 0 or box[0] > width or box[3] < 0 or box[1] > height:
                outside += 1
                continue
            box = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))
            if code in HYPHEN_MARKS:
                text = "\u00ad"
            elif _is_unmapped(code) or (guessed and category[0] not in "LNPS"):
                text, unmapped = "\ufffd", unmapped + 1
            elif 0xFB00 <= code <= 0xFB06:
                text = unicodedata.normalize("NFKC", chr(code))
            else:
                text = chr(code)
                unmapped += guessed  # a printable guess (poppler's too: "$" in Courier) still counts
            rtl += unicodedata.bidirectional(text[0]) in ("R", "AL")
            angle = c.FPDFText_GetCharAngle(textpage, i)
            dx, dy = (math.cos(angle), math.sin(angle)) if angle >= 0 else (1.0, 0.0)
            across, down = ma * dx + mc * dy, mb * dx + md * dy  # the baseline's direction in pixels
            horizontal = abs(down) <= 0.2 * abs(across)
            tall = box[3] - box[1] if horizontal else box[2] - box[0]
            builder.add(box, text, horizontal, max(1.0, tall), _font_name(obj, fonts))
            kept += 1
    finally:
        textpage.close()
    found = sort_regions(builder.result(), lambda lf: _corners(union([w.box for w in lf[0]])), rtl=rtl * 2 > kept)
    lines, line_fonts = tuple(words for words, _f in found), tuple(f for _w, f in found)
    return PageText(width, height, lines, kept, unmapped, invisible, outside, line_fonts)


def _font_name(obj, cache: Dict[Optional[int], str]) -> str:
    import pypdfium2.raw as c

    key = ctypes.cast(obj, ctypes.c_void_p).value if obj else None
    if key not in cache:
        font = c.FPDFTextObj_GetFont(obj) if obj else None
        size = c.FPDFFont_GetBaseFontName(font, None, 0) if font else 0
        buf = ctypes.create_string_buffer(max(1, size))
        if size:
            c.FPDFFont_GetBaseFontName(font, buf, size)
        cache[key] = buf.value.decode("latin-1")
    return cache[key]


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

"""A PDF page's text layer -> words and lines in the rendered page's pixels (pypdfium2 / PDFium).

PDFium's text page gives every character with its Unicode value and box in PDF user space; the
affine map from user space to the bitmap pypdfium2 renders (page /Rotate, crop box and scale
included) is taken from PDFium itself (FPDF_PageToDevice), so boxes land on the pixels the
annotator sees. What real files contain (docs/beyond.md, "Text layer"):
- words and lines: images/pdf_lines.py cuts them with PDFium's line ends and poppler's layout rules
  (gaps in font sizes, columns, bullets and footnote marks, accents drawn over a letter);
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
import unicodedata
from typing import Dict, Optional, Tuple

from ocr_backend.core.page_text import Box, PageText, union
from ocr_backend.core.reading_order import sort_regions
from ocr_backend.images.pdf_lines import LineBuilder

INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE
HYPHEN_MARKS = {0x00AD, 0x0002}
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


def read_page(page, width: int, height: int) -> PageText:
    """The text layer of one pypdfium2 PdfPage, measured on its width x height pixel rendering."""
    import pypdfium2.raw as c

    to_px, (ma, mb, mc, md) = _device_map(page, width, height)
    textpage = page.get_textpage()
    fonts: Dict[Optional[int], str] = {}
    try:
        n = c.FPDFText_CountChars(textpage)
        builder, rect, matrix = LineBuilder(), c.FS_RECTF(), c.FS_MATRIX()
        px_per_unit = math.sqrt(abs(ma * md - mb * mc))
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
            em = c.FPDFText_GetFontSize(textpage, i) * px_per_unit  # the Tf size, then its matrix's scale
            if c.FPDFText_GetMatrix(textpage, i, matrix):
                em *= math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
            builder.add(box, text, horizontal, max(1.0, tall), _font_name(obj, fonts), em)
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

"""PDF text-page characters -> words -> lines, as a reader (and poppler) cuts them.

images/pdf_text.py feeds the characters of one page in PDFium's text order, each with its box and
font size in pixels; the rules (docs/beyond.md, "Text layer") are poppler's layout measured the
same way, in font sizes (its TextOutputDev.cc thresholds, named where used), not its code:
- a line ends at PDFium's line end where the next glyph is not further along the same row (a
  superscript stays on its line, in its word where no gap follows), at a jump to another row, and
  at a gap wider than FAR font sizes (maxWordSpacing);
- a word ends at a space and at a gap wider than SPACE font sizes (minWordBreakSpace; justified
  text often draws no space character);
- a gap wider than COLUMN font sizes (minColSpacing2) that no other row of the line's block
  crosses is a column: a TOC's section number, a table cell, a term and its description;
- a list bullet or a raised footnote number drawn at another size than its line, a gap away, is a
  region of its own;
- a spacing accent drawn over a letter (TeX's OT1 fonts: "a" under "\u00a8") joins it ("\u00e4");
- a soft hyphen shows as "-" at the end of a line and nowhere else.
"""

import re
import statistics
import unicodedata
from typing import Dict, FrozenSet, List, Optional, Tuple

from ocr_backend.core.page_text import Box, Word, union

# In font sizes (FAR, SPACE, COLUMN, ROWS) or glyph box heights (SHIFT, BULLET_*), as poppler's TextOutputDev.cc
# measures maxWordSpacing, minWordBreakSpace, minColSpacing2, maxLineSpacingDelta, maxIntraLineDelta.
FAR = 1.5  # a gap wider than this starts a new line (next column, table cell)
SPACE = 0.1  # a gap between glyphs wider than this is a word break (justified text draws no space)
SHIFT = 0.5  # a glyph whose middle is off the line's (of the taller glyph) by more than this: a new row
# A line's first word that is a list bullet (•, –, *, ▪; not unmapped) or a footnote's number:
BULLET = re.compile("[^\\w\\s\ufffd]{1,2}|[0-9]{1,2}")
BULLET_GAP, BULLET_RESIZE = 0.3, 0.15  # ... followed by a wider gap and a size change: its own region
COLUMN, ROWS, SAME_SIZE = 1.0, 1.5, 0.05  # poppler's minColSpacing2, maxLineSpacingDelta, maxBlockFontSizeDelta1
# TeX's OT1 fonts draw an accent as a glyph of its own over the letter ("a" under "\u00a8"): the letter
# and the combining mark read as one ("\u00e4"), as poppler merges them.
SPACING = "\u00a8\u00b4`\u02c6^\u02dc~\u00af\u02d8\u02d9\u02da\u00b8\u02db\u02c7\u02dd"
ACCENTS = dict(
    zip(SPACING, "\u0308\u0301\u0300\u0302\u0302\u0303\u0303\u0304\u0306\u0307\u030a\u0327\u0328\u030c\u030b")
)


Char = Tuple[Box, str, str, float]  # box, text, font name, font size in pixels


class LineBuilder:
    """Characters in text-page order -> words -> lines, with the hyphen and break rules above."""

    def __init__(self):
        self.lines: List[List[List[Char]]] = []
        self.across: List[bool] = []  # per line: horizontal
        self.line: List[List[Char]] = []
        self.word: List[Char] = []
        self.last: Optional[Box] = None
        self.size = 1.0  # the last glyph's height across the line, in pixels
        self.em = 1.0  # its font size, in pixels
        self.soft_end = False  # PDFium put a line end after the last glyph
        self.horizontal = True

    def line_end(self) -> None:
        """PDFium's line end: it also puts one where a superscript's baseline ends, so the next
        glyph starts a new line only where it is not further along the same row, and a new word only
        where there is a gap ("structure2." after a footnote mark)."""
        self.soft_end = True

    def add(self, box: Box, text: str, horizontal: bool, size: float, font: str = "", em: float = 0.0) -> None:
        """size: the glyph's box height across the line; em: its font size, both in pixels (gaps are
        measured in font sizes, as poppler measures them; rows in box heights)."""
        em = em if em > 0 else size
        ended, self.soft_end = self.soft_end, False
        if self.last is not None and (
            self._breaks(self.last, box, horizontal and self.horizontal, (self.size, self.em), (size, em))
            or self._bullet(box, size)
            or (ended and not (horizontal and box[0] >= self.last[2] - 0.5 * size))
        ):
            self.end_line()
        elif self.last is not None and horizontal and self._spaced(self.last, box, self._space_unit(size, em)):
            self.end_word()  # justified text often has no space character, only a gap
        self.horizontal, self.size, self.em = horizontal, size, em
        self.word.append((box, text, font, em))
        self.last = box

    @staticmethod
    def _breaks(a: Box, b: Box, horizontal: bool, sizes_a: Tuple[float, float], sizes_b: Tuple[float, float]) -> bool:
        if max(0.0, b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) > FAR * min(sizes_a[1], sizes_b[1]):
            return True
        # Off the previous glyph's row (a superscript is not): a new line (either writing direction).
        return horizontal and abs((a[1] + a[3]) - (b[1] + b[3])) / 2 > SHIFT * max(sizes_a[0], sizes_b[0])

    def _bullet(self, box: Box, size: float) -> bool:
        """The line so far is one bullet, of another size than what follows it a gap away; a number
        only where it is raised (a footnote's mark; a listing's line numbers sit on the baseline)."""
        words = self.line + ([self.word] if self.word else [])
        if len(words) != 1 or self.last is None:
            return False
        a, small, big = self.last, min(self.size, size), max(self.size, size)
        gap = max(box[0] - a[2], a[0] - box[2], box[1] - a[3], a[1] - box[3])
        mark = "".join(ch[1] for ch in words[0])
        raised = not mark.isdigit() or (a[1] + a[3]) / 2 < (box[1] + box[3]) / 2 - BULLET_RESIZE * small
        bullet = BULLET.fullmatch(mark) is not None and raised
        return bullet and gap > BULLET_GAP * big and big - small > BULLET_RESIZE * big

    def _space_unit(self, size: float, em: float) -> float:
        """Within one font size, the font size (poppler's minWordBreakSpace is in font sizes); where
        the size changes (a subscript), poppler cuts the word anyway and its text joins the two
        where the gap is under a tenth of the smaller word's height: the smaller box height."""
        return em if abs(em - self.em) <= 0.01 * em else min(self.size, size)

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
            self.across.append(self.horizontal)
        self.line, self.last = [], None

    def result(self) -> List[Tuple[Tuple[Word, ...], FrozenSet[str]]]:
        """(words, font names) per line."""
        self.end_line()
        out = []
        for line in _columns(self.lines, self.across):
            words = []
            for n, word in enumerate(line):
                word = _accented(word)
                chars = [(box, "-" if t == "\u00ad" and n == len(line) - 1 and k == len(word) - 1 else t)
                         for k, (box, t, _f, _e) in enumerate(word)]  # fmt: skip
                chars = [(box, t) for box, t in chars if t != "\u00ad"]
                if chars:
                    words.append(Word(union([b for b, _ in chars]), "".join(t for _, t in chars)))
            if words:
                out.append((tuple(words), frozenset(ch[2] for word in line for ch in word)))
        return out


def _accented(word: List[Char]) -> List[Char]:
    """A spacing accent drawn over the letter after (or before) it joins that letter."""
    out = list(word)
    for k in range(len(out) - 1, -1, -1):
        box, mark = out[k][0], ACCENTS.get(out[k][1])
        if mark is None:
            continue
        for j in (k + 1, k - 1):
            if 0 <= j < len(out) and out[j][1].isalpha() and out[j][0][0] <= (box[0] + box[2]) / 2 <= out[j][0][2]:
                letter = unicodedata.normalize("NFC", out[j][1] + mark)
                out[min(j, k) : max(j, k) + 1] = [(union([box, out[j][0]]), letter, out[j][2], out[j][3])]
                break
    return out


def _row(line: List[List[Char]]) -> Tuple[float, float, float, float]:
    """A line's middle (across it), font size, and left and right ends."""
    chars = [ch for word in line for ch in word]
    middle = statistics.median((ch[0][1] + ch[0][3]) / 2 for ch in chars)
    return (
        middle,
        statistics.median(ch[3] for ch in chars),
        min(ch[0][0] for ch in chars),
        max(ch[0][2] for ch in chars),
    )


def _columns(lines: List[List[List[Char]]], across: List[bool]) -> List[List[List[Char]]]:
    """Cut a line at a gap wider than COLUMN font sizes that no other row of its block crosses
    (poppler's blocks: a TOC number, a table column, a term and its description); a block is the
    rows of one font size, each at most ROWS font sizes from the next and overlapping it across."""
    rows = [_row(line) for line in lines]
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted((i for i in range(len(lines)) if across[i]), key=lambda i: rows[i][0])
    for n, i in enumerate(order):
        middle, em, left, right = rows[i]
        for j in order[n + 1 :]:
            if rows[j][0] > middle + ROWS * em:
                break
            if abs(rows[j][1] - em) <= SAME_SIZE * em and rows[j][2] < right and rows[j][3] > left:
                parent[root(j)] = root(i)
    blocks: Dict[int, List[int]] = {}
    for i in order:
        blocks.setdefault(root(i), []).append(i)
    out = []
    for i, line in enumerate(lines):
        start, (middle, em, _l, _r) = 0, rows[i]
        others: Optional[List[Box]] = None  # the glyphs of the block's other rows, once a gap is wide
        for k in range(1, len(line) if across[i] else 0):
            left, right, pad = max(ch[0][2] for ch in line[k - 1]), min(ch[0][0] for ch in line[k]), 0.05 * em
            if right - left <= COLUMN * min(line[k - 1][-1][3], line[k][0][3]):
                continue
            if others is None:
                others = [
                    ch[0]
                    for j in blocks.get(root(i), [])
                    if abs(rows[j][0] - middle) > 0.3 * em
                    for w in lines[j]
                    for ch in w
                ]
            if not any(box[0] < right - pad and box[2] > left + pad for box in others):
                out.append(line[start:k])
                start = k
        out.append(line[start:])
    return out

"""Test support for born-digital PDFs: real files, and poppler as the independent yardstick.

- `debian_pdf(package, path)`: a PDF manual shipped in a Debian package, fetched with
  `apt-get download` and unpacked with `dpkg-deb -x` into a cache folder (never committed), or
  taken from the installed package when it is there.
- `groff_pdf(text)`: a PDF that groff (Debian's, offline) typesets from troff input: real fonts,
  real ligatures, real hyphenation, the text known in advance.
- `poppler_lines(pdf, page, scale)`: poppler's `pdftotext -bbox-layout` lines of one page (the
  same text layer read by another library), in pixels of a rendering at `scale` pixels per point.
  A line's text is its words joined as poppler's own text output joins them: with a space where
  the words are apart, without one where poppler cut a word at a font change with no gap
  ("html.xml" in Courier, then "," in Times, is "html.xml,"; the XML has no space flag).
- `score(pred, gt)`: line F1 at IoU 0.5 and CER with the corpus's own score.py.
- `content_pdf(path, streams)` / `lines_pdf(path, pages)`: hand-written PDFs with standard fonts,
  one of them (Courier) with a ToUnicode map that lies (each letter read as the next one: the
  page shows "Hello", its text layer says "Ifmmp"), for the line rules and the import's OCR check.
"""

import ctypes
import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import pypdfium2.raw as c
import pytest

from tests.support.corpus import REPO, scorer

CACHE = Path(REPO) / "artifacts" / "pdf-cache"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def have_poppler() -> bool:
    return shutil.which("pdftotext") is not None


def need_poppler():
    if not have_poppler():
        pytest.fail("pdftotext missing: apt-get install poppler-utils (e2e/setup.sh installs it)")


def debian_pdf(package: str, path: str) -> Path:
    installed = Path("/") / path
    if installed.exists():
        return installed
    target = CACHE / package
    unpacked = target / path
    if not unpacked.exists():
        target.mkdir(parents=True, exist_ok=True)
        download = ["apt-get", "download", package]
        if subprocess.run(download, cwd=target, capture_output=True, timeout=300).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)  # fresh lists
            subprocess.run(download, cwd=target, check=True, capture_output=True, timeout=300)
        (deb,) = target.glob(f"{package}_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True, timeout=120)
    return unpacked


def groff_pdf(troff: str, path: Path) -> Path:
    """troff input -> PDF with groff's -ms macros (Times, ligatures on, hyphenation on)."""
    run = subprocess.run(["groff", "-ms", "-Tpdf"], input=troff.encode(), capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    path.write_bytes(run.stdout)
    return path


_LINE = re.compile(r"<line xMin=\"([\d.]+)\" yMin=\"([\d.]+)\" xMax=\"([\d.]+)\" yMax=\"([\d.]+)\">(.*?)</line>", re.S)
_WORD = re.compile(r"<word xMin=\"([\d.]+)\" yMin=\"([\d.]+)\" xMax=\"([\d.]+)\" yMax=\"([\d.]+)\">(.*?)</word>", re.S)
NO_GAP = 0.1  # poppler's minWordBreakSpace: a smaller gap (in word heights) is no word space


def poppler_lines(pdf: Path, page: int, scale: float) -> List[dict]:
    """Lines of 1-based `page`: {"bbox": [x0, y0, x1, y1] in pixels, "text": words joined by spaces}."""
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    lines = []
    for m in _LINE.finditer(out):
        words = [([float(v) for v in w[:4]], html.unescape(w[4])) for w in _WORD.findall(m.group(5))]
        box = [float(v) * scale for v in m.groups()[:4]]
        if words:
            lines.append({"bbox": box, "text": _joined(words)})
    return lines


def _joined(words) -> str:
    text = words[0][1]
    for (a, _), (b, word) in zip(words, words[1:]):
        across, down = max(b[0] - a[2], a[0] - b[2]), max(b[1] - a[3], a[1] - b[3])
        if across >= down:  # a horizontal line: the gap in x, measured in word heights
            gap, size = across, min(a[3] - a[1], b[3] - b[1])
        else:  # a line running down the page (a rotated page)
            gap, size = down, min(a[2] - a[0], b[2] - b[0])
        text += ("" if gap < NO_GAP * size else " ") + word
    return text


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, timeout=60).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def score(rows: List[dict]) -> Dict[str, float]:
    """rows: {"pred": [{"box", "text"}], "gt": [{"bbox", "text"}]} per page -> overall summary."""
    s = scorer()
    scored = [s.score_page({"lines": r["gt"], "lang": "en"}, r["pred"]) for r in rows]
    return s.summarize(scored)["overall"]


# Each letter code maps to the next letter: what a broken or hostile ToUnicode map looks like.
_LYING_CMAP = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Lie def /CMapType 2 def
1 begincodespacerange <00> <FF> endcodespacerange
2 beginbfrange <41> <59> <0042> <61> <79> <0062> endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end"""


def content_pdf(path: Path, pages: List[bytes], size=(300, 200)) -> Path:
    """A hand-written PDF, one content stream per page (PDF operators, what PDFium's writer cannot
    say: a text rise, a size change inside a line), with the fonts /F1 Helvetica, /F2 Courier whose
    ToUnicode map lies and /F3 Times-Roman (standard fonts, WinAnsi: \\225 is a bullet)."""
    ansi = b"/Encoding /WinAnsiEncoding"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects += [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica %s >>" % ansi]  # 3
    objects += [b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /ToUnicode 5 0 R >>"]  # 4
    objects += [b"<< /Length %d >>\nstream\n%s\nendstream" % (len(_LYING_CMAP), _LYING_CMAP)]  # 5
    objects += [b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman %s >>" % ansi]  # 6
    fonts = b"/Font << /F1 3 0 R /F2 4 0 R /F3 6 0 R >>"
    kids = []
    for ops in pages:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R /Resources << %s >> >>"
            % (size[0], size[1], len(objects), fonts)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    path.write_bytes(raw_pdf(objects))
    return path


def lines_pdf(path: Path, pages: List[List[tuple]]) -> Path:
    """pages: per page its lines, (text, font) with font "F1" (Helvetica), "F2" (Courier, whose
    ToUnicode map lies) or "F3" (Times); 14 pt type, a line every 24 pt from the top."""
    return content_pdf(
        path,
        [
            b"".join(
                b"BT /%s 14 Tf 20 %d Td (%s) Tj ET\n" % (font.encode(), 170 - 24 * n, text.encode("latin-1"))
                for n, (text, font) in enumerate(lines)
            )
            for lines in pages
        ],
    )


def add_text(pdf, page, text, x, y, size=14, mode=None, font=None):
    """One text object (DejaVu Sans, embedded as a CID font: any Unicode value is written as is)."""
    if font is None:
        raw = FONT.read_bytes()
        data = (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw)  # PDFium copies it
        font = c.FPDFText_LoadFont(pdf, data, len(raw), c.FPDF_FONT_TRUETYPE, 1)
    obj = c.FPDFPageObj_CreateTextObj(pdf, font, size)
    buf = (text + "\0").encode("utf-16-le")
    c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(buf), ctypes.POINTER(c.FPDF_WCHAR)))
    c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    if mode is not None:
        c.FPDFTextObj_SetTextRenderMode(obj, mode)
    c.FPDFPage_InsertObject(page, obj)
    return font


def raw_pdf(objects, trailer=b""):
    """A hand-written PDF (for what pypdfium2 cannot write: encryption, an empty page tree)."""
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return out

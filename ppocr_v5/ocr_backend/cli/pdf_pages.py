"""PDF pages -> PNG images (and their text layer), with pypdfium2 (PDFium in a wheel: no system
poppler or ghostscript).

A file that cannot be read raises PdfError with a reason meant for the user (empty, encrypted,
corrupt, no pages); nothing else is raised for a bad file, so one bad PDF never stops a run.
A page is rendered at the asked dpi unless that would exceed `max_pixels` (the backend's
MAX_IMAGE_PIXELS: a bigger page could never be pre-annotated); then at the largest resolution
under it, which the caller reports."""

import dataclasses
import hashlib
import io
import math
from pathlib import Path
from typing import Iterator, Optional, Tuple

from ocr_backend.core.page_text import PageText
from ocr_backend.errors import PdfError

POINTS_PER_INCH = 72.0
# pypdfium2 sizes the bitmap as ceil(points * scale): a US Letter page (792 pt) at 150 dpi comes out
# 1651 px high, 792 * (150 / 72) being 1650.0000000000002 in floating point. Scaling a hair down
# drops that noise and leaves every genuinely fractional size as it was.
SCALE_NUDGE = 1 - 1e-9


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PdfPages:
    """One open PDF. Use as a context manager; `len()` is its page count (at least 1)."""

    def __init__(self, path: Path):
        import pypdfium2 as pdfium

        self.path = path
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise PdfError(f"cannot read it ({exc.strerror or exc})") from None
        if size == 0:
            raise PdfError("empty file (0 bytes)")
        _reset_last_error()
        try:
            self._doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise PdfError(_load_reason(exc)) from None
        if len(self._doc) == 0:
            self._doc.close()
            raise PdfError("the PDF has no pages")

    def __len__(self) -> int:
        return len(self._doc)

    def __enter__(self) -> "PdfPages":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._doc.close()

    def render(self, index: int, dpi: float, max_pixels: int = 0, text: bool = False) -> "Rendered":
        """Page `index` (0-based) at `dpi` (lower if over `max_pixels`; 0: no cap), as PNG (lossless:
        OCR reads what PDFium drew), with its text layer measured on that rendering if `text`."""
        import pypdfium2 as pdfium

        from ocr_backend.images.pdf_text import picture_share, read_page

        try:
            page = self._doc[index]
            try:
                scale = capped_scale(page.get_width(), page.get_height(), dpi / POINTS_PER_INCH, max_pixels)
                image = page.render(scale=scale * SCALE_NUDGE).to_pil()
                layer = read_page(page, *image.size) if text else None
                picture = picture_share(page) if text else 0.0
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            raise PdfError(f"page {index + 1} cannot be rendered ({exc})") from None
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        capped = scale < dpi / POINTS_PER_INCH
        return Rendered(index, buf.getvalue(), image.size, scale * POINTS_PER_INCH, capped, layer, picture, image)

    def render_png(self, index: int, dpi: float) -> Tuple[bytes, Tuple[int, int]]:
        page = self.render(index, dpi)
        return page.png, page.size

    def pages(self, dpi: float, max_pixels: int = 0, text: bool = False) -> Iterator["Rendered"]:
        for index in range(len(self)):
            yield self.render(index, dpi, max_pixels, text)


@dataclasses.dataclass(frozen=True)
class Rendered:
    index: int
    png: bytes
    size: Tuple[int, int]
    dpi: float  # the resolution it was rendered at
    capped: bool  # lower than asked: the asked one would exceed the pixel cap
    text: Optional[PageText]
    picture: float  # the largest share of the page one image covers
    image: object  # the PIL image the PNG holds (for checking the text layer against OCR)


def capped_scale(width_pt: float, height_pt: float, scale: float, max_pixels: int) -> float:
    """`scale` (pixels per point), or the largest under it whose rendering (pypdfium2 rounds each
    side up) has at most `max_pixels` pixels."""

    def pixels(s: float) -> int:
        return math.ceil(width_pt * s * SCALE_NUDGE) * math.ceil(height_pt * s * SCALE_NUDGE)

    if max_pixels <= 0 or pixels(scale) <= max_pixels:
        return scale
    scale = math.sqrt(max_pixels / max(width_pt * height_pt, 1e-9))
    while pixels(scale) > max_pixels and scale > 1e-6:
        scale *= 0.999
    return scale


def _reset_last_error() -> None:
    """PDFium keeps one global last error and some failures (a page tree without pages) leave it as
    it was: after an encrypted file, the next unloadable one would be called encrypted too. Loading
    zero bytes sets it to a format error first, so every other code read afterwards is this file's."""
    import pypdfium2 as pdfium

    try:
        pdfium.PdfDocument(b"")
    except pdfium.PdfiumError:
        pass


def _load_reason(exc) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "encrypted: it needs a password to open"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "encrypted with an unsupported security handler"
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return "not a PDF, or a corrupt or truncated one (or one without pages)"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "cannot open the file"
    return f"PDFium cannot load it ({exc})"

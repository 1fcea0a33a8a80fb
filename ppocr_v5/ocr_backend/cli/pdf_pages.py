"""PDF pages -> PNG images, with pypdfium2 (PDFium in a wheel: no system poppler or ghostscript).

A file that cannot be read raises PdfError with a reason meant for the user (empty, encrypted,
corrupt, no pages); nothing else is raised for a bad file, so one bad PDF never stops a run."""

import hashlib
import io
from pathlib import Path
from typing import Iterator, Tuple

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

    def render_png(self, index: int, dpi: float) -> Tuple[bytes, Tuple[int, int]]:
        """Page `index` (0-based) at `dpi`, as PNG bytes (lossless: OCR reads what PDFium drew) and its size."""
        import pypdfium2 as pdfium

        try:
            page = self._doc[index]
            try:
                image = page.render(scale=dpi / POINTS_PER_INCH * SCALE_NUDGE).to_pil()
            finally:
                page.close()
        except pdfium.PdfiumError as exc:
            raise PdfError(f"page {index + 1} cannot be rendered ({exc})") from None
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue(), image.size

    def pages(self, dpi: float) -> Iterator[Tuple[int, bytes, Tuple[int, int]]]:
        for index in range(len(self)):
            png, size = self.render_png(index, dpi)
            yield index, png, size


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

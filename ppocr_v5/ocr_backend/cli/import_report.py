"""What `ppocr-v5 import-pdf` did, as the lines it prints: per PDF its task(s), how many pages came
from the text layer and how many are left to OCR (and why), pages rendered below `--dpi`.

File names and every other string that comes from outside (PDF errors, server messages) are shown
through `shown`: a newline, an escape sequence or a bidi override (U+202E) in a name would forge
report lines or reorder what the terminal shows, so each such character is printed escaped."""

import dataclasses
from typing import Dict, List, Tuple


def shown(text: object) -> str:
    """`text` with every non-printable character (controls, format characters such as U+202E,
    line and paragraph separators) written as its Python escape; printable text stays as it is."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))


def page_ranges(pages: List[int]) -> str:
    """1-based page numbers, compacted: [1, 2, 3, 7] -> "1-3, 7"."""
    runs: List[List[int]] = []
    for n in sorted(pages):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclasses.dataclass
class PdfNotes:
    """One PDF's pages by source, and its pages rendered under the pixel cap."""

    text_pages: int = 0
    ocr_pages: Dict[str, List[int]] = dataclasses.field(default_factory=dict)  # why -> page numbers
    capped: Dict[float, List[int]] = dataclasses.field(default_factory=dict)  # dpi -> page numbers

    def lines(self, dpi: float, cap: int) -> List[str]:
        ocr = sum(len(p) for p in self.ocr_pages.values())
        out = [f"    {self.text_pages} pages from the text layer, {ocr} for OCR"]
        out += [f"    OCR on pages {page_ranges(p)}: {shown(why)}" for why, p in self.ocr_pages.items()]
        out += [
            f"    pages {page_ranges(p)} rendered at {d:.0f} dpi, not {dpi:g}: MAX_IMAGE_PIXELS={cap} (backend limit)"
            for d, p in self.capped.items()
        ]
        return out


@dataclasses.dataclass
class Summary:
    files: int = 0
    # One entry per task made: name, task id, pages (a PDF split in parts has one per part).
    imported: List[Tuple[str, int, int]] = dataclasses.field(default_factory=list)
    parts: Dict[int, str] = dataclasses.field(default_factory=dict)  # task id -> "part k/n" of a split PDF
    notes: Dict[str, PdfNotes] = dataclasses.field(default_factory=dict)  # per PDF path
    note_key: Dict[int, str] = dataclasses.field(default_factory=dict)  # task id -> its PDF's path
    skipped: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    failed: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    dpi: float = 150.0
    cap: int = 0

    @property
    def task_ids(self) -> List[int]:
        return [task for _name, task, _pages in self.imported]

    def report(self) -> str:
        rate = f", {self.pages / self.seconds:.2f} pages/s" if self.pages and self.seconds > 0 else ""
        pdfs = len({name for name, _t, _p in self.imported})
        lines = [
            f"{self.files} PDFs: {pdfs} imported ({self.pages} pages), {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed in {self.seconds:.1f} s{rate}"
            + (" (interrupted: run again to resume)" if self.interrupted else "")
        ]
        for name, task, pages in self.imported:
            part = f" {self.parts[task]}" if task in self.parts else ""
            lines.append(f"  imported {shown(name)}{part}: task {task}, {pages} pages")
            key = self.note_key.get(task, "")
            if key in self.notes and task == max(t for t, k in self.note_key.items() if k == key):
                lines += self.notes[key].lines(self.dpi, self.cap)
        lines += [f"  skipped {shown(name)}: {shown(why)}" for name, why in self.skipped]
        lines += [f"  failed {shown(name)}: {shown(why)}" for name, why in self.failed]
        lines += [f"  note: {shown(why)}" for why in self.warnings]
        return "\n".join(lines)

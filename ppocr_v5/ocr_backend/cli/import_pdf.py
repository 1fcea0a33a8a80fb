"""`ppocr-v5 import-pdf`: each PDF becomes one multi-page task of a Label Studio project.

Every page is rendered at `--dpi` with PDFium (pdf_pages.py), uploaded into the project as a PNG
the way Label Studio's own import dialog uploads files (stored, served at /data/upload/..., no task
made per image), then one task per PDF is created with the page URLs in page order under the
config's `valueList` key, and the PDF's name, sha256 and page count beside them.

Resumable: a PDF whose sha256 is already in a task of the project is skipped, so running the same
command again imports only what is missing. A PDF that cannot be read (empty, encrypted, corrupt,
no pages) or that Label Studio refuses is reported by name and skipped; the others go on."""

import dataclasses
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, TextIO, Tuple

from ocr_backend.cli.ls_rest import LabelStudioRest, pages_key
from ocr_backend.cli.pdf_pages import PdfPages, sha256_of
from ocr_backend.errors import LabelStudioApiError, PdfError

DEFAULT_DPI = 150.0
# Per upload request: well under Label Studio's DATA_UPLOAD_MAX_NUMBER_FILES (100) and
# DATA_UPLOAD_MAX_MEMORY_SIZE (250 MB) defaults.
BATCH_FILES = 20
BATCH_BYTES = 64 << 20
NAME_KEY = "pdf_name"
HASH_KEY = "pdf_sha256"
COUNT_KEY = "pdf_pages"


@dataclasses.dataclass
class Summary:
    files: int = 0
    imported: List[Tuple[str, int, int]] = dataclasses.field(default_factory=list)  # name, task id, pages
    skipped: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    failed: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def task_ids(self) -> List[int]:
        return [task for _name, task, _pages in self.imported]

    def report(self) -> str:
        rate = f", {self.pages / self.seconds:.2f} pages/s" if self.pages and self.seconds > 0 else ""
        lines = [
            f"{self.files} PDFs: {len(self.imported)} imported ({self.pages} pages), {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed in {self.seconds:.1f} s{rate}"
            + (" (interrupted: run again to resume)" if self.interrupted else "")
        ]
        lines += [f"  imported {name}: task {task}, {pages} pages" for name, task, pages in self.imported]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped]
        lines += [f"  failed {name}: {why}" for name, why in self.failed]
        return "\n".join(lines)


def find_pdfs(paths: Iterable[str], summary: Summary) -> List[Path]:
    """Files as given, folders searched recursively for *.pdf (any case), in name order; a path
    that does not exist is a failure of that path only."""
    found: List[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
        elif path.exists():
            found.append(path)
        else:
            summary.failed.append((str(path), "no such file or folder"))
    return found


def upload_name(pdf: Path, digest: str, index: int) -> str:
    """A name Django's storage keeps as is ([A-Za-z0-9_.-]), unique per PDF content and page."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", pdf.stem).strip("._")[:60] or "pdf"
    return f"{stem}-{digest[:10]}-p{index + 1:04d}.png"


def import_pdfs(
    rest: LabelStudioRest,
    project: int,
    paths: Iterable[str],
    dpi: float = DEFAULT_DPI,
    progress: bool = True,
    out: TextIO = sys.stderr,
) -> Summary:
    """Import every PDF under `paths` into `project` (see the module docstring). A bad label config
    or an unusable key raises (ValueError, LabelStudioApiError) before any PDF is read."""
    if not 10 <= dpi <= 1200:
        raise ValueError(f"--dpi {dpi:g}: use a value between 10 and 1200")
    started = time.monotonic()
    summary = Summary()
    key = pages_key(rest.label_config(project))
    done: Dict[str, int] = {}
    for task in rest.iter_tasks(project):
        digest = task["data"].get(HASH_KEY)
        if isinstance(digest, str):
            done.setdefault(digest, task["id"])
    pdfs = find_pdfs(paths, summary)
    summary.files = len(pdfs) + len(summary.failed)
    todo: List[Tuple[Path, str, int]] = []
    seen: Dict[str, Path] = {}
    for pdf in pdfs:
        try:
            digest = sha256_of(pdf)
        except OSError as exc:
            summary.failed.append((pdf.name, f"cannot read it ({exc.strerror or exc})"))
            continue
        if digest in done:
            summary.skipped.append((pdf.name, f"already imported (task {done[digest]})"))
        elif digest in seen:
            summary.skipped.append((pdf.name, f"same content as {seen[digest]}"))
        else:
            try:
                with PdfPages(pdf) as doc:
                    todo.append((pdf, digest, len(doc)))
                seen[digest] = pdf
            except PdfError as exc:
                summary.failed.append((pdf.name, str(exc)))
    print(
        f"project {project}: {len(pdfs)} PDFs, {len(summary.skipped)} already imported, {len(todo)} to import "
        f"({sum(n for _p, _d, n in todo)} pages at {dpi:g} dpi into ${key})",
        file=out,
    )
    bar = _progress(sum(n for _p, _d, n in todo), progress, out)
    try:
        for pdf, digest, _count in todo:
            try:
                urls = _upload_pages(rest, project, pdf, digest, dpi, bar.update)
                data = {key: urls, NAME_KEY: pdf.name, HASH_KEY: digest, COUNT_KEY: len(urls)}
                (task_id,) = rest.create_tasks(project, [{"data": data}])
            except (PdfError, LabelStudioApiError) as exc:
                summary.failed.append((pdf.name, str(exc)))
                continue
            summary.imported.append((pdf.name, task_id, len(urls)))
            summary.pages += len(urls)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        summary.seconds = time.monotonic() - started
    return summary


def _upload_pages(
    rest: LabelStudioRest, project: int, pdf: Path, digest: str, dpi: float, tick: Callable[[int], object]
) -> List[str]:
    """Render and upload one PDF's pages in batches; its page URLs in page order."""
    urls: List[str] = []
    batch: List[Tuple[str, bytes]] = []
    with PdfPages(pdf) as doc:
        for index, png, _size in doc.pages(dpi):
            batch.append((upload_name(pdf, digest, index), png))
            if len(batch) >= BATCH_FILES or sum(len(b) for _n, b in batch) >= BATCH_BYTES:
                urls += rest.upload_images(project, batch)
                tick(len(batch))
                batch = []
        if batch:
            urls += rest.upload_images(project, batch)
            tick(len(batch))
    return urls


def _progress(total: int, enabled: bool, out: TextIO):
    from tqdm import tqdm

    return tqdm(total=total, unit="page", disable=not enabled, file=out, dynamic_ncols=True)


def annotate_new_tasks(url: str, api_key: str, project: int, task_ids: List[int], workers: int, progress: bool):
    """`--annotate`: the new tasks through `ppocr-v5 annotate`'s own code path (same settings,
    model_version and resumability); returns its Summary."""
    from ocr_backend.cli import annotate, ls_project

    settings = annotate.settings_for(url, api_key)
    client = ls_project.connect(settings.label_studio_url, settings.label_studio_api_key)
    return annotate.annotate_project(
        client, project, settings, workers=workers, progress=progress, task_ids=set(task_ids)
    )

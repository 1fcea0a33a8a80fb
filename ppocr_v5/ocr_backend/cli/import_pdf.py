"""`ppocr-v5 import-pdf`: each PDF becomes one multi-page task of a Label Studio project.

Every page is rendered at `--dpi` with PDFium (pdf_pages.py; lower when that would exceed the
backend's MAX_IMAGE_PIXELS, said per page), uploaded into the project as a PNG the way Label
Studio's own import dialog uploads files (stored, served at /data/upload/..., no task made per
image), then one task per PDF is created with the page URLs in page order under the config's
`valueList` key, and the PDF's name, sha256 and page count beside them. A PDF with more pages than
MAX_PAGES_PER_TASK (which the backend would refuse) becomes several tasks, its parts
(`pdf_part` k of `pdf_parts`, from page `pdf_first_page`).

Text layer (`--text-layer`, page_source.py): each page whose text layer is usable is stored in
the task data (service/text_layer.py, TEXT_KEY) in the rendered page's pixels, and the backend
answers those pages from it instead of OCR; the others are left to OCR as before.

Resumable: a PDF (or part) whose sha256 is already in a task of the project is skipped, so running
the same command again imports only what is missing. A PDF that cannot be read (empty, encrypted,
corrupt, no pages), that Label Studio refuses, or whose rendering fails in any way (MemoryError
included) is reported by name and skipped; the others go on."""

import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, TextIO, Tuple

from ocr_backend.cli import backend, page_source
from ocr_backend.cli.import_report import PdfNotes, Summary
from ocr_backend.cli.ls_client import LabelStudioClient
from ocr_backend.cli.pdf_pages import PdfPages, sha256_of
from ocr_backend.cli.task_format import pages_key
from ocr_backend.core.page_text import to_data
from ocr_backend.errors import PdfError
from ocr_backend.service.text_layer import TEXT_KEY
from ocr_backend.settings import Settings

DEFAULT_DPI = 150.0
# Per upload request: well under Label Studio's DATA_UPLOAD_MAX_NUMBER_FILES (100) and
# DATA_UPLOAD_MAX_MEMORY_SIZE (250 MB) defaults.
BATCH_FILES = 20
BATCH_BYTES = 64 << 20
NAME_KEY = "pdf_name"
HASH_KEY = "pdf_sha256"
COUNT_KEY = "pdf_pages"
PART_KEY, PARTS_KEY, FIRST_KEY = "pdf_part", "pdf_parts", "pdf_first_page"


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
    client: LabelStudioClient,
    project: int,
    paths: Iterable[str],
    dpi: float = DEFAULT_DPI,
    progress: bool = True,
    out: TextIO = sys.stderr,
    text_layer: str = "auto",
    verify_lines: int = 2,
    recognizer: Optional[Callable[[], page_source.Recognize]] = None,
    settings: Optional[Settings] = None,
) -> Summary:
    """Import every PDF under `paths` into `project` (see the module docstring). A bad label config
    or an unusable key raises (ValueError, LabelStudioApiError) before any PDF is read.
    `recognizer` builds the OCR that checks text layers in auto mode (default: the backend's
    recogniser from the environment's settings, built on first need); `settings` (default: the
    environment's) give the limits."""
    if not 10 <= dpi <= 1200:
        raise ValueError(f"--dpi {dpi:g}: use a value between 10 and 1200")
    if text_layer not in page_source.MODES:
        raise ValueError(f"--text-layer {text_layer!r}: use one of {', '.join(page_source.MODES)}")
    started = time.monotonic()
    settings = settings or backend.settings_for("", "")
    per_task = settings.max_pages_per_task
    summary = Summary(dpi=dpi, cap=settings.max_image_pixels)
    key = pages_key(client.label_config(project))
    done: Dict[Tuple[str, int], int] = {}
    for task in client.iter_tasks(project):
        digest, part = task["data"].get(HASH_KEY), task["data"].get(PART_KEY, 1)
        if isinstance(digest, str):
            done.setdefault((digest, part if isinstance(part, int) else 1), task["id"])
    pdfs = find_pdfs(paths, summary)
    summary.files = len(pdfs) + len(summary.failed)
    todo: List[Tuple[Path, str, int, Set[int]]] = []  # pdf, digest, pages, parts already there
    seen: Dict[str, Path] = {}
    for pdf in pdfs:
        try:
            digest = sha256_of(pdf)
            if digest in seen:
                summary.skipped.append((pdf.name, f"same content as {seen[digest]}"))
                continue
            with PdfPages(pdf) as doc:
                count = len(doc)
        except OSError as exc:
            summary.failed.append((pdf.name, f"cannot read it ({exc.strerror or exc})"))
            continue
        except PdfError as exc:
            summary.failed.append((pdf.name, str(exc)))
            continue
        seen[digest] = pdf
        parts = -(-count // per_task)
        there = {k for k in range(1, parts + 1) if (digest, k) in done}
        if len(there) == parts:
            tasks = ", ".join(str(done[(digest, k)]) for k in sorted(there))
            summary.skipped.append((pdf.name, f"already imported (task{'s' if parts > 1 else ''} {tasks})"))
        else:
            todo.append((pdf, digest, count, there))
    print(
        f"project {project}: {len(pdfs)} PDFs, {len(summary.skipped)} already imported, {len(todo)} to import "
        f"({sum(n for _p, _d, n, _t in todo)} pages at {dpi:g} dpi into ${key}, text layer: {text_layer})",
        file=out,
    )
    checker = page_source.Checker(recognizer, verify_lines if text_layer == "auto" else 0, summary.warnings.append)
    bar = _progress(sum(n for _p, _d, n, _t in todo), progress, out)
    try:
        for pdf, digest, count, there in todo:
            notes = summary.notes.setdefault(str(pdf), PdfNotes())  # the path: two folders, one name
            try:
                for part, first, last in _parts(count, per_task):
                    if part in there:
                        bar.update(last - first)
                        continue
                    span = (first, last)
                    data = _upload_part(
                        client, project, pdf, digest, span, dpi, text_layer, checker, notes, summary.cap
                    )
                    bar.update(last - first)
                    urls = data.pop("urls")
                    data.update({key: urls, NAME_KEY: pdf.name, HASH_KEY: digest, COUNT_KEY: len(urls)})
                    if count > per_task:
                        parts = -(-count // per_task)
                        data.update({PART_KEY: part, PARTS_KEY: parts, FIRST_KEY: first + 1})
                    (task_id,) = client.create_tasks(project, [{"data": data}])
                    if count > per_task:
                        summary.parts[task_id] = f"part {part}/{parts} (pages {first + 1}-{last})"
                    summary.imported.append((pdf.name, task_id, len(urls)))
                    summary.note_key[task_id] = str(pdf)
                    summary.pages += len(urls)
            except Exception as exc:  # noqa: BLE001 - MemoryError, PDFium, HTTP: this PDF only
                summary.failed.append((pdf.name, _reason(exc)))
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        summary.seconds = time.monotonic() - started
    return summary


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory while rendering or uploading it (MemoryError); try a lower --dpi"
    if isinstance(exc, PdfError):
        return str(exc)
    text = str(exc)
    return text if type(exc).__name__ in text or "HTTP" in text else f"{type(exc).__name__}: {text}"


def _parts(count: int, per_task: int) -> List[Tuple[int, int, int]]:
    """(part number from 1, first page index, end page index) of a PDF of `count` pages."""
    return [(k // per_task + 1, k, min(k + per_task, count)) for k in range(0, count, per_task)]


def _upload_part(client, project, pdf, digest, span, dpi, mode, checker, notes: PdfNotes, cap: int) -> dict:
    """Render and upload pages span[0]..span[1]-1 of one PDF in batches, then decide each page's
    source (page_source.py; the OCR check last, on line images kept from the renderings):
    {"urls": [...]}, and TEXT_KEY with each page's stored text layer (null: OCR) when any has one."""
    urls: List[str] = []
    layers: List[Optional[dict]] = []
    plan = page_source.Plan(checker.lines)  # position in the part -> lines for the OCR check
    whys: List[str] = []
    batch: List[Tuple[str, bytes]] = []
    with PdfPages(pdf) as doc:
        for index in range(*span):
            page = doc.render(index, dpi, cap, text=mode != "never")
            if page.capped:
                notes.capped.setdefault(round(page.dpi, 1), []).append(index + 1)
            use, why = page_source.screen(mode, page.text, page.picture)
            if use is None and page.text is not None and checker.lines > 0:
                checker.start()
                plan.add(len(layers), page.text, page.image, page.picture)
            layers.append(to_data(page.text) if use is not False else None)
            whys.append(why)
            batch.append((upload_name(pdf, digest, index), page.png))
            del page
            if len(batch) >= BATCH_FILES or sum(len(b) for _n, b in batch) >= BATCH_BYTES:
                urls += client.upload_images(project, batch)
                batch = []
        if batch:
            urls += client.upload_images(project, batch)
    recognize = checker.recognize() if plan.pages else None
    for position, (keep, why) in (plan.verdicts(recognize) if recognize else {}).items():
        if not keep:
            layers[position], whys[position] = None, why
    for position, layer in enumerate(layers):
        if layer is not None:
            notes.text_pages += 1
        else:
            notes.ocr_pages.setdefault(whys[position], []).append(span[0] + position + 1)
    data: dict = {"urls": urls}
    if any(layer is not None for layer in layers):
        data[TEXT_KEY] = layers
    return data


def _progress(total: int, enabled: bool, out: TextIO):
    from tqdm import tqdm

    return tqdm(total=total, unit="page", disable=not enabled, file=out, dynamic_ncols=True)


def annotate_new_tasks(
    client: LabelStudioClient, settings: Settings, project: int, task_ids: List[int], workers: int, progress: bool
):
    """`--annotate`: the new tasks through `ppocr-v5 annotate`'s own code path (same settings,
    model_version and resumability); returns its Summary."""
    from ocr_backend.cli import annotate

    return annotate.annotate_project(
        client, project, settings, workers=workers, progress=progress, task_ids=set(task_ids)
    )

"""Pages answered from the text layer stored in the task: the PDF's own words, no OCR, no download.

`ppocr-v5 import-pdf` stores each page's text layer under TEXT_KEY in the task data (null for a
page to OCR: scanned, image-only or an unusable text layer). Every path that predicts a task goes
through TaskStep (the /predict batch, interactive requests, `ppocr-v5 annotate`), so this step,
a TaskStep whose plan hands such a page over as its stored lines instead of its URL, makes them
all give the same single prediction under the backend's one model_version (README, "Text
layer": why Label Studio then never asks twice). The stored lines reach the prediction the way a
result-cache hit does (Page.cached), through the same encoder as OCR lines.

Interactive requests (regions drawn by the annotator) are read from the pixels as before. A stored
entry that is malformed or does not fit the task (wrong length, bad numbers) is logged and ignored:
those pages are OCRed.
"""

import dataclasses
import logging
from typing import Dict, List, Tuple

from ocr_backend.core.page_text import PageText, from_data, text_lines
from ocr_backend.service.task_step import Page, TaskStep
from ocr_backend.types import OcrOutput

logger = logging.getLogger(__name__)

TEXT_KEY = "pdf_text"


@dataclasses.dataclass(frozen=True)
class StoredPage:
    """A page reference that needs no download: the lines come from the task data."""

    page: PageText


def stored_pages(task: dict, pages: int) -> Dict[int, PageText]:
    """The task's usable stored pages by index ({} when it has none, or a malformed entry)."""
    data = task.get("data") if isinstance(task, dict) else None
    value = data.get(TEXT_KEY) if isinstance(data, dict) else None
    if value is None:
        return {}
    task_id = task.get("id")
    if not isinstance(value, list) or len(value) != pages:
        logger.warning("task %r: %s is not a list of %d pages; every page is OCRed", task_id, TEXT_KEY, pages)
        return {}
    out = {}
    for index, entry in enumerate(value):
        try:
            page = from_data(entry)
        except ValueError as exc:
            logger.warning("task %r: page %d: stored text layer ignored (%s); the page is OCRed", task_id, index, exc)
            continue
        if page is not None:
            out[index] = page
    return out


@dataclasses.dataclass(frozen=True)
class TextLayerStep(TaskStep):
    """TaskStep that answers pages with a stored text layer from it (see the module docstring)."""

    def plan(self, task: dict) -> List[Tuple[int, object]]:
        sources = super().plan(task)
        if self.interactive or not self.tags.value_list:
            return sources
        stored = stored_pages(task, len(sources))
        return [(index, StoredPage(stored[index]) if index in stored else source) for index, source in sources]

    def load_page(self, source, task_id, fetch, turn=None) -> Page:
        if isinstance(source, StoredPage):
            lines = text_lines(source.page, self.settings.word_boxes)
            return Page(None, source.page.width, source.page.height, OcrOutput(lines))
        return super().load_page(source, task_id, fetch, turn)

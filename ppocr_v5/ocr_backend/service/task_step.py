"""One task in, one prediction out: the step a batch, an interactive request and `annotate` share.

load the task's image -> OCR the page, or read the regions drawn in the request's context ->
encode for the request's tags -> prediction dict. A multi-page task (the config's Image has
valueList) is the same per page: its pages are loaded one by one (`plan` lists them, the caller
decides how far ahead to load), each page's regions carry its `item_index` and own size, and one
prediction covers them all. A page that cannot be fetched or decoded costs only that page (logged
with the task id and page index); a `pages` value that is not a list of strings, or one longer
than MAX_PAGES_PER_TASK, fails the task. A failure raises (TaskError: the task's own
fault, with a message safe to log; anything else: a bug or a library failure) and what it becomes
is the caller's choice: the HTTP path answers an empty prediction and logs the task id
(service/predict.py); `annotate` reports the error and writes nothing, so its next run retries the
task (cli/task_worker.py).
"""

import dataclasses
import functools
import logging
from typing import Callable, Iterable, List, Optional, Tuple

import numpy as np

from ocr_backend.core import time_budget
from ocr_backend.errors import TaskError
from ocr_backend.images.budget import InOrder, Turn, pixel_budget
from ocr_backend.images.decode import decode_image
from ocr_backend.labelstudio import decode, encode
from ocr_backend.labelstudio.label_config import OcrTags
from ocr_backend.ocr.protocol import Engine
from ocr_backend.service import interactive
from ocr_backend.service.ocr_cache import CachedPage, OcrCache
from ocr_backend.settings import Settings
from ocr_backend.types import OcrOutput

logger = logging.getLogger(__name__)

Fetch = Callable[..., bytes]  # (url, task_id) -> the image's bytes: images.fetch.ImageFetcher.fetch


def task_image_url(task: dict, tags: OcrTags):
    """The task's image reference (a URL or data: URI, whatever the Image tag's key holds)."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        raise TaskError("task has no 'data' object")
    if tags.image_value not in data:
        raise TaskError(f"task data has no {tags.image_value!r} key (the Image tag reads ${tags.image_value})")
    return data[tags.image_value]


def page_sources(task: dict, tags: OcrTags, settings: Settings) -> List[Tuple[int, object]]:
    """(page index, image reference) of every page of the task: one, index 0, for a single image."""
    value = task_image_url(task, tags)
    if not tags.value_list:
        return [(0, value)]
    if not isinstance(value, list) or not all(isinstance(page, str) for page in value):
        raise TaskError(
            f"task data {tags.image_value!r} is not a list of page URLs (the Image tag reads "
            f"valueList=${tags.image_value}); got {type(value).__name__}"
            + ("" if not isinstance(value, list) else " items that are not all strings")
        )
    if len(value) > settings.max_pages_per_task:
        raise TaskError(
            f"the task has {len(value)} pages, more than MAX_PAGES_PER_TASK={settings.max_pages_per_task}; "
            "split the document or raise the limit"
        )
    return list(enumerate(value))


def _decode(data: bytes, settings: Settings, turn: Optional[Turn] = None) -> np.ndarray:
    budget = turn or pixel_budget(settings.image_pixels_in_flight)
    return decode_image(data, settings.max_image_pixels, budget, wait=settings.task_time_budget)


@dataclasses.dataclass
class Page:
    """One loaded page: its pixels, or, when the result cache knew its bytes, what OCR found on it
    then (no pixels decoded at all). `key` is its cache key when the cache is on."""

    image: Optional[np.ndarray]
    width: int
    height: int
    cached: Optional[OcrOutput] = None
    key: Optional[str] = None

    @classmethod
    def of(cls, image: np.ndarray, key: Optional[str] = None) -> "Page":
        height, width = image.shape[:2]
        return cls(image, width, height, None, key)


@dataclasses.dataclass(frozen=True)
class TaskStep:
    """What every task of one request shares: the request's tags, the engine, the settings, the
    model_version the predictions carry and, for an interactive request, its params.context."""

    tags: OcrTags
    engine: Engine
    settings: Settings
    version: str
    context: Optional[dict] = None
    # OCR results of images seen before (RESULT_CACHE); page predictions only, drawn regions need pixels.
    cache: Optional[OcrCache] = None

    @property
    def interactive(self) -> bool:
        """The request asks for the text of regions already drawn (context.result), not for the page."""
        return interactive.requested(self.context)

    def plan(self, task: dict) -> List[Tuple[int, object]]:
        """The pages to load for this task, (page index, image reference), in order. An interactive
        request on a multi-page task needs only the pages its regions were drawn on."""
        sources = page_sources(task, self.tags, self.settings)
        if not (self.interactive and self.tags.value_list):
            return sources
        drawn = self._context_result()
        for rid, index in decode.without_page(drawn).items():
            logger.warning(
                "task %r: region %s: item_index %r is not a page number; skipped", task.get("id"), rid, index
            )
        pages = (decode.item_index(item) for item in drawn if isinstance(item, dict))
        wanted = {page for page in pages if page is not None}
        beyond = sorted(wanted - {index for index, _ in sources})
        if beyond:
            logger.warning(
                "task %r: regions drawn on pages %s, which the task does not have; skipped",
                task.get("id"),
                ", ".join(map(str, beyond)),
            )
        return [(index, source) for index, source in sources if index in wanted]

    def page_turns(self) -> InOrder:
        """Turns at the worker's pixel budget for pages loaded ahead in parallel, so that no page
        waits for pixels held by the pages after it (images/budget.py, InOrder)."""
        return InOrder(pixel_budget(self.settings.image_pixels_in_flight))

    def load_page(self, source, task_id, fetch: Fetch, turn: Optional[Turn] = None) -> Page:
        """One page downloaded; decoded unless the result cache already knows its bytes; its pixels
        taken from the worker's budget, in `turn` when given (the caller ends the turn)."""
        data = fetch(source, task_id)
        key = None
        if self.cache is not None and not self.interactive:
            key = OcrCache.key(data, self.version)
            hit = self.cache.get(key)
            if hit is not None:
                logger.debug("task %s: OCR result of these image bytes from the result cache", task_id)
                return Page(None, hit.width, hit.height, hit.ocr, key)
        return Page.of(_decode(data, self.settings, turn), key)

    def predict_pages(self, pages: Iterable[Tuple[int, Callable[[], Page]]], task_id=None) -> dict:
        """The prediction for one task from its pages: (page index, a call that gives the decoded
        page or raises). A single image's failure fails the task; a page's costs only that page.
        The whole task runs under TASK_TIME_BUDGET (core/time_budget.py): past it, TaskTimeout."""
        with time_budget.within(self.settings.task_time_budget):
            return self._predict_pages(pages, task_id)

    def _predict_pages(self, pages: Iterable[Tuple[int, Callable[[], Page]]], task_id=None) -> dict:
        items: List[dict] = []
        scores: List[float] = []
        drawn = 0
        for index, get in pages:
            time_budget.check(f"before page {index}")
            if not self.tags.value_list:
                loaded = get()
            else:
                try:
                    loaded = get()
                except TaskError as exc:
                    logger.warning("task %s: page %d: skipped: %s", task_id, index, exc)
                    continue
                except Exception:  # a library failure on one page must still cost only that page
                    logger.exception("task %s: page %d: skipped: unexpected error", task_id, index)
                    continue
            page = index if self.tags.value_list else None
            if self.interactive:
                assert loaded.image is not None  # drawn regions are never answered from the cache
                page_items, page_scores, found = self._drawn(loaded.image, page)
                drawn += found
            else:
                page_items, page_scores = self._page(loaded, page)
            items += page_items
            scores += page_scores
            del loaded  # a long document must not hold every page it has read
        if self.interactive and not drawn:
            logger.info(
                "task %s: interactive request without a region drawn with %s",
                task_id,
                ", ".join(g.name for g in self.tags.geometries),
            )
        return encode.prediction(items, scores, self.version)

    def run(self, task: dict, fetch: Fetch) -> dict:
        """plan + load each page + predict, for callers that take tasks one at a time."""
        task_id = task.get("id") if isinstance(task, dict) else None
        pages = [
            (index, functools.partial(self.load_page, source, task_id, fetch)) for index, source in self.plan(task)
        ]
        return self.predict_pages(pages, task_id)

    def empty(self) -> dict:
        """What a task that failed is answered with over HTTP."""
        return encode.prediction([], [], self.version)

    def _context_result(self) -> list:
        result = (self.context or {}).get("result") or []
        return result if isinstance(result, list) else []

    def _page(self, loaded: Page, page: Optional[int]) -> Tuple[List[dict], List[float]]:
        ocr = loaded.cached
        if ocr is None:
            assert loaded.image is not None
            ocr = self.engine.run(loaded.image)
            if self.cache is not None and loaded.key is not None:
                self.cache.put(loaded.key, CachedPage(loaded.width, loaded.height, ocr))
        width, height = loaded.width, loaded.height
        items = encode.encode_lines(
            ocr.lines,
            self.tags,
            width,
            height,
            self.settings.output_type,
            include_text=self.settings.include_transcription,
            label=self.settings.default_label,
            item_index=page,
        )
        return items, [line.score for line in ocr.lines]

    def _drawn(self, image: np.ndarray, page: Optional[int]) -> Tuple[List[dict], List[float], int]:
        height, width = image.shape[:2]
        regions = decode.regions(self._context_result(), width, height, self.tags, page=page)
        items, scores = interactive.predict_regions(image, regions, self.tags, self.engine, self.settings, page)
        return items, scores, len(regions)

"""PaddleOCR detection and recognition training data from Label Studio regions, written to a folder.

Output folder (every path inside the label files is relative to it, PaddleOCR's data_dir):
  images/<task>-<name>.png        each page as Label Studio shows it (EXIF orientation applied);
                                  a multi-page task (its image value a list) gives <task>-<name>-p<k>.png
                                  per page k, with the regions of that page (item_index k)
  det_gt_{train,val}.txt          images/x.png<TAB>[{"transcription": "...", "points": [[x, y], ...]}, ...]
  rec/crops/<task>-<name>_<k>.png one upright crop per transcribed region
  rec_gt_{train,val}.txt          rec/crops/x_0.png<TAB>text
The split is by page (a page's crops stay with it), seeded, so re-exporting gives the same split.
Regions without a transcription go to the detection labels as "###" (PaddleOCR's don't-care mark)
and make no crop. Where the tasks and their images come from is the command's (export_paddleocr.py).
"""

import dataclasses
import json
import logging
import os
import random
import re
import urllib.parse
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ocr_backend.core.geometry import clip_points
from ocr_backend.images.crops import crop_region, usable
from ocr_backend.labelstudio.decode import Region, pick_result, regions, without_page

logger = logging.getLogger(__name__)

IGNORE = "###"
# PaddleOCR's own crop rule: a crop this much taller than wide holds vertical text; turn it.
VERTICAL_RATIO = 1.5


@dataclasses.dataclass
class ExportSummary:
    out_dir: str = ""
    images: int = 0
    val_images: int = 0
    det_regions: int = 0
    rec_crops: int = 0
    without_result: List[Optional[int]] = dataclasses.field(default_factory=list)
    failed: List[Tuple[object, str]] = dataclasses.field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"exported {self.images} images ({self.images - self.val_images} train, {self.val_images} val), "
            f"{self.det_regions} detection regions, {self.rec_crops} recognition crops into {self.out_dir}; "
            f"{len(self.without_result)} tasks without regions to export, {len(self.failed)} failed"
        ]
        lines += [f"  task {task_id}: {error}" for task_id, error in self.failed]
        return "\n".join(lines)


def val_ids(task_ids: Sequence, fraction: float, seed: int) -> set:
    """The tasks of the val split: round(fraction * n) of them, drawn with `seed` (order-independent)."""
    ids = sorted(task_ids, key=str)
    random.Random(seed).shuffle(ids)
    return set(ids[: int(round(fraction * len(ids)))])


def det_entry(region: Region, width: int, height: int) -> dict:
    points = [[int(round(x)), int(round(y))] for x, y in clip_points(region.points, width, height)]
    return {"transcription": region.text if region.text else IGNORE, "points": points}


def line_crop(image: np.ndarray, region: Region) -> Optional[np.ndarray]:
    """The region as an upright line image (perspective-rectified for 4 points), or None if too thin."""
    crop = crop_region(image, region.points, rectified=region.rectangle)
    if not usable(crop):
        return None
    height, width = crop.image.shape[:2]
    return np.rot90(crop.image) if height >= VERTICAL_RATIO * width else crop.image


def _one_line(text: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", text).strip()


def _stem(task: dict, image_key: str) -> str:
    url = str((task.get("data") or {}).get(image_key) or "")
    name = os.path.basename(urllib.parse.urlsplit(url).path) if not url.startswith("data:") else "inline"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("d")
    if query:  # /data/local-files/?d=folder/page.png
        name = os.path.basename(query[0])
    stem = re.sub(r"[^\w.-]+", "_", os.path.splitext(name)[0])[:80] or "image"
    return f"{task.get('id')}-{stem}"


def export_tasks(
    tasks: Iterable[dict],
    out_dir: str,
    load_image: Callable[[dict], np.ndarray],
    image_key: str,
    source: str = "annotations",
    model_version: str = "",
    val_fraction: float = 0.1,
    seed: int = 0,
    progress: bool = False,
) -> ExportSummary:
    from tqdm import tqdm

    summary = ExportSummary(out_dir=out_dir)
    chosen = []
    for task in tasks:
        result = pick_result(task, source, model_version)
        if result:
            chosen.append((task, result))
        else:
            summary.without_result.append(task.get("id"))
    val = val_ids([t.get("id") for t, _ in chosen], val_fraction, seed)
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "rec", "crops"), exist_ok=True)
    det_lines: Dict[str, List[str]] = {"train": [], "val": []}
    rec_lines: Dict[str, List[str]] = {"train": [], "val": []}
    for task, result in tqdm(chosen, unit="task", disable=not progress):
        split = "val" if task.get("id") in val else "train"  # a document's pages stay together
        pages = _pages(task, image_key)
        if any(page is not None for _, page, _ in pages):  # read page by page below: warned once, here
            for rid, index in without_page(result).items():
                logger.warning(
                    "task %s: region %s: item_index %r is not a page number; not exported", task.get("id"), rid, index
                )
        for page_task, page, stem in pages:
            try:
                image = load_image(page_task)
            except Exception as exc:  # noqa: BLE001 - one unreadable image must not stop the export
                where = "" if page is None else f"page {page}: "
                summary.failed.append((task.get("id"), f"{where}{type(exc).__name__}: {exc}"))
                continue
            found = regions(result, image.shape[1], image.shape[0], page=page)
            _export_page(out_dir, image, found, stem, split, summary, det_lines, rec_lines)
    for split in ("train", "val"):
        for name, lines in ((f"det_gt_{split}.txt", det_lines[split]), (f"rec_gt_{split}.txt", rec_lines[split])):
            with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in lines))
    return summary


def _pages(task: dict, image_key: str) -> List[Tuple[dict, Optional[int], str]]:
    """(a task reading just that page, its page index or None for a single image, file stem) per page."""
    data = task.get("data") or {}
    value = data.get(image_key)
    if not isinstance(value, list):
        return [(task, None, _stem(task, image_key))]
    out: List[Tuple[dict, Optional[int], str]] = []
    for page, source in enumerate(value):
        page_task = dict(task, data=dict(data, **{image_key: source}))
        out.append((page_task, page, f"{_stem(page_task, image_key)}-p{page}"))
    return out


def _export_page(
    out_dir: str,
    image: np.ndarray,
    found: List[Region],
    stem: str,
    split: str,
    summary: ExportSummary,
    det_lines: Dict[str, List[str]],
    rec_lines: Dict[str, List[str]],
) -> None:
    """One training image, its detection line and its recognition crops."""
    height, width = image.shape[:2]
    image_path = f"images/{stem}.png"
    cv2.imwrite(os.path.join(out_dir, image_path), image)
    det_lines[split].append(
        image_path + "\t" + json.dumps([det_entry(r, width, height) for r in found], ensure_ascii=False)
    )
    summary.images += 1
    summary.val_images += split == "val"
    summary.det_regions += len(found)
    for k, region in enumerate(found):
        text = _one_line(region.text or "")
        crop = line_crop(image, region) if text else None
        if crop is None:
            continue
        crop_path = f"rec/crops/{stem}_{k}.png"
        cv2.imwrite(os.path.join(out_dir, crop_path), crop)
        rec_lines[split].append(f"{crop_path}\t{text}")
        summary.rec_crops += 1

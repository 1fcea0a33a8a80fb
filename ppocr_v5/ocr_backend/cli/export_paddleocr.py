"""`ppocr-v5 export`: a Label Studio project's regions (or a JSON export's) -> PaddleOCR training data.

The command's part: the tasks (from the project through ls_client.py, or from a --from-json file,
both read by task_format.py), the task
data key holding the image (--image-key, else guessed), and where images come from (--image-dir,
else downloaded like the backend does); paddleocr_dataset.py writes the folder (its docstring shows
the layout).
"""

import os
import re
import urllib.parse
from typing import Callable, List, Optional

import numpy as np

from ocr_backend.cli.ls_client import LabelStudioClient
from ocr_backend.cli.paddleocr_dataset import ExportSummary, export_tasks
from ocr_backend.cli.task_format import read_export_file
from ocr_backend.errors import ConfigError
from ocr_backend.settings import Settings


def _local_loader(image_dir: str, image_key: str, max_pixels: int) -> Callable[[dict], np.ndarray]:
    """Images by file name from a folder; Label Studio's upload prefix (8 hex chars + '-') is optional."""
    from ocr_backend.images.decode import decode_image

    def load(task: dict) -> np.ndarray:
        url = str((task.get("data") or {}).get(image_key) or "")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("d")
        name = os.path.basename(query[0] if query else urllib.parse.unquote(urllib.parse.urlsplit(url).path))
        for candidate in (name, re.sub(r"^[0-9a-f]{8}-", "", name)):
            path = os.path.join(image_dir, candidate)
            if candidate and os.path.isfile(path):
                with open(path, "rb") as f:
                    return decode_image(f.read(), max_pixels)
        raise FileNotFoundError(f"{name!r} is not in {image_dir}")

    return load


def _fetching_loader(settings, image_key: str) -> Callable[[dict], np.ndarray]:
    from ocr_backend.images.decode import decode_image
    from ocr_backend.images.fetch import ImageFetcher

    fetcher = ImageFetcher(settings)

    def load(task: dict) -> np.ndarray:
        data = task.get("data") or {}
        if image_key not in data:
            raise KeyError(f"task data has no {image_key!r} key (use --image-key)")
        return decode_image(fetcher.fetch(data[image_key], task.get("id")), settings.max_image_pixels)

    return load


def guess_image_key(tasks: List[dict]) -> str:
    """The one data key every task has, else the one key holding a URL or a list of page URLs in
    every task (a multi-page task also names its PDF), else "image"."""
    datas = [t.get("data") or {} for t in tasks]
    keys = {key for data in datas for key in data}
    if len(keys) == 1:
        return keys.pop()

    def image_like(value) -> bool:
        values = value if isinstance(value, list) else [value]
        return bool(values) and all(isinstance(v, str) and ("/" in v or v.startswith("data:")) for v in values)

    candidates = [key for key in sorted(keys) if all(image_like(data.get(key)) for data in datas)]
    return candidates[0] if len(candidates) == 1 else "image"


def run_export(args, settings: Settings, client: Optional[LabelStudioClient]) -> ExportSummary:
    """`settings`: the backend's, with --url and --api-key on top (images are fetched with them);
    `client`: the project's Label Studio (None with --from-json)."""
    from ocr_backend.labelstudio.label_config import parse_label_config

    if not 0.0 <= args.val_fraction < 1.0:
        raise ConfigError("--val-fraction must be in [0, 1)")
    if args.from_json:
        tasks = read_export_file(args.from_json)
        image_key = args.image_key or guess_image_key(tasks)
    else:
        assert client is not None, "main connects for --project"
        image_key = args.image_key or parse_label_config(client.label_config(args.project)).image_value
        tasks = list(client.iter_tasks(args.project, with_results=True))
    load = (
        _local_loader(args.image_dir, image_key, settings.max_image_pixels)
        if args.image_dir
        else _fetching_loader(settings, image_key)
    )
    return export_tasks(
        tasks,
        os.path.abspath(args.out),
        load,
        image_key,
        source=args.source,
        model_version=args.model_version,
        val_fraction=args.val_fraction,
        seed=args.seed,
        progress=not args.no_progress,
    )

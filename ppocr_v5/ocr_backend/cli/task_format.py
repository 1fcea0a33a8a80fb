"""The commands' one reader of Label Studio's task JSON, whichever way the tasks came.

Tasks reach the commands as SDK models (the project's task list, ls_client.py) or as the objects
of a JSON export file (`export --from-json`). Each becomes the same plain dict, with only the keys
the commands read: {"id", "data", "annotations", "predictions"} (plain data, since tasks travel to
worker processes and Ray actors). The results inside are read by labelstudio/decode.py, the
protocol layer's reader of results. Also where a multi-page task keeps its pages (`pages_key`)."""

import json
from typing import Any, List

from ocr_backend.errors import ConfigError
from ocr_backend.labelstudio.label_config import parse_xml

KEYS = ("id", "data", "annotations", "predictions")


def plain_task(task: Any, where: str = "a task") -> dict:
    """One task (an SDK model or a JSON object) as {"id", "data", "annotations", "predictions"};
    a task that is not an object with an object `data` is refused, naming `where` it came from."""
    item = task.model_dump() if hasattr(task, "model_dump") else task
    if not isinstance(item, dict) or not isinstance(item.get("data") or {}, dict):
        raise ConfigError(f"{where} is not a Label Studio task (an object with a `data` object)")
    return {
        "id": item.get("id"),
        "data": item.get("data") or {},
        "annotations": list(item.get("annotations") or []),
        "predictions": list(item.get("predictions") or []),
    }


def read_export_file(path: str) -> List[dict]:
    """The tasks of a Label Studio JSON export file (Export > JSON: a list of tasks)."""
    try:
        with open(path, encoding="utf-8") as f:
            tasks = json.load(f)
    except (OSError, ValueError) as exc:  # missing, unreadable, not UTF-8 or not JSON
        raise ConfigError(f"--from-json {path}: cannot read it ({exc})") from None
    if not isinstance(tasks, list):
        raise ConfigError(f"{path} is not a Label Studio JSON export (a list of tasks)")
    return [plain_task(task, f"{path}: item {n}") for n, task in enumerate(tasks)]


def pages_key(label_config: str) -> str:
    """The task data key of the config's multi-page Image (`<Image valueList="$pages">` -> "pages")."""
    for tag in parse_xml(label_config).iter():  # the one config parser (it refuses a DTD)
        value = (tag.get("valueList") or "").strip()
        if tag.tag == "Image" and value.startswith("$") and len(value) > 1:
            return value[1:]
    raise ConfigError(
        'the project\'s label config has no <Image valueList="$pages"> (the multi-page document '
        "template): a PDF becomes one task with a list of page images, which only such an Image shows"
    )

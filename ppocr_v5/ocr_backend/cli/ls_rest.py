"""Label Studio's REST API for `ppocr-v5 import-pdf`: upload page images, list and create tasks.

Plain `requests`, not the SDK: the SDK 2.1.2 has no call that uploads files without creating one
task per file, and the import must put many images into ONE task. The key is turned into a header
by the backend's own LabelStudioAuth (legacy token or PAT, renewed as it expires), and is only ever
sent to `url` itself: every call is a path under it, and redirects are not followed."""

import json
import xml.etree.ElementTree as ET
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import requests

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ConfigError, LabelStudioApiError, LabelStudioAuthError
from ocr_backend.images.ls_auth import LabelStudioAuth
from ocr_backend.settings import label_studio_url

PAGE_SIZE = 100


class LabelStudioRest:
    def __init__(self, url: str, api_key: str, timeout: float = 300.0):
        if not url or not api_key:
            raise ConfigError(
                "a Label Studio URL and API key are needed: pass --url and --api-key or set "
                "LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY"
            )
        # The URL is read by the backend's one strict parser and used in its canonical spelling, so
        # the host the key is sent to is the host connected to (a backslash or stray @ is refused).
        self.url = parse_url(label_studio_url("--url", url)).geturl().rstrip("/")
        self.session = requests.Session()
        self.auth = LabelStudioAuth(self.url, api_key, session=self.session)
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs) -> Any:
        """One API call; the JSON answer, or LabelStudioApiError naming the call and the status."""
        for attempt in (1, 2):
            try:
                headers = self.auth.headers()
            except LabelStudioAuthError as exc:
                raise LabelStudioApiError(str(exc)) from None
            try:
                resp = self.session.request(
                    method, self.url + path, headers=headers, timeout=self.timeout, allow_redirects=False, **kwargs
                )
            except requests.RequestException as exc:
                raise LabelStudioApiError(
                    f"{method} {path}: cannot reach Label Studio at {self.url} ({type(exc).__name__})"
                ) from None
            # A PAT's access token may be judged expired by Label Studio before our clock says so.
            if resp.status_code == 401 and self.auth.renewable and attempt == 1:
                self.auth.invalidate()
                continue
            break
        if resp.status_code in (401, 403):
            raise LabelStudioApiError(
                f"{method} {path}: Label Studio refused the key (HTTP {resp.status_code}): {self.auth.refusal_advice()}"
            )
        if not 200 <= resp.status_code < 300:
            raise LabelStudioApiError(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:500]}")
        try:
            return resp.json()
        except ValueError:
            raise LabelStudioApiError(f"{method} {path}: the answer is not JSON; is {self.url} Label Studio?") from None

    def label_config(self, project: int) -> str:
        return str(self.call("GET", f"/api/projects/{project}/").get("label_config") or "")

    def iter_tasks(self, project: int) -> Iterator[dict]:
        """Every task of the project as {"id", "data"}, page by page."""
        seen, page = 0, 1
        while True:
            body = self.call(
                "GET",
                "/api/tasks/",
                params={"project": project, "page": page, "page_size": PAGE_SIZE, "fields": "task_only"},
            )
            tasks = body.get("tasks", []) if isinstance(body, dict) else body
            for task in tasks:
                yield {"id": task["id"], "data": task.get("data") or {}}
            seen += len(tasks)
            total = body.get("total", seen) if isinstance(body, dict) else seen
            if not tasks or seen >= total:
                return
            page += 1

    def upload_images(self, project: int, files: Sequence[Tuple[str, bytes]]) -> List[str]:
        """Store images in the project WITHOUT creating tasks (`commit_to_project=false`, what
        Label Studio's own import dialog does first); returns their `/data/upload/...` URLs in order."""
        # Distinct field names: Label Studio keeps only the last file of a repeated field.
        parts = [(f"file{i}", (name, data, "image/png")) for i, (name, data) in enumerate(files)]
        body = self.call("POST", f"/api/projects/{project}/import", params={"commit_to_project": "false"}, files=parts)
        ids = list(body.get("file_upload_ids") or [])
        if len(ids) != len(files):
            raise LabelStudioApiError(f"uploading {len(files)} page images: Label Studio stored {len(ids)}")
        listed = self.call("GET", f"/api/projects/{project}/file-uploads", params={"ids": json.dumps(ids)})
        stored: Dict[int, str] = {int(item["id"]): str(item["file"]) for item in listed}
        urls = []
        for upload_id, (name, _data) in zip(ids, files):
            path = stored.get(int(upload_id), "")
            # Label Studio prefixes a random 8-character id to the name it was given.
            if not path.endswith("-" + name):
                raise LabelStudioApiError(f"upload {upload_id} of {name} is listed as {path!r}")
            urls.append("/data/" + path.lstrip("/"))  # MEDIA_URL: how tasks of uploaded images name them
        return urls

    def create_tasks(self, project: int, tasks: List[dict]) -> List[int]:
        body = self.call("POST", f"/api/projects/{project}/import", params={"return_task_ids": "true"}, json=tasks)
        ids = [int(i) for i in body.get("task_ids") or []]
        if len(ids) != len(tasks):
            raise LabelStudioApiError(f"creating {len(tasks)} tasks: Label Studio answered {len(ids)} task ids")
        return ids


def pages_key(label_config: str) -> str:
    """The task data key of the config's multi-page Image (`<Image valueList="$pages">` -> "pages")."""
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as exc:
        raise ConfigError(f"the project's label config is not XML ({exc})") from None
    for tag in root.iter():
        value = (tag.get("valueList") or "").strip()
        if tag.tag == "Image" and value.startswith("$") and len(value) > 1:
            return value[1:]
    raise ConfigError(
        'the project\'s label config has no <Image valueList="$pages"> (the multi-page document '
        "template): a PDF becomes one task with a list of page images, which only such an Image shows"
    )

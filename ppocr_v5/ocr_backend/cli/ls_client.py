"""The one Label Studio client of the commands: label-studio-sdk 2.1.2 for every call it has, the
REST helper (ls_rest.py) for the one it lacks, one way out for both.

The SDK builds the calls and reads the answers; its requests are sent by ls_rest.SdkTransport, so
they go the same way as the REST call: one key handling (images/ls_auth.py: legacy token or a
Personal Access Token, exchanged and renewed), no redirects, one error type. The SDK's own key
handling is not used: it gets a placeholder key, and the transport sets the real header.

Every failure is a LabelStudioApiError naming the call (the commands' usage error, exit 2, or the
one task's failure); tasks come out through task_format.plain_task, the commands' one task reader."""

import contextlib
import json
from typing import Any, Dict, Iterable, Iterator, List, Sequence, Set, Tuple

import httpx
from label_studio_sdk import ImportApiRequest, LabelStudio
from label_studio_sdk.core.api_error import ApiError

from ocr_backend.cli.ls_rest import LabelStudioRest, SdkTransport, refused
from ocr_backend.cli.task_format import plain_task
from ocr_backend.errors import LabelStudioApiError
from ocr_backend.settings import Settings

PAGE_SIZE = 100
# Not a key: a legacy-looking placeholder, so the SDK neither exchanges nor checks anything itself.
_SDK_KEY = "set-by-the-transport"


class LabelStudioClient:
    def __init__(self, url: str, api_key: str, timeout: float = 300.0):
        self.rest = LabelStudioRest(url, api_key, timeout)
        self.url = self.rest.url
        # Retries stay ours to decide: a repeated POST could create a task or prediction twice.
        http = httpx.Client(transport=SdkTransport(self.rest), follow_redirects=False, timeout=timeout)
        self.sdk = LabelStudio(base_url=self.url, api_key=_SDK_KEY, httpx_client=http, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> "LabelStudioClient":
        return cls(settings.label_studio_url, settings.label_studio_api_key)

    @contextlib.contextmanager
    def _call(self, call: str):
        """Turns what the SDK raises into the one LabelStudioApiError of the commands."""
        try:
            yield
        except ApiError as exc:
            if exc.status_code is not None and 200 <= exc.status_code < 300:
                raise LabelStudioApiError(f"{call}: the answer is not JSON; is {self.url} Label Studio?") from None
            raise refused(call, exc.status_code or 0, exc.body, self.rest.auth) from None

    def label_config(self, project: int) -> str:
        with self._call(f"GET /api/projects/{project}/"):
            return str(self.sdk.projects.get(id=project).label_config or "")

    def iter_tasks(self, project: int, with_results: bool = False) -> Iterator[dict]:
        """Every task of the project, page by page (task_format.plain_task); their annotations and
        predictions only `with_results` (what the export needs)."""
        fields = "all" if with_results else "task_only"
        with self._call("GET /api/tasks/"):
            pages: Iterable[Any] = self.sdk.tasks.list(project=project, page_size=PAGE_SIZE, fields=fields)
            for task in pages:
                yield plain_task(task, f"task {getattr(task, 'id', '?')} of project {project}")

    def tasks_with_version(self, project: int, version: str) -> Set[int]:
        """Ids of the tasks that already hold a prediction with this model_version."""
        with self._call("GET /api/predictions/"):
            return {int(p.task) for p in self.sdk.predictions.list(project=project) if p.model_version == version}

    def backend_versions(self, project: int) -> Dict[str, str]:
        """Title -> model_version of the ML backends connected to the project (to warn on a mismatch)."""
        with self._call("GET /api/ml/"):
            return {str(ml.title or ml.url): str(ml.model_version or "") for ml in self.sdk.ml.list(project=project)}

    def write_prediction(self, task_id: int, prediction: dict) -> None:
        with self._call("POST /api/predictions/"):
            self.sdk.predictions.create(
                task=task_id,
                result=prediction["result"],
                score=prediction["score"],
                model_version=prediction["model_version"],
            )

    def create_tasks(self, project: int, tasks: List[dict]) -> List[int]:
        with self._call(f"POST /api/projects/{project}/import"):
            body = self.sdk.projects.import_tasks(
                id=project, request=[ImportApiRequest(**task) for task in tasks], return_task_ids=True
            )
        ids = [int(i) for i in getattr(body, "task_ids", None) or []]
        if len(ids) != len(tasks):
            raise LabelStudioApiError(f"creating {len(tasks)} tasks: Label Studio answered {len(ids)} task ids")
        return ids

    def upload_images(self, project: int, files: Sequence[Tuple[str, bytes]]) -> List[str]:
        """Store PNG images in the project WITHOUT creating tasks (the REST helper: the SDK cannot);
        returns their `/data/upload/...` URLs in order."""
        ids = self.rest.upload_files(project, files, "image/png")
        with self._call(f"GET /api/projects/{project}/file-uploads"):
            listed = self.sdk.files.list(id=project, ids=json.dumps(ids))
        stored: Dict[int, str] = {int(item.id or 0): str(item.file or "") for item in listed}
        urls = []
        for upload_id, (name, _data) in zip(ids, files):
            path = stored.get(int(upload_id), "")
            # Label Studio prefixes a random 8-character id to the name it was given.
            if not path.endswith("-" + name):
                raise LabelStudioApiError(f"upload {upload_id} of {name} is listed as {path!r}")
            urls.append("/data/" + path.lstrip("/"))  # MEDIA_URL: how tasks of uploaded images name them
        return urls

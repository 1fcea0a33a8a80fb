"""Label Studio project access through the SDK: label config, tasks, predictions.

label-studio-sdk 2.x `LabelStudio(base_url, api_key)` accepts a legacy token or a Personal Access
Token (it exchanges the PAT itself). Tasks come back as SDK models; we hand plain dicts on, since
they travel to worker processes and Ray actors."""

from typing import Dict, Iterator, Set

from ocr_backend.errors import ConfigError

PAGE_SIZE = 100


def connect(url: str, api_key: str):
    if not url or not api_key:
        raise ConfigError(
            "a Label Studio URL and API key are needed: pass --url and --api-key or set "
            "LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY"
        )
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=url, api_key=api_key)


def _plain(model) -> dict:
    return model.model_dump() if hasattr(model, "model_dump") else dict(model)


def label_config(client, project: int) -> str:
    return client.projects.get(id=project).label_config


def iter_tasks(client, project: int, with_annotations: bool = False) -> Iterator[dict]:
    """Every task of the project, in id order, as {"id", "data"} (plus annotations and predictions
    when asked: what the export needs)."""
    fields = "all" if with_annotations else None
    for task in client.tasks.list(project=project, page_size=PAGE_SIZE, fields=fields):
        item = _plain(task)
        keep = ("id", "data", "annotations", "predictions") if with_annotations else ("id", "data")
        yield {key: item.get(key) for key in keep}


def tasks_with_version(client, project: int, version: str) -> Set[int]:
    """Ids of the tasks that already hold a prediction with this model_version."""
    return {p.task for p in client.predictions.list(project=project) if p.model_version == version}


def backend_versions(client, project: int) -> Dict[str, str]:
    """Title -> model_version of the ML backends connected to the project (to warn on a mismatch)."""
    return {str(ml.title or ml.url): str(ml.model_version or "") for ml in client.ml.list(project=project)}


def write_prediction(client, task_id: int, prediction: dict) -> None:
    client.predictions.create(
        task=task_id, result=prediction["result"], score=prediction["score"], model_version=prediction["model_version"]
    )

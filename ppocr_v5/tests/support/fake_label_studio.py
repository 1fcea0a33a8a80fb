"""A Label Studio 1.23 the commands can talk to without one running: the real client
(cli/ls_client.py) with its session answered by requests-mock, and a page as a data URI."""

import base64

import cv2
import numpy as np
import requests_mock

from ocr_backend.cli.ls_client import LabelStudioClient

from tests.support.corpus import POLYGON_CONFIG


def png_uri(width=60, height=20):
    ok, data = cv2.imencode(".png", np.full((height, width, 3), 255, np.uint8))
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


class FakeClient(LabelStudioClient):
    """The real client, its session answered by requests-mock the way Label Studio 1.23 answers the
    calls `annotate` makes (a task page past the last is 404, as Label Studio answers it)."""

    URL = "http://ls.test:8080"

    def __init__(self, tasks, predicted=(), refuse=(), config=POLYGON_CONFIG, key="legacy-token"):
        super().__init__(self.URL, key)
        self.tasks, self.predicted, self.refuse, self.config = list(tasks), list(predicted), set(refuse), config
        self.written = []
        mock = requests_mock.Adapter()
        self.rest.session.mount(self.URL, mock)
        mock.register_uri(
            "GET", f"{self.URL}/api/projects/7/", json=lambda r, c: {"id": 7, "label_config": self.config}
        )
        mock.register_uri("GET", f"{self.URL}/api/ml/", json=[])
        mock.register_uri("GET", f"{self.URL}/api/tasks/", json=self._tasks)
        mock.register_uri("GET", f"{self.URL}/api/predictions/", json=self._predictions)
        mock.register_uri("POST", f"{self.URL}/api/predictions/", json=self._create)

    def _tasks(self, request, context):
        assert request.qs["project"] == ["7"] and request.headers["Authorization"] == "Token legacy-token"
        page, size = int(request.qs["page"][0]), int(request.qs["page_size"][0])
        if page > 1 and (page - 1) * size >= len(self.tasks):
            context.status_code = 404
            return {"detail": "Invalid page."}
        return {"tasks": self.tasks[(page - 1) * size : page * size], "total": len(self.tasks)}

    def _predictions(self, request, context):
        return [{"id": n, "task": t, "model_version": v, "result": []} for n, (t, v) in enumerate(self.predicted)]

    def _create(self, request, context):
        body = request.json()
        if body["task"] in self.refuse:
            context.status_code = 400
            return {"detail": "refused"}
        self.written.append((body["task"], body["model_version"], body["result"]))
        context.status_code = 201
        return dict(body, id=len(self.written))

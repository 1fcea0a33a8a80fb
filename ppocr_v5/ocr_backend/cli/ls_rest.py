"""The commands' one HTTP path to Label Studio, and the one call label-studio-sdk 2.1.2 lacks.

Every request of the commands, the SDK's included (ls_client.py hands the SDK `SdkTransport`), goes
out through `LabelStudioRest.send`, so there is one place that:
  * spells the URL: read by the backend's strict parser and used canonically, so the host the key
    goes to is the host connected to (a backslash or stray @ is refused), and every call is a path
    under it (a URL elsewhere is refused before anything is sent);
  * authenticates: images/ls_auth.py turns the key into the header (legacy token, or a Personal
    Access Token exchanged and renewed; a 401 to a PAT's access token renews it once);
  * never follows a redirect (the key would go with it);
  * maps failures to LabelStudioApiError with the call, the status and what to fix, never the key.
It is a requests session because images/ls_auth.py, shared with the backend's image fetcher, runs
the PAT exchange on one: the exchange and the calls share it, and one requests-mock or local server
answers both in the tests.

What the SDK lacks, and so is plain REST here: `upload_files`, the multipart POST that stores files
in a project WITHOUT creating tasks (`/api/projects/{id}/import?commit_to_project=false`, what Label
Studio's own import dialog does first). The SDK's `projects.import_tasks` sends JSON tasks only, and
its `files` client lists, replaces and deletes uploads that exist but cannot make one; import-pdf
needs the pages of one PDF stored as files of ONE task."""

import json
from typing import Any, Optional, Sequence, Tuple

import httpx
import requests

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ConfigError, LabelStudioApiError, LabelStudioAuthError
from ocr_backend.images.ls_auth import LabelStudioAuth
from ocr_backend.settings import label_studio_url

# What requests sets itself, or what describes bytes requests has already decoded.
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


def refused(call: str, status: int, body: Any, auth: LabelStudioAuth) -> LabelStudioApiError:
    """The one error for a call Label Studio answered with a non-2xx status."""
    if status in (401, 403):
        return LabelStudioApiError(f"{call}: Label Studio refused the key (HTTP {status}): {auth.refusal_advice()}")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)  # the SDK parses it
    return LabelStudioApiError(f"{call}: HTTP {status}: {text[:500]}")


class LabelStudioRest:
    def __init__(self, url: str, api_key: str, timeout: float = 300.0):
        if not url or not api_key:
            raise ConfigError(
                "a Label Studio URL and API key are needed: pass --url and --api-key or set "
                "LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY"
            )
        self.url = parse_url(label_studio_url("--url", url)).geturl().rstrip("/")
        self.session = requests.Session()
        self.auth = LabelStudioAuth(self.url, api_key, session=self.session)
        self.timeout = timeout

    def send(self, method: str, path: str, headers: Optional[dict] = None, **kwargs) -> requests.Response:
        """One request to `path` under self.url with the key; the answer whatever its status, or
        LabelStudioApiError when none came or the key cannot be used."""
        call = f"{method} {path.split('?')[0]}"
        for attempt in (1, 2):
            try:
                sent = dict(headers or {}, **self.auth.headers())
            except LabelStudioAuthError as exc:
                raise LabelStudioApiError(str(exc)) from None
            try:
                resp = self.session.request(
                    method, self.url + path, headers=sent, timeout=self.timeout, allow_redirects=False, **kwargs
                )
            except requests.RequestException as exc:
                raise LabelStudioApiError(
                    f"{call}: cannot reach Label Studio at {self.url} ({type(exc).__name__})"
                ) from None
            # A PAT's access token may be judged expired by Label Studio before our clock says so.
            if resp.status_code == 401 and self.auth.renewable and attempt == 1:
                self.auth.invalidate()
                continue
            return resp
        raise AssertionError("unreachable: the second attempt returns")

    def call(self, method: str, path: str, **kwargs) -> Any:
        """One REST call; the JSON answer, or LabelStudioApiError naming the call and the status."""
        resp = self.send(method, path, **kwargs)
        call = f"{method} {path}"
        if not 200 <= resp.status_code < 300:
            raise refused(call, resp.status_code, resp.text, self.auth)
        try:
            return resp.json()
        except ValueError:
            raise LabelStudioApiError(f"{call}: the answer is not JSON; is {self.url} Label Studio?") from None

    def upload_files(self, project: int, files: Sequence[Tuple[str, bytes]], mime: str) -> list:
        """Store files in the project without creating tasks; their upload ids, in order."""
        # Distinct field names: Label Studio keeps only the last file of a repeated field.
        parts = [(f"file{i}", (name, data, mime)) for i, (name, data) in enumerate(files)]
        body = self.call("POST", f"/api/projects/{project}/import", params={"commit_to_project": "false"}, files=parts)
        ids = list(body.get("file_upload_ids") or []) if isinstance(body, dict) else []
        if len(ids) != len(files):
            raise LabelStudioApiError(f"uploading {len(files)} files: Label Studio stored {len(ids)}")
        return ids


class SdkTransport(httpx.BaseTransport):
    """Hands the SDK's requests to `LabelStudioRest.send`: the SDK builds the calls and reads the
    answers, our one path sends them (same key handling, no redirects, same errors)."""

    def __init__(self, rest: LabelStudioRest):
        self.rest = rest

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        base, url = str(httpx.URL(self.rest.url + "/")), str(request.url)
        if not url.startswith(base):
            raise LabelStudioApiError(f"{request.method} {url}: not under {self.rest.url}; not sent")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS | {"authorization"}}
        resp = self.rest.send(request.method, url[len(base) - 1 :], headers=headers, data=request.read())
        kept = [(k, v) for k, v in resp.headers.items() if k.lower() not in _HOP_HEADERS]
        return httpx.Response(resp.status_code, headers=kept, content=resp.content, request=request)

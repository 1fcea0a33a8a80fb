"""A throw-away Label Studio server and a small REST client for the calls the scenarios make."""

import mimetypes
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import requests

from tests.support.ports import free_port
from tests.support.processes import Child, log_tail

# The pinned version names the cached data dir: a new LS version must migrate its own.
LS_VERSION = re.search(
    r"^label-studio==(\S+)", (Path(__file__).resolve().parents[1] / "requirements-ls.txt").read_text(), re.M
).group(1)
USERNAME = "e2e@example.com"
PASSWORD = "e2e-password-1"
# The legacy token is the one `label-studio start --user-token` gives the first user.
LEGACY_TOKEN = "e2elegacytoken0123456789"


def _ls_env(data_dir: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "DJANGO_"))}
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            # Loopback ML backends and image hosts are exactly what the suite uses.
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            # No calls home: the PyPI version check, analytics, Sentry.
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            # A batch of a few pages on 2 shared cores can take a while; LS's default is 100 s.
            "ML_TIMEOUT_PREDICT": "300",
            # The backend answers /health and /setup from another thread while it predicts, but a
            # loaded CI box can still miss LS's 1-3 s defaults.
            "ML_TIMEOUT_HEALTH": "10",
            "ML_TIMEOUT_SETUP": "15",
            "ML_CONNECTION_TIMEOUT": "5",
            # Regions on the pages of an <Image valueList> (item_index) need this editor flag. 1.23.2
            # lists it among its stale flags, forced on whatever the environment says; set anyway
            # so a Label Studio where it is still a live flag (off by default) behaves the same.
            # test_e2e_pdf.py checks the editor receives it on.
            "fflag_feat_front_lsdv_4583_multi_image_segmentation_short": "true",
        }
    )
    return env


class LabelStudioServer:
    """`label-studio start` on a free loopback port with a temporary data dir.

    The first start of a version runs ~45 s of migrations; its fresh data dir (database with the user
    and its legacy token, SECRET_KEY) is kept under `cache_dir` and copied for later runs, which then
    start in a few seconds. Nothing a run creates goes back into the cache."""

    def __init__(self, venv: Path, cache_dir: Path, log_dir: Path):
        self.exe = venv / "bin" / "label-studio"
        self.template = cache_dir / f"ls-{LS_VERSION}-datadir"
        self.log_dir = log_dir
        self.proc: Optional[Child] = None
        self.data_dir: Optional[Path] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _launch(self, data_dir: Path, log_name: str) -> Child:
        for _attempt in range(3):
            self.port = free_port()
            argv = [
                str(self.exe),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--username",
                USERNAME,
                "--password",
                PASSWORD,
                "--user-token",
                LEGACY_TOKEN,
            ]
            log = self.log_dir / log_name
            offset = log.stat().st_size if log.exists() else 0
            proc = Child("label-studio", argv, log, cwd=data_dir, env=_ls_env(data_dir), die_with_parent=True)
            # LS quietly moves to the next port when ours was taken in the meantime; then another
            # server may answer on ours. Go by the port it says it bound, and retry on a mismatch.
            bound = self._bound_port(proc, offset)
            if bound == self.port:
                proc.wait_http(f"{self.url}/version", timeout=120)
                return proc
            proc.stop(timeout=30)
        raise RuntimeError(f"label-studio did not bind the port it was given (3 tries); see {log}")

    @staticmethod
    def _bound_port(proc: Child, offset: int, timeout: float = 240) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(proc.log, "rb") as fh:
                fh.seek(offset)
                m = re.search(rb"Starting development server at http://[^:/]+:(\d+)/", fh.read())
            if m:
                return int(m.group(1))
            if not proc.alive():
                raise RuntimeError(
                    f"label-studio exited with {proc.popen.returncode} during start; "
                    f"log {proc.log}:\n{log_tail(proc.log)}"
                )
            time.sleep(0.5)
        proc.stop()
        raise RuntimeError(f"label-studio did not start within {timeout:.0f} s; log {proc.log}:\n{log_tail(proc.log)}")

    def _build_template(self) -> None:
        staging = Path(tempfile.mkdtemp(prefix="ls-template-", dir=self.template.parent))
        proc = self._launch(staging, "label-studio-first-start.log")
        proc.stop(timeout=30)
        for junk in ("media/upload", "export"):
            shutil.rmtree(staging / junk, ignore_errors=True)
        try:
            staging.rename(self.template)
        except OSError:  # another run won the race; use theirs
            shutil.rmtree(staging, ignore_errors=True)

    def start(self) -> None:
        if not self.exe.exists():
            raise RuntimeError(f"{self.exe} is missing: run `make e2e-deps` (or e2e/setup.sh) first")
        self.template.parent.mkdir(parents=True, exist_ok=True)
        if not (self.template / "label_studio.sqlite3").exists():
            self._build_template()
        self.data_dir = Path(tempfile.mkdtemp(prefix="e2e-ls-"))
        shutil.copytree(self.template, self.data_dir, dirs_exist_ok=True)
        self.proc = self._launch(self.data_dir, "label-studio.log")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(timeout=30)
            self.proc = None
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


class LSClient:
    """REST calls against one Label Studio with one Authorization header."""

    def __init__(self, url: str, auth_header: str):
        self.url = url.rstrip("/")
        self.s = requests.Session()
        self.s.headers["Authorization"] = auth_header

    def req(self, method: str, path: str, expect: Sequence[int] = (200, 201), timeout: float = 330, **kw):
        r = self.s.request(method, self.url + path, timeout=timeout, **kw)
        if r.status_code not in expect:
            raise AssertionError(f"{method} {path} -> {r.status_code}: {r.text[:1000]}")
        return r.json() if r.content and "json" in r.headers.get("content-type", "") else r

    # --- projects and tasks ---------------------------------------------------------------------
    def create_project(self, title: str, label_config: str) -> int:
        return self.req("POST", "/api/projects/", json={"title": title, "label_config": label_config})["id"]

    def upload_files(self, project: int, paths: Iterable[Path]) -> List[int]:
        """Upload images as files (task data becomes /data/upload/... URLs that need auth)."""
        files = []
        handles = []
        try:
            for i, p in enumerate(paths):
                fh = open(p, "rb")
                handles.append(fh)
                # Distinct field names: LS keeps only the last file of a repeated field.
                files.append((f"file{i}", (p.name, fh, mimetypes.guess_type(p.name)[0] or "image/png")))
            r = self.req("POST", f"/api/projects/{project}/import", params={"return_task_ids": "true"}, files=files)
        finally:
            for fh in handles:
                fh.close()
        return list(r["task_ids"])

    def import_tasks(self, project: int, tasks: List[dict]) -> List[int]:
        r = self.req("POST", f"/api/projects/{project}/import", params={"return_task_ids": "true"}, json=tasks)
        return list(r["task_ids"])

    def tasks(self, project: int) -> List[dict]:
        r = self.req("GET", "/api/tasks/", params={"project": project, "page_size": 1000, "fields": "all"})
        return r["tasks"] if isinstance(r, dict) else r

    def task(self, task_id: int) -> dict:
        return self.req("GET", f"/api/tasks/{task_id}/")

    # --- ML backend -----------------------------------------------------------------------------
    def add_ml_backend(self, project: int, url: str, title: str = "PP-OCRv5") -> dict:
        ml = self.req("POST", "/api/ml", json={"url": url, "project": project, "is_interactive": True, "title": title})
        return ml

    def ml_backend(self, ml_id: int) -> dict:
        return self.req("GET", f"/api/ml/{ml_id}")

    def retrieve_predictions(self, project: int, task_ids: Sequence[int]) -> dict:
        """The Data Manager's "Retrieve predictions" action: LS calls /setup then one batched /predict
        and stores what comes back, before it answers."""
        return self.req(
            "POST",
            "/api/dm/actions",
            params={"id": "retrieve_tasks_predictions", "project": project},
            json={"selectedItems": {"all": False, "included": list(task_ids)}},
        )

    def predictions(self, project: int) -> List[dict]:
        r = self.req("GET", "/api/predictions/", params={"project": project})
        return r["results"] if isinstance(r, dict) and "results" in r else r

    def predictions_by_task(self, project: int) -> Dict[int, List[dict]]:
        out: Dict[int, List[dict]] = {}
        for p in self.predictions(project):
            out.setdefault(p["task"], []).append(p)
        return out

    def interactive_annotating(self, ml_id: int, task_id: int, context: Optional[dict] = None) -> dict:
        return self.req(
            "POST", f"/api/ml/{ml_id}/interactive-annotating", json={"task": task_id, "context": context or {}}
        )

    def default_view(self, project: int) -> int:
        """A Data Manager tab id for /projects/N/data?tab=ID (the UI makes one on first visit)."""
        views = self.req("GET", "/api/dm/views/", params={"project": project})
        if views:
            return views[0]["id"]
        return self.req("POST", "/api/dm/views/", json={"project": project, "data": {"title": "Default"}})["id"]


# --- tokens without a browser -------------------------------------------------------------------


def login_session(url: str, email: str = USERNAME, password: str = PASSWORD) -> requests.Session:
    """The login form, as a browser submits it (csrf cookie + form field)."""
    s = requests.Session()
    s.get(f"{url}/user/login/", timeout=30).raise_for_status()
    r = s.post(
        f"{url}/user/login/",
        data={"email": email, "password": password, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
        headers={"Referer": f"{url}/user/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if r.status_code not in (301, 302) or "sessionid" not in s.cookies:
        raise AssertionError(f"login as {email} failed: HTTP {r.status_code} {r.text[:300]}")
    return s


def create_personal_access_token(url: str) -> str:
    """A Personal Access Token (a long-lived JWT refresh token) as the account page creates it."""
    s = login_session(url)
    r = s.post(f"{url}/api/token/", headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": url}, timeout=30)
    if r.status_code not in (200, 201):
        raise AssertionError(f"POST /api/token/ -> {r.status_code}: {r.text[:300]}")
    return r.json()["token"]


def access_token(url: str, pat: str) -> str:
    """Exchange a PAT for a short-lived (5 min) access token."""
    r = requests.post(f"{url}/api/token/refresh/", json={"refresh": pat}, timeout=30)
    if r.status_code != 200:
        raise AssertionError(f"POST /api/token/refresh/ -> {r.status_code}: {r.text[:300]}")
    return r.json()["access"]


def set_legacy_tokens(url: str, pat: str, enabled: bool) -> None:
    """Organization setting that 1.23 ships off: whether `Token <legacy>` is accepted at all."""
    hdr = {"Authorization": f"Bearer {access_token(url, pat)}"}
    cur = requests.get(f"{url}/api/jwt/settings", headers=hdr, timeout=30)
    if cur.status_code != 200:
        raise AssertionError(f"GET /api/jwt/settings -> {cur.status_code}: {cur.text[:300]}")
    body = dict(cur.json(), legacy_api_tokens_enabled=enabled)
    r = requests.post(f"{url}/api/jwt/settings", headers=hdr, json=body, timeout=30)
    if r.status_code not in (200, 201):
        raise AssertionError(f"POST /api/jwt/settings -> {r.status_code}: {r.text[:300]}")

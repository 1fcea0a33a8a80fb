"""Session fixtures for the end-to-end suite: one real Label Studio, backends per configuration,
a loopback image host. Everything is started here and stopped at the end of the session.

Nothing is skipped: a missing piece (LS venv, chromium, weights, corpus) fails with what to run."""

import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict

import pytest

from harness.common import (
    ARTIFACTS,
    CACHE,
    CORPUS,
    EN_PAGES,
    LOGS,
    REPO,
    VENV_LS,
    page_image,
)
from harness.labelstudio import (
    LEGACY_TOKEN,
    LabelStudioServer,
    LSClient,
    create_personal_access_token,
    set_legacy_tokens,
)
from tests.support.hosts import Recorder, folder_host
from tests.support.launcher import Backend

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_deps() -> None:
    """Install or verify .venv-ls (LS + Playwright) and chromium; a warm re-run is a no-op."""
    t0 = time.monotonic()
    r = subprocess.run(["bash", str(HERE / "setup.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(
            f"e2e/setup.sh failed ({r.returncode}); run `make e2e-deps`:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}",
            pytrace=False,
        )
    missing = [p for p in (page_image(EN_PAGES[0]), REPO / "models") if not p.exists()]
    if missing:
        pytest.fail(
            f"missing {missing}: the corpus belongs at <repo>/../shared/corpus (or set E2E_CORPUS) "
            f"and the weights come from `make models`",
            pytrace=False,
        )
    print(f"[e2e] deps ready in {time.monotonic() - t0:.1f} s")


class LabelStudio:
    """The running server plus its credentials."""

    def __init__(self, server: LabelStudioServer, pat: str):
        self.server = server
        self.url = server.url
        self.pat = pat
        self.legacy_token = LEGACY_TOKEN
        self.api = LSClient(server.url, f"Token {LEGACY_TOKEN}")


@pytest.fixture(scope="session")
def label_studio(e2e_deps) -> LabelStudio:
    server = LabelStudioServer(VENV_LS, CACHE, LOGS)
    t0 = time.monotonic()
    try:
        server.start()
        print(f"[e2e] Label Studio up at {server.url} in {time.monotonic() - t0:.1f} s")
        pat = create_personal_access_token(server.url)
        # 1.23 creates organizations with legacy tokens off; turn them on the way an admin would,
        # through the API, so that `Token <legacy>` works for the suite and the legacy-token backend.
        set_legacy_tokens(server.url, pat, True)
        yield LabelStudio(server, pat)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def backends(label_studio) -> Callable[..., Backend]:
    """backends(name, **env) -> a running backend (tests.support's launcher: gunicorn as `make serve`
    runs it), one per distinct name for the whole session."""
    running: Dict[str, Backend] = {}

    def get(name: str, **env: str) -> Backend:
        if name not in running:
            full_env = {
                "WORKERS": "1",
                "LOG_LEVEL": "INFO",
                "LABEL_STUDIO_URL": label_studio.url,
                "LABEL_STUDIO_API_KEY": label_studio.legacy_token,
                **env,
            }
            t0 = time.monotonic()
            # die_with_parent: a suite killed mid-run leaves no backend behind.
            server = Backend(LOGS / f"backend-{name}.log", full_env, name=f"backend {name}", die_with_parent=True)
            running[name] = server.wait_ready(120)
            print(f"[e2e] backend {name} up at {server.url} in {time.monotonic() - t0:.1f} s")
        return running[name]

    try:
        yield get
    finally:
        for b in running.values():
            # SIGINT: gunicorn's quick shutdown; nothing in a backend is worth waiting long for.
            b.stop(timeout=5, sig=signal.SIGINT)


@pytest.fixture(scope="session")
def backend(backends) -> Backend:
    """The default backend: OUTPUT_TYPE unset (polygon), API key = the user's legacy token."""
    return backends("legacy")


@pytest.fixture(scope="session")
def image_host() -> Recorder:
    """The corpus images on a loopback host, as an external image host (S3, a CDN) serves them,
    with the CORS header the labeling UI needs; `requested` lists (path, status) of every request."""
    host = folder_host(CORPUS / "public" / "images", cors=True)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def corpus_score_log(artifacts):
    """Collects the text-quality summaries and writes them to artifacts/e2e/scores.json."""
    log = {"corpus": CORPUS, "rows": []}
    yield log
    import json

    rows = [{"config": kind, "page_ids": list(pages), **summary} for kind, pages, summary in log["rows"]]
    (artifacts / "scores.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))

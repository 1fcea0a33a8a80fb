"""Gunicorn settings, read from the environment (the same names in make serve and Docker)."""

import os
import sys

from ocr_backend.errors import ConfigError
from ocr_backend.settings import GunicornSettings

try:  # HOST, PORT, WORKERS, THREADS, GUNICORN_TIMEOUT, LOG_LEVEL: ocr_backend/settings/gunicorn.py
    _server = GunicornSettings.from_env()
except ConfigError as exc:  # the message and exit 2, as on_starting below, not gunicorn's traceback
    sys.stderr.write(f"ppocr_v5: configuration error: {exc}\n")
    sys.exit(2)

bind = _server.bind
workers = _server.workers
# Threads let /health and /setup answer while a long /predict runs; OCR itself is serialised
# per process by a lock, so more threads do not oversubscribe the cores.
threads = _server.threads
# uvicorn's worker (h11 parses every request) with the Flask app in THREADS threads, each given a
# request only once all of it has arrived, auth checked on its head (web/http_server.py).
worker_class = "ocr_backend.web.http_server.Worker"
# A worker whose main loop stops checking in (not a long /predict: threads run those) is restarted.
timeout = _server.gunicorn_timeout
graceful_timeout = 30
# No preload: each worker builds its own pipeline lazily (CUDA does not survive fork).
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = _server.log_level
# gunicorn 27 opens one control socket per user (~/.gunicorn/gunicorn.ctl) shared by every
# instance on the machine; we use none of its commands, and several backends may run side by side.
control_socket_disable = True


def _malloc_settings():
    """glibc: blocks of 128 KB or more always mmapped and returned when freed, in the master and so in
    every forked worker (workers stayed ~300 MB higher without it; docs/speed.md, Memory). A
    MALLOC_MMAP_THRESHOLD_ of the operator's own is left to glibc."""
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        from ocr_backend.images.budget import fix_mmap_threshold

        fix_mmap_threshold(128 * 1024)


_malloc_settings()


def on_starting(server):
    """Check the settings and model folders in the master, before any worker forks, and settle the
    second recogniser (ocr/recognizers.settle_second_model) for all of them.

    A worker that exits at import (what _wsgi.py does on a bad setting) is otherwise respawned by
    the master forever; failing here makes gunicorn itself exit non-zero with the message.
    """
    import sys

    from ocr_backend.errors import ConfigError
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.ocr.recognizers import settle_second_model
    from ocr_backend.settings import Settings

    try:
        settings = Settings.from_env()
        OcrEngine(settings)  # parses every variable and checks the model folders; loads nothing
        # The second recogniser's weights are fetched here, once, where MODEL_DIR lacks them; where they
        # cannot be had, every worker reads (and versions its predictions) as REC_SECOND_MODEL=none.
        settled = settle_second_model(settings)
        if settled.rec_second_model != settings.rec_second_model:
            os.environ["REC_SECOND_MODEL"] = settled.rec_second_model
    except ConfigError as exc:
        sys.stderr.write(f"ppocr_v5: configuration error: {exc}\n")
        sys.exit(2)


def post_worker_init(worker):
    """Tell the app how many threads this worker has: /predict admits at most THREADS - 1 requests,
    so one thread is always free for Label Studio's /health and /setup (web/limits.py)."""
    from ocr_backend.web import limits

    limits.set_server_threads(worker.cfg.threads)
    if worker.cfg.threads < 2:
        worker.log.warning("THREADS=%d: /health can wait behind a /predict; use THREADS >= 2", worker.cfg.threads)

"""Fixtures shared by ppocr_v5/test_api.py and ppocr_v5/tests/: a loopback image server and the app."""

import functools
import http.server
import os
import threading

import pytest

from corpus import PUBLIC  # also sets MODEL_DIR for the app before it is imported
from fast_lane import pytest_addoption, pytest_collection_modifyitems, pytest_configure  # noqa: F401 (--fast)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def image_server():
    """Serves ../shared/corpus/public/images on a free loopback port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=os.path.join(PUBLIC, "images"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def app_client():
    """The real WSGI app of _wsgi.py (stock label-studio-ml app + our extensions)."""
    import _wsgi

    _wsgi.app.testing = True
    return _wsgi.app.test_client()

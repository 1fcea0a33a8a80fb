"""Fixtures shared by the test suite (ppocr_v5/tests/): a loopback image server and the app."""

import os

import pytest

from tests.support.corpus import PUBLIC  # also sets MODEL_DIR for the app before it is imported
from tests.support.fast_lane import (  # noqa: F401 (--fast)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
)
from tests.support.hosts import folder_host


@pytest.fixture(scope="session")
def image_server():
    """Serves ../shared/corpus/public/images on a free loopback port; yields its base URL."""
    host = folder_host(os.path.join(PUBLIC, "images"))
    yield host.url
    host.close()


@pytest.fixture(scope="session")
def app_client():
    """The real WSGI app of _wsgi.py (stock label-studio-ml app + our extensions)."""
    import _wsgi

    _wsgi.app.testing = True
    return _wsgi.app.test_client()

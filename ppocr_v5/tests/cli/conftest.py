"""Fixtures of the command tests."""

import pytest
import requests_mock

from tests.support.pdf_import import FakeLabelStudio


@pytest.fixture
def ls():
    with requests_mock.Mocker() as mocker:
        yield FakeLabelStudio(mocker)

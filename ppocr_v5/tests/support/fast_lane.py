"""`pytest --fast` (make test-fast): the unit and golden tests, without servers and without weights.

The lane leaves out what `slow` and `e2e` mark (a backend under gunicorn, Label Studio, a browser,
the real pipeline), and skips, while it runs, any other test that opens a model: an onnxruntime
session or a Paddle predictor (PaddleX builds every model of a pipeline with one or the other).
So the lane stays free of weights without a list to keep up to date; `make test` runs everything.
The guard goes onto those modules when they are first imported, so the lane never imports Paddle
itself (its thread settings are read once, by whoever imports it first).
"""

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Callable, Dict

import pytest

LEFT_OUT = ("slow", "e2e")
REASON = "opens model weights: not in the fast lane (make test runs it)"


def pytest_addoption(parser):
    parser.addoption(
        "--fast",
        action="store_true",
        help="the fast lane: leave out slow and e2e tests, skip any test that opens model weights",
    )


def pytest_configure(config):
    if config.getoption("fast"):
        _guard_on_import({"onnxruntime": _guard_onnxruntime, "paddle.inference": _guard_paddle})


@pytest.hookimpl(trylast=True)  # after the hooks that add markers (e2e/conftest.py marks its tests e2e)
def pytest_collection_modifyitems(config, items):
    if not config.getoption("fast"):
        return
    kept: list = []
    left_out: list = []
    for item in items:
        (left_out if any(item.get_closest_marker(name) for name in LEFT_OUT) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def _refuse(*args, **kwargs):
    pytest.skip(REASON)


def _guard_onnxruntime(module: ModuleType) -> None:
    module.InferenceSession.__init__ = _refuse  # the class stays (isinstance checks still work)


def _guard_paddle(module: ModuleType) -> None:
    module.create_predictor = _refuse  # type: ignore[attr-defined]  # what PaddleX's static runner calls for every model


def _guard_on_import(guards: Dict[str, Callable[[ModuleType], None]]) -> None:
    for name, guard in guards.items():
        if name in sys.modules:
            guard(sys.modules[name])
        else:
            sys.meta_path.insert(0, _AfterImport(name, guard))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds `name` as the other finders do, then applies `guard` once the module has run."""

    def __init__(self, name: str, guard: Callable[[ModuleType], None]):
        self.name, self.guard = name, guard

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once: the module is imported at most once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _GuardingLoader(spec.loader, self.guard)
        return spec


class _GuardingLoader(importlib.abc.Loader):
    def __init__(self, loader, guard: Callable[[ModuleType], None]):
        self.loader, self.guard = loader, guard

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.guard(module)

    def __getattr__(self, name):  # resource readers, is_package, ...: the real loader's
        return getattr(self.loader, name)

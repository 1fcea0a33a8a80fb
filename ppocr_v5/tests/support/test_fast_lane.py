"""`pytest --fast` (fast_lane.py): slow and e2e tests left out, a test that opens model weights
skipped, the rest run. A pytest of its own on a small suite, in a fresh process (the guard is
process-wide), with the real onnxruntime and a stand-in `paddle` package that says when a
predictor would have been made."""

import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

SUITE = {
    "pytest.ini": f"""
        [pytest]
        pythonpath = . {HERE}
        markers =
            slow: slow
            e2e: e2e
        """,
    "conftest.py": """
        from fast_lane import pytest_addoption, pytest_collection_modifyitems, pytest_configure  # noqa: F401
        """,
    "paddle/__init__.py": "from . import inference  # as Paddle's own package does\n",
    "paddle/inference.py": """
        def create_predictor(config):
            raise RuntimeError("a predictor was made")
        """,
    "test_suite.py": """
        import pytest

        def test_plain():
            assert True

        @pytest.mark.slow
        def test_slow():
            raise AssertionError("ran")

        @pytest.mark.e2e
        def test_e2e():
            raise AssertionError("ran")

        def test_onnx_session():
            import onnxruntime
            onnxruntime.InferenceSession("/nowhere/inference.onnx")

        def test_paddle_predictor():
            from paddle import inference
            inference.create_predictor(None)

        def test_still_an_onnxruntime_class():
            import onnxruntime
            assert isinstance(onnxruntime.InferenceSession, type)
        """,
}


def run_suite(tmp_path, *args) -> str:
    for name, text in SUITE.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout + proc.stderr


def test_the_fast_lane_leaves_out_slow_and_e2e_and_skips_what_opens_weights(tmp_path):
    out = run_suite(tmp_path, "--fast")
    assert "2 passed, 2 skipped, 2 deselected" in out, out
    assert "opens model weights: not in the fast lane (make test runs it)" in out, out


def test_without_it_everything_runs(tmp_path):
    out = run_suite(tmp_path)
    assert "4 failed, 2 passed" in out, out
    assert "a predictor was made" in out and "/nowhere/inference.onnx" in out, out

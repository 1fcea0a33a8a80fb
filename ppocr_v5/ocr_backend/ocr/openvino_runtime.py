"""OpenVINO as the CPU runtime (INFERENCE_ENGINE=openvino): the same ONNX files, compiled by OpenVINO.

PaddleX keeps every pre- and post-processing step: the pipeline is built on onnxruntime as usual, then
the detector's runner (PaddleX calls `runner(x=[batch])`) is replaced by an OpenVINO one. fast_rec's
lines stay on onnxruntime: on OpenVINO (bench/research/openvino_lines.py, widths padded to a few shapes) the
recogniser ran slower, pages were no faster and CER moved (docs/speed.md, OpenVINO).
Native `openvino`, not onnxruntime's OpenVINO execution provider, whose wheel replaces the pinned
`onnxruntime`. Precision is pinned to f32: on CPUs with AVX512-BF16/AMX OpenVINO would run bf16,
which changes recognition outputs (docs/speed.md, OpenVINO). Compiled models are cached under
$MODEL_DIR/.openvino_cache, so a restarted worker skips compiling.
"""

import logging
import os
import threading
from typing import Any, List, Optional

import numpy as np

logger = logging.getLogger(__name__)

CACHE_FOLDER = ".openvino_cache"


def cache_dir(model_root: str) -> Optional[str]:
    """$MODEL_DIR/.openvino_cache when it can be created and written, else None (only costs compiling)."""
    if not model_root:
        return None
    folder = os.path.join(model_root, CACHE_FOLDER)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        logger.warning("OpenVINO model cache off: cannot create %s (%s)", folder, exc)
        return None
    return folder if os.access(folder, os.W_OK) else None


def compile_onnx(onnx_path: str, threads: int, streams: int, model_root: str) -> Any:
    """The ONNX file compiled for the CPU: `streams` requests at once over `threads` cores in all."""
    import openvino as ov

    core = ov.Core()
    folder = cache_dir(model_root)
    if folder:
        core.set_property({"CACHE_DIR": folder})
    config = {
        "INFERENCE_NUM_THREADS": max(1, threads),
        "NUM_STREAMS": max(1, streams),
        "INFERENCE_PRECISION_HINT": "f32",
    }
    return core.compile_model(onnx_path, "CPU", config)  # the path form is the one the cache serves


class PerThreadRequests:
    """One infer request per calling thread on a shared compiled model (a request is not thread-safe)."""

    def __init__(self, compiled: Any):
        self._compiled = compiled
        self._outputs = len(compiled.outputs)
        self._local = threading.local()

    def run(self, inputs: List[np.ndarray]) -> List[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        request.infer([np.ascontiguousarray(a) for a in inputs])
        return [np.array(request.get_output_tensor(i).data) for i in range(self._outputs)]


# Inputs (height x width of the network input) above an ordinary page's (a 150 dpi A4 page is ~2.2 MP):
# after them the compiled model gives back its intermediate buffers, which it otherwise keeps sized for
# the largest input it ever saw (a worker stayed gigabytes larger after one large image: docs/speed.md,
# Memory, where the figures are).
RELEASE_ABOVE_PIXELS = 4_000_000


class OpenVinoRunner:
    """Stands in for a PaddleX runner: `runner(x=[inputs]) -> [outputs]`."""

    def __init__(self, compiled: Any, release_above_pixels: int = RELEASE_ABOVE_PIXELS):
        self._compiled = compiled
        self._requests = PerThreadRequests(compiled)
        self._release_above = release_above_pixels

    def __call__(self, x: Any = None, **kwargs: Any) -> List[np.ndarray]:
        inputs = kwargs["x"] if x is None else x
        arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
        outputs = self._requests.run(arrays)  # copies: the buffers may go below
        if arrays and arrays[0].ndim >= 2 and int(np.prod(arrays[0].shape[-2:])) > self._release_above:
            self._compiled.release_memory()
        return outputs

    def close(self) -> None:
        pass


def use_openvino_detector(pipeline: Any, threads: int, model_root: str) -> None:
    """Run the PaddleX detector's network on OpenVINO (its pre/post-processing stay PaddleX's)."""
    det = pipeline.text_det_model
    onnx_path = os.path.join(str(det.model_dir), "inference.onnx")
    det.runner = OpenVinoRunner(compile_onnx(onnx_path, threads, 1, model_root))

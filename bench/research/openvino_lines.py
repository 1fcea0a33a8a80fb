"""fast_rec's lines on OpenVINO, for runtime_compare.py and engine_compare.py beside it only.

Measured and not adopted (docs/speed.md, OpenVINO): the recogniser ran 1.3x slower on OpenVINO than
on onnxruntime, so the backend reads lines on onnxruntime under every engine.
"""

import os

import numpy as np

from ocr_backend.ocr.openvino_runtime import PerThreadRequests, compile_onnx

WIDTH_STEP = 32  # line widths are padded to multiples of this (runtime_compare.py --lines)


def padded_width(width: int, step: int) -> int:
    """`width` rounded up to a multiple of `step` (step 1: unchanged)."""
    return -(-width // step) * step


def pad_width(batch: np.ndarray, step: int) -> np.ndarray:
    """A normalised NCHW batch padded on the right with zeros to a multiple of `step` pixels."""
    width = batch.shape[3]
    target = padded_width(width, step)
    if target == width:
        return np.ascontiguousarray(batch)
    out = np.zeros(batch.shape[:3] + (target,), dtype=np.float32)
    out[..., :width] = batch
    return out


def trim_frames(probs: np.ndarray, width: int, padded: int) -> np.ndarray:
    """CTC frames (N, T, classes) of a padded input cut back to the frames of the `width` real pixels:
    the padding's frames read as blanks almost always, but cannot add a character this way."""
    if padded == width:
        return probs
    return probs[:, : -(-probs.shape[1] * width // padded)]


class LineRunner:
    """fast_rec's inference callable on OpenVINO (ParallelRecognizer(infer=...)): one compiled model
    with a dynamic width, one stream and one infer request per recognition thread, each stream on one
    core as fast_rec's onnxruntime session. OpenVINO prepares its kernels per input shape, so lines
    are padded with zeros (PaddleX's padding value after normalisation) to WIDTH_STEP multiples: a
    page's lines share a few dozen shapes. Thread-safe."""

    def __init__(self, onnx_path: str, threads: int, model_root: str, step: int = WIDTH_STEP):
        self._step = max(1, step)
        self._requests = PerThreadRequests(compile_onnx(onnx_path, threads, threads, model_root))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        width = batch.shape[3]
        padded = pad_width(batch, self._step)
        (probs,) = self._requests.run([padded])
        return trim_frames(probs, width, padded.shape[3])


def line_runner(rec_dir: str, threads: int, model_root: str) -> LineRunner:
    """LineRunner for the recogniser folder's inference.onnx."""
    return LineRunner(os.path.join(rec_dir, "inference.onnx"), threads, model_root)

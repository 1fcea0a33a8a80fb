"""Line recognition tuned for CPUs: one line at a time, several lines in parallel, narrower input.

Why each choice, with the measurements (docs/speed.md, and bench/research/FINDINGS.md sections 2
and 6): PaddleX's batched recogniser pads a batch to its widest line, and a batch of wide lines
spills out of the CPU cache, so one line per call is cheaper per line; one intra-op thread per line,
with as many lines in flight as cores, beats several intra-op threads on one line (the per-line
tensors are too small to split); and a crop resized to REC_WIDTH_SQUEEZE of PaddleX's width
(recognition cost is linear in width) keeps the character error rate within issue 13's bound of
full width, per language, on clean and on scanned pages, where a squeeze tuned on clean pages only
did not (docs/speed.md, "Recognition width squeeze"; bench/squeeze_table.py). Pre- and
post-processing follow PaddleX's recogniser (height 48, (x/255 - 0.5) / 0.5, CTC greedy decoding
with the model's own character dictionary), so results match the pipeline's except for the squeeze.
"""

import concurrent.futures
import math
import os
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import yaml

HEIGHT = 48
MAX_WIDTH = 3200  # PaddleX's cap for one line


def _onnxruntime_infer(onnx_path: str) -> Callable[[np.ndarray], np.ndarray]:
    """The recogniser on onnxruntime, one intra-op thread per call (fast_rec runs calls in parallel).
    Also under INFERENCE_ENGINE=openvino: OpenVINO read these lines slower (docs/speed.md, OpenVINO)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False  # every line has its own width: a plan per shape never pays
    # InferenceSession.run is thread-safe and releases the GIL: one session serves every thread.
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


class ParallelRecognizer:
    def __init__(
        self,
        model_dir: str,
        threads: int,
        squeeze: float,
        infer: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    ):
        """`infer`: the network as a thread-safe callable, normalised NCHW batch -> CTC probabilities
        (bench/openvino_lines.py measures OpenVINO); default an onnxruntime session
        of the folder's inference.onnx."""
        from paddlex.inference.models.text_recognition.processors import CTCLabelDecode

        self._infer = infer or _onnxruntime_infer(os.path.join(model_dir, "inference.onnx"))
        with open(os.path.join(model_dir, "inference.yml"), encoding="utf-8") as f:
            characters = yaml.safe_load(f)["PostProcess"]["character_dict"]
        self._characters = CTCLabelDecode(character_list=characters).character
        self._squeeze = squeeze
        self._pool = concurrent.futures.ThreadPoolExecutor(max(1, threads), thread_name_prefix="rec")

    def _prepare(self, crop: np.ndarray) -> np.ndarray:
        h, w = crop.shape[:2]
        width = min(MAX_WIDTH, max(8, int(math.ceil(HEIGHT * w / float(h) * self._squeeze))))
        x = cv2.resize(crop, (width, HEIGHT)).astype(np.float32)
        x *= 2.0 / 255.0
        x -= 1.0
        # Not padded to the 320 px minimum width of PaddleX's and RapidOCR's recognisers: padding did
        # not make Japanese read better (docs/speed.md, Japanese).
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def _decode(self, probs: np.ndarray) -> Tuple[str, float]:
        ids = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = ids[1:] != ids[:-1]  # CTC: collapse repeats, then drop blanks (id 0)
        keep &= ids != 0
        text = "".join(self._characters[i] for i in ids[keep])
        return text, float(conf[keep].mean()) if keep.any() else 0.0

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The model's raw output (CTC probabilities) for a normalised NCHW batch; thread-safe."""
        return self._infer(batch)

    def _one(self, crop: np.ndarray) -> Tuple[str, float]:
        return self._decode(self.infer(self._prepare(crop))[0])

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) per crop, in order; the widest lines start first so threads end together."""
        order = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1] / max(1, crops[i].shape[0]))
        futures = {i: self._pool.submit(self._one, crops[i]) for i in order}
        return [futures[i].result() for i in range(len(crops))]

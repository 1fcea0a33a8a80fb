"""The detector on onnxruntime gives its CPU arena back after every run (issue 13, issue 14 D6).

onnxruntime's CPU arena keeps every block it ever grew: after one detector input at
DET_MAX_SIDE_LIMIT a worker stayed gigabytes larger for good, and an ordinary page alone left
hundreds of MB in it. Run with `memory.enable_memory_arena_shrinkage`, the session still allocates
from its arena during the run (what the arena is for: switched off entirely, detection was slower)
and frees the arena's grown regions when the run ends: measured on corpus pages, in turn with the
plain arena, the same detection time and far less memory after each page (docs/speed.md, Memory,
"The detector gives its arena back after every run"). So every detector run shrinks;
`SHRINK_ABOVE_PIXELS` keeps the choice of sparing small inputs in one place.

PaddleX keeps its pre- and post-processing: only the runner (PaddleX calls `runner(x=[batch])`) is
replaced, by one on PaddleX's own session. Recognition is fast_rec's session, whose line inputs are
small.
"""

import logging
from typing import Any, List

import numpy as np

logger = logging.getLogger(__name__)

# Detector inputs (height x width of the network input) above which the run gives its arena back.
# 0: every run. Measured: shrinking costs no detection time on a corpus page (docs/speed.md, Memory).
SHRINK_ABOVE_PIXELS = 0


def shrinking_run_options() -> Any:
    """onnxruntime RunOptions that free the CPU arena's grown regions when the run ends."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


class ArenaReleasingRunner:
    """Stands in for PaddleX's ONNXRuntimeRunner of the detector, on that runner's session."""

    def __init__(self, session: Any, shrink_above_pixels: int):
        self.session = session  # public, as on PaddleX's runner: tests and tools read its options
        self._inputs = [meta.name for meta in session.get_inputs()]
        self._outputs = [meta.name for meta in session.get_outputs()]
        self._shrink_above = shrink_above_pixels
        self._shrink = shrinking_run_options()

    def __call__(self, x: Any = None, **kwargs: Any) -> List[np.ndarray]:
        batch = kwargs["x"] if x is None else x
        arrays = [batch] if isinstance(batch, np.ndarray) else list(batch)
        if len(arrays) != len(self._inputs):
            raise ValueError(f"the detector takes {len(self._inputs)} inputs, got {len(arrays)}")
        feeds = {name: np.ascontiguousarray(a) for name, a in zip(self._inputs, arrays)}
        pixels = int(np.prod(arrays[0].shape[-2:])) if arrays[0].ndim >= 2 else 0
        options = self._shrink if pixels > self._shrink_above else None
        return self.session.run(self._outputs, feeds, options)

    def close(self) -> None:
        pass


def release_detector_arena(pipeline: Any) -> bool:
    """Give the pipeline's detector the arena-releasing runner, where it runs on onnxruntime (PaddleX's
    ONNXRuntimeRunner holds its session as `.session`); False where it does not (paddle, OpenVINO)."""
    det = pipeline.text_det_model
    session = getattr(det.runner, "session", None)
    try:
        import onnxruntime as ort
    except ImportError:  # a paddle-only install: no onnxruntime session to release
        return False
    if not isinstance(session, ort.InferenceSession):
        logger.info("detector runner %s is not onnxruntime's: arena release not installed", type(det.runner).__name__)
        return False
    det.runner = ArenaReleasingRunner(session, SHRINK_ABOVE_PIXELS)
    return True

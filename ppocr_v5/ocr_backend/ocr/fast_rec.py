"""Line recognition tuned for CPUs: one line at a time, several lines in parallel, narrower input.

Why each choice, with the measurements (docs/speed.md, and bench/research/FINDINGS.md sections 2
and 6): PaddleX's batched recogniser pads a batch to its widest line, and a batch of wide lines
spills out of the CPU cache, so one line per call is cheaper per line; one intra-op thread per line,
with as many lines in flight as cores, beats several intra-op threads on one line (the per-line
tensors are too small to split); and a crop resized to REC_WIDTH_SQUEEZE of PaddleX's width
(recognition cost is linear in width) keeps the character error rate within issue 13's bound of
full width, per language, on clean and on scanned pages, where a squeeze tuned on clean pages only
did not (docs/speed.md, "Recognition width squeeze"; bench/research/squeeze_table.py). Pre- and
post-processing follow PaddleX's recogniser (height 48, (x/255 - 0.5) / 0.5, CTC greedy decoding
with the model's own character dictionary), so results match the pipeline's except for the squeeze
and, on blurred crops only, the decoding (REC_SHARPNESS_THRESHOLD, below).
"""

import concurrent.futures
import math
import os
import re
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import yaml

from ocr_backend.core import edges

HEIGHT = 48
MAX_WIDTH = 3200  # PaddleX's cap for one line
# On a blurred line (a scan: small text, blur, JPEG) the recogniser is less sure of every character,
# and CTC's greedy decoding drops those whose probability falls under the blank's: scanned Japanese
# lost mostly whole characters, not read them wrongly (docs/speed.md, "Recognition on scans"). On
# crops less sharp than REC_SHARPNESS_THRESHOLD the blank and the space (a gap too) count this many
# times less when the decoder picks each frame's symbol; sharp crops decode as PaddleX does.
BLURRED_GAP_SCALE = 0.2
SHARPNESS_HEIGHT = 32  # px: sharpness is measured at one scale, so text size does not move it
# A second reader's score at or above which its reading is taken without asking this model: 0.98
# asks this model about a quarter of clean lines and a third of scanned ones, and reads Chinese as
# well as asking it about every line (docs/speed.md, "Two recognisers").
SURE = 0.98
# A second reading with kana in it is Japanese, which PP-OCRv6 small reads better than v5 mobile on
# clean and scanned pages alike; asking v5 as well about the Japanese lines it is less than SURE of
# cost Japanese pages a fifth more recognition for 0.07 point of clean CER (docs/speed.md, "Two
# recognisers"). Such a reading is the answer from KANA_SURE on; under it the main model still has its
# say (its score keeps non-text out).
KANA_SURE = 0.9
KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")  # hiragana and katakana letters (not ー or ・)
# PP-OCRv6 small reads a script it has no characters for (Cyrillic) as blanks, and is fairly sure of
# them, where v5 reads look-alike letters: a second reading with under DROPPED times the main reading's
# non-space characters has dropped what it could not read, and is not taken for its higher score
# (Russian, Bulgarian and Ukrainian pages read with OCR_LANG=ch went back from 85-94 % CER to v5's
# 72-83 %; docs/speed.md, "Two recognisers").
DROPPED = 0.5
# ... and where it is sure of so little that most of the line must be blanks (fewer non-space
# characters than SPARSE times the crop's width over its height: a Telugu line read as ".", a Russian
# one as ",  L  . ,"), the main model is asked all the same and DROPPED decides. Text has about one
# character per crop height or more (the sure readings of en/zh/ja lines: 0.88 and up on clean pages,
# 1.18 and up on scans), so no en/zh/ja reading changed; Russian, Bulgarian and Telugu read with
# OCR_LANG=ch came back to within 0.06 point of v5 alone (docs/speed.md, "Two recognisers").
SPARSE = 0.2


def sharpness(crop: np.ndarray) -> float:
    """How sharp a line crop's ink edges are (core/edges.py): the strong gradients (95th percentile
    of the Sobel magnitude) relative to the ink's contrast (2nd to 98th percentile of grey), on the
    crop brought to 32 px high. Blur lowers it; contrast, paper colour and text size barely move it
    (clean 150-dpi lines measure about 3-3.9, the blurred ones of public-degraded about 1.5-2.9)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = gray.shape[:2]
    size = (max(8, int(round(SHARPNESS_HEIGHT * w / float(max(h, 1))))), SHARPNESS_HEIGHT)
    gradient, contrast = edges.gradient_and_contrast(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), 95, (2, 98))
    return gradient / max(contrast, 1.0)


def _inked(text: str) -> int:
    """How many characters of a reading are not spaces."""
    return len(text) - text.count(" ")


def _sure(reading: Tuple[str, float], crop: np.ndarray) -> bool:
    """Whether a second reading is the answer without asking the main model: SURE of it (KANA_SURE
    where it has kana), and not sparse for the crop's width (SPARSE)."""
    text, score = reading
    if not (score >= SURE or (score >= KANA_SURE and KANA.search(text))):
        return False
    h, w = crop.shape[:2]
    return _inked(text) >= SPARSE * w / max(h, 1)


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


def ctc_alphabet(dictionary: Sequence[str]) -> List[str]:
    """The network's output classes for a character dictionary, as PaddleX's CTCLabelDecode lays
    them out (the blank first, the space last): built here so a recogniser loads without importing
    PaddleX (seconds of CPU, which import-pdf's text-layer check would otherwise pay per run)."""
    return ["blank", *dictionary, " "]


class ParallelRecognizer:
    def __init__(
        self,
        model_dir: str,
        threads: int,
        squeeze: float,
        infer: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        sharpness_threshold: float = 0.0,
        second_reader: Optional["ParallelRecognizer"] = None,
    ):
        """`infer`: the network as a thread-safe callable, normalised NCHW batch -> CTC probabilities
        (bench/research/openvino_lines.py measures OpenVINO); default an onnxruntime session
        of the folder's inference.onnx. `sharpness_threshold`: crops less sharp than this decode
        with the gaps scaled by BLURRED_GAP_SCALE (0: never). `second_reader`: another model that
        reads every line first (REC_SECOND_MODEL; read_line says how the two readings combine)."""
        self._infer = infer or _onnxruntime_infer(os.path.join(model_dir, "inference.onnx"))
        with open(os.path.join(model_dir, "inference.yml"), encoding="utf-8") as f:
            characters = yaml.safe_load(f)["PostProcess"]["character_dict"]
        self.characters = ctc_alphabet(characters)
        # the blank (id 0) and, where the dictionary has one, the space: what a blurred line loses to
        self._gaps = [0] + [i for i, c in enumerate(self.characters) if c == " "]
        self._squeeze = squeeze
        self._sharpness_threshold = sharpness_threshold
        self._second = second_reader
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

    def _decode(self, probs: np.ndarray, blurred: bool = False) -> Tuple[str, float]:
        """CTC greedy decoding: (text, mean probability of its characters). A blurred line's text keeps
        the characters the blank would take, its score stays the plain decoding's: the score is what
        SCORE_THRESHOLD keeps lines by, and the rescued characters would lower it for every scanned
        line (turned pages read without orientation lost whole lines to the threshold)."""
        text, score = self._greedy(probs, probs)
        if blurred:
            chooser = probs.copy()
            chooser[:, self._gaps] *= BLURRED_GAP_SCALE
            text = self._greedy(chooser, probs)[0]
        return text, score

    def _greedy(self, chooser: np.ndarray, probs: np.ndarray) -> Tuple[str, float]:
        ids = chooser.argmax(axis=1)
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = ids[1:] != ids[:-1]  # CTC: collapse repeats, then drop blanks (id 0)
        keep &= ids != 0
        conf = probs[np.arange(len(ids)), ids][keep]  # the model's own probability of what was picked
        return "".join(self.characters[i] for i in ids[keep]), float(conf.mean()) if keep.any() else 0.0

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """The model's raw output (CTC probabilities) for a normalised NCHW batch; thread-safe."""
        return self._infer(batch)

    def blurred(self, crop: np.ndarray) -> bool:
        """Whether `crop` decodes as a blurred line (less sharp than the threshold)."""
        return self._sharpness_threshold > 0 and sharpness(crop) < self._sharpness_threshold

    def read_line(self, crop: np.ndarray) -> Tuple[str, float]:
        """(text, score) of one crop, in the calling thread. With a second reader, it reads the line
        first, and a reading it is at least SURE of (KANA_SURE where it has kana), and not sparse for
        the crop (SPARSE), is the answer; otherwise this model reads the line too, the text is the
        surer reading's (not the second one's where it dropped most characters: DROPPED) and the
        score this model's, so of the lines the second reader is unsure of SCORE_THRESHOLD keeps
        those this model alone would keep (the second reader is fairly sure of some that are not
        text: figures, scripts neither reads). Why
        (docs/speed.md, "Two recognisers"): PP-OCRv6 small reads English and Japanese, clean, scanned
        or photographed, better than v5 mobile, and in less time; where it is unsure, v5 is often
        right (Chinese above all)."""
        first = self._second.read_line(crop) if self._second is not None else None
        if first is not None and _sure(first, crop):
            return first
        text, score = self._decode(self.infer(self._prepare(crop))[0], self.blurred(crop))
        if first is not None and first[1] > score and _inked(first[0]) >= DROPPED * _inked(text):
            return first[0], score
        return text, score

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) per crop, in order; the widest lines start first so threads end together."""
        order = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1] / max(1, crops[i].shape[0]))
        futures = {i: self._pool.submit(self.read_line, crops[i]) for i in order}
        return [futures[i].result() for i in range(len(crops))]

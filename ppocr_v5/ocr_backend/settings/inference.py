"""Declarations: where the weights come from and how the engine runs them (device, runtime,
threads, batch and input sizes). A new setting of that sort is declared here.
"""

import dataclasses

from ocr_backend.core.catalogue import SECOND_MODELS
from ocr_backend.settings.declaration import declare
from ocr_backend.settings.kinds import Choice, Device, Flag, Integer, Number, Text

ENGINES = ("auto", "paddle", "onnxruntime", "openvino")


@dataclasses.dataclass(frozen=True)
class InferenceSettings:
    # Not digested itself: a device changes predictions only by the engine `auto` picks for it, which
    # INFERENCE_ENGINE's fingerprint covers (gpu:0 and gpu:1 workers must agree on model_version).
    device: str = declare("DEVICE", Device(), "cpu", "{allowed} (`gpu:N` needs the CUDA build of PaddlePaddle)")
    # Weights: explicit folders win, then $MODEL_DIR/<model_name>/, then PaddleX's own download.
    # Not digested: the version names the models, and a path differs per machine (./models, /models).
    model_dir: str = declare(
        "MODEL_DIR", Text(), "", "folder of `<model_name>/` weight folders", shown_default="`./models` with make"
    )
    det_model_dir: str = declare(
        "DET_MODEL_DIR", Text(), "", "explicit detection weight folder (wins over `MODEL_DIR`)"
    )
    rec_model_dir: str = declare(
        "REC_MODEL_DIR", Text(), "", "explicit recognition weight folder (wins over `MODEL_DIR`)"
    )
    # auto: onnxruntime on CPU (fastest here), Paddle on GPU (CUDA build of paddlepaddle).
    inference_engine: str = declare(
        "INFERENCE_ENGINE",
        Choice(ENGINES),
        "auto",
        "{allowed}; `auto` is `onnxruntime` on CPU, `paddle` on GPU; `openvino`: CPU, the ONNX weights on OpenVINO",
        affects_predictions=True,
        fingerprint="engine",
    )
    cpu_threads: int = declare(
        "CPU_THREADS", Integer(minimum=0), 0, "inference threads per worker (0: one per core)", shown_default="cores"
    )
    # Read only by PaddleX's own recogniser; on CPU with onnxruntime/openvino fast_rec reads the lines
    # instead (ocr/recognizers.py). 1 was measured best on that CPU path before fast_rec replaced it
    # (bench/research/FINDINGS.md, section 2); where the batch is still used (GPU, `paddle`) it was not.
    rec_batch_size: int = declare(
        "REC_BATCH_SIZE",
        Integer(minimum=1),
        1,
        "lines per recognition batch (PaddleX's recogniser: GPU, `paddle`, word boxes, unwarping, hub orientation)",
    )
    rec_width_squeeze: float = declare(
        "REC_WIDTH_SQUEEZE",
        Number(minimum=0.3, maximum=1.0),
        # 0.9: the narrowest fixed width that keeps full width's accuracy on clean and scanned pages
        # (docs/speed.md, "Recognition width squeeze").
        0.9,
        "recognition input width relative to PaddleX's, 0.3 to 1 (fast_rec: CPU `onnxruntime` or `openvino`; "
        "PaddleX's own recogniser reads at full width)",
        affects_predictions=True,
    )
    # Blurred (scanned) lines lose characters to CTC's blank; below this sharpness fast_rec decodes
    # them keeping those characters (ocr/fast_rec.py; docs/speed.md, "Recognition on scans").
    rec_sharpness_threshold: float = declare(
        "REC_SHARPNESS_THRESHOLD",
        Number(minimum=0.0, maximum=10.0),
        2.9,
        "line crops less sharp than this (scans: 1.5-2.9, clean 150-dpi pages: 3-3.9) are decoded so that "
        "blurred characters are not dropped; 0: off (fast_rec only)",
        affects_predictions=True,
    )
    # A second recogniser reads every line first, the main one where it is unsure: PP-OCRv6 small reads
    # English and Japanese better than v5 mobile, clean, scanned or photographed; v5 much Chinese
    # (ocr/fast_rec.py ParallelRecognizer.read_line; docs/speed.md, "Two recognisers").
    rec_second_model: str = declare(
        "REC_SECOND_MODEL",
        Choice(SECOND_MODELS),
        "PP-OCRv6_small_rec",
        "{allowed}: a second recogniser that reads every line first; where it is less sure than 0.98 (0.9 for a "
        "line with kana) the main one reads the line too and the surer text is kept, the main one's score "
        "(`OCR_LANG` `ch`/`en`, fast_rec; weights: `make models`, else PaddleX's download when the server starts; "
        "without them the server reads, and versions its predictions, as `none`)",
        affects_predictions=True,
    )
    # Detector input size policy (PaddleX limit_side_len / limit_type / max_side_limit).
    det_limit_side_len: int = declare(
        "DET_LIMIT_SIDE_LEN",
        Integer(minimum=32),
        64,
        "detector input size: the side length PaddleX scales to (`limit_side_len`)",
        affects_predictions=True,
    )
    det_limit_type: str = declare(
        "DET_LIMIT_TYPE",
        Choice(("max", "min")),
        "min",
        "{allowed}: which side `DET_LIMIT_SIDE_LEN` bounds (PaddleX `limit_type`)",
        affects_predictions=True,
    )
    det_max_side_limit: int = declare(
        "DET_MAX_SIDE_LIMIT",
        Integer(minimum=32),
        4000,
        "cap on the detector input's longer side (PaddleX `max_side_limit`)",
        affects_predictions=True,
    )
    # Images above ~2.5 MP get a coarse detection pass that picks the scale (core/det_scale.py,
    # docs/speed.md "Detector scale"): a 300-dpi scan or a phone photo costs about a 150-dpi page.
    # Smaller pages whose lines are small and blurred (scans) are detected again scaled up
    # (docs/speed.md "Where scans lose their lines"); clean pages are detected once.
    det_auto_scale: bool = declare(
        "DET_AUTO_SCALE",
        Flag(),
        True,
        "detect large images at the scale their text needs, not at every pixel, and small blurred text "
        "(scans) again scaled up (`false`: every pixel, once)",
        affects_predictions=True,
    )

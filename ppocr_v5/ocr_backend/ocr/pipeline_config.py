"""The PaddleX pipeline's configuration: PaddleX's official OCR.yaml with this backend's overrides.

Everything we change in OCR.yaml is one table (`pipeline_overrides`: config path -> value), plus the
modules removed outright so PaddleX never builds (or downloads) a model the settings switch off.
Pure, except `official_config`, which reads the YAML shipped with PaddleX.
"""

import copy
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple

from ocr_backend.ocr.model_names import ModelNames
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings

ConfigPath = Tuple[str, ...]

# Optional preprocessing modules: setting -> (env var, PaddleX model name, where in the config).
PREPROCESSING_MODELS = (
    (
        "use_doc_orientation",
        "USE_DOC_ORIENTATION",
        "PP-LCNet_x1_0_doc_ori",
        ("SubPipelines", "DocPreprocessor", "SubModules", "DocOrientationClassify"),
    ),
    (
        "use_doc_unwarping",
        "USE_DOC_UNWARPING",
        "UVDoc",
        ("SubPipelines", "DocPreprocessor", "SubModules", "DocUnwarping"),
    ),
    (
        "use_textline_orientation",
        "USE_TEXTLINE_ORIENTATION",
        "PP-LCNet_x1_0_textline_ori",
        ("SubModules", "TextLineOrientation"),
    ),
)

_DETECTION: ConfigPath = ("SubModules", "TextDetection")
_RECOGNITION: ConfigPath = ("SubModules", "TextRecognition")
_DOC_PREPROCESSOR: ConfigPath = ("SubPipelines", "DocPreprocessor")


def uses_doc_preprocessing(settings: Settings) -> bool:
    """Whether PaddleX turns or unwarps the page before detection. Decides which modules the pipeline
    has, whether long images may be read in strips, how results map back and which recogniser reads."""
    return settings.use_doc_orientation or settings.use_doc_unwarping


def official_config() -> dict:
    """PaddleX's own OCR pipeline config (OCR.yaml of the installed paddlex)."""
    from paddlex.inference.pipelines import get_pipeline_path
    from paddlex.utils.config import parse_config

    return parse_config(get_pipeline_path("OCR"))


def preprocessing_model_dirs(settings: Settings) -> Dict[str, Optional[str]]:
    """Model name -> local folder ($MODEL_DIR/<name>/) or None (PaddleX will try to download it),
    for the preprocessing modules the settings switch on."""
    return {
        name: resolve_model_dir(name, "", settings.model_dir, settings.engine, "")
        for flag, _env, name, _path in PREPROCESSING_MODELS
        if getattr(settings, flag)
    }


def missing_model_message(settings: Settings, names: Sequence[str], cause: BaseException) -> str:
    """Why the pipeline could not be built, naming each model and how to provide it."""
    envs = {name: env for _flag, env, name, _path in PREPROCESSING_MODELS}
    root = settings.model_dir or "$MODEL_DIR"
    files = (
        "inference.yml + inference.onnx"
        if settings.engine in ("onnxruntime", "openvino")
        else "inference.yml + inference.json + inference.pdiparams"
    )
    wanted = "; ".join(
        f"{name} (for {envs.get(name, 'this setting')}=true) in {os.path.join(root, name)}/" for name in names
    )
    return (
        f"cannot load {wanted}: not found locally and the download failed ({cause}). "
        f"Copy the PaddleX inference model folder there ({files}; `make models` style provisioning "
        f"on a machine with internet, e.g. paddlex's official {names[0]}_infer.tar), or switch the "
        f"setting off."
    )


def pipeline_overrides(
    settings: Settings,
    names: ModelNames,
    det_dir: Optional[str],
    rec_dir: Optional[str],
    extra_dirs: Mapping[str, Optional[str]],
) -> Dict[ConfigPath, object]:
    """Every value this backend sets in OCR.yaml: config path -> value (pure)."""
    doc = uses_doc_preprocessing(settings)
    table: Dict[ConfigPath, object] = {
        ("use_doc_preprocessor",): doc,
        ("use_textline_orientation",): settings.use_textline_orientation,
    }
    if doc:
        table[_DOC_PREPROCESSOR + ("use_doc_orientation_classify",)] = settings.use_doc_orientation
        table[_DOC_PREPROCESSOR + ("use_doc_unwarping",)] = settings.use_doc_unwarping
    table.update(
        {
            _DETECTION + ("model_name",): names.det,
            _DETECTION + ("model_dir",): det_dir,
            _DETECTION + ("limit_side_len",): settings.det_limit_side_len,
            _DETECTION + ("limit_type",): settings.det_limit_type,
            _DETECTION + ("max_side_limit",): settings.det_max_side_limit,
            # DET_SCORE_THRESHOLD is the box score cut (box_thresh), not the pixel binarisation.
            _DETECTION + ("box_thresh",): settings.det_score_threshold,
            _RECOGNITION + ("model_name",): names.rec,
            _RECOGNITION + ("model_dir",): rec_dir,
            _RECOGNITION + ("batch_size",): settings.rec_batch_size,
            # SCORE_THRESHOLD filters once: here, or in the engine's fast path when fast_rec replaces
            # this recogniser.
            _RECOGNITION + ("score_thresh",): settings.score_threshold,
        }
    )
    for flag, _env, name, path in PREPROCESSING_MODELS:
        folder = extra_dirs.get(name)
        if getattr(settings, flag) and folder:
            table[path + ("model_name",)] = name
            table[path + ("model_dir",)] = folder
    return table


def build_pipeline_config(
    settings: Settings,
    names: ModelNames,
    det_dir: Optional[str],
    rec_dir: Optional[str],
    official: dict,
    extra_dirs: Optional[Dict[str, Optional[str]]] = None,
) -> dict:
    """PaddleX's official OCR pipeline config with this backend's overrides (pure)."""
    cfg = copy.deepcopy(official)
    if not uses_doc_preprocessing(settings):
        # Without this PaddleX would still build (and download) the preprocessing models.
        cfg.pop("SubPipelines", None)
    if not settings.use_textline_orientation:
        cfg["SubModules"].pop("TextLineOrientation", None)
    for path, value in pipeline_overrides(settings, names, det_dir, rec_dir, extra_dirs or {}).items():
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return cfg


def engine_arguments(settings: Settings) -> Dict[str, object]:
    """create_pipeline() keyword arguments for the device and engine, in one place."""
    # openvino: PaddleX builds on onnxruntime, then the engine moves the networks (openvino_runtime.py).
    engine = "onnxruntime" if settings.engine == "openvino" else settings.engine
    kwargs: Dict[str, object] = {"device": settings.device, "engine": engine}
    if engine == "onnxruntime":
        kwargs["engine_config"] = {
            "intra_op_num_threads": settings.threads(),
            "inter_op_num_threads": 1,
            # Memory pattern planning keeps a plan-sized block per input shape, and every page has its
            # own shape: off, the detector's RSS drops by ~350 MB at the same speed (docs/speed.md, Memory).
            "enable_mem_pattern": False,
        }
    return kwargs

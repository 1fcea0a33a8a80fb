"""The PaddleX pipeline's configuration: PaddleX's official OCR.yaml with this backend's overrides.

Everything we change in OCR.yaml is one table (`pipeline_overrides`: config path -> value), plus the
modules removed outright so PaddleX never builds (or downloads) a model the settings switch off or
that this backend runs itself (the orientation classifiers on the CPU path: `own_orientation_dirs`).
Pure, except `official_config` (reads the YAML shipped with PaddleX) and the model-folder look-ups.
"""

import copy
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple

from ocr_backend.core.catalogue import ModelNames
from ocr_backend.ocr.weights import holds_model, resolve_model_dir
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


_ONNX_ENGINES = ("onnxruntime", "openvino")


def preprocessing_models(settings: Settings) -> Tuple[Tuple[str, str, str, ConfigPath], ...]:
    """PREPROCESSING_MODELS with the line orientation variant the settings name."""
    line = f"PP-LCNet_{settings.textline_orientation_model}_textline_ori"
    return tuple(
        (flag, env, line if flag == "use_textline_orientation" else name, path)
        for flag, env, name, path in PREPROCESSING_MODELS
    )


def own_orientation_dirs(settings: Settings) -> Optional[Dict[str, str]]:
    """Where this backend reads the page itself (PaddleX's detector, then orientation.py's classifiers and
    fast_rec on onnxruntime): the orientation models switched on -> their local ONNX folders (possibly
    none switched on). None where PaddleX's whole pipeline reads the page: GPU, the paddle engine, word
    boxes or unwarping (modules only PaddleX has), or an orientation model with no local ONNX folder
    (PaddleX then downloads it by name, so any variant PaddleX knows keeps working online)."""
    if settings.engine not in _ONNX_ENGINES or settings.uses_gpu or settings.word_boxes or settings.use_doc_unwarping:
        return None
    found = {
        name: resolve_model_dir(name, "", settings.model_dir, "onnxruntime", "")
        for flag, _env, name, _path in preprocessing_models(settings)
        if getattr(settings, flag)
    }
    if not all(found.values()):
        return None
    return {name: str(folder) for name, folder in found.items()}


def _paddlex_runs(settings: Settings, flag: str) -> bool:
    """Whether PaddleX's pipeline runs this preprocessing module (it is on, and not run by us)."""
    return bool(getattr(settings, flag)) and (flag == "use_doc_unwarping" or own_orientation_dirs(settings) is None)


def predict_flags(settings: Settings) -> Dict[str, bool]:
    """pipeline.predict() switches for the modules the built pipeline has."""
    return {
        "use_doc_orientation_classify": _paddlex_runs(settings, "use_doc_orientation"),
        "use_doc_unwarping": _paddlex_runs(settings, "use_doc_unwarping"),
        "use_textline_orientation": _paddlex_runs(settings, "use_textline_orientation"),
    }


def uses_doc_preprocessing(settings: Settings) -> bool:
    """Whether the page is turned (by PaddleX or orientation.py) or unwarped before detection: then
    long images are not read in strips, and PaddleX's results map back through its doc preprocessor."""
    return settings.use_doc_orientation or settings.use_doc_unwarping


def official_config() -> dict:
    """PaddleX's own OCR pipeline config (OCR.yaml of the installed paddlex)."""
    from paddlex.inference.pipelines import get_pipeline_path
    from paddlex.utils.config import parse_config

    return parse_config(get_pipeline_path("OCR"))


def preprocessing_model_dirs(settings: Settings) -> Dict[str, Optional[str]]:
    """Model name -> local folder ($MODEL_DIR/<name>/) or None (PaddleX will try to download it),
    for the preprocessing modules PaddleX's pipeline runs with these settings. The provisioned
    orientation folders hold ONNX only: the paddle engine downloads its own format by name instead."""
    dirs: Dict[str, Optional[str]] = {}
    for flag, _env, name, _path in preprocessing_models(settings):
        if not _paddlex_runs(settings, flag):
            continue
        folder = os.path.join(os.path.expanduser(settings.model_dir), name) if settings.model_dir else ""
        onnx_only = folder and holds_model(folder, "onnxruntime") and not holds_model(folder, settings.engine)
        dirs[name] = None if onnx_only else resolve_model_dir(name, "", settings.model_dir, settings.engine, "")
    return dirs


def missing_model_message(settings: Settings, names: Sequence[str], cause: BaseException) -> str:
    """Why the pipeline could not be built, naming each model and how to provide it."""
    envs = {name: env for _flag, env, name, _path in preprocessing_models(settings)}
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
    flags = predict_flags(settings)
    doc = flags["use_doc_orientation_classify"] or flags["use_doc_unwarping"]
    table: Dict[ConfigPath, object] = {
        ("use_doc_preprocessor",): doc,
        ("use_textline_orientation",): flags["use_textline_orientation"],
    }
    if doc:
        table[_DOC_PREPROCESSOR + ("use_doc_orientation_classify",)] = flags["use_doc_orientation_classify"]
        table[_DOC_PREPROCESSOR + ("use_doc_unwarping",)] = flags["use_doc_unwarping"]
    table.update(
        {
            _DETECTION + ("model_name",): names.det,
            _DETECTION + ("model_dir",): det_dir,
            _DETECTION + ("limit_side_len",): settings.det_limit_side_len,
            _DETECTION + ("limit_type",): settings.det_limit_type,
            _DETECTION + ("max_side_limit",): settings.det_max_side_limit,
            # DET_SCORE_THRESHOLD binarises the probability map (the seed's meaning); the box cut is its own.
            _DETECTION + ("thresh",): settings.det_score_threshold,
            _DETECTION + ("box_thresh",): settings.det_box_threshold,
            _RECOGNITION + ("model_name",): names.rec,
            _RECOGNITION + ("model_dir",): rec_dir,
            _RECOGNITION + ("batch_size",): settings.rec_batch_size,
            # SCORE_THRESHOLD filters once: here, or in the engine's fast path when fast_rec replaces
            # this recogniser.
            _RECOGNITION + ("score_thresh",): settings.score_threshold,
        }
    )
    for flag, _env, name, path in preprocessing_models(settings):
        if _paddlex_runs(settings, flag):  # no folder: PaddleX downloads the model by this name
            table[path + ("model_name",)] = name
            table[path + ("model_dir",)] = extra_dirs.get(name)
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
    flags = predict_flags(settings)
    if not (flags["use_doc_orientation_classify"] or flags["use_doc_unwarping"]):
        # Without this PaddleX would still build (and download) the preprocessing models.
        cfg.pop("SubPipelines", None)
    if not flags["use_textline_orientation"]:
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

"""Where each model's weights come from.

Per PaddleX module, in order: an explicit folder from the environment (DET_MODEL_DIR /
REC_MODEL_DIR), else `$MODEL_DIR/<model_name>/` when it holds an inference model, else None, which
lets PaddleX download the official model by name (what users with internet get). A folder that is
named explicitly but missing or broken stops start-up with a message naming it.
"""

import os
from typing import Optional

import yaml

from ocr_backend.errors import ModelFolderError

_PADDLE_GRAPHS = ("inference.json", "inference.pdmodel")
_PADDLE_PARAMS = "inference.pdiparams"
_ONNX = "inference.onnx"


def _weight_files(folder: str, engine: str):
    if engine in ("onnxruntime", "openvino"):  # OpenVINO compiles the same ONNX file
        return [os.path.join(folder, _ONNX)]
    graphs = [os.path.join(folder, g) for g in _PADDLE_GRAPHS if os.path.isfile(os.path.join(folder, g))]
    return graphs[:1] + [os.path.join(folder, _PADDLE_PARAMS)]


def holds_model(folder: str, engine: str) -> bool:
    """True when `folder` has the files the engine loads (used to decide whether to download)."""
    files = _weight_files(folder, engine)
    return (
        bool(files) and all(os.path.isfile(f) for f in files) and os.path.isfile(os.path.join(folder, "inference.yml"))
    )


def check_model_folder(folder: str, model_name: str, engine: str, env_var: str) -> None:
    """Raise ModelFolderError unless `folder` holds a loadable `model_name` for `engine`."""
    where = f"{env_var}={folder}" if env_var else folder
    if not os.path.isdir(folder):
        raise ModelFolderError(f"{where}: folder not found; point it at a PaddleX inference model folder.")
    config_path = os.path.join(folder, "inference.yml")
    files = _weight_files(folder, engine)
    if engine == "paddle" and len(files) < 2:
        files = [os.path.join(folder, _PADDLE_GRAPHS[0]), os.path.join(folder, _PADDLE_PARAMS)]
    missing = [os.path.basename(f) for f in [config_path, *files] if not os.path.isfile(f) or os.path.getsize(f) == 0]
    if missing:
        hint = " (run `make models`, which also converts to ONNX)" if _ONNX in missing else ""
        raise ModelFolderError(f"{where}: missing or empty {', '.join(missing)} for the {engine} engine{hint}.")
    try:
        with open(config_path, encoding="utf-8") as f:
            declared = ((yaml.safe_load(f) or {}).get("Global") or {}).get("model_name")
    except (yaml.YAMLError, OSError, AttributeError) as exc:
        raise ModelFolderError(f"{where}: inference.yml is unreadable ({exc}).") from None
    # PaddleX refuses a folder whose Global.model_name differs from the module's model_name.
    if declared != model_name:
        raise ModelFolderError(
            f"{where}: holds {declared!r} but {model_name!r} is needed for these settings "
            f"(MODEL_VARIANT / OCR_LANG); point it at the right model."
        )


def resolve_model_dir(model_name: str, explicit_dir: str, model_root: str, engine: str, env_var: str) -> Optional[str]:
    """The folder to load `model_name` from, or None to let PaddleX download it."""
    if explicit_dir:
        folder = os.path.abspath(os.path.expanduser(explicit_dir))
        check_model_folder(folder, model_name, engine, env_var)
        return folder
    if model_root:
        folder = os.path.abspath(os.path.join(os.path.expanduser(model_root), model_name))
        if os.path.isdir(folder) and os.listdir(folder):
            # Present but broken is an error, not a silent download.
            check_model_folder(folder, model_name, engine, "MODEL_DIR")
            return folder
    return None

import os
import shutil

import pytest

from ocr_backend.errors import ModelFolderError
from ocr_backend.ocr.weights import check_model_folder, holds_model, resolve_model_dir

from tests.support.corpus import REPO

MODELS = os.path.join(REPO, "models")
DET = "PP-OCRv5_mobile_det"


def test_provisioned_folders_hold_both_engines_models():
    for name in (DET, "PP-OCRv5_mobile_rec"):
        for engine in ("paddle", "onnxruntime"):
            check_model_folder(os.path.join(MODELS, name), name, engine, "")


def test_model_dir_root_is_used_when_it_holds_the_model():
    assert resolve_model_dir(DET, "", MODELS, "onnxruntime", "DET_MODEL_DIR") == os.path.join(MODELS, DET)


def test_absent_model_falls_back_to_paddlex_download(tmp_path):
    assert resolve_model_dir(DET, "", str(tmp_path), "paddle", "DET_MODEL_DIR") is None
    assert resolve_model_dir(DET, "", "", "paddle", "DET_MODEL_DIR") is None


def test_explicit_folder_that_is_missing_is_an_error_naming_it(tmp_path):
    with pytest.raises(ModelFolderError, match=r"DET_MODEL_DIR=.*nowhere.*not found"):
        resolve_model_dir(DET, str(tmp_path / "nowhere"), "", "paddle", "DET_MODEL_DIR")


def test_incomplete_folder_names_the_missing_file(tmp_path):
    folder = tmp_path / DET
    shutil.copytree(os.path.join(MODELS, DET), folder)
    os.remove(folder / "inference.onnx")
    assert holds_model(str(folder), "paddle") and not holds_model(str(folder), "onnxruntime")
    with pytest.raises(ModelFolderError, match="inference.onnx.*make models"):
        resolve_model_dir(DET, "", str(tmp_path), "onnxruntime", "")
    (folder / "inference.pdiparams").write_bytes(b"")
    with pytest.raises(ModelFolderError, match="inference.pdiparams"):
        check_model_folder(str(folder), DET, "paddle", "DET_MODEL_DIR")


def test_folder_holding_another_model_is_refused(tmp_path):
    with pytest.raises(ModelFolderError, match="holds 'PP-OCRv5_mobile_det' but 'PP-OCRv5_server_det'"):
        check_model_folder(os.path.join(MODELS, DET), "PP-OCRv5_server_det", "paddle", "DET_MODEL_DIR")


def test_corrupt_config_is_reported(tmp_path):
    folder = tmp_path / DET
    shutil.copytree(os.path.join(MODELS, DET), folder)
    (folder / "inference.yml").write_text("Global: [unclosed", encoding="utf-8")
    with pytest.raises(ModelFolderError, match="inference.yml is unreadable"):
        check_model_folder(str(folder), DET, "paddle", "")

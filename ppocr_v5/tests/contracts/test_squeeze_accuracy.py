"""The default recognition width squeeze keeps accuracy on clean and on scanned pages (issue 13).

Real weights, real corpus pages: each page is detected once with the engine's detector and crops,
then its lines are read at the default REC_WIDTH_SQUEEZE, at full width (1.0) and at 0.75 (the old
default), and scored with the corpus' score.py. The default must stay within half a CER point of full
width on these few pages (docs/speed.md's squeeze table holds the whole-corpus figures, where the
bound is 0.3), and 0.75 must show the cliff on the scans, so the check can tell the two apart.
"""

import json
import os

import cv2
import numpy as np
import pytest

from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.settings import Settings

from tests.support.corpus import CORPUS, scorer

# Three short English documents; the same pages in both corpora.
PAGES = ("en_caption_p001", "en_etoolbox_p027", "en_fontspec_p058")
CORPORA = ("public", "public-degraded")


def _image_path(corpus, page_id):
    with open(os.path.join(CORPUS, corpus, "index.json"), encoding="utf-8") as f:
        entry = next(p for p in json.load(f)["pages"] if p["id"] == page_id)
    return os.path.join(CORPUS, corpus, entry["image"])


@pytest.fixture(scope="module")
def engine():
    return OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))


@pytest.fixture(scope="module")
def page_crops(engine):
    from paddlex.inference.pipelines.components import CropByPolys

    crop = CropByPolys(det_box_type="quad")
    out = {}
    for corpus in CORPORA:
        for page_id in PAGES:
            image = cv2.imread(_image_path(corpus, page_id))
            polys = [np.array(p, dtype=np.float32) for p in engine.detect(image)]
            pairs = [(p, c) for p, c in zip(polys, crop(image, polys)) if c.size > 0]
            out[corpus, page_id] = pairs
    return out


def _cer(page_crops, corpus, squeeze, rec_dir):
    score = scorer()
    reader = ParallelRecognizer(rec_dir, threads=2, squeeze=squeeze)
    edits = chars = 0
    for page_id in PAGES:
        pairs = page_crops[corpus, page_id]
        reads = reader.recognize([c for _, c in pairs])
        preds = [
            {"box": score.to_box({"points": p.tolist()}), "text": text}
            for (p, _), (text, conf) in zip(pairs, reads)
            if conf >= Settings().score_threshold
        ]
        with open(os.path.join(CORPUS, corpus, "gt", f"{page_id}.json"), encoding="utf-8") as f:
            row = score.score_page(json.load(f), preds)
        edits += row["edits"]
        chars += row["chars"]
    return 100.0 * edits / chars


@pytest.mark.slow
@pytest.mark.parametrize("corpus", CORPORA)
def test_default_squeeze_reads_as_well_as_full_width(engine, page_crops, corpus):
    default = Settings.from_env({}).rec_width_squeeze
    assert default < 1.0  # the default does save recognition work
    full = _cer(page_crops, corpus, 1.0, engine.rec_dir)
    ours = _cer(page_crops, corpus, default, engine.rec_dir)
    assert ours <= full + 0.5, (corpus, default, ours, full)


@pytest.mark.slow
def test_the_old_squeeze_shows_the_cliff_on_scans(engine, page_crops):
    full = _cer(page_crops, "public-degraded", 1.0, engine.rec_dir)
    old = _cer(page_crops, "public-degraded", 0.75, engine.rec_dir)
    assert old >= full + 2.0, (old, full)

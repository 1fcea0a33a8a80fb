"""Shared helpers for the bench/ scripts: environment, PaddleX config builder, scoring."""

import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "corpus", "public"))
SCORE_PY = os.path.join(os.path.dirname(DEFAULT_CORPUS), "score.py")
MODELS = os.environ.get("MODEL_DIR") or os.path.join(REPO, "models")


def set_paddlex_env(threads=2):
    os.environ.setdefault("PADDLE_PDX_CACHE_HOME", "/tmp/pdxcache")
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    os.environ.setdefault("PADDLE_PDX_CPU_NUM_THREADS", str(threads))


def ocr_config(det=None, rec=None, **top):
    det_cfg = {
        "module_name": "text_detection",
        "model_name": "PP-OCRv5_mobile_det",
        "model_dir": os.path.join(MODELS, "PP-OCRv5_mobile_det"),
        "limit_side_len": 64,
        "limit_type": "min",
        "max_side_limit": 4000,
        "thresh": 0.3,
        "box_thresh": 0.6,
        "unclip_ratio": 1.5,
    }
    rec_cfg = {
        "module_name": "text_recognition",
        "model_name": "PP-OCRv5_mobile_rec",
        "model_dir": os.path.join(MODELS, "PP-OCRv5_mobile_rec"),
        "batch_size": 6,
        "score_thresh": 0.0,
    }
    det_cfg.update(det or {})
    rec_cfg.update(rec or {})
    cfg = {
        "pipeline_name": "OCR",
        "text_type": "general",
        "use_doc_preprocessor": False,
        "use_textline_orientation": False,
        "SubModules": {"TextDetection": det_cfg, "TextRecognition": rec_cfg},
    }
    cfg.update(top)
    return cfg


def load_index(corpus=DEFAULT_CORPUS):
    with open(os.path.join(corpus, "index.json")) as f:
        return json.load(f)["pages"]


def subset_corpus(page_ids, corpus=DEFAULT_CORPUS):
    """A temporary split dir holding only page_ids (index.json filtered, gt/images symlinked)."""
    with open(os.path.join(corpus, "index.json")) as f:
        idx = json.load(f)
    idx["pages"] = [p for p in idx["pages"] if p["id"] in set(page_ids)]
    d = tempfile.mkdtemp(prefix="corpus_subset_")
    for sub in ("gt", "images"):
        os.symlink(os.path.join(os.path.abspath(corpus), sub), os.path.join(d, sub))
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(idx, f)
    return d


def score(pred_dir, corpus=DEFAULT_CORPUS, score_py=None, page_ids=None):
    """Run the corpus' score.py; return its JSON report (overall + by_lang)."""
    if page_ids is not None:
        score_py = score_py or os.path.join(os.path.dirname(os.path.abspath(corpus)), "score.py")
        corpus = subset_corpus(page_ids, corpus)
    score_py = score_py or os.path.join(os.path.dirname(os.path.abspath(corpus)), "score.py")
    if not os.path.exists(score_py):
        score_py = SCORE_PY
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as t:
        out = t.name
    subprocess.run(
        [sys.executable, score_py, "--gt", corpus, "--pred", pred_dir, "--out", out],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(out) as f:
        rep = json.load(f)
    os.unlink(out)
    return rep


def summary(rep):
    o, bl = rep["overall"], rep["by_lang"]

    def g(lang, k):
        return bl[lang][k] if lang in bl else None

    return {
        "f1": round(o["f1"], 4),
        "p": round(o["precision"], 4),
        "r": round(o["recall"], 4),
        "cer": o["cer"],
        "cer_en": g("en", "cer"),
        "cer_zh": g("zh", "cer"),
        "f1_en": g("en", "f1"),
        "f1_zh": g("zh", "f1"),
    }


def write_preds(pred_dir, page_id, polys, texts):
    os.makedirs(pred_dir, exist_ok=True)
    items = [{"points": [[float(x), float(y)] for x, y in p], "text": t} for p, t in zip(polys, texts)]
    with open(os.path.join(pred_dir, page_id + ".json"), "w") as f:
        json.dump(items, f, ensure_ascii=False)

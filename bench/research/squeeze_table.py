"""Recognition width squeeze against crop geometry: which squeeze keeps CER, per language and corpus.

Detects each page once with the backend's engine (PaddleX's detector and crops, as in production),
reads every line crop at each squeeze in --squeezes with fast_rec's recogniser, then scores rules
built from those readings with the corpus' score.py: fixed squeezes, and height rules ("squeeze s
when the crop is at least H px tall, else 1.0"; the line's height on the page is what a blurred or
scaled-down scan loses first), and score fallbacks ("s, read again at 1.0 below score t"). Prints
per corpus and language the CER and its difference to squeeze 1.0 (the issue-13 bound: <= 0.3 points worse), and
the share of recognition input width each rule spends (recognition cost is linear in width).

    PYTHONPATH=bench .venv/bin/python bench/research/squeeze_table.py                        # en, zh, ja of public + public-degraded
    PYTHONPATH=bench .venv/bin/python bench/research/squeeze_table.py --pages-per-lang 2     # a quick run
    PYTHONPATH=bench .venv/bin/python bench/research/squeeze_table.py --cached               # re-score the last readings only

Accuracy does not depend on machine load, so this is reliable on a shared machine.
"""

import argparse
import json
import os
import sys
import tempfile

import cv2
import numpy as np

import common

CORPORA = [common.DEFAULT_CORPUS, os.path.join(os.path.dirname(common.DEFAULT_CORPUS), "public-degraded")]
CACHE = os.path.join(common.REPO, "bench", "results", "squeeze_readings.json")
SCORE_THRESHOLD = 0.5  # the backend's default SCORE_THRESHOLD


def pages_of(corpus, langs, per_lang):
    out = []
    for lang in langs:
        ids = sorted((p for p in common.load_index(corpus) if p["lang"] == lang), key=lambda p: p["id"])
        out += ids[:per_lang] if per_lang else ids
    return out


def collect(corpora, langs, per_lang, squeezes):
    from paddlex.inference.pipelines.components import CropByPolys

    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.ocr.fast_rec import ParallelRecognizer
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": common.MODELS, "OCR_LANG": "ch"}))
    readers = {s: ParallelRecognizer(engine.rec_dir, threads=2, squeeze=s) for s in squeezes}
    crop = CropByPolys(det_box_type="quad")
    data = {}
    for corpus in corpora:
        name = os.path.basename(os.path.normpath(corpus))
        data[name] = {}
        for page in pages_of(corpus, langs, per_lang):
            image = cv2.imread(os.path.join(corpus, page["image"]))
            polys = [np.array(p, dtype=np.float32) for p in engine.detect(image)]
            crops = crop(image, polys) if polys else []
            keep = [(p, c) for p, c in zip(polys, crops) if c.size > 0]
            reads = {s: r.recognize([c for _, c in keep]) for s, r in readers.items()}
            data[name][page["id"]] = {
                "lang": page["lang"],
                "lines": [
                    {
                        "points": p.tolist(),
                        "h": int(c.shape[0]),
                        "w": int(c.shape[1]),
                        "reads": {str(s): list(reads[s][i]) for s in squeezes},
                    }
                    for i, (p, c) in enumerate(keep)
                ],
            }
            print(f"  {name} {page['id']}: {len(keep)} lines", file=sys.stderr, flush=True)
    return {"corpora": {os.path.basename(os.path.normpath(c)): c for c in corpora}, "data": data}


def nearest(reads, want):
    """The reading made at the tried squeeze nearest to `want`: (squeeze, text, score)."""
    s = min((float(k) for k in reads), key=lambda a: abs(a - want))
    text, score = reads[str(s)]
    return s, text, score


def rule_fixed(s):
    def read(line):
        got, text, score = nearest(line["reads"], s)
        return text, score, got

    return read


def rule_height(s, min_height):
    return rule_fixed_by(lambda h, w: s if h >= min_height else 1.0)


def rule_fixed_by(squeeze_of):
    """A rule choosing the squeeze from the crop's pixel size alone."""

    def read(line):
        got, text, score = nearest(line["reads"], squeeze_of(line["h"], line["w"]))
        return text, score, got

    return read


def rule_fallback(s, min_score):
    """Read at squeeze s; a line scoring below min_score is read again at full width (costs both)."""

    def read(line):
        got, text, score = nearest(line["reads"], s)
        if score >= min_score:
            return text, score, got
        _, text, score = nearest(line["reads"], 1.0)
        return text, score, got + 1.0

    return read


def score_rule(readings, corpus_name, rule):
    corpus = readings["corpora"][corpus_name]
    pages = readings["data"][corpus_name]
    pred = tempfile.mkdtemp(prefix="squeeze_pred_")
    width = full = 0.0
    for page_id, page in pages.items():
        polys, texts = [], []
        for line in page["lines"]:
            text, score, cost = rule(line)
            width += cost * line["w"] / max(1, line["h"])
            full += line["w"] / max(1, line["h"])
            if score >= SCORE_THRESHOLD:
                polys.append(line["points"])
                texts.append(text)
        common.write_preds(pred, page_id, polys, texts)
    rep = common.score(pred, corpus, page_ids=list(pages))
    by_lang = {lang: v["cer"] for lang, v in rep["by_lang"].items()}
    return by_lang, rep["overall"]["f1"], width / max(full, 1e-9)


def table(readings, rules):
    rows = []
    for corpus_name in readings["data"]:
        base, _, _ = score_rule(readings, corpus_name, rule_fixed(1.0))
        langs = sorted(base)
        print(f"\n### {corpus_name} ({len(readings['data'][corpus_name])} pages)\n")
        print("| rule | width | " + " | ".join(f"CER {lang} (vs 1.0)" for lang in langs) + " | F1 | ok |")
        print("| --- | --- | " + " | ".join("---" for _ in langs) + " | --- | --- |")
        for label, rule in rules:
            cer, f1, width = score_rule(readings, corpus_name, rule)
            deltas = {lang: 100 * (cer[lang] - base[lang]) for lang in langs}
            ok = all(d <= 0.3 for d in deltas.values())
            cells = " | ".join(f"{100 * cer[lang]:.2f} % ({deltas[lang]:+.2f})" for lang in langs)
            print(f"| {label} | {width:.2f} | {cells} | {f1:.3f} | {'yes' if ok else 'NO'} |")
            rows.append({"corpus": corpus_name, "rule": label, "width": width, "cer": cer, "f1": f1, "ok": ok})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", help="corpus folder (repeatable; default public + degraded)")
    ap.add_argument("--langs", default="en,zh,ja", help="languages PP-OCRv5_mobile_rec reads")
    ap.add_argument("--pages-per-lang", type=int, default=0, help="0: every page of each language")
    ap.add_argument("--squeezes", default="1.0,0.9,0.75")
    ap.add_argument("--heights", default="20,24,28,32", help="min crop heights tried for the height rules")
    ap.add_argument("--fallbacks", default="0.9,0.95", help="scores below which a line is re-read at 1.0")
    ap.add_argument("--cached", action="store_true", help="re-score the readings saved by the last run")
    args = ap.parse_args()
    squeezes = [float(s) for s in args.squeezes.split(",")]
    common.set_paddlex_env()
    if args.cached:
        with open(CACHE, encoding="utf-8") as f:
            readings = json.load(f)
    else:
        readings = collect(args.corpus or CORPORA, args.langs.split(","), args.pages_per_lang, squeezes)
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        with open(CACHE, "w", encoding="utf-8") as f:
            json.dump(readings, f, ensure_ascii=False)
    rules = [(f"fixed {s}", rule_fixed(s)) for s in squeezes]
    for s in squeezes:
        if s < 1.0:
            rules += [(f"{s} if h >= {h} px", rule_height(s, int(h))) for h in args.heights.split(",")]
    for s in squeezes:
        if s < 1.0:
            rules += [
                (f"{s}, re-read at 1.0 if score < {t}", rule_fallback(s, float(t))) for t in args.fallbacks.split(",")
            ]
    table(readings, rules)


if __name__ == "__main__":
    main()

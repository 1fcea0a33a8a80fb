#!/usr/bin/env python3
"""PP-OCRv5 mobile against PP-OCRv6 tiny and small on the public corpus, per language.

Runs the backend's own engine (Settings -> OcrEngine.run, the code /predict runs) once per page and
model family, scores against the ground truth with the corpus's score.py (detection F1 @ IoU 0.5,
CER on matched lines) and times each page (each engine's first run is a warm-up, not timed;
families take turns page by page).

Only languages whose recogniser is in MODEL_DIR for every family are compared: PP-OCRv6 reads
Chinese, English and Japanese, so en, zh and ja pages (OCR_LANG en / ch / ch).

  PYTHONPATH=ppocr_v5 .venv/bin/python bench/research/compare_versions.py [--langs en,zh,ja] [--per-lang N] [--threads 2]
writes bench/results/compare_versions.json and prints a Markdown table.
"""

import argparse
import json
import os
import statistics
import sys
import time

from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

from tests.support.corpus import CORPUS, REPO, scorer  # the tests' harness: PYTHONPATH=ppocr_v5


FAMILIES = {  # label -> environment on top of the run's own
    "v5 mobile": {"PPOCR_VERSION": "v5", "MODEL_VARIANT": "mobile"},
    "v6 tiny": {"PPOCR_VERSION": "v6", "MODEL_VARIANT": "tiny"},
    "v6 small": {"PPOCR_VERSION": "v6", "MODEL_VARIANT": "small"},
}
# Corpus page language -> OCR_LANG (the ch recogniser reads Japanese too).
OCR_LANG = {"en": "en", "zh": "ch", "ja": "ch"}


def pages_for(langs, per_lang):
    with open(os.path.join(CORPUS, "public", "index.json"), encoding="utf-8") as f:
        pages = json.load(f)["pages"]
    chosen = []
    for lang in langs:
        ids = sorted(p["id"] for p in pages if p["lang"] == lang)
        chosen += [(lang, i) for i in (ids[:per_lang] if per_lang else ids)]
    return chosen


def run_pages(families, pages, threads, score):
    """{family: {lang: [(page score row, seconds)]}}. Families take turns on each page, so load from
    other processes on shared cores drifts over all of them alike instead of biasing one."""
    import cv2

    model_dir = os.environ.get("MODEL_DIR", os.path.join(REPO, "models"))
    engines = {}
    out = {family: {} for family in families}
    for lang, page_id in pages:
        image = cv2.imread(os.path.join(CORPUS, "public", "images", f"{page_id}.png"))
        with open(os.path.join(CORPUS, "public", "gt", f"{page_id}.json"), encoding="utf-8") as f:
            gt = json.load(f)
        for family in families:
            key = (family, OCR_LANG[lang])
            if key not in engines:
                settings = Settings.from_env(
                    dict(FAMILIES[family], OCR_LANG=OCR_LANG[lang], CPU_THREADS=str(threads), MODEL_DIR=model_dir)
                )
                engines[key] = OcrEngine(settings)
                engines[key].run(image)  # builds the pipeline and warms onnxruntime up: not timed
            start = time.perf_counter()
            lines = engines[key].run(image).lines
            seconds = time.perf_counter() - start
            preds = [
                {"box": score.to_box({"points": [list(p) for p in line.points]}), "text": line.text} for line in lines
            ]
            out[family].setdefault(lang, []).append((score.score_page(gt, preds), seconds))
            print(f"  {page_id} {family}: {len(lines)} lines, {seconds:.2f} s", file=sys.stderr, flush=True)
    return out


def summarise(score, per_lang):
    table = {}
    for lang, rows in per_lang.items():
        summary = score.summarize([r for r, _ in rows])["overall"]
        table[lang] = {
            "pages": len(rows),
            "f1": round(summary["f1"], 4),
            "cer": round(summary["cer"], 4),
            "s_per_page": round(statistics.mean(s for _, s in rows), 2),
        }
    all_rows = [row for rows in per_lang.values() for row in rows]
    summary = score.summarize([r for r, _ in all_rows])["overall"]
    table["all"] = {
        "pages": len(all_rows),
        "f1": round(summary["f1"], 4),
        "cer": round(summary["cer"], 4),
        "s_per_page": round(statistics.mean(s for _, s in all_rows), 2),
    }
    return table


def markdown(results, langs):
    head = "| family | " + " | ".join(f"{lang} F1 / CER / s" for lang in (*langs, "all")) + " |"
    rows = [head, "|" + " --- |" * (len(langs) + 2)]
    for family, table in results.items():
        cells = [
            f"{table[k]['f1']:.3f} / {table[k]['cer']:.3f} / {table[k]['s_per_page']:.1f}" for k in (*langs, "all")
        ]
        rows.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--langs", default="en,zh,ja", help="corpus languages (en, zh, ja)")
    ap.add_argument("--per-lang", type=int, default=0, help="pages per language (0: all)")
    ap.add_argument("--threads", type=int, default=2, help="CPU_THREADS for the engine")
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated: " + ", ".join(FAMILIES))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "compare_versions.json"))
    args = ap.parse_args(argv)
    langs = [lang for lang in args.langs.split(",") if lang]
    unknown = [lang for lang in langs if lang not in OCR_LANG]
    if unknown:
        ap.error(f"no recogniser for {unknown} in every family; use some of {', '.join(OCR_LANG)}")
    score = scorer()
    pages = pages_for(langs, args.per_lang)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    missing = [f for f in families if f not in FAMILIES]
    if missing:
        ap.error(f"unknown families {missing}")
    raw = run_pages(families, pages, args.threads, score)
    results = {family: summarise(score, raw[family]) for family in families}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"threads": args.threads, "pages": [p for _, p in pages], "results": results}, f, indent=1)
    print(markdown(results, langs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
